import type { DateTime } from "luxon";
import { formatUtc } from "../config/time.js";
import { sanitizeForTerminal } from "../infra/log.js";
import type { SourceFailure } from "../sources/fetch.js";
import type { Action, ActionKind, ActionStatus } from "./types.js";

export type ReportedAction = Action & { status: ActionStatus; error?: string };

export type Report = {
  dryRun: boolean;
  window: { since: DateTime; until: DateTime };
  actions: ReportedAction[];
  errors: SourceFailure[];
  /** Why nothing was applied, when a guard stopped the run (e.g. --max-changes). */
  stopped?: string;
};

export type Summary = Record<ActionKind, number> & { failed: number };

export function summarize(actions: readonly ReportedAction[]): Summary {
  const s: Summary = { grant: 0, extend: 0, revoke: 0, unchanged: 0, wait: 0, skip: 0, failed: 0 };
  for (const a of actions) {
    s[a.kind]++;
    if (a.status === "failed") s.failed++;
  }
  return s;
}

/** The JSON document of SPEC section 7: stable keys, UTC times with `Z` and second precision. */
export function renderJson(report: Report): string {
  const doc = {
    version: 1,
    dryRun: report.dryRun,
    window: { since: formatUtc(report.window.since), until: formatUtc(report.window.until) },
    actions: report.actions.map((a) => ({
      kind: a.kind,
      rule: a.rule,
      target: a.target,
      resource: a.resource,
      identity: a.identity,
      start: formatUtc(a.start),
      end: formatUtc(a.end),
      reason: a.note ? `${a.reason} (${a.note})` : a.reason,
      status: a.status,
      ...(a.error !== undefined ? { error: a.error } : {}),
    })),
    errors: report.errors.map((e) => ({ rule: e.rule, source: e.source, message: e.message })),
    summary: summarize(report.actions),
    ...(report.stopped ? { stopped: report.stopped } : {}),
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

const SHORT = (t: DateTime) => t.toUTC().toFormat("yyyy-MM-dd HH:mm'Z'");

/** The plan for people: a table per rule, then errors, then a one-line summary. */
export function renderText(report: Report): string {
  const lines: string[] = [];
  const head = `shiftgrant sync: ${SHORT(report.window.since)} → ${SHORT(report.window.until)}`;
  lines.push(report.dryRun ? `${head}  (dry run: nothing was changed)` : head, "");
  const byRule = new Map<string, ReportedAction[]>();
  for (const a of report.actions) byRule.set(a.rule, [...(byRule.get(a.rule) ?? []), a]);
  if (byRule.size === 0) lines.push("No one needs access in this window.", "");
  for (const [rule, actions] of byRule) {
    lines.push(`rule ${rule} → target ${actions[0]?.target ?? ""}`);
    const rows = actions.map((a) => [
      a.kind,
      a.identity,
      a.resource,
      SHORT(a.start),
      SHORT(a.end),
      a.status,
      [a.reason, a.note, a.error].filter(Boolean).join(" — "),
    ]);
    lines.push(
      ...table(["ACTION", "IDENTITY", "RESOURCE", "START", "END", "STATUS", "REASON"], rows).map(
        (l) => `  ${l}`,
      ),
      "",
    );
  }
  if (report.errors.length > 0) {
    lines.push("errors (these rules planned nothing):");
    for (const e of report.errors) lines.push(`  rule ${e.rule} (source ${e.source}): ${e.message}`);
    lines.push("");
  }
  if (report.stopped) lines.push(`stopped: ${report.stopped}`, "");
  const s = summarize(report.actions);
  lines.push(
    `summary: ${s.grant} grant, ${s.extend} extend, ${s.revoke} revoke, ${s.unchanged} unchanged, ${s.wait} wait, ${s.skip} skip, ${s.failed} failed${report.dryRun ? " (dry run)" : ""}`,
  );
  return `${lines.map(sanitizeForTerminal).join("\n")}\n`;
}

export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const fmt = (r: string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [fmt(header), ...rows.map(fmt)];
}
