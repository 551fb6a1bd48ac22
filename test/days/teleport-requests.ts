import { DateTime } from "luxon";
import type { DayFixture } from "../day.js";
import { createFakeTctl, type FakeTctl } from "../fakes/tctl.js";

/** Teleport user names of the day's people (a Teleport user is often not named by email). */
const USERS: Record<string, string> = {
  "alice@example.com": "alice",
  "bob@example.com": "bob",
  "carol@example.com": "carol",
  "dave@example.com": "dave",
};

/**
 * The day with a `teleport` target in `mode: access-requests`. Before each run, every on-call person
 * with no live request files one for the day's role (access for 12 hours, pending for 1 hour), as
 * `tsh request create --roles db-admin` does. dave holds an APPROVED request of his own, approved by a
 * reviewer before the day: shiftgrant never touches it.
 */
export async function dayFixture(): Promise<DayFixture & { tctl: FakeTctl }> {
  let now: DateTime = DateTime.fromISO("2026-11-22T00:00:00Z", { zone: "utc" });
  const tctl = createFakeTctl({ now: () => now });
  const live = (user: string) =>
    tctl
      .requests()
      .some(
        (r) =>
          r.user === user &&
          (r.state === 1 || r.state === 2) &&
          now < DateTime.fromISO(r.expires) &&
          now < DateTime.fromISO(r.requestExpires),
      );
  return {
    title: "teleport (mode: access-requests; every run also lists the requests, not shown)",
    exclusive: false,
    // One call at a time: the day's calls come in one order, whatever the machine's speed.
    target: {
      type: "teleport",
      mode: "access-requests",
      args: ["-i", "/opt/machine-id/identity"],
      concurrency: 1,
    },
    resource: "db-admin",
    identities: USERS,
    exec: tctl.exec,
    addMember: async (user) => {
      const id = tctl.file(user, ["db-admin"], { access: "PT24H", reason: "dave's own" });
      tctl.review(id, "APPROVED");
    },
    beforeRun: async (at, oncall) => {
      now = at;
      for (const email of oncall) {
        const user = USERS[email];
        if (user && !live(user)) tctl.file(user, ["db-admin"], { access: "PT12H" });
      }
    },
    // Every run reads `tctl requests ls --format=json` first: the changes are what the day compares.
    calls: async () =>
      tctl
        .takeCalls()
        .filter((a) => !a.includes("ls"))
        .map((a) => `tctl ${a.map((x) => (x.includes(" ") ? JSON.stringify(x) : x)).join(" ")}`),
    close: async () => tctl.close(),
    tctl,
  };
}
