import { Writable } from "node:stream";
import path from "node:path";
import { DateTime } from "luxon";
import type { Exec } from "../src/infra/exec.js";
import { main, type StopControl } from "../src/main.js";
import { ROOT, type CliResult } from "./helpers.js";

/** A stream that keeps what is written to it, with the terminal flags a test chooses. */
export type CapturedStream = Writable & { isTTY?: boolean; columns?: number; text(): string };

export function captureStream(tty: { isTTY?: boolean; columns?: number } = {}): CapturedStream {
  let text = "";
  const stream = new Writable({
    decodeStrings: false,
    write(chunk: string | Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  }) as CapturedStream;
  if (tty.isTTY !== undefined) stream.isTTY = tty.isTTY;
  if (tty.columns !== undefined) stream.columns = tty.columns;
  stream.text = () => text;
  return stream;
}

export type RunMainOptions = {
  env?: Record<string, string>;
  cwd?: string;
  /** Fake CLIs: goes first on PATH; the run still spawns them as real children. */
  binDir?: string;
  /** The run's clock (an ISO time or a DateTime); default: the real time. */
  now?: string | DateTime;
  exec?: Exec;
  /** Default: resolves at once, so that retries and Retry-After waits take no real time. */
  sleep?: (ms: number) => Promise<void>;
  stdoutTty?: { isTTY?: boolean; columns?: number };
  stderrTty?: { isTTY?: boolean; columns?: number };
  stop?: StopControl;
};

/** Every wait the run asked for, in ms, when the harness's default sleep was used. */
export type MainResult = CliResult & { sleeps: number[] };

/**
 * Runs `main()` in this process, as the CLI does but without spawning it: the environment is only
 * what the test passes plus PATH (with `binDir` first) and HOME, as `runCli` gives the child; stdout
 * and stderr are captured (not terminals unless asked). A test that passes `SHIFTGRANT_NOW` in the
 * environment tests that variable; every other test passes `now`.
 */
export async function runMain(args: string[], opts: RunMainOptions = {}): Promise<MainResult> {
  const env: Record<string, string> = {
    PATH: [opts.binDir, process.env.PATH].filter(Boolean).join(path.delimiter),
    HOME: process.env.HOME ?? "/root",
    // As runCli: every ledger here is a throwaway one (only read when SHIFTGRANT_NOW is set).
    SHIFTGRANT_TEST_ALLOW_FAKE_NOW: "1",
    ...opts.env,
  };
  const stdout = captureStream(opts.stdoutTty);
  const stderr = captureStream(opts.stderrTty);
  const sleeps: number[] = [];
  const at =
    opts.now === undefined
      ? undefined
      : typeof opts.now === "string"
        ? DateTime.fromISO(opts.now, { zone: "utc" })
        : opts.now.toUTC();
  if (at && !at.isValid) throw new Error(`runMain: now ${String(opts.now)} is not an ISO time`);
  const restoreZone = useZone(env.TZ);
  const code = await main(args, {
    env,
    cwd: opts.cwd ?? ROOT,
    stdout,
    stderr,
    ...(opts.stop ? { stop: opts.stop } : {}),
    ...(at ? { now: () => at } : {}),
    ...(opts.exec ? { exec: opts.exec } : {}),
    sleep:
      opts.sleep ??
      ((ms: number) => {
        sleeps.push(ms);
        return Promise.resolve();
      }),
  }).finally(restoreZone);
  // Log lines pass through winston's streams, which may hand the last ones on at the next turn.
  await new Promise((resolve) => setImmediate(resolve));
  return { code, signal: null, stdout: stdout.text(), stderr: stderr.text(), sleeps };
}

/** The TZ that runs under way have set, and how many they are. */
let zoneInUse: { tz: string; runs: number; before: string | undefined } | null = null;

/**
 * A child would run in the TZ of its environment; in this process, TZ is the process's own, so a
 * run that asks for one sets it for its duration. Runs with different zones at once would see each
 * other's: that is refused (run them one after another).
 */
function useZone(tz: string | undefined): () => void {
  if (tz === undefined) return () => undefined;
  if (zoneInUse && zoneInUse.tz !== tz)
    throw new Error(
      `runMain: TZ=${tz} asked while a run with TZ=${zoneInUse.tz} is under way; run them in turn`,
    );
  zoneInUse ??= { tz, runs: 0, before: process.env.TZ };
  zoneInUse.runs++;
  process.env.TZ = tz;
  return () => {
    if (!zoneInUse || --zoneInUse.runs > 0) return;
    if (zoneInUse.before === undefined) delete process.env.TZ;
    else process.env.TZ = zoneInUse.before;
    zoneInUse = null;
  };
}
