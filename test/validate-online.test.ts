import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { describe, it } from "node:test";
import { assertNoSecret, runCli } from "./helpers.js";
import { PD_TOKEN, SCHEDULES, SDM_TOKEN, setup } from "./pd-setup.js";

// `validate --online` against the fake PagerDuty and a fake sdm: a checklist, exit 2 on any failure.
describe("validate --online", () => {
  const validate = (env: Awaited<ReturnType<typeof setup>>, vars: Record<string, string> = {}) =>
    runCli(["validate", "--online", "-c", env.config], {
      binDir: env.binDir,
      cwd: env.dir,
      env: { PAGERDUTY_TOKEN: PD_TOKEN, SDM_ADMIN_TOKEN: SDM_TOKEN, ...vars },
    });

  it("with a good key and sdm on PATH: every check passes, exit 0", async () => {
    const env = await setup();
    try {
      const res = await validate(env);
      assert.equal(res.code, 0, res.stderr);
      const checks = res.stdout.split("\n").filter((l) => /^ {2}(ok|FAIL)/.test(l));
      assert.deepEqual(checks, [
        "  ok    source pd: key works; schedules: dba primary → PSCHED1, PSCHED2",
        `  ok    target sdm: ${env.sdm.path} runs (no version printed); the admin token is set`,
      ]);
      assert.deepEqual(
        (await env.sdm.calls()).map((c) => c.argv),
        [["--version"]],
      );
      await assertNoSecret([PD_TOKEN, SDM_TOKEN], [res.stdout, res.stderr]);
    } finally {
      await env.cleanup();
    }
  });

  it("with a bad key: the source check fails, exit 2", async () => {
    const env = await setup();
    try {
      const res = await validate(env, { PAGERDUTY_TOKEN: "not-the-key-42" });
      assert.equal(res.code, 2);
      assert.match(res.stdout, /^ {2}FAIL {2}source pd: GET \/schedules: 401 Authentication failed$/m);
      assert.match(res.stdout, /^1 check\(s\) failed$/m);
      await assertNoSecret(["not-the-key-42", SDM_TOKEN], [res.stdout, res.stderr]);
    } finally {
      await env.cleanup();
    }
  });

  it("with a schedule that does not exist, and sdm missing: both fail, exit 2", async () => {
    const env = await setup({ schedules: [SCHEDULES[1] as (typeof SCHEDULES)[number]] });
    try {
      await rm(env.sdm.path);
      const res = await validate(env);
      assert.equal(res.code, 2);
      assert.match(res.stdout, /^ {2}FAIL {2}source pd: no PagerDuty schedule is named "dba primary"$/m);
      assert.match(
        res.stdout,
        /^ {2}FAIL {2}target sdm: sdm is not found \(set command: to its full path, or fix PATH\)$/m,
      );
      assert.match(res.stdout, /^2 check\(s\) failed$/m);
    } finally {
      await env.cleanup();
    }
  });
});
