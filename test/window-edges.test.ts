import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { it } from "node:test";
import { makeFakeCli, makeTempDir, parseJsonOutput, writeYaml } from "./helpers.js";
import { runMain } from "./harness.js";

// A grant outlives its shift by `grace`: a run that starts after the shift ended, but within the
// grace, must still see the shift (the sources are read from `since - grace`), or it would revoke
// access the rule still wants.
it("a grant in its grace period is kept (not revoked) by a run that starts after the shift ended", async () => {
  const { dir, cleanup } = await makeTempDir();
  const binDir = path.join(dir, "bin");
  await mkdir(binDir);
  const grant = await makeFakeCli(binDir, "grant-cmd");
  const revoke = await makeFakeCli(binDir, "revoke-cmd");
  await writeFile(
    path.join(dir, "rota.yaml"),
    `shifts:
  - { schedule: primary, email: alice@example.com, start: 2026-11-22T00:00:00Z, end: 2026-11-22T12:00:00Z }
  - { schedule: primary, email: bob@example.com, start: 2026-11-22T12:00:00Z, end: 2026-11-23T00:00:00Z }
`,
  );
  const config = await writeYaml(
    path.join(dir, "shiftgrant.yaml"),
    `
version: 1
state: state.json
sources: { rota: { type: file, path: rota.yaml } }
targets:
  t: { type: command, grant: [grant-cmd, "{identity}", "{start}", "{end}"], revoke: [revoke-cmd, "{identity}"] }
rules:
  - { name: oncall, source: rota, schedules: [primary], target: t, resources: [db], grace: 15m, revoke: true }
`,
  );
  const run = (now: string) =>
    runMain(["sync", "-c", config, "--output", "json"], { binDir, cwd: dir, now: now });
  try {
    assert.equal((await run("2026-11-22T11:00:00Z")).code, 0);
    assert.deepEqual(
      // The two grants run concurrently: their order in the log is not the plan's.
      (await grant.calls()).map((c) => c.argv).sort((a, b) => a.join().localeCompare(b.join())),
      [
        ["alice@example.com", "2026-11-22T11:00:00Z", "2026-11-22T12:15:00Z"],
        ["bob@example.com", "2026-11-22T12:00:00Z", "2026-11-23T00:15:00Z"],
      ],
    );
    await grant.reset();

    // 12:05: alice's shift is over, her grace is not.
    const during = await run("2026-11-22T12:05:00Z");
    assert.equal(during.code, 0, during.stderr);
    assert.deepEqual(await revoke.calls(), []);
    assert.deepEqual(await grant.calls(), []);
    assert.deepEqual(
      parseJsonOutput(during.stdout).actions.map((a) => [a.kind, a.identity]),
      [
        ["unchanged", "alice@example.com"],
        ["unchanged", "bob@example.com"],
      ],
    );

    // 12:20: her grant has ended on its own: nothing to revoke.
    const after = await run("2026-11-22T12:20:00Z");
    assert.equal(after.code, 0, after.stderr);
    assert.deepEqual(await revoke.calls(), []);
    assert.deepEqual(
      parseJsonOutput(after.stdout).actions.map((a) => [a.kind, a.identity]),
      [["unchanged", "bob@example.com"]],
    );
  } finally {
    await cleanup();
  }
});
