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
  if (typeof input === "number" && Number.isFinite(input)) {
    // `lead: 15` in YAML is a number: the same mistake as the string "15".
    if (input < 0) return `duration must be positive, got ${input}`;
    if (input === 0) return `duration must be greater than zero, got ${input}`;
    return `${input} has no unit: write e.g. "${input}m" or "${input}h"`;
  }
  if (typeof input !== "string")
    return `expected a duration like "15m", "12h", "7d" or "PT12H", got ${describe(input)}`;
  const text = input.trim();
  const short = SHORT.exec(text);
  if (short) {
    const n = Number(short[1]);
    const unit = short[2] as string;
    if (n === 0) return `duration must be greater than zero, got "${input}"`;
    const ms = n * (UNIT_MS[unit] as number);
    if (!Number.isSafeInteger(ms)) return `duration "${input}" is too long`;
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
      if (!Number.isSafeInteger(Math.round(ms))) return `duration "${input}" is too long`;
      return { ms, parts: { days, ms: clockMs }, text };
    }
  }
  if (/^-/.test(text)) return `duration must be positive, got "${input}"`;
  if (/^\d+(\.\d+)?$/.test(text)) return `"${input}" has no unit: write e.g. "${text}m" or "${text}h"`;
  const unit = /^(\d+)(\.\d+)?\s*([A-Za-z]+)$/.exec(text);
  if (unit) {
    const [, n, fraction, u] = unit as unknown as [string, string, string | undefined, string];
    if (fraction) return `"${input}": use a whole number with a unit, e.g. "90m" rather than "1.5h"`;
    if (Object.hasOwn(UNIT_MS, u)) return `"${input}": write the number and the unit together: "${n}${u}"`;
    if (u === "M") return `"${input}" is ambiguous: write "${n}m" for minutes (months are not allowed)`;
    if (/^(mo|mon|months?|y|yrs?|years?)$/i.test(u)) {
      return `durations in months or years are not allowed ("${input}"): use days, e.g. "30d"`;
    }
    const lower = u.toLowerCase();
    if (Object.hasOwn(UNIT_MS, lower)) {
      return `unknown unit "${u}" in "${input}": units are lower-case, e.g. "${n}${lower}"`;
    }
    return `unknown unit "${u}" in "${input}": use ms, s, m, h, d or w (e.g. "15m", "12h", "7d")`;
  }
  return `expected a duration like "15m", "12h", "7d" or "PT12H", got "${input}"`;
}

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1024,
  kib: 1024,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
};

/**
 * A size in bytes: a whole number of bytes, or a number with a unit (`512KB`, `50MB`, `1GB`, or
 * `MiB`…; binary units either way: 1 KB = 1024 bytes). At least 1 KB: a smaller cap would refuse every answer.
 */
export function parseByteSize(input: unknown): number | string {
  let bytes: number;
  if (typeof input === "number") {
    if (!Number.isInteger(input)) return `expected a whole number of bytes, got ${input}`;
    bytes = input;
  } else if (typeof input === "string") {
    const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]+)?\s*$/i.exec(input);
    const unit = (m?.[2] ?? "b").toLowerCase();
    if (!m || !Object.hasOwn(SIZE_UNITS, unit)) {
      return `expected a size like "50MB", "512KB" or a number of bytes, got "${input}"`;
    }
    bytes = Math.floor(Number(m[1]) * (SIZE_UNITS[unit] as number));
  } else {
    return `expected a size like "50MB", "512KB" or a number of bytes, got ${describe(input)}`;
  }
  if (bytes < 1024) return `a size of at least 1KB is needed, got ${bytes} bytes`;
  return bytes;
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
export function formatUtc(t: DateTime | number): string {
  // Date's ISO form is the same text as luxon's toFormat here, and many times faster: this runs for
  // every grant in every ledger write and every line of output.
  const iso = new Date(typeof t === "number" ? t : t.toMillis()).toISOString();
  // Outside the years 0000–9999 the ISO form has a signed six-digit year (`+010000-01-01T…`), which
  // no target reads: the plan caps every grant well inside, so reaching here is a bug, not a time.
  if (iso.length !== 24) throw new RangeError(`${iso} is outside the years 0000–9999`);
  return `${iso.slice(0, 19)}Z`;
}

/**
 * A short form of a length of time, exact to the second (never rounded up: it fills `{duration}`,
 * and a grant must not outlast its end): `45m`, `12h`, `1d 6h`, `29m 45s`.
 */
export function formatLength(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(total / 86_400);
  const h = Math.floor((total % 86_400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const out = [d ? `${d}d` : "", h ? `${h}h` : "", m ? `${m}m` : "", s ? `${s}s` : ""]
    .filter(Boolean)
    .join(" ");
  return out || "0s";
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (typeof v === "string") return `"${v}"`;
  if (typeof v === "object") return Array.isArray(v) ? "a list" : "an object";
  // Only scalars are left (a number, a boolean, undefined): objects were described above.
  // eslint-disable-next-line @typescript-eslint/no-base-to-string
  return `${typeof v} ${String(v)}`;
}
