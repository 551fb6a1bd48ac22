import { DateTime } from "luxon";
import type { DayFixture } from "../day.js";
import { createFakeTctl, type FakeTctl } from "../fakes/tctl.js";

/**
 * The day with a `teleport` target on access lists (the default mode): memberships with an expiry
 * that Teleport ends by itself; with `exclusive`, `tctl acl users ls` shows who else is a member.
 */
export async function dayFixture(): Promise<DayFixture & { tctl: FakeTctl }> {
  let now: DateTime = DateTime.fromISO("2026-11-22T00:00:00Z", { zone: "utc" });
  const tctl = createFakeTctl({ now: () => now, lists: ["prod-access"] });
  return {
    title:
      "teleport (access lists; the member listings, before a first grant and with exclusive every run, not shown)",
    exclusive: true,
    // One call at a time: the day's calls come in one order, whatever the machine's speed.
    target: { type: "teleport", args: ["-i", "/opt/machine-id/identity"], concurrency: 1 },
    resource: "prod-access",
    exec: tctl.exec,
    addMember: async (user) => tctl.addMember("prod-access", user),
    beforeRun: async (at) => {
      now = at;
    },
    // With exclusive, every run reads `tctl acl users ls LIST --format=json` first: the changes are
    // what the day compares.
    calls: async () =>
      tctl
        .takeCalls()
        .filter((a) => !a.includes("ls"))
        .map((a) => `tctl ${a.map((x) => (x.includes(" ") ? JSON.stringify(x) : x)).join(" ")}`),
    close: async () => tctl.close(),
    tctl,
  };
}
