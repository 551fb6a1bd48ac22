import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, readlinkSync } from "node:fs";
import { mkdir, readFile, stat, utimes, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { describe, it } from "node:test";
import { createLogger, createSilentLogger, type Logger } from "../src/infra/log.js";
import { SecretSet } from "../src/core/redact.js";
import { acquireLock, type LockOptions } from "../src/state/lock.js";
import {
  makeFakeCli,
  makeTempDir,
  parseJsonOutput,
  runCli,
  until,
  writeYaml,
  type CliResult,
} from "./helpers.js";
import { runMain } from "./harness.js";

// The run lock (`<state>.lock`), through main() in-process (two runs at once: the built CLI): one run at a time, a dead
// holder's lock is taken over (a gone pid, a reused pid, PID 1 of a restarted container, a heartbeat
// that stopped), a live holder's never is, and a dry run takes no lock and writes nothing.

const NOW = "2026-11-22T10:00:00Z";
const ROTA = `
shifts:
  - { schedule: primary, email: alice@example.com, start: 2026-11-22T09:00:00Z, end: 2026-11-22T14:00:00Z }
  - { schedule: primary, email: bob@example.com, start: 2026-11-22T14:00:00Z, end: 2026-11-22T20:00:00Z }
  - { schedule: primary, email: carol@example.com, start: 2026-11-22T20:00:00Z, end: 2026-11-23T09:00:00Z }
`;
const EXPECTED = [
  ["alice@example.com", "db", "2026-11-22T10:00:00Z", "2026-11-22T14:00:00Z"],
  ["bob@example.com", "db", "2026-11-22T14:00:00Z", "2026-11-22T20:00:00Z"],
  ["carol@example.com", "db", "2026-11-22T20:00:00Z", "2026-11-23T09:00:00Z"],
];

async function withEnv(
  body: (env: {
    state: string;
    lock: string;
    /** A run in this process (main()). */
    run: (args?: string[]) => Promise<CliResult>;
    /** A run of the built CLI, a process of its own. */
    spawnRun: (args?: string[]) => Promise<CliResult>;
    /** Grant calls answer only once `releaseCalls()` is called. */
    holdCalls: () => Promise<void>;
    releaseCalls: () => Promise<void>;
    calls: () => Promise<string[][]>;
  }) => Promise<void>,
): Promise<void> {
  const { dir, cleanup } = await makeTempDir("shiftgrant-lock-");
  try {
    const bin = path.join(dir, "bin");
    await mkdir(bin);
    const grant = await makeFakeCli(bin, "grant-cmd");
    const release = path.join(dir, "release");
    await writeYaml(path.join(dir, "rota.yaml"), ROTA);
    const config = await writeYaml(
      path.join(dir, "shiftgrant.yaml"),
      `
version: 1
state: state.json
sources:
  rota: { type: file, path: rota.yaml }
targets:
  cmd:
    type: command
    grant: ["grant-cmd", "{identity}", "{resource}", "{start}", "{end}"]
rules:
  - { name: prod, source: rota, schedules: [primary], target: cmd, resources: [db] }
`,
    );
    const state = path.join(dir, "state.json");
    await body({
      state,
      lock: `${state}.lock`,
      run: (args = []) =>
        runMain(["sync", "-c", config, "--output", "json", ...args], { binDir: bin, now: NOW }),
      spawnRun: (args = []) =>
        runCli(["sync", "-c", config, "--output", "json", ...args], {
          binDir: bin,
          env: { SHIFTGRANT_NOW: NOW },
        }),
      holdCalls: () => grant.setBehaviour({ waitForFile: release }),
      releaseCalls: () => writeFile(release, ""),
      calls: async () =>
        (await grant.calls()).map((c) => c.argv).sort((a, b) => a.join().localeCompare(b.join())),
    });
  } finally {
    await cleanup();
  }
}

/** A pid that is certainly not running: a child that has exited and been reaped. */
function deadPid(): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
    child.on("error", reject);
    child.on("close", () => resolve(child.pid as number));
  });
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** A process's start time in clock ticks since boot: field 22 of /proc/PID/stat. */
function startTicksOf(pid: number): number {
  const text = readFileSync(`/proc/${pid}/stat`, "utf8");
  return Number(text.slice(text.lastIndexOf(")") + 2).split(" ")[19]);
}

/** A lock file's content as a run on this machine writes it, for `pid`, with `over` changed. */
function lockOf(pid: number, over: Record<string, unknown> = {}): string {
  return `${JSON.stringify({
    pid,
    host: hostname(),
    bootId: readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim(),
    pidNamespace: readlinkSync("/proc/self/ns/pid"),
    since: new Date().toISOString(),
    runId: "held0001",
    startTicks: startTicksOf(pid),
    ...over,
  })}\n`;
}

/** A live process unrelated to shiftgrant; killed when `body` ends. */
async function withLiveProcess(body: (pid: number) => Promise<void>): Promise<void> {
  const child: ChildProcess = spawn("sleep", ["30"], { stdio: "ignore" });
  try {
    await new Promise<void>((resolve, reject) => {
      child.once("spawn", resolve);
      child.once("error", reject);
    });
    await body(child.pid as number);
  } finally {
    child.kill("SIGKILL");
  }
}

/** The JSON log lines of a run's stderr. */
function logLines(stderr: string): Record<string, unknown>[] {
  return stderr
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

function takeoverReason(stderr: string): unknown {
  const warning = logLines(stderr).find((l) => l.message === "taking over a stale lock");
  assert.ok(warning, stderr);
  assert.equal(warning.level, "warn");
  return warning.reason;
}

/** A logger whose JSON lines can be read back. */
function capturingLogger(): { log: Logger; lines: () => Promise<Record<string, unknown>[]> } {
  const stream = new PassThrough();
  let text = "";
  stream.on("data", (d: Buffer) => (text += d.toString()));
  const log = createLogger({ level: "debug", format: "json", secrets: new SecretSet(), runId: "t", stream });
  return {
    log,
    // winston hands lines to its stream a tick later
    lines: () => new Promise((resolve) => setImmediate(() => resolve(logLines(text)))),
  };
}

/** A heartbeat driven by the test: `beat()` runs one, `stopped` says whether the lock stopped it. */
function manualHeartbeat(): {
  every: NonNullable<LockOptions["every"]>;
  beat: () => Promise<void>;
  intervalMs: () => number | null;
  stopped: () => boolean;
} {
  let beat: (() => Promise<void>) | null = null;
  let interval: number | null = null;
  let stopped = false;
  return {
    every: (ms, b) => {
      interval = ms;
      beat = b;
      return () => {
        stopped = true;
      };
    },
    beat: () => (beat ? beat() : Promise.reject(new Error("no heartbeat was started"))),
    intervalMs: () => interval,
    stopped: () => stopped,
  };
}

const noHeartbeat: LockOptions["every"] = () => () => undefined;

describe("the run lock", { concurrency: true }, () => {
  it("two runs started together: one exits 5 saying who holds the lock, the other 0; no grant twice", () =>
    // Two processes. The winner's calls are held until the loser has ended, so the loser finds the
    // lock held however far apart a busy machine starts them.
    withEnv(async (env) => {
      await env.holdCalls();
      const runs = [env.spawnRun(), env.spawnRun()];
      await Promise.race(runs);
      await env.releaseCalls();
      const results = await Promise.all(runs);
      const codes = results.map((r) => r.code).sort();
      assert.deepEqual(codes, [0, 5], results.map((r) => r.stderr).join("\n"));
      const loser = results.find((r) => r.code === 5) as CliResult;
      const held = new RegExp(
        `^another run holds the lock ${escape(env.lock)}: pid \\d+ on ${escape(hostname())} since ` +
          `\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z \\(run [0-9a-f]{8}\\); this run did nothing$`,
      );
      // Its one JSON document says so, and so does its last log line.
      const doc = JSON.parse(loser.stdout) as { error: { code: number; kind: string; message: string } };
      assert.deepEqual([doc.error.code, doc.error.kind], [5, "locked"]);
      assert.match(doc.error.message, held);
      assert.match(String(logLines(loser.stderr).at(-1)?.message), held);
      assert.deepEqual(await env.calls(), EXPECTED);
      assert.equal(existsSync(env.lock), false, "the winner released the lock");
    }));

  it("a live process on this machine, same start time, fresh heartbeat: exit 5 naming it; the lock is left alone", () =>
    withEnv((env) =>
      withLiveProcess(async (pid) => {
        const lock = lockOf(pid);
        await writeFile(env.lock, lock);
        const res = await env.run();
        assert.equal(res.code, 5, res.stderr);
        const { since } = JSON.parse(lock) as { since: string };
        const message = `another run holds the lock ${env.lock}: pid ${pid} on ${hostname()} since ${since} (run held0001); this run did nothing`;
        assert.deepEqual(JSON.parse(res.stdout), { version: 1, error: { code: 5, kind: "locked", message } });
        assert.deepEqual(
          logLines(res.stderr).map((l) => [l.level, l.message, l.exitCode, l.kind]),
          [["error", message, 5, "locked"]],
        );
        assert.deepEqual(await env.calls(), []);
        assert.equal(await readFile(env.lock, "utf8"), lock);
        assert.equal(existsSync(env.state), false);
      }),
    ));

  it("a lock without the machine's identity (an older version's) is judged by its heartbeat: fresh, exit 5", () =>
    withEnv(async (env) => {
      const since = new Date().toISOString();
      const lock = `${JSON.stringify({ pid: process.pid, host: hostname(), since, runId: "held0001" })}\n`;
      await writeFile(env.lock, lock);
      const res = await env.run();
      assert.equal(res.code, 5, res.stderr);
      assert.ok(
        res.stderr.includes(
          `another run holds the lock ${env.lock}: pid ${process.pid} on ${hostname()} since ${since} (run held0001)`,
        ),
        res.stderr,
      );
      assert.deepEqual(await env.calls(), []);
      assert.equal(await readFile(env.lock, "utf8"), lock);
      assert.equal(existsSync(env.state), false);
    }));

  it("a stale lock left by a dead pid is taken over with a warning, and the run succeeds", () =>
    withEnv(async (env) => {
      const pid = await deadPid();
      await writeFile(env.lock, lockOf(process.pid, { pid, startTicks: 12345 }));
      const res = await env.run();
      assert.equal(res.code, 0, res.stderr);
      assert.equal(takeoverReason(res.stderr), `process ${pid} is gone`);
      assert.deepEqual(await env.calls(), EXPECTED);
      assert.equal(existsSync(env.lock), false);
    }));

  it("a lock naming PID 1 on this host with another start time (a restarted container's) is taken over", () =>
    withEnv(async (env) => {
      await writeFile(env.lock, lockOf(1, { startTicks: startTicksOf(1) + 1000 }));
      const res = await env.run();
      assert.equal(res.code, 0, res.stderr);
      assert.equal(takeoverReason(res.stderr), "pid 1 is now another process (it started at another time)");
      assert.deepEqual(await env.calls(), EXPECTED);
      assert.equal(existsSync(env.lock), false);
    }));

  it("a lock naming a live but unrelated process (a reused pid) is taken over", () =>
    withEnv((env) =>
      withLiveProcess(async (pid) => {
        await writeFile(env.lock, lockOf(pid, { startTicks: startTicksOf(pid) - 1 }));
        const res = await env.run();
        assert.equal(res.code, 0, res.stderr);
        assert.equal(
          takeoverReason(res.stderr),
          `pid ${pid} is now another process (it started at another time)`,
        );
        assert.deepEqual(await env.calls(), EXPECTED);
      }),
    ));

  it("a lock from another host: respected while its heartbeat is fresh, however old; taken over 3 minutes after it stops", () =>
    withEnv(async (env) => {
      const other = JSON.stringify({
        pid: 1,
        host: "other-host.example",
        bootId: "5f0c1a56-0000-4000-8000-000000000001",
        pidNamespace: "pid:[4026531836]",
        since: new Date(Date.now() - 7 * 3_600_000).toISOString(),
        runId: "y",
        startTicks: 42,
      });
      await writeFile(env.lock, other);
      const held = await env.run();
      assert.equal(held.code, 5, held.stderr);
      assert.match(held.stderr, /another run holds the lock .*: pid 1 on other-host\.example since /);
      const beat = new Date(Date.now() - 200_000);
      await utimes(env.lock, beat, beat);
      const res = await env.run();
      assert.equal(res.code, 0, res.stderr);
      assert.match(
        String(takeoverReason(res.stderr)),
        /^its heartbeat stopped \d{3}s ago \(a live holder refreshes it every 30s\)$/,
      );
      assert.deepEqual(await env.calls(), EXPECTED);
    }));

  it("a state directory that cannot be created: exit 2 naming the path and the OS error, nothing done", () =>
    withEnv(async (env) => {
      const file = path.join(path.dirname(env.state), "a-file");
      await writeFile(file, "not a directory\n");
      for (const [state, os] of [
        [path.join(file, "state.json"), `ENOTDIR: not a directory, mkdir '${file}'`],
        [path.join(file, "sub", "state.json"), `ENOTDIR: not a directory, stat '${path.join(file, "sub")}'`],
      ] as const) {
        const res = await env.run(["--state", state, "--log-format", "text"]);
        assert.equal(res.code, 2, res.stderr);
        const dir = path.dirname(state);
        const message = `cannot create the state directory ${dir} (${os}): create it, writable by the user shiftgrant runs as, or point state elsewhere`;
        assert.deepEqual(JSON.parse(res.stdout), { version: 1, error: { code: 2, kind: "state", message } });
        assert.ok(res.stderr.includes(`shiftgrant: error: ${message}\n`), res.stderr);
        assert.doesNotMatch(res.stderr, /internal error|\n\s+at /);
      }
      assert.deepEqual(await env.calls(), []);
    }));

  it("--dry-run takes no lock (it works while one is held) and writes no ledger", () =>
    withEnv(async (env) => {
      const lock = JSON.stringify({
        pid: process.pid,
        host: hostname(),
        since: new Date().toISOString(),
        runId: "z",
      });
      await writeFile(env.lock, lock);
      const res = await env.run(["--dry-run"]);
      assert.equal(res.code, 0, res.stderr);
      const doc = parseJsonOutput(res.stdout);
      assert.equal(doc.dryRun, true);
      assert.deepEqual(
        doc.actions.map((a) => `${a.kind} ${a.identity} ${a.status}`),
        [
          "grant alice@example.com planned",
          "grant bob@example.com planned",
          "grant carol@example.com planned",
        ],
      );
      assert.deepEqual(await env.calls(), []);
      assert.equal(existsSync(env.state), false, "no ledger");
      assert.equal(await readFile(env.lock, "utf8"), lock, "the lock is untouched");
    }));

  it("many runs finding the same stale lock at once: exactly one takes it over", async () => {
    const { dir, cleanup } = await makeTempDir("shiftgrant-lock-");
    try {
      const pid = await deadPid();
      for (let round = 0; round < 20; round++) {
        const file = path.join(dir, `round${round}.lock`);
        await writeFile(file, lockOf(process.pid, { pid, runId: "x" }));
        const results = await Promise.allSettled(
          Array.from({ length: 8 }, (_, i) => acquireLock(file, `run${i}`, createSilentLogger())),
        );
        const holders = results.filter((r) => r.status === "fulfilled");
        assert.equal(holders.length, 1, `round ${round}: ${holders.length} runs hold the lock`);
        for (const r of results) {
          if (r.status === "rejected") assert.equal((r.reason as { exitCode?: number }).exitCode, 5);
        }
        assert.equal(existsSync(`${file}.takeover`), false);
        for (const h of holders) await h.value.release();
        assert.equal(existsSync(file), false);
      }
    } finally {
      await cleanup();
    }
  });

  it("a lock naming this very process but not one of its runs (PID 1 again after a restart) is taken over", async () => {
    const { dir, cleanup } = await makeTempDir("shiftgrant-lock-");
    try {
      const file = path.join(dir, "state.json.lock");
      await writeFile(file, lockOf(process.pid, { runId: "before-restart" }));
      const { log, lines } = capturingLogger();
      const lock = await acquireLock(file, "after-restart", log, { every: noHeartbeat });
      const warning = (await lines()).find((l) => l.message === "taking over a stale lock");
      assert.equal(
        warning?.reason,
        `it names this process (pid ${process.pid}) but not one of its runs: an earlier process had the same pid`,
      );
      assert.equal((JSON.parse(await readFile(file, "utf8")) as { runId: string }).runId, "after-restart");
      await lock.release();
      assert.equal(existsSync(file), false);
    } finally {
      await cleanup();
    }
  });

  it("the holder's heartbeat keeps its lock; once it stops, the lock is taken over 3 minutes later", async () => {
    const { dir, cleanup } = await makeTempDir("shiftgrant-lock-");
    try {
      const file = path.join(dir, "state.json.lock");
      let t = Date.parse("2026-11-22T10:00:00Z");
      const now = () => t;
      const mtime = async () => (await stat(file)).mtimeMs;
      const hb = manualHeartbeat();
      const first = capturingLogger();
      const lock = await acquireLock(file, "run-a", first.log, { now, every: hb.every });
      assert.equal(hb.intervalMs(), 30_000);
      assert.equal(await mtime(), t);

      t += 150_000;
      await hb.beat();
      assert.equal(await mtime(), t, "the beat refreshed the heartbeat");
      // 150s after that beat (300s after the lock was taken): still held thanks to the beat.
      t += 150_000;
      await assert.rejects(acquireLock(file, "run-b", createSilentLogger(), { now, every: noHeartbeat }), {
        exitCode: 5,
      });

      // The holder misses its beats (frozen): 210s after the last one, another run takes over.
      t += 60_000;
      const second = capturingLogger();
      const other = await acquireLock(file, "run-c", second.log, { now, every: noHeartbeat });
      const warning = (await second.lines()).find((l) => l.message === "taking over a stale lock");
      assert.equal(warning?.reason, "its heartbeat stopped 210s ago (a live holder refreshes it every 30s)");
      const taken = await readFile(file, "utf8");

      // The first holder wakes: its next beat finds the lock is no longer its own, says so, stops, and
      // neither refreshes nor removes the new holder's lock.
      const before = await mtime();
      t += 30_000;
      await hb.beat();
      assert.equal(hb.stopped(), true);
      assert.equal(await mtime(), before);
      assert.deepEqual(
        (await first.lines()).filter((l) => l.level === "error").map((l) => [l.message, l.lock]),
        [["this run no longer holds its lock: another run took it over", file]],
      );
      await lock.release();
      assert.equal(await readFile(file, "utf8"), taken);
      await other.release();
      assert.equal(existsSync(file), false);
    } finally {
      await cleanup();
    }
  });

  it("without an injected timer, the heartbeat beats on its own", async () => {
    const { dir, cleanup } = await makeTempDir("shiftgrant-lock-");
    try {
      const file = path.join(dir, "state.json.lock");
      let t = Date.parse("2026-11-22T10:00:00Z");
      const lock = await acquireLock(file, "run-a", createSilentLogger(), { now: () => t, heartbeatMs: 10 });
      try {
        t += 60_000;
        // Waits for a beat, however slow the machine: no fixed sleep.
        await until(
          "a heartbeat (the lock file's mtime set to the clock)",
          async () => (await stat(file)).mtimeMs === t,
        );
      } finally {
        await lock.release();
      }
      assert.equal(existsSync(file), false);
    } finally {
      await cleanup();
    }
  });

  it("release() stops the heartbeat and removes the lock; a second release() does nothing", async () => {
    const { dir, cleanup } = await makeTempDir("shiftgrant-lock-");
    try {
      const file = path.join(dir, "state.json.lock");
      const hb = manualHeartbeat();
      const lock = await acquireLock(file, "run-a", createSilentLogger(), { every: hb.every });
      assert.equal(hb.stopped(), false);
      await Promise.all([lock.release(), lock.release()]);
      assert.equal(hb.stopped(), true);
      assert.equal(existsSync(file), false);
      // A later run's lock is not touched by the first run's release.
      const next = await acquireLock(file, "run-b", createSilentLogger(), { every: noHeartbeat });
      await lock.release();
      assert.equal(existsSync(file), true);
      await next.release();
    } finally {
      await cleanup();
    }
  });

  it("a lock path that is not a regular file (a directory, a FIFO) is exit 2 at once, never a hang", async () => {
    const { dir, cleanup } = await makeTempDir("shiftgrant-lock-");
    try {
      const asDir = path.join(dir, "dir.lock");
      await mkdir(asDir);
      await assert.rejects(acquireLock(asDir, "run-a", createSilentLogger(), { every: noHeartbeat }), {
        name: "StateError",
        exitCode: 2,
        message: `the lock ${asDir} is not a regular file; remove it (shiftgrant creates it for each run)`,
      });
      const fifo = path.join(dir, "fifo.lock");
      await new Promise<void>((resolve, reject) =>
        spawn("mkfifo", [fifo]).on("close", (code) => (code === 0 ? resolve() : reject(new Error("mkfifo")))),
      );
      await assert.rejects(acquireLock(fifo, "run-b", createSilentLogger(), { every: noHeartbeat }), {
        exitCode: 2,
        message: `the lock ${fifo} is not a regular file; remove it (shiftgrant creates it for each run)`,
      });
    } finally {
      await cleanup();
    }
  });
});
