import { DateTime } from "luxon";
import { sanitizeForTerminal } from "../infra/redact.js";
import type { ReportedAction } from "./render.js";

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

type Drawn = "grant" | "extend" | "shorten" | "unchanged" | "wait" | "revoke";

const MARKS: Record<Drawn, Mark> = {
  unchanged: { char: "=", color: "\u001b[2m", label: "held" },
  grant: { char: "#", color: "\u001b[32m", label: "new" },
  extend: { char: "+", color: "\u001b[36m", label: "extended" },
  wait: { char: "~", color: "\u001b[33m", label: "waiting" },
  shorten: { char: "-", color: "\u001b[33m", label: "cut off" },
  revoke: { char: "x", color: "\u001b[31m", label: "revoked" },
};
const RESET = "\u001b[0m";
/** Later kinds draw over earlier ones where they share a column. */
const LAYER: Drawn[] = ["unchanged", "wait", "grant", "extend", "shorten", "revoke"];

type Bar = { kind: Drawn; start: DateTime; end: DateTime };

/** A shorten draws the grant it keeps as held and the part it cuts off after it. */
function bars(a: ReportedAction): Bar[] {
  if (a.kind === "shorten") {
    return [
      { kind: "unchanged", start: a.start, end: a.end },
      { kind: "shorten", start: a.end, end: a.previousEnd ?? a.end },
    ];
  }
  return a.kind in MARKS ? [{ kind: a.kind as Drawn, start: a.start, end: a.end }] : [];
}

export function renderTimeline(actions: readonly ReportedAction[], opts: TimelineOptions): string[] {
  const drawn = actions.flatMap((a) => bars(a).map((b) => ({ ...b, row: `${a.identity} ${a.resource}` })));
  if (drawn.length === 0) return [];
  const rows = new Map<string, Bar[]>();
  for (const a of drawn) {
    const key = sanitizeForTerminal(a.row);
    rows.set(key, [...(rows.get(key) ?? []), a]);
  }
  const width = Math.max(40, opts.width);
  const labelWidth = Math.min(Math.max(...[...rows.keys()].map((k) => k.length)), Math.floor(width * 0.4));
  const cols = width - labelWidth - 3;
  const t0 = opts.window.since.toMillis();
  const span = opts.window.until.toMillis() - t0;
  const col = (ms: number) => Math.floor(((ms - t0) / span) * cols);
  const paint = (m: Mark, text: string) => (opts.color ? `${m.color}${text}${RESET}` : text);

  const lines: string[] = [];
  lines.push(`${" ".repeat(labelWidth)} | ${axis(opts, cols, t0, span)}`);
  const nowCol = col(opts.now.toMillis());
  const marker = nowCol >= 0 && nowCol < cols ? `${" ".repeat(nowCol)}v now` : "";
  lines.push(`${" ".repeat(labelWidth)} | ${marker}`.trimEnd());
  for (const [key, list] of rows) {
    const cells: (Drawn | null)[] = new Array(cols).fill(null);
    for (const kind of LAYER) {
      for (const a of list.filter((x) => x.kind === kind)) {
        const from = Math.max(0, col(a.start.toMillis()));
        // An interval shorter than a column still shows as one mark.
        const to = Math.min(cols, Math.max(from + 1, col(a.end.toMillis())));
        for (let c = from; c < to; c++) cells[c] = kind;
      }
    }
    let bar = "";
    for (const c of cells) bar += c ? paint(MARKS[c], MARKS[c].char) : " ";
    const label = key.length > labelWidth ? `${key.slice(0, labelWidth - 1)}…` : key.padEnd(labelWidth);
    lines.push(`${label} | ${bar}`.trimEnd());
  }
  const used = new Set(drawn.map((a) => a.kind));
  const legend = LAYER.filter((k) => used.has(k)).map(
    (k) => `${paint(MARKS[k], MARKS[k].char)} ${MARKS[k].label}`,
  );
  const legendText = LAYER.filter((k) => used.has(k))
    .map((k) => `${MARKS[k].char} ${MARKS[k].label}`)
    .join("  ");
  const indent = labelWidth + 3 + legendText.length <= width ? " ".repeat(labelWidth + 3) : "";
  lines.push(`${indent}${legend.join("  ")}`);
  return lines;
}

/** Tick labels: hours for windows up to two days, days beyond; as many as fit without touching. */
function axis(opts: TimelineOptions, cols: number, t0: number, span: number): string {
  const hourly = span <= 2 * 86_400_000;
  const fmt = hourly ? "HH:mm" : span <= 21 * 86_400_000 ? "ccc d" : "LLL d";
  const labelLen = hourly ? 5 : 6;
  const stepUnits = hourly ? [1, 2, 3, 6, 12, 24] : [1, 2, 7, 14, 28];
  const unitMs = hourly ? 3_600_000 : 86_400_000;
  const step =
    stepUnits.find((s) => (cols * s * unitMs) / span >= labelLen + 2) ??
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
