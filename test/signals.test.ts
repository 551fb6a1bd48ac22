import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { Writable } from "node:stream";
import { describe, it } from "node:test";
import { DateTime } from "luxon";
import type { CommandDeps } from "../src/commands/context.js";
import { runSync } from "../src/commands/sync.js";
import { createSilentLogger } from "../src/infra/log.js";
import { SecretSet } from "../src/core/redact.js";
import {
  makeFakeCli,
  makeTempDir,
  runCli,
  until as waitUntil,
  writeYaml,
  type CliResult,
} from "./helpers.js";

// SIGTERM and SIGINT, through the built CLI: the run stops starting calls, lets the call under way
// finish (a fake `grant-cmd` that answers only once the test creates a file), records it, prints
// the report, writes the metrics, releases the lock, and exits 143 or 130. A second signal ends the
// process at once, and still removes the lock. The rota is placed around the real clock.

const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString().replace(".000", "");
const BASE = Math.floor(Date.now() / HOUR) * HOUR;
const ROTA = `
shifts:
  - { schedule: primary, email: alice@example.com, start: ${iso(BASE - HOUR)}, end: ${iso(BASE + 2 * HOUR)} }
  - { schedule: primary, email: bob@example.com, start: ${iso(BASE + 2 * HOUR)}, end: ${iso(BASE + 4 * HOUR)} }
  - { schedule: primary, email: carol@example.com, start: ${iso(BASE + 4 * HOUR)}, end: ${iso(BASE + 6 * HOUR)} }
`;

/** As helpers' until; a file read while it is being appended to may not parse yet: that is "not yet". */
function until(what: string, cond: () => boolean | Promise<boolean>): Promise<void> {
  return waitUntil(what, async () => {
    try {
      return await cond();
    } catch {
      return false;
    }
  });
}

async function setup() {
  const { dir, cleanup } = await makeTempDir("shiftgrant-signals-");
  const bin = path.join(dir, "bin");
  await mkdir(bin);
  const release = path.join(dir, "release");
  // Concurrency 1: one call in flight, two not started when the signal comes.
  const grant = await makeFakeCli(bin, "grant-cmd", { waitForFile: release });
  await writeYaml(path.join(dir, "rota.yaml"), ROTA);
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
    concurrency: 1
rules:
  - { name: prod, source: rota, schedules: [primary], target: cmd, resources: [db] }
`,
  );
  const state = path.join(dir, "state", "ledger.json");
  const metrics = path.join(dir, "shiftgrant.prom");

  /**
   * Starts a run, waits until its first call is in flight, then calls `act` (which sends signals);
   * the call is released once `act` resolves.
   */
  async function runInterrupted(
    args: string[],
    act: (ctl: { pid: number; stderr: () => string }) => Promise<void>,
  ): Promise<CliResult> {
    let pid = 0;
    let stderr = "";
    const done = runCli(["sync", "-c", config, "--log-format", "json", "--metrics-file", metrics, ...args], {
      binDir: bin,
      onSpawn: (p) => (pid = p),
      onStderr: (s) => (stderr = s),
    });
    await until("the first call", async () => (await grant.calls()).length === 1);
    await act({ pid, stderr: () => stderr });
    await writeFile(release, "");
    return done;
  }

  const stopRequested = (stderr: () => string) =>
    until("the stop to be logged", () => stderr().includes('"message":"stop requested'));

  return { dir, config, state, metrics, grant, cleanup, runInterrupted, stopRequested };
}

function metricValue(text: string, name: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

describe("SIGTERM and SIGINT", { concurrency: true }, () => {
  it("SIGTERM: the call under way finishes and is recorded, the rest stay planned; report, metrics, no lock; exit 143", async () => {
    const env = await setup();
    try {
      const res = await env.runInterrupted(["--output", "json"], async ({ pid, stderr }) => {
        process.kill(pid, "SIGTERM");
        await env.stopRequested(stderr);
      });
      assert.equal(res.code, 143, res.stderr);
      assert.equal(res.signal, null);
      // One JSON document, saying why it stopped and what was not done.
      const doc = JSON.parse(res.stdout) as {
        actions: { identity: string; status: string }[];
        stopped?: string;
        summary: Record<string, number>;
      };
      assert.equal(
        doc.stopped,
        "SIGTERM received: no further call was started; 2 of 3 calls were not made (they stay planned; the next run makes them)",
      );
      assert.deepEqual(
        doc.actions.map((a) => `${a.identity} ${a.status}`),
        ["alice@example.com applied", "bob@example.com planned", "carol@example.com planned"],
      );
      assert.deepEqual(
        (await env.grant.calls()).map((c) => c.argv[0]),
        ["alice@example.com"],
      );
      // The call under way is in the ledger and the audit log; the lock is gone.
      const ledger = JSON.parse(await readFile(env.state, "utf8")) as { grants: { identity: string }[] };
      assert.deepEqual(
        ledger.grants.map((g) => g.identity),
        ["alice@example.com"],
      );
      const audit = (await readFile(path.join(env.dir, "state", "audit.jsonl"), "utf8")).trim().split("\n");
      assert.equal(audit.length, 1);
      assert.equal(existsSync(`${env.state}.lock`), false, "the lock is released");
      const m = await readFile(env.metrics, "utf8");
      assert.equal(metricValue(m, "shiftgrant_last_run_exit_code"), 143);
      assert.equal(metricValue(m, 'shiftgrant_last_run_actions{kind="grant",status="applied"}'), 1);
      assert.equal(metricValue(m, 'shiftgrant_last_run_actions{kind="grant",status="planned"}'), 2);

      // The next run makes exactly the two calls that were not made.
      await env.grant.reset();
      const next = await runCli(["sync", "-c", env.config, "--output", "json"], {
        binDir: path.join(env.dir, "bin"),
      });
      assert.equal(next.code, 0, next.stderr);
      assert.deepEqual((await env.grant.calls()).map((c) => c.argv[0]).sort(), [
        "bob@example.com",
        "carol@example.com",
      ]);
    } finally {
      await env.cleanup();
    }
  });

  it("SIGINT: the same, exit 130; the text report says it stopped", async () => {
    const env = await setup();
    try {
      const res = await env.runInterrupted([], async ({ pid, stderr }) => {
        process.kill(pid, "SIGINT");
        await env.stopRequested(stderr);
      });
      assert.equal(res.code, 130, res.stderr);
      assert.match(
        res.stdout,
        /stopped: SIGINT received: no further call was started; 2 of 3 calls were not made/,
      );
      assert.equal(existsSync(`${env.state}.lock`), false);
      assert.equal(metricValue(await readFile(env.metrics, "utf8"), "shiftgrant_last_run_exit_code"), 130);
    } finally {
      await env.cleanup();
    }
  });

  it("a second signal ends the run at once, and still removes its lock", async () => {
    const env = await setup();
    try {
      const res = await env.runInterrupted([], async ({ pid, stderr }) => {
        process.kill(pid, "SIGTERM");
        await env.stopRequested(stderr);
        assert.ok(existsSync(`${env.state}.lock`), "the first signal waits for the call under way");
        process.kill(pid, "SIGTERM");
        // It ends while its call is still held.
        await until("the process to end", () => {
          try {
            process.kill(pid, 0);
            return false;
          } catch {
            return true;
          }
        });
      });
      assert.equal(res.signal, "SIGTERM");
      assert.equal(existsSync(`${env.state}.lock`), false, "the lock is removed");
    } finally {
      await env.cleanup();
    }
  });
});

describe("an in-process stop (an aborted signal in CommandDeps)", () => {
  it("aborted before the sources are read: nothing planned or called, the report says so, exit 143", async () => {
    const env = await setup();
    try {
      let stdout = "";
      const calls: string[][] = [];
      const stop = new AbortController();
      stop.abort("SIGTERM");
      const deps: CommandDeps = {
        env: { PATH: process.env.PATH ?? "" },
        cwd: env.dir,
        now: () => DateTime.utc(),
        stdout: new Writable({
          write(chunk: Buffer, _enc, cb) {
            stdout += chunk.toString();
            cb();
          },
        }),
        log: createSilentLogger(),
        redactor: new SecretSet(),
        exec: async (argv) => {
          calls.push([...argv]);
          return { ok: true, stdout: "", stderr: "" };
        },
        runId: "run00001",
        progress: () => undefined,
        signal: stop.signal,
      };
      const code = await runSync({ config: env.config, dryRun: false, rules: [], output: "json" }, deps);
      assert.equal(code, 143);
      assert.deepEqual(calls, []);
      const doc = JSON.parse(stdout) as { actions: unknown[]; stopped?: string };
      assert.deepEqual(doc.actions, []);
      assert.equal(doc.stopped, "SIGTERM received while reading the sources: nothing was planned or applied");
      assert.equal(existsSync(`${env.state}.lock`), false);
    } finally {
      await env.cleanup();
    }
  });
});
