import assert from "node:assert/strict";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, it } from "node:test";
import { assertNoSecret, makeFakeCli, makeTempDir, runCli, writeYaml } from "./helpers.js";
import { setup } from "./pd-setup.js";

// What a run says when it goes wrong: a failed source is never "nobody on call".

const WRONG_KEY = "pd-wrong-key-7a6b5c4d";

/** The ledger a run left: alice holds prod-postgres through rule dba. */
const HELD = {
  version: 1,
  grants: [
    {
      target: "sdm",
      resource: "prod-postgres",
      identity: "alice@example.com",
      rule: "dba",
      start: "2026-11-22T09:00:00Z",
      end: "2026-11-23T09:15:00Z",
      grantedAt: "2026-11-22T09:00:00Z",
      runId: "held0001",
    },
  ],
};

/** The JSON log lines of a run's stderr, without the fields that change from run to run. */
function logLines(stderr: string): Record<string, unknown>[] {
  return stderr
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      const { timestamp: _t, runId: _r, ...rest } = JSON.parse(l) as Record<string, unknown>;
      return rest;
    });
}

describe("a source that failed", { concurrency: true }, () => {
  it("a wrong PagerDuty key (401): the plan says the source failed, lists what its rule keeps, counts the errors; exit 3", async () => {
    const env = await setup();
    const state = path.join(env.dir, "state.json");
    try {
      await writeFile(state, `${JSON.stringify(HELD)}\n`);
      const ledger = await readFile(state, "utf8");
      const text = await env.run([], { PAGERDUTY_TOKEN: WRONG_KEY, TZ: "UTC" });
      assert.equal(text.code, 3, text.stderr);
      assert.equal(
        text.stdout,
        [
          "shiftgrant sync: Sun 22 Nov 10:00Z → Mon 23 Nov 10:00Z",
          "",
          "rule dba → target sdm: source pd FAILED (GET /schedules: 401 Authentication failed); nothing was planned for this rule",
          "  ACTION     IDENTITY           RESOURCE       START              END                STATUS  REASON",
          "  unchanged  alice@example.com  prod-postgres  Sun 22 Nov 09:00Z  Mon 23 Nov 09:15Z  held    kept: the source failed; nothing planned",
          "",
          "rule platform → target sdm: source pd FAILED (GET /schedules: 401 Authentication failed); nothing was planned for this rule",
          "  the ledger holds no grant of this rule",
          "",
          "timeline (UTC)",
          "                                | Sun 22 Nov                            Mon 23 Nov",
          "                                |      12:00   15:00    18:00   21:00   00:00   03:00    06:00",
          "                                | v now",
          "alice@example.com prod-postgres | ===============================================================",
          "                                  = held",
          "",
          "errors (these rules planned nothing):",
          "  rule dba (source pd): GET /schedules: 401 Authentication failed",
          "  rule platform (source pd): GET /schedules: 401 Authentication failed",
          "",
          "summary: 0 grant, 0 extend, 0 shorten, 0 revoke, 1 unchanged, 0 wait, 0 skip, 0 failed, 2 source errors",
          "",
        ].join("\n"),
      );
      assert.ok(!text.stdout.includes("No one needs access"));
      assert.deepEqual(
        logLines(text.stderr).filter((l) => l.level !== "info"),
        [
          {
            level: "error",
            message: "source failed; its rules plan nothing",
            source: "pd",
            error: "GET /schedules: 401 Authentication failed",
          },
        ],
      );
      assert.deepEqual(
        logLines(text.stderr).find((l) => l.message === "sync finished"),
        {
          level: "info",
          message: "sync finished",
          exitCode: 3,
          actions: 1,
          changes: 0,
          errors: 2,
          sourceErrors: 2,
          failedActions: 0,
          badIdentities: 0,
        },
      );

      const json = await env.run(["--output", "json"], { PAGERDUTY_TOKEN: WRONG_KEY });
      assert.equal(json.code, 3, json.stderr);
      assert.deepEqual(JSON.parse(json.stdout), {
        version: 1,
        exitCode: 3,
        dryRun: false,
        window: { since: "2026-11-22T10:00:00Z", until: "2026-11-23T10:00:00Z" },
        actions: [
          {
            kind: "unchanged",
            rule: "dba",
            target: "sdm",
            resource: "prod-postgres",
            identity: "alice@example.com",
            start: "2026-11-22T09:00:00Z",
            end: "2026-11-23T09:15:00Z",
            reason: "kept: the source failed; nothing planned",
            status: "skipped",
          },
        ],
        errors: [
          { rule: "dba", source: "pd", message: "GET /schedules: 401 Authentication failed" },
          { rule: "platform", source: "pd", message: "GET /schedules: 401 Authentication failed" },
        ],
        summary: { grant: 0, extend: 0, shorten: 0, revoke: 0, unchanged: 1, wait: 0, skip: 0, failed: 0 },
      });
      // A 401 is not retried: one request each run, and nothing else was asked or changed.
      assert.deepEqual(env.pd.countByPath(), { "/schedules": 2 });
      assert.deepEqual(await env.sdm.calls(), []);
      assert.equal(await readFile(state, "utf8"), ledger);
      await assertNoSecret([WRONG_KEY], [text.stdout, text.stderr, json.stdout, json.stderr]);
    } finally {
      await env.cleanup();
    }
  });
});

describe("the logs say why a run exits 4", { concurrency: true }, () => {
  it("a warn line for a bad identity's skip (escaped) and for a failed action; `errors` counts both", async () => {
    const { dir, cleanup } = await makeTempDir("shiftgrant-why4-");
    try {
      const bin = path.join(dir, "bin");
      await mkdir(bin);
      const grant = await makeFakeCli(bin, "grant-cmd", { failFor: ["bob@example.com"] });
      await writeYaml(
        path.join(dir, "rota.yaml"),
        `
shifts:
  - { schedule: primary, email: alice@example.com, start: 2026-11-22T09:00:00Z, end: 2026-11-22T14:00:00Z }
  - { schedule: primary, email: bob@example.com, start: 2026-11-22T14:00:00Z, end: 2026-11-22T20:00:00Z }
  - { schedule: primary, email: "--admin\\e[2J@evil.com", start: 2026-11-22T20:00:00Z, end: 2026-11-23T09:00:00Z }
`,
      );
      const config = await writeYaml(
        path.join(dir, "shiftgrant.yaml"),
        `
version: 1
state: state.json
sources:
  rota: { type: file, path: rota.yaml }
targets:
  cmd: { type: command, grant: ["grant-cmd", "{identity}", "{resource}"] }
rules:
  - { name: prod, source: rota, schedules: [primary], target: cmd, resources: [db] }
`,
      );
      const res = await runCli(["sync", "-c", config, "--log-format", "json"], {
        binDir: bin,
        cwd: dir,
        env: { SHIFTGRANT_NOW: "2026-11-22T10:00:00Z" },
      });
      assert.equal(res.code, 4, res.stderr);
      assert.deepEqual((await grant.calls()).map((c) => c.argv).sort(), [
        ["alice@example.com", "db"],
        ["bob@example.com", "db"],
      ]);
      const lines = logLines(res.stderr);
      assert.deepEqual(
        lines.filter((l) => l.level === "warn"),
        [
          {
            level: "warn",
            message: "action skipped",
            kind: "skip",
            rule: "prod",
            target: "cmd",
            resource: "db",
            identity: "--admin\\u001b[2J@evil.com",
            reason:
              '"--admin\\u001b[2J@evil.com" is not a plain email address; it is never passed to a target',
            badIdentity: true,
          },
          {
            level: "warn",
            message: "action failed",
            kind: "grant",
            rule: "prod",
            target: "cmd",
            resource: "db",
            identity: "bob@example.com",
            error: "grant-cmd exited with code 1: fake grant-cmd: refused bob@example.com db",
          },
        ],
      );
      assert.deepEqual(
        lines.find((l) => l.message === "sync finished"),
        {
          level: "info",
          message: "sync finished",
          exitCode: 4,
          actions: 3,
          changes: 2,
          errors: 2,
          sourceErrors: 0,
          failedActions: 1,
          badIdentities: 1,
        },
      );
    } finally {
      await cleanup();
    }
  });
});
