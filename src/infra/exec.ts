import { execa } from "execa";

export type ExecResult =
  { ok: true; stdout: string; stderr: string } | { ok: false; error: string; stdout: string; stderr: string };

export type ExecOptions = {
  /** The child's whole environment: nothing is inherited that is not listed here. */
  env: Record<string, string>;
  timeoutMs: number;
  cwd?: string;
};

export type Exec = (argv: readonly string[], opts: ExecOptions) => Promise<ExecResult>;

const KEEP = 2_000;

/**
 * Runs one argv without a shell: no word splitting, no globbing, no `$(…)`, whatever the arguments
 * contain. Never throws for the child's failure; the caller gets a value it can report.
 */
export const runCommand: Exec = async (argv, opts) => {
  const [file, ...args] = argv;
  if (!file) return { ok: false, error: "empty command", stdout: "", stderr: "" };
  const res = await execa(file, args, {
    shell: false,
    env: opts.env,
    extendEnv: false,
    stdin: "ignore",
    reject: false,
    timeout: opts.timeoutMs,
    killSignal: "SIGTERM",
    forceKillAfterDelay: 2_000,
    cwd: opts.cwd,
    maxBuffer: 1_000_000,
    stripFinalNewline: true,
  });
  const stdout = truncate(String(res.stdout ?? ""));
  const stderr = truncate(String(res.stderr ?? ""));
  if (!res.failed) return { ok: true, stdout, stderr };
  let error: string;
  const code = (res as { code?: string }).code;
  if (res.timedOut) {
    const limit = opts.timeoutMs < 1000 ? `${opts.timeoutMs}ms` : `${Math.round(opts.timeoutMs / 1000)}s`;
    error = `${file} did not finish within ${limit} (stopped)`;
  } else if (code === "ENOENT") error = `${file}: command not found (is it installed and on PATH?)`;
  else if (code === "EACCES") error = `${file}: permission denied (is it executable?)`;
  else if (res.exitCode !== undefined) error = `${file} exited with code ${res.exitCode}`;
  else if (res.signal) error = `${file} was killed by ${res.signal}`;
  else error = `${file} failed: ${res.shortMessage ?? "unknown error"}`;
  const detail = firstLine(stderr) || firstLine(stdout);
  return { ok: false, error: detail ? `${error}: ${detail}` : error, stdout, stderr };
};

function truncate(s: string): string {
  return s.length > KEEP ? `${s.slice(0, KEEP)}… (${s.length - KEEP} more bytes)` : s;
}

function firstLine(s: string): string {
  const line = s.split("\n").find((l) => l.trim().length > 0) ?? "";
  return line.length > 300 ? `${line.slice(0, 300)}…` : line.trim();
}
