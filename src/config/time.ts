import { DateTime, Duration } from "luxon";

/**
 * A parsed duration. `ms` is the exact length; `parts` keeps calendar units (days, weeks) apart from
 * clock units so that a rotation of `7d` can keep its wall-clock handoff across DST changes.
 */
export type ParsedDuration = { ms: number; parts: { days: number; ms: number }; text: string };

const SHORT = /^(\d+)(ms|s|m|h|d|w)$/;
const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/**
 * Parses `500ms`, `90s`, `30m`, `12h`, `7d`, `2w`, or an ISO 8601 duration (`PT12H`, `P7D`, `P1DT2H`).
 * Returns an error message (a string) for anything else: a bare number like `15` is ambiguous, and a
 * negative or zero duration never makes sense in a config. Months and years are refused: their length
 * varies, which would make grants whose length nobody can predict.
 */
export function parseDuration(input: unknown): ParsedDuration | string {
  if (typeof input !== "string")
    return `expected a duration like "15m", "12h", "7d" or "PT12H", got ${describe(input)}`;
  const text = input.trim();
  const short = SHORT.exec(text);
  if (short) {
    const n = Number(short[1]);
    const unit = short[2] as string;
    if (n === 0) return `duration must be greater than zero, got "${input}"`;
    const ms = n * (UNIT_MS[unit] as number);
    const parts = unit === "d" || unit === "w" ? { days: ms / 86_400_000, ms: 0 } : { days: 0, ms };
    return { ms, parts, text };
  }
  if (/^P/i.test(text)) {
    const d = Duration.fromISO(text.toUpperCase());
    if (d.isValid) {
      const o = d.toObject();
      if (o.years || o.months)
        return `durations in months or years are not allowed ("${input}"): use days, e.g. "P30D"`;
      const days = (o.weeks ?? 0) * 7 + (o.days ?? 0);
      const clockMs =
        ((o.hours ?? 0) * 3600 + (o.minutes ?? 0) * 60 + (o.seconds ?? 0)) * 1000 + (o.milliseconds ?? 0);
      const ms = days * 86_400_000 + clockMs;
      if (!(ms > 0)) return `duration must be greater than zero, got "${input}"`;
      return { ms, parts: { days, ms: clockMs }, text };
    }
  }
  if (/^-/.test(text)) return `duration must be positive, got "${input}"`;
  if (/^\d+(\.\d+)?$/.test(text)) return `"${input}" has no unit: write e.g. "${text}m" or "${text}h"`;
  return `expected a duration like "15m", "12h", "7d" or "PT12H", got "${input}"`;
}

/** Parses an instant for `--since`/`--until` and config times: ISO 8601 with an offset or `Z`, or `now`. */
export function parseInstant(input: unknown, now: DateTime): DateTime | string {
  if (typeof input !== "string")
    return `expected a time like "2026-11-22T09:00:00Z" or "now", got ${describe(input)}`;
  const text = input.trim();
  if (text.toLowerCase() === "now") return now.toUTC();
  if (!/(Z|[+-]\d{2}:?\d{2})$/i.test(text)) {
    return `time "${input}" has no offset: add "Z" for UTC or an offset like "+01:00"`;
  }
  const dt = DateTime.fromISO(text, { setZone: true });
  if (!dt.isValid) return `"${input}" is not an ISO 8601 time (e.g. "2026-11-22T09:00:00Z")`;
  return dt.toUTC();
}

/** UTC RFC 3339 with seconds, as every target and the JSON output expect: `2026-11-22T09:00:00Z`. */
export function formatUtc(t: DateTime): string {
  return t.toUTC().toFormat("yyyy-MM-dd'T'HH:mm:ss'Z'");
}

/** A short human form of a length of time: `45m`, `12h`, `1d 6h`. */
export function formatLength(ms: number): string {
  const totalMin = Math.round(ms / 60_000);
  const d = Math.floor(totalMin / 1440);
  const h = Math.floor((totalMin % 1440) / 60);
  const m = totalMin % 60;
  const out = [d ? `${d}d` : "", h ? `${h}h` : "", m ? `${m}m` : ""].filter(Boolean).join(" ");
  return out || `${Math.round(ms / 1000)}s`;
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (typeof v === "string") return `"${v}"`;
  if (typeof v === "object") return Array.isArray(v) ? "a list" : "an object";
  return `${typeof v} ${String(v)}`;
}
