/**
 * The exit codes, as docs/output.md documents them. `usage` also covers a config, secret or state that
 * cannot be used: the same "fix and re-run". `sigint` and `sigterm` are a run stopped by a signal
 * (the shell's 128 + signal number), after it finished and recorded the calls under way.
 */
export const EXIT = {
  ok: 0,
  bug: 1,
  usage: 2,
  source: 3,
  partial: 4,
  locked: 5,
  tooManyChanges: 6,
  sigint: 130,
  sigterm: 143,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/**
 * The few errors that end a run. Each carries its exit code; only the entry point (src/main.ts)
 * turns them into an exit code. Expected per-item outcomes (a failed action, a failed source) are
 * values, not exceptions.
 */

/** What ended a run, for scripts: the `kind` of the JSON error document (`internal`: a bug). */
export type ErrorKind = "usage" | "config" | "secret" | "state" | "locked" | "internal";

export class ShiftgrantError extends Error {
  readonly exitCode: ExitCode;
  readonly kind: ErrorKind;
  constructor(message: string, exitCode: ExitCode, kind: ErrorKind) {
    super(message);
    this.name = new.target.name;
    this.exitCode = exitCode;
    this.kind = kind;
  }
}

/** A bad flag or argument: fix the command line and re-run. */
export class UsageError extends ShiftgrantError {
  constructor(message: string) {
    super(message, EXIT.usage, "usage");
  }
}

/** A config that cannot be used; `problems` lists every problem found, each naming its path. */
export class ConfigError extends ShiftgrantError {
  readonly problems: string[];
  constructor(problems: string[], file?: string, kind: "config" | "secret" = "config") {
    const head = file ? `invalid config ${file}` : "invalid config";
    super(`${head}:\n${problems.map((p) => `  - ${p}`).join("\n")}`, EXIT.usage, kind);
    this.problems = problems;
  }
}

/**
 * Secrets that are missing or cannot be used (exit 2, before anything is fetched). Each problem names
 * the variable or file and the config key behind it, never the value: `missing secret:
 * PAGERDUTY_TOKEN is not set (sources.pd.tokenEnv)`. A ConfigError, so that it ends a run the same
 * way, but not reported as an invalid config: the config is fine, the environment is not.
 */
export class SecretError extends ConfigError {
  constructor(problems: string[]) {
    super(problems, undefined, "secret");
    this.message =
      problems.length === 1
        ? (problems[0] as string)
        : `${problems.length} secrets are missing or unusable:\n${problems.map((p) => `  - ${p}`).join("\n")}`;
  }
}

/** The ledger cannot be trusted (torn, corrupt, or from an unknown version). */
export class StateError extends ShiftgrantError {
  constructor(message: string) {
    super(message, EXIT.usage, "state");
  }
}

/** Another run holds the lock. */
export class LockedError extends ShiftgrantError {
  constructor(message: string) {
    super(message, EXIT.locked, "locked");
  }
}

/**
 * Picks the exit code of a run where several outcomes apply: the smallest code above 1 wins
 * (3 before 4); 1 (a bug) only when nothing else applies.
 */
export function combineExitCodes(codes: ExitCode[]): ExitCode {
  const meaningful = codes.filter((c) => c > EXIT.bug).sort((a, b) => a - b);
  if (meaningful.length > 0) return meaningful[0] as ExitCode;
  return codes.includes(EXIT.bug) ? EXIT.bug : EXIT.ok;
}
