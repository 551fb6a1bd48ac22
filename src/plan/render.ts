import type { DateTime } from "luxon";
import { formatUtc } from "../config/time.js";
import { sanitizeForTerminal } from "../infra/redact.js";
import { renderTimeline } from "./timeline.js";
import type { SourceFailure } from "../sources/fetch.js";
import type { Action, ActionKind, ActionStatus } from "./types.js";

export type ReportedAction = Action & { status: ActionStatus; error?: string };

export type Report = {
  dryRun: boolean;
  window: { since: DateTime; until: DateTime };
  actions: ReportedAction[];
  errors: SourceFailure[];
  /** What the run noticed and did not stop for (held grants of a target the config no longer has). */
  warnings?: string[];
  /** Why nothing was applied, when a guard stopped the run (e.g. --max-changes). */
  stopped?: string;
};

export type Summary = Record<ActionKind, number> & { failed: number };

export function summarize(actions: readonly ReportedAction[]): Summary {
  const s: Summary = {
    grant: 0,
    extend: 0,
    shorten: 0,
    revoke: 0,
    unchanged: 0,
    wait: 0,
    skip: 0,
    failed: 0,
  };
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
    ...(report.warnings?.length ? { warnings: report.warnings } : {}),
    ...(report.stopped ? { stopped: report.stopped } : {}),
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

export type TextOptions = {
  /** Terminal columns (the timeline fits them). */
  width: number;
  color: boolean;
  /** The viewer's zone: times show in it, and in UTC. */
  zone: string;
  now: DateTime;
};

const KIND_COLOR: Record<string, string> = {
  grant: "\u001b[32m",
  extend: "\u001b[36m",
  shorten: "\u001b[33m",
  revoke: "\u001b[31m",
  wait: "\u001b[33m",
  skip: "\u001b[35m",
  unchanged: "\u001b[2m",
};

/** `Sun 22 Nov 10:00 (09:00Z)`: local and UTC; just UTC when the viewer is on UTC. */
function when(t: DateTime, zone: string): string {
  const utc = t.toUTC();
  const local = t.setZone(zone);
  if (local.offset === 0) return utc.toFormat("ccc dd LLL HH:mm'Z'");
  return `${local.toFormat("ccc dd LLL HH:mm")} (${utc.toFormat("HH:mm'Z'")})`;
}

/** The plan for people: a table per rule, a timeline of the window, errors, then a one-line summary. */
export function renderText(report: Report, opts: TextOptions): string {
  const lines: string[] = [];
  const c = (color: string | undefined, text: string) =>
    opts.color && color ? `${color}${text}\u001b[0m` : text;
  const head = `shiftgrant sync: ${when(report.window.since, opts.zone)} → ${when(report.window.until, opts.zone)}`;
  lines.push(
    report.dryRun ? `${head}\nDRY RUN: nothing was changed; this is what a run would do.` : head,
    "",
  );
  const byRule = new Map<string, ReportedAction[]>();
  for (const a of report.actions) byRule.set(a.rule, [...(byRule.get(a.rule) ?? []), a]);
  if (byRule.size === 0) lines.push("No one needs access in this window.", "");
  for (const [rule, actions] of byRule) {
    lines.push(sanitizeForTerminal(`rule ${rule} → target ${actions[0]?.target ?? ""}`));
    // Data from sources can hold control characters: they are made visible before colour is added.
    const rows = actions.map((a) =>
      [
        a.kind,
        a.identity,
        a.resource,
        when(a.start, opts.zone),
        when(a.end, opts.zone),
        a.status,
        [a.reason, a.note, a.error].filter(Boolean).join(" — "),
      ].map(sanitizeForTerminal),
    );
    const tableLines = table(["ACTION", "IDENTITY", "RESOURCE", "START", "END", "STATUS", "REASON"], rows);
    lines.push(`  ${tableLines[0] ?? ""}`);
    tableLines.slice(1).forEach((l, i) => {
      const kind = actions[i]?.kind ?? "";
      // Colour only the action word, so that the columns stay aligned.
      lines.push(`  ${c(KIND_COLOR[kind], l.slice(0, kind.length))}${l.slice(kind.length)}`);
    });
    lines.push("");
  }
  const chart = renderTimeline(report.actions, {
    width: opts.width,
    now: opts.now,
    window: report.window,
    zone: opts.zone,
    color: opts.color,
  });
  if (chart.length > 0) lines.push(`timeline (${opts.zone})`, ...chart, "");
  if (report.warnings?.length) {
    lines.push(c("\u001b[33m", "warnings:"));
    for (const w of report.warnings) lines.push(sanitizeForTerminal(`  ${w}`));
    lines.push("");
  }
  if (report.errors.length > 0) {
    lines.push(c("\u001b[31m", "errors (these rules planned nothing):"));
    for (const e of report.errors) {
      lines.push(sanitizeForTerminal(`  rule ${e.rule} (source ${e.source}): ${e.message}`));
    }
    lines.push("");
  }
  if (report.stopped) lines.push(c("\u001b[31m", `stopped: ${report.stopped}`), "");
  const s = summarize(report.actions);
  lines.push(
    `summary: ${s.grant} grant, ${s.extend} extend, ${s.shorten} shorten, ${s.revoke} revoke, ${s.unchanged} unchanged, ${s.wait} wait, ${s.skip} skip, ${s.failed} failed${report.dryRun ? " (dry run: nothing was changed)" : ""}`,
  );
  return `${lines.join("\n")}\n`;
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
