import { mkdir } from "node:fs/promises";
import path from "node:path";
import type { DayFixture } from "../day.js";
import { makeFakeCli, makeTempDir } from "../helpers.js";

/** The day with a `command` target whose scripts cannot end a grant (`expires: false`). */
export async function dayFixture(): Promise<DayFixture> {
  const { dir, cleanup } = await makeTempDir("shiftgrant-day-command-");
  const bin = path.join(dir, "bin");
  await mkdir(bin);
  const grant = await makeFakeCli(bin, "grant-cmd");
  const revoke = await makeFakeCli(bin, "revoke-cmd");
  return {
    title: "command (expires: false)",
    exclusive: false,
    target: {
      type: "command",
      expires: false,
      // One call at a time: the day's calls print in one order, whatever the machine's speed.
      concurrency: 1,
      grant: ["grant-cmd", "{identity}", "{resource}", "{start}", "{end}"],
      revoke: ["revoke-cmd", "{identity}", "{resource}"],
    },
    resource: "ops",
    binDir: bin,
    // A command target cannot tell who has access: dave's membership is invisible to it.
    addMember: async () => undefined,
    calls: async () => {
      const calls = [
        ...(await grant.calls()).map((c) => ["grant-cmd", ...c.argv].join(" ")),
        ...(await revoke.calls()).map((c) => ["revoke-cmd", ...c.argv].join(" ")),
      ];
      await grant.reset();
      await revoke.reset();
      return calls;
    },
    close: cleanup,
  };
}
