import { DateTime } from "luxon";
import { sanitizeForTerminal } from "../core/redact.js";
import type { ReportedAction } from "./model.js";

/**
 * A timeline chart of the grants across the window: one row per identity and resource, a bar per
 * interval, a "now" marker, hours or days on the axis, fitted to `width` columns. Pure: the same
 * input always draws the same text, so it is tested on fixed widths.
 */
export type TimelineOptions = {
  width: number;
  now: DateTime;
  window: { since: DateTime; until: DateTime };
  /** The zone of the axis labels (the viewer's). */
  zone: string;
  color: boolean;
};

type Mark = { char: string; color: string; label: string };

type Drawn = "grant" | "extend" | "shorten" | "unchanged" | "wait" | "revoke" | "expire";

const MARKS: Record<Drawn, Mark> = {
  unchanged: { char: "=", color: "\u001b[2m", label: "held" },
  grant: { char: "#", color: "\u001b[32m", label: "new" },
  extend: { char: "+", color: "\u001b[36m", label: "extended" },
  wait: { char: "~", color: "\u001b[33m", label: "waiting" },
  shorten: { char: "-", color: "\u001b[33m", label: "cut off" },
  revoke: { char: "x", color: "\u001b[31m", label: "revoked" },
  expire: { char: "x", color: "\u001b[31m", label: "expired" },
};
const RESET = "\u001b[0m";
/** Windows up to this long are drawn in hours (with a row of dates); longer ones in days. */
const HOURLY_MAX_MS = 2 * 86_400_000;
/** Later kinds draw over earlier ones where they share a column. */
const LAYER: Drawn[] = ["unchanged", "wait", "grant", "extend", "shorten", "revoke", "expire"];

type Bar = { kind: Drawn; start: DateTime; end: DateTime };

/** A shorten draws the grant it keeps as held and the part it cuts off after it. */
function bars(a: ReportedAction): Bar[] {
  if (a.kind === "shorten") {
    return [
      { kind: "unchanged", start: a.start, end: a.end },
      { kind: "shorten", start: a.end, end: a.previousEnd ?? a.end },
    ];
  }
  return isDrawn(a.kind) ? [{ kind: a.kind, start: a.start, end: a.end }] : [];
}

export function renderTimeline(actions: readonly ReportedAction[], opts: TimelineOptions): string[] {
  const rows = new Map<string, Bar[]>();
  const used = new Set<Drawn>();
  for (const a of actions) {
    const drawn = bars(a);
    if (drawn.length === 0) continue;
    const key = sanitizeForTerminal(`${a.identity} ${a.resource}`);
    let list = rows.get(key);
    if (!list) rows.set(key, (list = []));
    for (const bar of drawn) {
      used.add(bar.kind);
      list.push(bar);
    }
  }
  if (rows.size === 0) return [];
  const width = Math.max(40, opts.width);
  let longest = 0;
  for (const k of rows.keys()) longest = Math.max(longest, k.length);
  const labelWidth = Math.min(longest, Math.floor(width * 0.4));
  const cols = width - labelWidth - 3;
  const t0 = opts.window.since.toMillis();
  const span = opts.window.until.toMillis() - t0;
  const col = (ms: number) => Math.floor(((ms - t0) / span) * cols);
  const paint = (m: Mark, text: string) => (opts.color ? `${m.color}${text}${RESET}` : text);
  const gutter = `${" ".repeat(labelWidth)} | `;

  const lines: string[] = [];
  const days = dayRow(opts, cols, t0, span);
  if (days) lines.push(`${gutter}${days}`);
  lines.push(`${gutter}${axis(opts, cols, t0, span)}`);
  const nowCol = col(opts.now.toMillis());
  const marker = nowCol >= 0 && nowCol < cols ? `${" ".repeat(nowCol)}v now` : "";
  lines.push(`${gutter}${marker}`.trimEnd());
  const labels = distinctLabels(rows.keys(), labelWidth);
  for (const [key, list] of rows) {
    const cells = new Array<Drawn | null>(cols).fill(null);
    for (const kind of LAYER) {
      for (const a of list) {
        if (a.kind !== kind) continue;
        const from = Math.max(0, col(a.start.toMillis()));
        // An interval shorter than a column still shows as one mark.
        const to = Math.min(cols, Math.max(from + 1, col(a.end.toMillis())));
        for (let c = from; c < to; c++) cells[c] = kind;
      }
    }
    // One colour sequence per run of equal cells, not per cell.
    let bar = "";
    for (let c = 0; c < cols;) {
      const kind = cells[c] ?? null;
      let end = c + 1;
      while (end < cols && (cells[end] ?? null) === kind) end++;
      bar += kind ? paint(MARKS[kind], MARKS[kind].char.repeat(end - c)) : " ".repeat(end - c);
      c = end;
    }
    lines.push(`${(labels.get(key) ?? key).padEnd(labelWidth)} | ${bar}`.trimEnd());
  }
  const shown = LAYER.filter((k) => used.has(k));
  const legend = shown.map((k) => `${paint(MARKS[k], MARKS[k].char)} ${MARKS[k].label}`);
  const legendText = shown.map((k) => `${MARKS[k].char} ${MARKS[k].label}`).join("  ");
  const indent = labelWidth + 3 + legendText.length <= width ? " ".repeat(labelWidth + 3) : "";
  lines.push(`${indent}${legend.join("  ")}`);
  return lines;
}

function isDrawn(kind: string): kind is keyof typeof MARKS {
  return Object.hasOwn(MARKS, kind);
}

/**
 * Row labels that fit `width` and never read the same: a long label loses its middle (the start of
 * the identity and the resource at the end stay), and labels that still collide get a number.
 */
function distinctLabels(keys: Iterable<string>, width: number): Map<string, string> {
  const out = new Map<string, string>();
  const taken = new Set<string>();
  for (const key of keys) {
    let label = fitMiddle(key, width);
    for (let n = 2; taken.has(label); n++) {
      const tag = ` (${n})`;
      label = `${fitMiddle(key, width - tag.length)}${tag}`;
    }
    taken.add(label);
    out.set(key, label);
  }
  return out;
}

function fitMiddle(text: string, width: number): string {
  if (text.length <= width) return text;
  if (width <= 1) return text.slice(0, Math.max(0, width));
  const head = Math.ceil((width - 1) / 2);
  const tail = width - 1 - head;
  return `${text.slice(0, head)}…${tail > 0 ? text.slice(-tail) : ""}`;
}

/**
 * For windows drawn in hours: the date at each midnight (in the viewer's zone), above the 00:00
 * tick, and the first day's date at the left edge where it fits before the first midnight's.
 */
function dayRow(opts: TimelineOptions, cols: number, t0: number, span: number): string | null {
  if (span > HOURLY_MAX_MS) return null;
  const col = (ms: number) => Math.floor(((ms - t0) / span) * cols);
  const first = DateTime.fromMillis(t0, { zone: opts.zone });
  const marks: { c: number; t: DateTime }[] = [];
  for (let t = first.startOf("day").plus({ days: 1 }); t.toMillis() < t0 + span; t = t.plus({ days: 1 })) {
    marks.push({ c: col(t.toMillis()), t });
  }
  if (marks[0]?.c !== 0) marks.unshift({ c: 0, t: first });
  const out = new Array<string>(cols).fill(" ");
  // From the right, so that a midnight's date wins the space over the partial day before it; a
  // date needs one blank before the next.
  let limit = cols + 1;
  for (let i = marks.length - 1; i >= 0; i--) {
    const { c, t } = marks[i] as { c: number; t: DateTime };
    const text = [t.toFormat("ccc d LLL"), t.toFormat("ccc d")].find((x) => c + x.length < limit);
    if (text === undefined) continue;
    for (let k = 0; k < text.length; k++) out[c + k] = text[k] as string;
    limit = c;
  }
  return out.join("").trimEnd();
}
/** Tick labels: hours for windows up to two days, days beyond; as many as fit without touching. */
function axis(opts: TimelineOptions, cols: number, t0: number, span: number): string {
  const hourly = span <= HOURLY_MAX_MS;
  const fmt = hourly ? "HH:mm" : span <= 21 * 86_400_000 ? "ccc d" : "LLL d";
  const labelLen = hourly ? 5 : 6;
  const stepUnits = hourly ? [1, 2, 3, 6, 12, 24] : [1, 2, 7, 14, 28];
  const unitMs = hourly ? 3_600_000 : 86_400_000;
  const step =
    stepUnits.find((s) => (cols * s * unitMs) / span >= labelLen + 2) ??
    // The assertion is needed (an index may be out of range); the rule misreads the right side of `??`.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
    (stepUnits[stepUnits.length - 1] as number);
  const start = DateTime.fromMillis(t0, { zone: opts.zone }).startOf(hourly ? "hour" : "day");
  const out = new Array<string>(cols).fill(" ");
  let lastEnd = -1;
  let index = 0;
  for (let t = start; t.toMillis() < t0 + span; t = t.plus(hourly ? { hours: 1 } : { days: 1 }), index++) {
    // Hours on multiples of the step (00, 06, 12, 18); days every step-th day from the first.
    if (hourly ? t.hour % step !== 0 : index % step !== 0) continue;
    const c = Math.floor(((t.toMillis() - t0) / span) * cols);
    if (c < 0 || c <= lastEnd) continue;
    const text = t.toFormat(fmt);
    if (c + text.length > cols) break;
    for (let i = 0; i < text.length; i++) out[c + i] = text[i] as string;
    lastEnd = c + text.length;
  }
  return out.join("").trimEnd();
}
