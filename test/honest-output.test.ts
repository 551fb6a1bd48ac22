import assert from "node:assert/strict";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { describe, it } from "node:test";
import { main } from "../src/main.js";
import { assertNoSecret, makeFakeCli, makeTempDir, writeYaml } from "./helpers.js";
import { setup } from "./pd-setup.js";
import { runMain } from "./harness.js";

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
          "summary: 0 grant, 0 extend, 0 shorten, 0 revoke, 0 expire, 1 unchanged, 0 wait, 0 skip, 0 failed, 2 source errors",
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
        summary: {
          grant: 0,
          extend: 0,
          shorten: 0,
          revoke: 0,
          expire: 0,
          unchanged: 1,
          wait: 0,
          skip: 0,
          failed: 0,
        },
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

describe("oncall with a source that failed", () => {
  it("never says no one is on call: it says nothing is known, with the errors; exit 3", async () => {
    const env = await setup();
    try {
      const res = await runMain(["oncall", "-c", env.config], {
        env: { PAGERDUTY_TOKEN: WRONG_KEY, TZ: "UTC" },
        now: "2026-11-22T10:00:00Z",
      });
      assert.equal(res.code, 3, res.stderr);
      assert.equal(
        res.stdout,
        [
          "on call Sun 2026-11-22 10:00 → Mon 2026-11-23 10:00 (UTC)",
          "",
          "Nothing is known: the source of every rule failed.",
          "error: rule dba (source pd): GET /schedules: 401 Authentication failed",
          "error: rule platform (source pd): GET /schedules: 401 Authentication failed",
          "",
        ].join("\n"),
      );
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
      const res = await runMain(["sync", "-c", config, "--log-format", "json"], {
        binDir: bin,
        cwd: dir,
        now: "2026-11-22T10:00:00Z",
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

/** Every line of stderr is a JSON log line: returns them whole. */
function jsonLines(stderr: string): Record<string, unknown>[] {
  const lines = stderr.split("\n").filter(Boolean);
  return lines.map((l) => {
    try {
      return JSON.parse(l) as Record<string, unknown>;
    } catch {
      throw new Error(`a stderr line that is no JSON: ${l}\n--- stderr:\n${stderr}`);
    }
  });
}

/** A file-source config with a command target, in a fresh folder; `run` asks for JSON out and JSON logs. */
async function fileEnv(grantScript?: string) {
  const { dir, cleanup } = await makeTempDir("shiftgrant-json-");
  const bin = path.join(dir, "bin");
  await mkdir(bin);
  if (grantScript === undefined) await makeFakeCli(bin, "grant-cmd");
  else {
    await writeFile(path.join(bin, "grant-cmd"), grantScript);
    await chmod(path.join(bin, "grant-cmd"), 0o755);
  }
  await writeYaml(
    path.join(dir, "rota.yaml"),
    `
shifts:
  - { schedule: primary, email: alice@example.com, start: 2026-11-22T09:00:00Z, end: 2026-11-22T14:00:00Z }
`,
  );
  const config = await writeYaml(
    path.join(dir, "shiftgrant.yaml"),
    `
version: 1
state: state/ledger.json
sources:
  rota: { type: file, path: rota.yaml }
targets:
  cmd: { type: command, grant: ["grant-cmd", "{identity}", "{resource}"] }
rules:
  - { name: prod, source: rota, schedules: [primary], target: cmd, resources: [db] }
`,
  );
  return {
    dir,
    config,
    state: path.join(dir, "state", "ledger.json"),
    cleanup,
    run: (args: string[], env: Record<string, string> = {}) =>
      runMain([...args, "--output", "json", "--log-format", "json"], {
        binDir: bin,
        cwd: dir,
        env: { ...env },
        now: "2026-11-22T10:00:00Z",
      }),
  };
}

describe("every exit path with --output json prints one JSON document", { concurrency: true }, () => {
  it("exit 2, a bad config: the error document, for sync, oncall and schedules; stderr is JSON lines", async () => {
    const env = await fileEnv();
    try {
      await writeFile(
        env.config,
        "version: 1\nsources:\n  pd: { type: pagerduty, token: abc }\nrules: nope\n",
      );
      const token =
        "sources.pd.token: secrets are never written in the config; put the token in an environment variable and set tokenEnv: NAME, or in a file and set tokenFile: /path/to/file";
      const all = [
        token,
        'rules: expected a list, got "nope" (write ["nope"] for a list of one)',
        "targets: missing (required)",
      ];
      // `schedules` reads only the sources: only their problem stops it.
      for (const [command, problems] of [
        ["sync", all],
        ["oncall", all],
        ["schedules", [token]],
      ] as const) {
        const res = await env.run([command, "-c", env.config]);
        assert.equal(res.code, 2, res.stderr);
        const message = `invalid config ${env.config}:\n${problems.map((p) => `  - ${p}`).join("\n")}`;
        assert.equal(
          res.stdout,
          `${JSON.stringify({ version: 1, error: { code: 2, kind: "config", message, problems } }, null, 2)}\n`,
        );
        assert.deepEqual(
          jsonLines(res.stderr).map(({ timestamp: _t, runId: _r, ...l }) => l),
          [{ level: "error", message, exitCode: 2, kind: "config" }],
        );
      }
    } finally {
      await env.cleanup();
    }
  });

  it("exit 5, a live run holds the lock: the error document names it; the lock is left alone", async () => {
    const env = await fileEnv();
    try {
      await mkdir(path.dirname(env.state));
      const lock = `${JSON.stringify({
        pid: process.pid,
        host: hostname(),
        since: new Date().toISOString(),
        runId: "held0001",
      })}\n`;
      await writeFile(`${env.state}.lock`, lock);
      const res = await env.run(["sync", "-c", env.config]);
      assert.equal(res.code, 5, res.stderr);
      const { since } = JSON.parse(lock) as { since: string };
      const message = `another run holds the lock ${env.state}.lock: pid ${process.pid} on ${hostname()} since ${since} (run held0001); this run did nothing`;
      assert.equal(
        res.stdout,
        `${JSON.stringify({ version: 1, error: { code: 5, kind: "locked", message } }, null, 2)}\n`,
      );
      assert.deepEqual(
        jsonLines(res.stderr).map(({ timestamp: _t, runId: _r, ...l }) => l),
        [{ level: "error", message, exitCode: 5, kind: "locked" }],
      );
      assert.equal(await readFile(`${env.state}.lock`, "utf8"), lock);
    } finally {
      await env.cleanup();
    }
  });

  it("a command line commander refuses (unknown option, unknown command): the usage document, every stderr line JSON", async () => {
    const env = await fileEnv();
    try {
      for (const [args, message] of [
        [["sync", "-c", env.config, "--dry-runn"], "unknown option '--dry-runn'\n(Did you mean --dry-run?)"],
        [
          ["oncall", "--output=xml"],
          "option '--output <format>' argument 'xml' is invalid. Allowed choices are text, json.",
        ],
        [["synk"], "unknown command 'synk'\n(Did you mean sync?)"],
      ] as const) {
        const res = await env.run([...args]);
        assert.equal(res.code, 2, res.stderr);
        if (args[1] === "--output=xml") {
          // The last --output wins, as commander reads it: here json, so the document is printed.
          assert.deepEqual(JSON.parse(res.stdout), {
            version: 1,
            error: {
              code: 2,
              kind: "usage",
              message:
                "option '--output <format>' argument 'xml' is invalid. Allowed choices are text, json.",
            },
          });
        } else {
          assert.equal(
            res.stdout,
            `${JSON.stringify({ version: 1, error: { code: 2, kind: "usage", message } }, null, 2)}\n`,
          );
        }
        assert.deepEqual(
          jsonLines(res.stderr).map(({ timestamp: _t, ...l }) => l),
          [{ level: "error", message, exitCode: 2, kind: "usage" }],
        );
      }
    } finally {
      await env.cleanup();
    }
  });

  it("options but no command, or nothing at all: exit 2, and with JSON logs stderr is JSON lines only", async () => {
    const bare = await runMain(["--quiet", "--log-format", "json"]);
    assert.equal(bare.code, 2, bare.stderr);
    assert.equal(bare.stdout, "");
    // Commander shows the help instead: two JSON lines, the options and commands, then the epilogue.
    assert.deepEqual(
      jsonLines(bare.stderr).map((l) => [l.level, String(l.message).split("\n")[0]]),
      [
        ["error", "Usage: shiftgrant [options] [command]"],
        ["error", "Exit codes:"],
      ],
    );
    const nothing = await runMain([]);
    assert.equal(nothing.code, 2, nothing.stderr);
    assert.deepEqual(
      jsonLines(nothing.stderr).map(({ timestamp: _t, ...l }) => l),
      [
        {
          level: "error",
          message: "no command given: run shiftgrant --help for the commands",
          exitCode: 2,
          kind: "usage",
        },
      ],
    );
  });

  it("a report, then a ledger that could not be written: the report is the one document (exit 2 in it)", async () => {
    // The grant succeeds, and replaces the state folder with a file: the ledger cannot be written.
    const dir = await makeTempDir("shiftgrant-json-state-");
    const stateDir = path.join(dir.dir, "state");
    const env = await fileEnv(`#!/bin/sh\nset -e\nrm -rf '${stateDir}'\ntouch '${stateDir}'\n`);
    try {
      const res = await env.run(["sync", "-c", env.config, "--state", path.join(stateDir, "ledger.json")]);
      assert.equal(res.code, 2, res.stderr);
      const doc = JSON.parse(res.stdout) as {
        exitCode: number;
        actions: { status: string }[];
        stopped?: string;
      };
      assert.equal(doc.exitCode, 2);
      assert.deepEqual(
        doc.actions.map((a) => a.status),
        ["applied"],
      );
      assert.match(doc.stopped ?? "", /could not write the ledger/);
      const errors = jsonLines(res.stderr).filter((l) => l.level === "error");
      assert.equal(errors.at(-1)?.kind, "state");
      assert.match(String(errors.at(-1)?.message), /could not write the ledger/);
    } finally {
      await env.cleanup();
      await dir.cleanup();
    }
  });
});

describe("JSON logs on a terminal", () => {
  it("draw no progress line: every stderr line is JSON", async () => {
    const env = await fileEnv();
    try {
      const stdout = new PassThrough();
      const stderr = Object.assign(new PassThrough(), { isTTY: true });
      let err = "";
      stderr.on("data", (d: Buffer) => (err += d.toString()));
      stdout.resume();
      const args = ["sync", "-c", env.config, "--dry-run"];
      const run = (...more: string[]) =>
        main([...args, ...more], {
          env: { SHIFTGRANT_NOW: "2026-11-22T10:00:00Z" },
          cwd: env.dir,
          stdout,
          stderr,
        });
      assert.equal(await run("--log-format", "json"), 0);
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(
        jsonLines(err).map((l) => l.message),
        ["sync started", "sync finished"],
      );
      // The same run with text logs draws one (the check above could not pass by accident).
      err = "";
      assert.equal(await run("--log-format", "text"), 0);
      assert.ok(err.includes("\r\u001b[K"), JSON.stringify(err));
    } finally {
      await env.cleanup();
    }
  });
});

describe("a bug says so, machine-readably too", () => {
  it("an internal error: exit 1, the document's kind is internal, the JSON log line carries the stack", async () => {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = "";
    let err = "";
    stdout.on("data", (d: Buffer) => (out += d.toString()));
    stderr.on("data", (d: Buffer) => (err += d.toString()));
    // An environment that breaks when read: no real input reaches this, which is the point.
    const env = new Proxy(
      {},
      {
        get(_t, key) {
          if (key === "SHIFTGRANT_NOW") throw new TypeError("the environment broke");
          return undefined;
        },
      },
    );
    const code = await main(["oncall", "-c", "x.yaml", "--output", "json", "--log-format", "json"], {
      env,
      cwd: "/",
      stdout,
      stderr,
    });
    // winston hands its lines to the stream a tick later
    await new Promise((r) => setImmediate(r));
    assert.equal(code, 1);
    const message = "internal error (a bug; please report it with this message): the environment broke";
    assert.deepEqual(JSON.parse(out), { version: 1, error: { code: 1, kind: "internal", message } });
    const lines = jsonLines(err);
    assert.deepEqual(
      lines.map((l) => [l.level, l.message, l.exitCode, l.kind]),
      [["error", message, 1, "internal"]],
    );
    assert.match(String(lines[0]?.stack), /^TypeError: the environment broke\n\s+at /);
  });
});
