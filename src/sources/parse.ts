import { DateTime } from "luxon";

/**
 * What every source's response parsing shares. Only the fields a source reads are checked, each
 * where it is read: a malformed answer fails the source (nothing is planned from it) with a message
 * that names the request and the field.
 */
export class MalformedResponse extends Error {
  constructor(what: string, problem: string) {
    super(`${what}: malformed response: ${problem}`);
    this.name = "MalformedResponse";
  }
}

/** The value as a JSON object, or null for anything else (arrays included). */
export function obj(v: unknown): Record<string, unknown> | null {
  return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

/**
 * An ISO 8601 time with an offset, as a UTC DateTime; null or absent gives null. NOTE: a time
 * without an offset (`2026-11-22T09:00:00`) is refused, never read in the host's time zone: the
 * same answer would mean 09:00Z on one machine and 17:00Z on another.
 */
export function optionalTime(v: unknown, what: string, field: string): DateTime | null {
  if (v === null || v === undefined) return null;
  if (typeof v !== "string") throw new MalformedResponse(what, `${field} is not a time`);
  const t = DateTime.fromISO(v, { setZone: true });
  if (!t.isValid) throw new MalformedResponse(what, `${field} "${v}" is not an ISO 8601 time`);
  const timePart = v.slice(Math.max(0, v.search(/t/i)));
  if (!/t/i.test(v) || !/(Z|[+-]\d{2}(:?\d{2})?)$/i.test(timePart)) {
    throw new MalformedResponse(
      what,
      `${field} "${v}" has no UTC offset (Z or +hh:mm); a time without one is not guessed in any time zone`,
    );
  }
  return t.toUTC();
}

/** A time that must be there. */
export function time(v: unknown, what: string, field: string): DateTime {
  const t = optionalTime(v, what, field);
  if (!t) throw new MalformedResponse(what, `${field} is not a time`);
  return t;
}
