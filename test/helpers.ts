import { spawn } from "node:child_process";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const CLI = path.join(ROOT, "bin", "shiftgrant.js");

export type CliResult = {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
};

/**
 * Runs the built CLI as a child process, as cron would: no stdin, no terminal. `binDir` (fake CLIs)
 * goes first on PATH. The environment is only what the test passes plus PATH, HOME and
 * SHIFTGRANT_TEST_ALLOW_FAKE_NOW=1: every ledger here is a throwaway one, so a real sync may run at
 * the time SHIFTGRANT_NOW fakes (pass it as "" to see the refusal that protects real ledgers).
 */
export function runCli(
  args: string[],
  opts: {
    env?: Record<string, string>;
    cwd?: string;
    binDir?: string;
    /** How long the child may take before it is killed and the test fails; generous on purpose. */
    timeoutMs?: number;
    onSpawn?: (pid: number) => void;
    /** In a process group of its own (its pid is the group's id): `process.kill(-pid)` ends it and its children. */
    detached?: boolean;
    /** Sees stderr as it comes (e.g. to wait for a log line). */
    onStderr?: (soFar: string) => void;
  } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env: Record<string, string> = {
      PATH: [opts.binDir, process.env.PATH].filter(Boolean).join(path.delimiter),
      HOME: process.env.HOME ?? "/root",
      SHIFTGRANT_TEST_ALLOW_FAKE_NOW: "1",
      ...opts.env,
    };
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: opts.cwd ?? ROOT,
      env,
      stdio: ["ignore", "pipe", "pipe"],
      detached: opts.detached ?? false,
    });
    if (child.pid && opts.onSpawn) opts.onSpawn(child.pid);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      opts.onStderr?.(stderr);
    });
    // A limit only for a child that hangs: a loaded 2-core machine can be many times slower than a
    // quiet one, so it is far above what any run here takes, and a hit says what was waited for.
    const limitMs = opts.timeoutMs ?? CLI_LIMIT_MS;
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      child.kill("SIGKILL");
    }, limitMs);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (hung) {
        reject(
          new Error(
            `shiftgrant ${args.join(" ")} did not exit within ${limitMs / 1000}s (killed); stderr so far:\n${stderr}`,
          ),
        );
      } else resolve({ code, signal, stdout, stderr });
    });
  });
}

/** How long a spawned CLI may run before the test fails (it hangs): see runCli. */
export const CLI_LIMIT_MS = 120_000;

/**
 * Waits until `cond` holds, polling; for what only a real process shows (a file it writes, a line it
 * logs). The limit is generous (a loaded machine is slow) and a hit says what was waited for.
 */
export async function until(
  what: string,
  cond: () => boolean | Promise<boolean>,
  limitMs = CLI_LIMIT_MS,
): Promise<void> {
  const started = Date.now();
  while (!(await cond())) {
    if (Date.now() - started > limitMs)
      throw new Error(`waited ${limitMs / 1000}s for ${what}; it never came`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export async function makeTempDir(
  prefix = "shiftgrant-test-",
): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export type FakeCliBehaviour = {
  /** Exit with this code when any argument equals one of these values. */
  failFor?: string[];
  failCode?: number;
  /** Sleep before answering (for kill and lock tests). */
  delayMs?: number;
  /** Printed on stdout on success. */
  stdout?: string;
  /** Answer only once this file exists (a test creates it: a call held in flight, without timing). */
  waitForFile?: string;
};

export type FakeCliCall = { argv: string[]; env: Record<string, string> };

/**
 * Writes an executable fake CLI (e.g. `sdm`) into `binDir`. Every call appends one JSON line with its
 * argv and whole environment to `<binDir>/<name>.calls.jsonl`; its behaviour is read from
 * `<binDir>/<name>.behaviour.json` on each call, so a test can change it between runs.
 */
export async function makeFakeCli(binDir: string, name: string, behaviour: FakeCliBehaviour = {}) {
  const log = path.join(binDir, `${name}.calls.jsonl`);
  const behaviourFile = path.join(binDir, `${name}.behaviour.json`);
  const script = `#!${process.execPath}
const fs = require("node:fs");
const argv = process.argv.slice(2);
fs.appendFileSync(${JSON.stringify(log)}, JSON.stringify({ argv, env: process.env }) + "\\n");
const b = JSON.parse(fs.readFileSync(${JSON.stringify(behaviourFile)}, "utf8"));
const finish = () => {
  if ((b.failFor || []).some((v) => argv.includes(v))) {
    process.stderr.write("fake ${name}: refused " + argv.join(" ") + "\\n");
    process.exit(b.failCode || 1);
  }
  if (b.stdout) process.stdout.write(b.stdout);
  process.exit(0);
};
const held = () => (b.waitForFile && !fs.existsSync(b.waitForFile) ? setTimeout(held, 10) : finish());
if (b.delayMs) setTimeout(held, b.delayMs); else held();
`;
  const file = path.join(binDir, name);
  await writeFile(file, script.replace(/^#!.*\n/, "#!/usr/bin/env node\n"));
  await chmod(file, 0o755);
  await writeFile(behaviourFile, JSON.stringify(behaviour));
  return {
    path: file,
    async setBehaviour(b: FakeCliBehaviour) {
      await writeFile(behaviourFile, JSON.stringify(b));
    },
    async calls(): Promise<FakeCliCall[]> {
      try {
        return (await readFile(log, "utf8"))
          .split("\n")
          .filter(Boolean)
          .map((l) => JSON.parse(l) as FakeCliCall);
      } catch {
        return [];
      }
    },
    async reset() {
      await rm(log, { force: true });
    },
  };
}

/** Every place a secret could leak to: the run's output and the files it wrote. */
export async function assertNoSecret(
  secrets: string[],
  texts: string[],
  files: string[] = [],
): Promise<void> {
  const all = [...texts];
  for (const f of files) {
    try {
      all.push(await readFile(f, "utf8"));
    } catch {
      // a file the run did not write cannot leak
    }
  }
  const escaped = (s: string) => JSON.stringify(s).slice(1, -1);
  for (const s of secrets) {
    // Raw, URL-encoded, and JSON-escaped once and twice (a token with `"` or `\` rendered in JSON).
    const forms = [s, encodeURIComponent(s), escaped(s), escaped(escaped(s))];
    for (const [i, t] of all.entries()) {
      if (forms.some((f) => t.includes(f))) {
        throw new Error(`secret leaked into ${i < texts.length ? `output #${i}` : files[i - texts.length]}`);
      }
    }
  }
}

export async function writeYaml(file: string, text: string): Promise<string> {
  await writeFile(file, text.replace(/^\n/, ""));
  return file;
}

/** The JSON report of `sync -o json`; every field of an action is a string. */
export type JsonReport = {
  version: number;
  exitCode: number;
  dryRun: boolean;
  window: { since: string; until: string };
  actions: Record<string, string>[];
  errors: { rule: string; source: string; message: string }[];
  summary: Record<string, number>;
};

export function parseJsonOutput(stdout: string): JsonReport {
  return JSON.parse(stdout) as JsonReport;
}
