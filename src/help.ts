import { SOURCE_TOKEN_ENV, TARGET_TOKEN_ENV } from "./config/defaults.js";
import { EXIT, type ExitCode } from "./errors.js";

// What `shiftgrant --help` prints after the commands and options: what cron and scripts need to
// know without docs/output.md at hand. Imports nothing heavy, so that --help stays fast.

export const EXIT_CODE_MEANINGS: readonly (readonly [ExitCode, string])[] = [
  [EXIT.ok, "success (including nothing to do, and --dry-run)"],
  [EXIT.bug, "internal error (a bug: the message says so)"],
  [
    EXIT.usage,
    "usage or config error, missing secret, a state, audit or metrics path that cannot be used, an unreadable or implausible ledger, or a ledger or audit log that could not be written mid-run (the calls not made stay planned): fix and re-run",
  ],
  [EXIT.source, "a source failed (after retries); its rules planned nothing"],
  [
    EXIT.partial,
    "some actions failed or were skipped for bad identities; the rest were applied; or a notification channel with required: true did not take a message (docs/notifications.md)",
  ],
  [EXIT.locked, "another run holds the lock (this run was skipped; not a failure)"],
  [EXIT.tooManyChanges, "--max-changes exceeded; nothing applied"],
  [EXIT.sigint, "stopped by SIGINT: the calls under way finished and were recorded; the rest were not made"],
  [EXIT.sigterm, "stopped by SIGTERM (systemd, Kubernetes): the same"],
];

const ENVIRONMENT: readonly (readonly [string, string])[] = [
  ["SHIFTGRANT_CONFIG", "the config file when -c is not given (default ./shiftgrant.yaml)"],
  ...Object.entries(SOURCE_TOKEN_ENV).map(
    ([type, name]) => [name, `token of ${type} sources (their default tokenEnv)`] as const,
  ),
  ...Object.entries(TARGET_TOKEN_ENV).map(
    ([type, name]) => [name, `token of ${type} targets (their default tokenEnv)`] as const,
  ),
  ["NO_COLOR", "set and not empty: no colour in text output"],
  ["TZ", "the time zone of times in text output (UTC is shown beside them)"],
  ["SHIFTGRANT_NOW", "pretend it is this time (ISO 8601), to simulate runs with --dry-run;"],
  ["", "never set it in production"],
];

const EXAMPLES = [
  "shiftgrant init --source pagerduty --target strongdm -o shiftgrant.yaml",
  "shiftgrant schedules -c shiftgrant.yaml --query dba",
  "shiftgrant validate --online -c /etc/shiftgrant/shiftgrant.yaml",
  "shiftgrant oncall -c /etc/shiftgrant/shiftgrant.yaml --window 7d",
  "shiftgrant sync -c /etc/shiftgrant/shiftgrant.yaml --dry-run",
  "SHIFTGRANT_NOW=2026-11-22T09:00:00Z shiftgrant sync -c shiftgrant.yaml --dry-run",
  "shiftgrant sync -c /etc/shiftgrant/shiftgrant.yaml --output json --quiet",
  "shiftgrant completion bash > ~/.local/share/bash-completion/completions/shiftgrant",
];

function columns(rows: readonly (readonly [string | number, string])[]): string[] {
  const width = Math.max(...rows.map(([k]) => String(k).length));
  return rows.map(([k, v]) => `  ${String(k).padEnd(width)}  ${v}`);
}

/** The text after the generated help: exit codes, environment variables, examples. */
export function helpEpilogue(): string {
  return [
    "",
    "Exit codes:",
    ...columns(EXIT_CODE_MEANINGS),
    "  If several apply, the smallest code above 1 wins (3 before 4).",
    "",
    "Environment:",
    ...columns(ENVIRONMENT),
    "",
    "Examples:",
    ...EXAMPLES.map((e) => `  ${e}`),
    "",
    "Run `shiftgrant COMMAND --help` for a command's options.",
  ].join("\n");
}
