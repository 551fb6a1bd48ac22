import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { Writable } from "node:stream";
import { describe, it } from "node:test";
import { DateTime } from "luxon";
import type { CommandDeps } from "../src/commands/context.js";
import { runSync, type SyncOptions } from "../src/commands/sync.js";
import { StateError } from "../src/errors.js";
import type { Exec } from "../src/infra/exec.js";
import { createLogger } from "../src/infra/log.js";
import { SecretSet } from "../src/core/redact.js";
import { nodeStateFs, type StateFs } from "../src/state/fs.js";
import { makeTempDir, type parseJsonOutput, writeYaml } from "./helpers.js";

// A ledger or audit log that cannot be written, in-process: `sync` runs against a rota file and a
// `command` target whose calls go to a fake exec, with the state files' writes injected to fail
// (a full disk: ENOSPC) at a chosen point. Events (call starts and ends, the run's decision to stop)
// land in one list, in the order they happened.

const NOW = "2026-11-22T10:00:00Z";
const CONCURRENCY = 4;
const HALT = "the ledger could not be written; no further call is started";
const AUDIT_HALT = "the audit log could not be written; no further call is started";

function osError(code: string, syscall: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: no space left on device, ${syscall}`), { code, syscall });
}

type Faults = {
  /** A ledger write fails (the disk is full) when the ledger would hold more grants than this. */
  ledgerFullAbove?: number;
  /** Appends to the journal fail. */
  journalFails?: boolean;
  /** Appends to the audit log fail from this line on (1-based). */
  auditFailsFrom?: number;
  /** No new file can be created (a read-only mount). */
  readOnly?: boolean;
};

/** Node's writes, failing as `faults` says. */
function faultyFs(faults: Faults): StateFs {
  let auditLines = 0;
  return {
    ...nodeStateFs,
    async open(file, flags, mode) {
      if (faults.readOnly && flags !== "r")
        throw Object.assign(new Error(`EROFS: read-only file system, open '${file}'`), { code: "EROFS" });
      if (flags === "a" && file.endsWith(".journal") && faults.journalFails) throw osError("ENOSPC", "open");
      const fh = await nodeStateFs.open(file, flags, mode);
      const failing = (data: string): boolean => {
        if (flags === "wx" && path.basename(file).startsWith(".ledger.json."))
          return (data.match(/"identity":/g) ?? []).length > (faults.ledgerFullAbove ?? Infinity);
        if (flags === "a" && file.endsWith("audit.jsonl"))
          return ++auditLines >= (faults.auditFailsFrom ?? Infinity);
        return false;
      };
      return {
        writeFile: (data, enc) =>
          failing(data) ? Promise.reject(osError("ENOSPC", "write")) : fh.writeFile(data, enc),
        sync: () => fh.sync(),
        close: () => fh.close(),
      };
    },
  };
}

async function setup(people: number) {
  const { dir, cleanup } = await makeTempDir("shiftgrant-faults-");
  const shifts = Array.from({ length: people }, (_, i) => {
    const start = new Date(Date.parse(NOW) + i * 1_800_000).toISOString().replace(".000", "");
    const end = new Date(Date.parse(NOW) + (i + 1) * 1_800_000).toISOString().replace(".000", "");
    return `  - { schedule: primary, email: user${i}@example.com, start: ${start}, end: ${end} }`;
  });
  await writeYaml(path.join(dir, "rota.yaml"), `shifts:\n${shifts.join("\n")}\n`);
  const config = await writeYaml(
    path.join(dir, "shiftgrant.yaml"),
    `
version: 1
state: state/ledger.json
audit: state/audit.jsonl
sources:
  rota: { type: file, path: rota.yaml }
targets:
  cmd:
    type: command
    grant: ["grant-cmd", "{identity}", "{resource}", "{start}", "{end}"]
    concurrency: ${CONCURRENCY}
rules:
  - { name: prod, source: rota, schedules: [primary], target: cmd, resources: [db] }
`,
  );
  const state = path.join(dir, "state", "ledger.json");

  /** One run: the calls it made, its events, its stdout, and how it ended. */
  async function run(faults: Faults, runId: string) {
    const events: string[] = [];
    const calls: string[] = [];
    let stdout = "";
    const out = new Writable({
      write(chunk: Buffer, _enc, cb) {
        stdout += chunk.toString();
        cb();
      },
    });
    const logs = new Writable({
      write(chunk: Buffer, _enc, cb) {
        const { message } = JSON.parse(chunk.toString()) as { message: string };
        if (message === HALT || message === AUDIT_HALT) events.push("halt");
        cb();
      },
    });
    const redactor = new SecretSet();
    // Each call yields to the event loop twice, so that calls overlap each other and the writes.
    const exec: Exec = async (argv) => {
      const who = argv[1] ?? "";
      calls.push(who);
      events.push(`start ${who}`);
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
      events.push(`end ${who}`);
      return { ok: true, stdout: "", stderr: "" };
    };
    const deps: CommandDeps = {
      env: { PATH: process.env.PATH ?? "" },
      cwd: dir,
      now: () => DateTime.fromISO(NOW, { zone: "utc" }),
      stdout: out,
      log: createLogger({ level: "info", format: "json", secrets: redactor, runId, stream: logs }),
      redactor,
      exec,
      runId,
      progress: () => undefined,
      stateFs: faultyFs(faults),
    };
    const opts: SyncOptions = { config, dryRun: false, rules: [], output: "json" };
    let code: number;
    let error: Error | null = null;
    try {
      code = await runSync(opts, deps);
    } catch (err) {
      error = err as Error;
      code = err instanceof StateError ? err.exitCode : 1;
    }
    return { code, error, calls, events, stdout };
  }

  return { dir, state, cleanup, run };
}

/** The calls under way when the run decided to stop, and those started after it. */
function aroundHalt(events: string[]) {
  const at = events.indexOf("halt");
  assert.ok(at >= 0, "the run decided to stop");
  const before = events.slice(0, at);
  const inFlight = before
    .filter((e) => e.startsWith("start "))
    .filter((e) => !before.includes(`end ${e.slice(6)}`))
    .map((e) => e.slice(6));
  const startedAfter = events.slice(at).filter((e) => e.startsWith("start "));
  return { inFlight, startedAfter };
}

describe("a ledger that cannot be written stops the run before the next call", { concurrency: true }, () => {
  it("40 grants, the disk full once the ledger holds 20: no call starts after the failure, exit 2 naming the file and ENOSPC; the next run repeats none", async () => {
    const env = await setup(40);
    try {
      const first = await env.run({ ledgerFullAbove: 20 }, "run00001");
      assert.equal(first.code, 2, String(first.error));
      const { inFlight, startedAfter } = aroundHalt(first.events);
      assert.deepEqual(startedAfter, [], "no call starts once the write failed");
      assert.ok(inFlight.length <= CONCURRENCY);
      assert.ok(first.calls.length < 40, `stopped early: ${first.calls.length} calls made`);
      const kept = /The (\d+) action\(s\) applied since/.exec(first.error?.message ?? "")?.[1] ?? "?";
      assert.equal(
        first.error?.message,
        `could not write the ledger ${env.state} (ENOSPC: no space left on device, write); no further call was started: ` +
          `${40 - first.calls.length} of 40 calls were not made (they stay planned; the next run makes them). ` +
          `The ${kept} action(s) applied since the last good write are kept in ${env.state}.journal; the next run adds them to the ledger. ` +
          "Free space or fix the error before the next run.",
      );
      const journal = (await readFile(`${env.state}.journal`, "utf8")).split("\n").filter(Boolean);
      assert.equal(journal.length, Number(kept));

      // The report is printed: the calls made are applied, the others planned; `stopped` says why.
      const doc = JSON.parse(first.stdout) as ReturnType<typeof parseJsonOutput> & { stopped?: string };
      const applied = doc.actions.filter((a) => a.status === "applied").map((a) => a.identity);
      assert.deepEqual(applied.sort(), [...first.calls].sort());
      assert.equal(doc.actions.filter((a) => a.status === "planned").length, 40 - first.calls.length);
      assert.match(
        doc.stopped ?? "",
        /^could not write the ledger .* \(ENOSPC: no space left on device, write\): no further call was started; \d+ of 40 calls were not made/,
      );

      // No temp file is left; the journal holds what the ledger could not.
      const files = await readdir(path.dirname(env.state));
      assert.deepEqual(
        files.filter((f) => f.endsWith(".tmp")),
        [],
      );
      assert.ok(files.includes("ledger.json.journal"));
      assert.ok(!files.includes("ledger.json.lock"), "the lock is released");

      // The next run (the disk has room again) makes exactly the calls that were not made.
      const second = await env.run({}, "run00002");
      assert.equal(second.code, 0, String(second.error));
      for (const who of second.calls) assert.ok(!first.calls.includes(who), `${who} was granted twice`);
      assert.equal(second.calls.length, 40 - first.calls.length);
      const ledger = JSON.parse(await readFile(env.state, "utf8")) as { grants: unknown[] };
      assert.equal(ledger.grants.length, 40);
      assert.equal(existsSync(`${env.state}.journal`), false, "the journal was folded in and removed");
    } finally {
      await env.cleanup();
    }
  });

  it("when the journal cannot be written either, the message says so; the next run repeats at most the calls that were under way", async () => {
    const env = await setup(40);
    try {
      const first = await env.run({ ledgerFullAbove: 20, journalFails: true }, "run00001");
      assert.equal(first.code, 2);
      assert.deepEqual(aroundHalt(first.events).startedAfter, []);
      assert.match(
        first.error?.message ?? "",
        /applied action\(s\) could not be kept in the journal .*ledger\.json\.journal either \(ENOSPC: no space left on device, open\): the next run may make them again/,
      );
      const second = await env.run({}, "run00002");
      assert.equal(second.code, 0);
      const repeated = second.calls.filter((who) => first.calls.includes(who));
      // A worker starts its next call only once its last result is recorded: what a failed write
      // can lose is one result per worker, no more.
      assert.ok(repeated.length <= CONCURRENCY, `repeated: ${repeated.join(", ")}`);
      assert.equal(second.calls.length, 40 - first.calls.length + repeated.length);
    } finally {
      await env.cleanup();
    }
  });

  it("a full disk before the first call: exit 2, nothing applied, the ledger as it was", async () => {
    const env = await setup(5);
    try {
      const res = await env.run({ ledgerFullAbove: -1 }, "run00001");
      assert.equal(res.code, 2);
      assert.deepEqual(res.calls, []);
      assert.equal(
        res.error?.message,
        `could not write the ledger ${env.state} (ENOSPC: no space left on device, write): nothing was applied. Free space or fix the error, then re-run`,
      );
      assert.deepEqual((await readdir(path.dirname(env.state))).sort(), ["audit.jsonl"]);
    } finally {
      await env.cleanup();
    }
  });
});

describe("the audit log is checked before the first call", { concurrency: true }, () => {
  it("an audit log that cannot be opened: exit 2, nothing applied", async () => {
    const env = await setup(3);
    try {
      // The audit log's directory is a regular file.
      await writeFile(path.join(env.dir, "state"), "");
      const cfg = path.join(env.dir, "shiftgrant.yaml");
      await writeFile(
        cfg,
        (await readFile(cfg, "utf8")).replace("state: state/ledger.json", "state: ledger.json"),
      );
      const res = await env.run({}, "run00001");
      assert.equal(res.code, 2);
      assert.deepEqual(res.calls, []);
      assert.match(
        res.error?.message ?? "",
        new RegExp(
          `^cannot open the audit log ${path.join(env.dir, "state", "audit.jsonl")} for appending \\(ENOTDIR: not a directory.*\\): nothing was applied`,
        ),
      );
      assert.equal(existsSync(path.join(env.dir, "ledger.json")), false);
    } finally {
      await env.cleanup();
    }
  });

  it("an audit append that fails mid-run stops new calls: exit 2, the ledger keeps what was applied", async () => {
    const env = await setup(20);
    try {
      const first = await env.run({ auditFailsFrom: 6 }, "run00001");
      assert.equal(first.code, 2);
      const { startedAfter } = aroundHalt(first.events);
      assert.deepEqual(startedAfter, []);
      assert.ok(first.calls.length < 20);
      assert.match(
        first.error?.message ?? "",
        /^could not append to the audit log .*audit\.jsonl \(ENOSPC: no space left on device, write\); no further call was started: \d+ of 20 calls were not made .* The ledger records what was applied\.$/,
      );
      const ledger = JSON.parse(await readFile(env.state, "utf8")) as { grants: { identity: string }[] };
      assert.deepEqual(ledger.grants.map((g) => g.identity).sort(), [...first.calls].sort());
      const second = await env.run({}, "run00002");
      assert.equal(second.code, 0);
      assert.equal(second.calls.length, 20 - first.calls.length);
      for (const who of second.calls) assert.ok(!first.calls.includes(who));
    } finally {
      await env.cleanup();
    }
  });
});

describe("a state directory that cannot be written", () => {
  it("a read-only state directory: exit 2 with a clear message before the lock and any call", async () => {
    const env = await setup(3);
    try {
      const res = await env.run({ readOnly: true }, "run00001");
      assert.equal(res.code, 2);
      assert.ok(res.error instanceof StateError, String(res.error));
      assert.match(
        res.error.message,
        new RegExp(
          `^the state directory ${path.dirname(env.state)} is not writable \\(EROFS: read-only file system, open '.*\\.tmp'\\): the ledger, its lock and journal live there`,
        ),
      );
      assert.deepEqual(res.calls, []);
      assert.deepEqual(await readdir(path.dirname(env.state)), []);
    } finally {
      await env.cleanup();
    }
  });
});
