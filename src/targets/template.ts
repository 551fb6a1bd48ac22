import { formatLength, formatUtc } from "../core/time.js";
import { sanitizeReason } from "../core/redact.js";
import type { TargetCall } from "./types.js";

/**
 * Fills `{identity} {resource} {start} {end} {duration} {rule} {reason}` inside each argv element.
 * The result is an argv array run without a shell, so a value can never become a second argument
 * or a command, whatever characters it holds.
 */
export function fillTemplate(argv: readonly string[], call: TargetCall): string[] {
  const values: Record<string, string> = {
    identity: call.identity,
    resource: call.resource,
    start: formatUtc(call.start),
    end: formatUtc(call.end),
    duration: formatLength(call.end.toMillis() - call.start.toMillis()).replace(/ /g, ""),
    rule: call.rule,
    // Reasons are cleaned where they are read; a reason joined from many shifts is cut here again.
    reason: sanitizeReason(call.reason),
  };
  return argv.map((arg) => arg.replace(/\{([a-z]+)\}/g, (m, name: string) => values[name] ?? m));
}

/** What a template may say: the keys fillTemplate fills. */
export const PLACEHOLDERS: ReadonlySet<string> = new Set([
  "identity",
  "resource",
  "start",
  "end",
  "duration",
  "rule",
  "reason",
]);

/**
 * Adds a problem for each unknown placeholder in an argv template; with `withExecutable`, also for a
 * placeholder as the executable, which must be fixed.
 */
export function checkTemplate(argv: string[], at: string, problems: string[], withExecutable = false): void {
  argv.forEach((arg, i) => {
    if (withExecutable && i === 0 && /\{[^{}]*\}/.test(arg)) {
      problems.push(`${at}[0]: the executable must be fixed, not a placeholder (${JSON.stringify(arg)})`);
      return;
    }
    for (const m of arg.matchAll(/\{([^{}]*)\}/g)) {
      if (!PLACEHOLDERS.has(m[1] as string)) {
        problems.push(
          `${at}[${i}]: unknown placeholder {${m[1]}} (use ${[...PLACEHOLDERS].map((p) => `{${p}}`).join(" ")})`,
        );
      }
    }
  });
}
