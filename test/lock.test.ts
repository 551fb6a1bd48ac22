import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { createSilentLogger } from "../src/infra/log.js";
import { acquireLock } from "../src/state/lock.js";
import { makeFakeCli, makeTempDir, parseJsonOutput, runCli, writeYaml, type CliResult } from "./helpers.js";

// The run lock (`<state>.lock`), through the built CLI: one run at a time, a dead holder's lock is
// taken over, and a dry run takes no lock and writes nothing.

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
  delayMs: number,
  body: (env: {
    state: string;
    lock: string;
    run: (args?: string[]) => Promise<CliResult>;
    calls: () => Promise<string[][]>;
  }) => Promise<void>,
): Promise<void> {
  const { dir, cleanup } = await makeTempDir("shiftgrant-lock-");
  try {
    const bin = path.join(dir, "bin");
    await mkdir(bin);
    const grant = await makeFakeCli(bin, "grant-cmd", { delayMs });
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
        runCli(["sync", "-c", config, "--output", "json", ...args], {
          binDir: bin,
          env: { SHIFTGRANT_NOW: NOW },
        }),
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

describe("the run lock", { concurrency: true }, () => {
  it("two runs started together: one exits 5 saying who holds the lock, the other 0; no grant twice", () =>
    // The winner's calls take 2.5s, so the other run finds the lock held even when a busy machine
    // starts the two node processes a second or two apart.
    withEnv(2500, async (env) => {
      const results = await Promise.all([env.run(), env.run()]);
      const codes = results.map((r) => r.code).sort();
      assert.deepEqual(codes, [0, 5], results.map((r) => r.stderr).join("\n"));
      const loser = results.find((r) => r.code === 5) as CliResult;
      assert.equal(loser.stdout, "");
      assert.match(
        loser.stderr,
        new RegExp(
          `another run holds the lock ${escape(env.lock)}: pid \\d+ on ${escape(hostname())} since ` +
            `\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z \\(run [0-9a-f]{8}\\); this run did nothing`,
        ),
      );
      assert.deepEqual(await env.calls(), EXPECTED);
      assert.equal(existsSync(env.lock), false, "the winner released the lock");
    }));

  it("a lock held by a live process: exit 5 at once, with its pid, host and since; the lock is left alone", () =>
    withEnv(0, async (env) => {
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
    withEnv(0, async (env) => {
      const pid = await deadPid();
      await writeFile(
        env.lock,
        JSON.stringify({ pid, host: hostname(), since: new Date().toISOString(), runId: "x" }),
      );
      const res = await env.run();
      assert.equal(res.code, 0, res.stderr);
      const warning = res.stderr
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l.message === "taking over a stale lock");
      assert.ok(warning, res.stderr);
      assert.equal(warning.level, "warn");
      assert.equal(warning.reason, `process ${pid} is gone`);
      assert.deepEqual(await env.calls(), EXPECTED);
      assert.equal(existsSync(env.lock), false);
    }));

  it("a lock from another host is respected, unless it is older than 6h", () =>
    withEnv(0, async (env) => {
      const other = (sinceMs: number) =>
        JSON.stringify({
          pid: 1,
          host: "other-host.example",
          since: new Date(sinceMs).toISOString(),
          runId: "y",
        });
      await writeFile(env.lock, other(Date.now() - 3_600_000));
      const held = await env.run();
      assert.equal(held.code, 5, held.stderr);
      assert.match(held.stderr, /pid 1 on other-host\.example since/);
      await writeFile(env.lock, other(Date.now() - 7 * 3_600_000));
      const res = await env.run();
      assert.equal(res.code, 0, res.stderr);
      assert.match(res.stderr, /taking over a stale lock.*older than 6h/);
      assert.deepEqual(await env.calls(), EXPECTED);
    }));

  it("--dry-run takes no lock (it works while one is held) and writes no ledger", () =>
    withEnv(0, async (env) => {
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
        await writeFile(
          file,
          JSON.stringify({ pid, host: hostname(), since: new Date().toISOString(), runId: "x" }),
        );
        const results = await Promise.allSettled(
          Array.from({ length: 8 }, (_, i) => acquireLock(file, `run${i}`, createSilentLogger())),
        );
        const holders = results.filter((r) => r.status === "fulfilled");
        assert.equal(holders.length, 1, `round ${round}: ${holders.length} runs hold the lock`);
        for (const r of results) {
          if (r.status === "rejected") assert.equal((r.reason as { exitCode?: number }).exitCode, 5);
        }
        assert.equal(existsSync(`${file}.takeover`), false);
      }
    } finally {
      await cleanup();
    }
  });
});
