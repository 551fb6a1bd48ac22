import type { DateTime } from "luxon";
import type { ExitCode } from "../errors.js";
import { formatUtc } from "../core/time.js";
import { sanitizeForTerminal } from "../core/redact.js";
import { renderTimeline } from "./timeline.js";
import type { SourceFailure } from "../fetch/fetch.js";
import type { ActionKind } from "../plan/types.js";
import type { NotifyEvent } from "../notify/event.js";
import type { ReportedAction } from "./model.js";

export type Report = {
  dryRun: boolean;
  /** The code the run exits with (the JSON carries it, so that a kept document says how it ended). */
  exitCode: ExitCode;
  window: { since: DateTime; until: DateTime };
  /** The rules this run read, in config order: the plan shows them in this order. */
  rules: readonly { name: string; target: string }[];
  actions: ReportedAction[];
  errors: SourceFailure[];
  /** What the run noticed and did not stop for (held grants of a target the config no longer has). */
  warnings?: string[];
  /** Why nothing was applied, when a guard stopped the run (e.g. --max-changes). */
  stopped?: string;
  /** Present when the config has notification channels. */
  notifications?: NotificationsReport;
};

/** What the run's notifications came to, per channel; a dry run lists the messages instead. */
export type NotificationsReport = {
  channels: { name: string; sent: number; failed: number; skipped: number; required: boolean }[];
  /** A `required: true` channel failed to deliver a message: the run exits 4. */
  requiredFailed: boolean;
  /** A dry run's messages, none of them sent. */
  messages?: { channel: string; event: NotifyEvent; text: string }[];
};

export type Summary = Record<ActionKind, number> & { failed: number };

export function summarize(actions: readonly ReportedAction[]): Summary {
  const s: Summary = {
    grant: 0,
    extend: 0,
    shorten: 0,
    revoke: 0,
    expire: 0,
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

/** The JSON document (docs/output.md, JSON output): stable keys, UTC times with `Z` and second precision. */
export function renderJson(report: Report): string {
  const doc = {
    version: 1,
    exitCode: report.exitCode,
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
      reason:
        a.note || a.noCall ? `${a.reason} (${[a.note, a.noCall].filter(Boolean).join("; ")})` : a.reason,
      status: a.status,
      ...(a.error !== undefined ? { error: a.error } : {}),
    })),
    errors: report.errors.map((e) => ({ rule: e.rule, source: e.source, message: e.message })),
    summary: summarize(report.actions),
    ...(report.warnings?.length ? { warnings: report.warnings } : {}),
    ...(report.stopped ? { stopped: report.stopped } : {}),
    ...(report.notifications ? { notifications: notificationsJson(report.notifications) } : {}),
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

function notificationsJson(n: NotificationsReport) {
  return {
    channels: Object.fromEntries(
      n.channels.map((c) => [
        c.name,
        { sent: c.sent, failed: c.failed, skipped: c.skipped, required: c.required },
      ]),
    ),
    ...(n.messages
      ? {
          messages: n.messages.map((m) => ({
            channel: m.channel,
            id: m.event.id,
            type: m.event.type,
            text: m.text,
          })),
        }
      : {}),
  };
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
  expire: "\u001b[31m",
  wait: "\u001b[33m",
  skip: "\u001b[35m",
  unchanged: "\u001b[2m",
};

const HEADER = ["ACTION", "IDENTITY", "RESOURCE", "START", "END", "STATUS", "REASON"];

/**
 * `Sun 22 Nov 10:00 (09:00Z)`: local and UTC, with the UTC day when it is another day
 * (`Sat 28 Nov 19:15 (Sun 00:15Z)`); just UTC when the viewer is on UTC. Instants repeat across a
 * plan (now, handoffs shared by many people), so each is formatted once per report.
 */
function clock(zone: string): (t: DateTime) => string {
  const seen = new Map<number, string>();
  return (t) => {
    const ms = t.toMillis();
    let text = seen.get(ms);
    if (text === undefined) {
      const utc = t.toUTC();
      const local = t.setZone(zone);
      if (local.offset === 0) text = utc.toFormat("ccc dd LLL HH:mm'Z'");
      else {
        const sameDay = local.day === utc.day;
        text = `${local.toFormat("ccc dd LLL HH:mm")} (${utc.toFormat(sameDay ? "HH:mm'Z'" : "ccc HH:mm'Z'")})`;
      }
      seen.set(ms, text);
    }
    return text;
  };
}

/**
 * The status as people read it. "skipped" in the JSON means "no call is made"; in a table beside
 * `unchanged` it would read as "something was missed", so rows that need no call say why instead.
 */
function statusText(a: ReportedAction): string {
  if (a.status !== "skipped") return a.status;
  if (a.kind === "unchanged") return "held";
  if (a.kind === "wait") return "not yet";
  return "skipped";
}

/** The plan for people: a table per rule, a timeline of the window, errors, then a one-line summary. */
export function renderText(report: Report, opts: TextOptions): string {
  const lines: string[] = [];
  const c = (color: string | undefined, text: string) =>
    opts.color && color ? `${color}${text}\u001b[0m` : text;
  const when = clock(opts.zone);
  const head = `shiftgrant sync: ${when(report.window.since)} → ${when(report.window.until)}`;
  lines.push(
    report.dryRun ? `${head}\nDRY RUN: nothing was changed; this is what a run would do.` : head,
    "",
  );
  const byRule = new Map<string, ReportedAction[]>();
  for (const a of report.actions) {
    const list = byRule.get(a.rule);
    if (list) list.push(a);
    else byRule.set(a.rule, [a]);
  }
  const failed = new Map<string, SourceFailure>();
  for (const e of report.errors) if (!failed.has(e.rule)) failed.set(e.rule, e);
  const targets = new Map(report.rules.map((r) => [r.name, r.target]));
  const order = [...new Set([...report.rules.map((r) => r.name), ...byRule.keys(), ...failed.keys()])];
  // "No one needs access" only when every rule was read: a rule whose source failed planned nothing
  // because nothing is known, which must never read as nobody being on call.
  if (byRule.size === 0 && failed.size === 0 && !report.stopped)
    lines.push("No one needs access in this window.", "");
  for (const rule of order) {
    const actions = byRule.get(rule) ?? [];
    const target = targets.get(rule) ?? actions[0]?.target ?? "";
    const failure = failed.get(rule);
    if (!failure && actions.length === 0) continue;
    if (!failure) lines.push(sanitizeForTerminal(`rule ${rule} → target ${target}`));
    else {
      lines.push(
        sanitizeForTerminal(`rule ${rule} → target ${target}: source ${failure.source} `) +
          c("\u001b[31m", "FAILED") +
          sanitizeForTerminal(` (${failure.message}); nothing was planned for this rule`),
      );
      // Its rows, if any, are what it holds: kept as they are.
      if (actions.length === 0) {
        lines.push("  the ledger holds no grant of this rule", "");
        continue;
      }
    }
    // Data from sources can hold control characters and newlines: each cell is made visible on
    // its own, before the columns are measured and before colour is added.
    const rows = actions.map((a) =>
      [
        a.kind,
        a.identity,
        a.resource,
        when(a.start),
        // A revoke ends the access when it runs, not at the end the grant had; an expiry too.
        a.kind === "revoke" || a.kind === "expire" ? `${when(opts.now)}, was ${when(a.end)}` : when(a.end),
        statusText(a),
        [a.reason, a.note, a.noCall, a.error].filter(Boolean).join(" — "),
      ].map(sanitizeForTerminal),
    );
    const widths = columnWidths(HEADER, rows);
    lines.push(`  ${formatRow(HEADER, widths)}`);
    for (const row of rows) {
      const line = formatRow(row, widths);
      const kind = row[0] ?? "";
      // Colour only the action word, so that the columns stay aligned.
      lines.push(`  ${c(KIND_COLOR[kind], line.slice(0, kind.length))}${line.slice(kind.length)}`);
    }
    lines.push("");
  }
  const answered = order.filter((r) => !failed.has(r));
  if (failed.size > 0 && answered.length > 0 && answered.every((r) => !byRule.has(r)))
    lines.push("No one needs access in this window under the other rules.", "");
  const chart = renderTimeline(report.actions, {
    width: opts.width,
    now: opts.now,
    window: report.window,
    zone: opts.zone,
    color: opts.color,
  });
  if (chart.length > 0) {
    lines.push(`timeline (${opts.zone})`);
    // One at a time: spreading a chart of 100,000 rows into push() overflows the stack.
    for (const l of chart) lines.push(l);
    lines.push("");
  }
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
  const n = report.notifications;
  if (n?.messages) {
    lines.push(`notifications (dry run: ${n.messages.length} message(s), none sent):`);
    for (const m of n.messages) lines.push(sanitizeForTerminal(`  ${m.text}`));
    lines.push("");
  } else if (n) {
    const parts = n.channels.map(
      (ch) =>
        `${ch.name} ${ch.sent} sent, ${ch.failed} failed${ch.skipped ? `, ${ch.skipped} skipped` : ""}${ch.required ? " (required)" : ""}`,
    );
    lines.push(`notifications: ${parts.join("; ")}`, "");
  }
  const s = summarize(report.actions);
  const sourceErrors =
    report.errors.length === 0
      ? ""
      : `, ${report.errors.length} source error${report.errors.length === 1 ? "" : "s"}`;
  lines.push(
    `summary: ${s.grant} grant, ${s.extend} extend, ${s.shorten} shorten, ${s.revoke} revoke, ${s.expire} expire, ${s.unchanged} unchanged, ${s.wait} wait, ${s.skip} skip, ${s.failed} failed${sourceErrors}${report.dryRun ? " (dry run: nothing was changed)" : ""}`,
  );
  return `${lines.join("\n")}\n`;
}

/**
 * Aligned columns, the last one left ragged; one pass to measure and one to print. Cells are made
 * visible first (control characters escaped), so that the columns are measured as printed.
 */
export function table(header: string[], rows: string[][]): string[] {
  const visible = rows.map((r) => r.map(sanitizeForTerminal));
  const widths = columnWidths(header, visible);
  const out = [formatRow(header, widths)];
  for (const r of visible) out.push(formatRow(r, widths));
  return out;
}

function columnWidths(header: readonly string[], rows: readonly (readonly string[])[]): number[] {
  const widths = header.map((h) => h.length);
  // A loop, not Math.max(...rows): spreading a long list overflows the stack.
  for (const r of rows) {
    for (let i = 0; i < widths.length; i++) {
      const len = (r[i] ?? "").length;
      if (len > (widths[i] ?? 0)) widths[i] = len;
    }
  }
  return widths;
}

function formatRow(r: readonly string[], widths: readonly number[]): string {
  return r
    .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
    .join("  ")
    .trimEnd();
}
