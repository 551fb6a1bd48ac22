import { parseJsonOutput } from "./helpers.js";

// What the tests of the API targets (okta, github, aws-identity-center, google-groups, apono) share:
// a rota file with one schedule per person, a cursor over a fake's recorded calls, and the report's
// actions as lines.

/** A rota file, one schedule per person named after the email's local part (schedules may not overlap). */
export function personalRota(shifts: [email: string, start: string, end: string][]): string {
  const line = ([email, start, end]: [string, string, string]) =>
    `  - { schedule: ${email.split("@")[0]}, email: ${email}, start: ${start}, end: ${end} }`;
  return `shifts:\n${shifts.map(line).join("\n")}\n`;
}

/** The calls a fake recorded since the last time this was asked (the first time: since the `from`th). */
export function callsSince(calls: () => string[], from = 0): () => string[] {
  let seen = from;
  return () => {
    const all = calls();
    const fresh = all.slice(seen);
    seen = all.length;
    return fresh;
  };
}

/** `kind identity resource status` of each action of a JSON report. */
export function actionLines(stdout: string): string[] {
  return parseJsonOutput(stdout).actions.map((a) => `${a.kind} ${a.identity} ${a.resource} ${a.status}`);
}
