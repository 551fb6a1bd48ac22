import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, lstat, mkdir, readdir, readFile, readlink, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, it } from "node:test";
import { makeFakeCli, makeTempDir, writeYaml, type CliResult } from "./helpers.js";
import { runMain } from "./harness.js";

// The files a run reads and writes, through the built CLI: the ledger is checked like any input, a
// symlinked ledger stays a symlink, the run's files must be distinct, the metrics directory is never
// created, and a state path that cannot work fails at once with exit 2. Revokes and grants of the
// same access never overlap. The rota is placed around the real clock.

const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString().replace(".000", "");
const BASE = Math.floor(Date.now() / HOUR) * HOUR;
const ROTA = `
shifts:
  - { schedule: primary, email: alice@example.com, start: ${iso(BASE - HOUR)}, end: ${iso(BASE + 2 * HOUR)} }
  - { schedule: primary, email: bob@example.com, start: ${iso(BASE + 2 * HOUR)}, end: ${iso(BASE + 4 * HOUR)} }
`;

async function withEnv(
  body: (env: Awaited<ReturnType<typeof setup>>) => Promise<void>,
  opts: { state?: string; audit?: string; rule?: string } = {},
): Promise<void> {
  const env = await setup(opts);
  try {
    await body(env);
  } finally {
    await env.cleanup();
  }
}

async function setup(opts: { state?: string; audit?: string; rule?: string }) {
  const { dir, cleanup } = await makeTempDir("shiftgrant-files-");
  const bin = path.join(dir, "bin");
  await mkdir(bin);
  const grant = await makeFakeCli(bin, "grant-cmd");
  const revoke = await makeFakeCli(bin, "revoke-cmd");
  await writeYaml(path.join(dir, "rota.yaml"), ROTA);
  const config = await writeYaml(
    path.join(dir, "shiftgrant.yaml"),
    `
version: 1
state: ${opts.state ?? "state/ledger.json"}
${opts.audit ? `audit: ${opts.audit}` : ""}
sources:
  rota: { type: file, path: rota.yaml }
targets:
  cmd:
    type: command
    grant: ["grant-cmd", "{identity}", "{resource}", "{start}", "{end}"]
    revoke: ["revoke-cmd", "{identity}", "{resource}"]
rules:
  - { name: prod, source: rota, schedules: [primary], target: cmd, resources: [db]${opts.rule ?? ""} }
`,
  );
  return {
    dir,
    bin,
    config,
    state: path.resolve(dir, opts.state ?? "state/ledger.json"),
    grant,
    revoke,
    cleanup,
    run(args: string[] = []): Promise<CliResult> {
      return runMain(["sync", "-c", config, "--output", "json", ...args], { binDir: bin });
    },
    async calls(): Promise<string[][]> {
      return [
        ...(await grant.calls()).map((c) => ["grant-cmd", ...c.argv]),
        ...(await revoke.calls()).map((c) => ["revoke-cmd", ...c.argv]),
      ];
    },
  };
}

/**
 * Exit 2 with `message`, no bug: stdout is the JSON error document (the runs ask for
 * `--output json`), and stderr (JSON logs: no terminal) has it as its one error line.
 */
function refused(res: CliResult, message: RegExp): void {
  assert.equal(res.code, 2, `exit ${res.code}\nstdout:\n${res.stdout}\nstderr:\n${res.stderr}`);
  const doc = JSON.parse(res.stdout) as {
    version: number;
    error: { code: number; kind: string; message: string };
  };
  assert.deepEqual(Object.keys(doc), ["version", "error"]);
  assert.deepEqual([doc.version, doc.error.code], [1, 2]);
  assert.notEqual(doc.error.kind, "internal");
  assert.match(doc.error.message, message);
  const errors = res.stderr
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.level === "error");
  assert.deepEqual(
    errors.map((l) => [l.message, l.exitCode, l.kind, l.stack]),
    [[doc.error.message, 2, doc.error.kind, undefined]],
    res.stderr,
  );
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

describe("the ledger is input too", { concurrency: true }, () => {
  it("a hand-edited identity shaped like a flag never reaches a revoke argv: exit 2 naming the entry, the file untouched", () =>
    withEnv(
      async (env) => {
        assert.equal((await env.run()).code, 0);
        await env.grant.reset();
        const ledger = JSON.parse(await readFile(env.state, "utf8")) as { grants: Record<string, string>[] };
        const first = ledger.grants[0];
        assert.ok(first);
        first.identity = "--admin@evil.com";
        const text = JSON.stringify(ledger, null, 2);
        await writeFile(env.state, text);
        // alice is no longer on call: with revoke: true her held grant would be revoked.
        await writeFile(path.join(env.dir, "rota.yaml"), "shifts: []\n");
        for (const args of [[], ["--dry-run"]]) {
          refused(
            await env.run(args),
            new RegExp(
              `^${esc(env.state)}: grants\\[0\\]\\.identity "--admin@evil\\.com" is not a plain email address, a Teleport user name or a GitHub login; it is never passed to a target\\. It was left in place`,
            ),
          );
        }
        assert.deepEqual(await env.calls(), []);
        assert.equal(await readFile(env.state, "utf8"), text);
        assert.equal(existsSync(`${env.state}.lock`), false);
      },
      { rule: ", revoke: true" },
    ));

  it("a grant that ends before it starts: exit 2 naming the entry", () =>
    withEnv(async (env) => {
      await mkdir(path.dirname(env.state));
      const grant = {
        target: "cmd",
        resource: "db",
        identity: "alice@example.com",
        rule: "prod",
        start: iso(BASE + HOUR),
        end: iso(BASE - HOUR),
        grantedAt: iso(BASE),
        runId: "abcd1234",
      };
      await writeFile(env.state, JSON.stringify({ version: 1, grants: [grant] }));
      refused(
        await env.run(),
        new RegExp(`${esc(env.state)}: grants\\[0\\]: end ${grant.end} is not after start ${grant.start}`),
      );
      assert.deepEqual(await env.calls(), []);
    }));
});

describe("a symlinked ledger", () => {
  it("stays a symlink: the file it points to is replaced, atomically, in its own directory", () =>
    withEnv(async (env) => {
      const real = path.join(env.dir, "persistent", "ledger.json");
      await mkdir(path.dirname(real));
      await mkdir(path.dirname(env.state));
      await symlink("../persistent/ledger.json", env.state);
      const first = await env.run();
      assert.equal(first.code, 0, first.stderr);
      assert.ok((await lstat(env.state)).isSymbolicLink());
      assert.equal(await readlink(env.state), "../persistent/ledger.json");
      const ledger = JSON.parse(await readFile(real, "utf8")) as { grants: { identity: string }[] };
      assert.deepEqual(
        ledger.grants.map((g) => g.identity),
        ["alice@example.com", "bob@example.com"],
      );
      assert.deepEqual(await readdir(path.dirname(real)), ["ledger.json"]);
      assert.deepEqual(await readdir(path.dirname(env.state)), ["ledger.json"]);
      // The next run reads it through the link: nothing to do.
      await env.grant.reset();
      assert.equal((await env.run()).code, 0);
      assert.deepEqual(await env.calls(), []);
      assert.ok((await lstat(env.state)).isSymbolicLink());
    }));
});

describe("the run's files must be distinct", { concurrency: true }, () => {
  it("--metrics-file pointed at the ledger (not there yet, or there, or through a symlink): exit 2, nothing done", () =>
    withEnv(async (env) => {
      await mkdir(path.dirname(env.state));
      refused(
        await env.run(["--metrics-file", env.state]),
        new RegExp(
          `^--metrics-file \\(${esc(env.state)}\\) is the same file as the ledger \\(state\\) \\(${esc(env.state)}\\): each needs a file of its own; nothing was done`,
        ),
      );
      assert.deepEqual(await env.calls(), []);
      assert.equal(existsSync(env.state), false);

      assert.equal((await env.run()).code, 0);
      await env.grant.reset();
      const before = await readFile(env.state, "utf8");
      refused(
        await env.run(["--metrics-file", env.state]),
        /--metrics-file .* exists and is not a shiftgrant metrics file; it is left as it is/,
      );
      const link = path.join(env.dir, "metrics.prom");
      await symlink(env.state, link);
      refused(await env.run(["--metrics-file", link]), /exists and is not a shiftgrant metrics file/);
      assert.equal(await readFile(env.state, "utf8"), before);
      assert.deepEqual(await env.calls(), []);
    }));

  it("--metrics-file pointed at the config: exit 2, the config untouched", () =>
    withEnv(async (env) => {
      const before = await readFile(env.config, "utf8");
      refused(await env.run(["--metrics-file", env.config]), /exists and is not a shiftgrant metrics file/);
      assert.equal(await readFile(env.config, "utf8"), before);
      assert.deepEqual(await env.calls(), []);
    }));

  it("--metrics-file pointed at the lock: exit 2", () =>
    withEnv(async (env) => {
      await mkdir(path.dirname(env.state));
      refused(
        await env.run(["--metrics-file", `${env.state}.lock`]),
        /--metrics-file \(.*ledger\.json\.lock\) is the same file as the ledger's lock/,
      );
    }));

  it("audit and state naming the same file: exit 2, nothing done", () =>
    withEnv(
      async (env) => {
        refused(
          await env.run(),
          /the audit log \(audit\) \(.*ledger\.json\) is the same file as the ledger \(state\) \(.*ledger\.json\): each needs a file of its own/,
        );
        assert.deepEqual(await env.calls(), []);
        assert.equal(existsSync(env.state), false);
      },
      { audit: "state/../state/ledger.json" },
    ));
});

describe(
  "--metrics-file: where it cannot be written, the run stops before anything",
  { concurrency: true },
  () => {
    it("a missing directory is never created: exit 2 naming it", () =>
      withEnv(async (env) => {
        const file = path.join(env.dir, "textfile", "shiftgrant.prom");
        refused(
          await env.run(["--metrics-file", file]),
          new RegExp(
            `--metrics-file ${esc(file)}: the directory ${esc(path.dirname(file))} does not exist; create it or fix the path`,
          ),
        );
        assert.equal(existsSync(path.dirname(file)), false);
        assert.deepEqual(await env.calls(), []);
      }));

    it("/proc paths fail at once (no endless mkdir)", () =>
      withEnv(async (env) => {
        if (!existsSync("/proc/self")) return;
        refused(
          await env.run(["--metrics-file", "/proc/shiftgrant-test/shiftgrant.prom"]),
          /the directory \/proc\/shiftgrant-test does not exist/,
        );
        refused(
          await env.run(["--metrics-file", "/proc/shiftgrant-test.prom"]),
          /--metrics-file \/proc\/shiftgrant-test\.prom: cannot create files in \/proc \(ENOENT/,
        );
        assert.deepEqual(await env.calls(), []);
      }));
  },
);

describe("a state path that cannot work fails at once with exit 2", { concurrency: true }, () => {
  it("a state directory that cannot be created (its parent is a regular file)", () =>
    withEnv(
      async (env) => {
        await writeFile(path.join(env.dir, "notadir"), "");
        refused(
          await env.run(),
          new RegExp(`^cannot create the state directory ${esc(path.join(env.dir, "notadir"))} \\(ENOTDIR`),
        );
        assert.deepEqual(await env.calls(), []);
      },
      { state: "notadir/ledger.json" },
    ));

  it("a FIFO or a device as the state: refused, not read (a FIFO would hang, /dev/zero never end)", () =>
    withEnv(async (env) => {
      await mkdir(path.dirname(env.state));
      assert.equal(spawnSync("mkfifo", [env.state]).status, 0);
      for (const args of [[], ["--dry-run"]]) {
        refused(
          await env.run(args),
          new RegExp(`the ledger ${esc(env.state)} is a FIFO \\(named pipe\\), not a regular file`),
        );
      }
      refused(
        await env.run(["--state", "/dev/zero", "--dry-run"]),
        /the ledger \/dev\/zero is a character device/,
      );
      assert.deepEqual(await env.calls(), []);
    }));
});

describe("a revoke and a grant of the same access never overlap", () => {
  it("a shift that moves to tomorrow: the revoke (identity and resource only) ends before the new grant starts", () =>
    withEnv(
      async (env) => {
        assert.equal((await env.run()).code, 0);
        await env.grant.reset();
        // Each command logs its start and end to one file; the revoke takes a while.
        const events = path.join(env.dir, "events.log");
        for (const [name, delayMs] of [
          ["grant-cmd", 0],
          ["revoke-cmd", 300],
        ] as const) {
          const file = path.join(env.bin, name);
          await writeFile(
            file,
            `#!/usr/bin/env node
const fs = require("node:fs");
const who = process.argv[2];
fs.appendFileSync(${JSON.stringify(events)}, "${name} start " + who + "\\n");
setTimeout(() => fs.appendFileSync(${JSON.stringify(events)}, "${name} end " + who + "\\n"), ${delayMs});
`,
          );
          await chmod(file, 0o755);
        }
        await writeFile(
          path.join(env.dir, "rota.yaml"),
          `shifts:\n  - { schedule: primary, email: alice@example.com, start: ${iso(BASE + 20 * HOUR)}, end: ${iso(BASE + 22 * HOUR)} }\n`,
        );
        const res = await env.run();
        assert.equal(res.code, 0, res.stderr);
        const doc = JSON.parse(res.stdout) as {
          actions: { kind: string; identity: string; status: string }[];
        };
        assert.deepEqual(
          doc.actions.map((a) => `${a.kind} ${a.identity} ${a.status}`),
          [
            "revoke alice@example.com applied",
            "grant alice@example.com applied",
            "revoke bob@example.com applied",
          ],
        );
        const lines = (await readFile(events, "utf8")).trim().split("\n");
        const alice = lines.filter((l) => l.endsWith(" alice@example.com"));
        assert.deepEqual(alice, [
          "revoke-cmd start alice@example.com",
          "revoke-cmd end alice@example.com",
          "grant-cmd start alice@example.com",
          "grant-cmd end alice@example.com",
        ]);
      },
      { rule: ", revoke: true" },
    ));
});
