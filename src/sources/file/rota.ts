import { DateTime, IANAZone } from "luxon";
import { formatUtc, parseDuration, parseInstant } from "../../core/time.js";
import type { Shift } from "../types.js";

/** An explicit shift or an override: one person on one schedule over a fixed interval (UTC). */
export type RotaInterval = {
  schedule: string;
  email: string;
  start: DateTime;
  end: DateTime;
  /** Where it is written (`shifts[2]`), so that later problems can point at it. */
  path: string;
};

/**
 * A rotation. Handoffs are kept as wall-clock times in `timezone`, written as milliseconds as if the
 * wall clock were UTC: wall-clock arithmetic is then plain addition, and handoffs keep their local
 * time across DST changes.
 */
export type RotaRotation = {
  schedule: string;
  members: string[];
  timezone: string;
  startWall: number;
  lengthMs: number;
  /** No handoff at or after this wall time; the last shift ends here. */
  endWall: number | null;
  path: string;
};

/** A validated rota file. Spellings of a schedule name are identical throughout (checked). */
export type Rota = { shifts: RotaInterval[]; rotations: RotaRotation[]; overrides: RotaInterval[] };

const TOP_KEYS = ["shifts", "rotations", "overrides"] as const;
const INTERVAL_KEYS = ["schedule", "email", "start", "end"] as const;
const ROTATION_KEYS = ["schedule", "members", "start", "timezone", "length", "end"] as const;

/**
 * How far (in wall time) around the window a rotation is expanded. Wall time and real time drift
 * apart by at most a zone's largest offset change (24 h, when Samoa skipped a day), so 48 h makes sure
 * no shift overlapping the window is missed and that the running maximum in `expandRotation` is
 * primed exactly as if the expansion had started at the first handoff.
 */
const MARGIN_MS = 48 * 3_600_000;

/** Validates a parsed rota document, reporting every problem at once, each naming its path. */
export function parseRota(doc: unknown): { rota: Rota } | { errors: string[] } {
  const errors: string[] = [];
  if (doc === null || doc === undefined) {
    return { errors: ["the rota is empty: add shifts, rotations or overrides"] };
  }
  if (!isRecord(doc)) {
    return { errors: [`expected a mapping with shifts, rotations or overrides, got ${describe(doc)}`] };
  }
  checkKeys(doc, TOP_KEYS, "", errors);
  if (!TOP_KEYS.some((k) => k in doc)) {
    errors.push("the rota has none of shifts, rotations or overrides");
  }

  const shifts = listOf(doc, "shifts", errors).flatMap((v, i) => parseInterval(v, `shifts[${i}]`, errors));
  const rotations = listOf(doc, "rotations", errors).flatMap((v, i) =>
    parseRotation(v, `rotations[${i}]`, errors),
  );
  const overrides = listOf(doc, "overrides", errors).flatMap((v, i) =>
    parseInterval(v, `overrides[${i}]`, errors),
  );

  checkSpellings([...shifts, ...rotations, ...overrides], errors);
  checkOneRotationEach(rotations, errors);
  // One person at a time per schedule: overrides may cover anything else, but not each other.
  checkNoOverlaps(shifts, errors);
  checkNoOverlaps(overrides, errors);
  checkShiftsOutsideRotations(shifts, rotations, errors);

  if (errors.length > 0) return { errors };
  return { rota: { shifts, rotations, overrides } };
}

/** Every schedule the rota names, sorted. */
export function rotaSchedules(rota: Rota): string[] {
  const names = new Map<string, string>();
  for (const item of [...rota.shifts, ...rota.rotations, ...rota.overrides]) {
    names.set(key(item.schedule), item.schedule);
  }
  return [...names.values()].sort((a, b) => compareStrings(key(a), key(b)));
}

/**
 * All shifts of these schedules (matched case-insensitively; unknown names yield nothing) that overlap
 * [since, until], whole, with overrides cut into the shifts they replace. Sorted by start, schedule,
 * email.
 */
export function expandRota(rota: Rota, schedules: string[], since: DateTime, until: DateTime): Shift[] {
  const from = since.toMillis();
  const to = until.toMillis();
  if (!(from < to)) return [];
  const wanted = new Set(schedules.map(key));
  const isWanted = (item: { schedule: string }): boolean => wanted.has(key(item.schedule));
  const ms = (t: DateTime | number) => (typeof t === "number" ? t : t.toMillis());
  const overlapsWindow = (s: { start: DateTime | number; end: DateTime | number }): boolean =>
    ms(s.start) < to && ms(s.end) > from;

  const base: Shift[] = [];
  for (const r of rota.rotations.filter(isWanted)) base.push(...expandRotation(r, since, until));
  for (const s of rota.shifts.filter(isWanted).filter(overlapsWindow)) base.push(toShift(s, "rota"));

  const overridesBySchedule = new Map<string, RotaInterval[]>();
  for (const o of rota.overrides.filter(isWanted)) {
    const list = overridesBySchedule.get(o.schedule) ?? [];
    list.push(o);
    overridesBySchedule.set(o.schedule, list);
  }
  for (const list of overridesBySchedule.values()) list.sort(byStart);

  const out: Shift[] = [];
  for (const shift of base) {
    const pieces = cutOut(shift, overridesBySchedule.get(shift.schedule.id) ?? []);
    out.push(...pieces.filter(overlapsWindow));
  }
  for (const o of rota.overrides.filter(isWanted).filter(overlapsWindow))
    out.push(toShift(o, "rota override"));
  return out.sort(compareShifts);
}

/**
 * Expands one rotation around the window. Handoff k is at wall time start + k × length; k is computed
 * from the window, so a rotation that started years ago costs no more than one that started today.
 */
function expandRotation(r: RotaRotation, since: DateTime, until: DateTime): Shift[] {
  const len = r.lengthMs;
  const endWall = r.endWall;
  const last = endWall === null ? Number.POSITIVE_INFINITY : Math.ceil((endWall - r.startWall) / len) - 1;
  const lo = Math.max(0, Math.floor((wallOf(since, r.timezone) - MARGIN_MS - r.startWall) / len));
  const hi = Math.min(last, Math.floor((wallOf(until, r.timezone) + MARGIN_MS - r.startWall) / len));
  const boundary = (k: number): number =>
    instantOf(k > last && endWall !== null ? endWall : r.startWall + k * len, r.timezone);

  const out: Shift[] = [];
  const from = since.toMillis();
  const to = until.toMillis();
  // A wall time in a spring-forward gap moves forward, which can put it after the next handoff when
  // the length is shorter than the gap; the running maximum keeps handoffs in order, and the shifts
  // squeezed out by it are dropped as empty.
  let start = boundary(lo);
  for (let k = lo; k <= hi; k++) {
    const end = Math.max(start, boundary(k + 1));
    if (end > start && start < to && end > from) {
      out.push({
        schedule: { id: r.schedule, name: r.schedule },
        level: null,
        email: r.members[k % r.members.length] as string,
        start,
        end,
        reason: `on call: ${r.schedule} (rota)`,
      });
    }
    start = end;
  }
  return out;
}

/** The parts of `shift` not covered by `overrides` (sorted by start, not overlapping each other). */
function cutOut(shift: Shift, overrides: RotaInterval[]): Shift[] {
  const end = shift.end;
  const pieces: Shift[] = [];
  let cursor = shift.start;
  for (const o of overrides) {
    const oStart = o.start.toMillis();
    const oEnd = o.end.toMillis();
    if (oEnd <= cursor || oStart >= end) continue;
    if (oStart > cursor) pieces.push(piece(shift, cursor, oStart));
    cursor = Math.max(cursor, oEnd);
  }
  if (cursor < end) pieces.push(piece(shift, cursor, end));
  return pieces;
}

function piece(shift: Shift, start: number, end: number): Shift {
  if (start === shift.start && end === shift.end) return shift;
  return { ...shift, start, end };
}

function toShift(s: RotaInterval, kind: "rota" | "rota override"): Shift {
  return {
    schedule: { id: s.schedule, name: s.schedule },
    level: null,
    email: s.email,
    start: s.start.toMillis(),
    end: s.end.toMillis(),
    reason: `on call: ${s.schedule} (${kind})`,
  };
}

/** The wall-clock time of `t` in `zone`, as milliseconds as if that wall clock were UTC. */
function wallOf(t: DateTime, zone: string): number {
  return t.setZone(zone).setZone("utc", { keepLocalTime: true }).toMillis();
}

/** The instant (epoch ms) of a wall-clock time in `zone`; a time in a DST gap moves forward. */
function instantOf(wall: number, zone: string): number {
  return DateTime.fromMillis(wall, { zone: "utc" }).setZone(zone, { keepLocalTime: true }).toMillis();
}

// --- validation -------------------------------------------------------------------------------------

function parseInterval(v: unknown, path: string, errors: string[]): RotaInterval[] {
  if (!isRecord(v)) {
    errors.push(`${path}: expected a mapping with ${INTERVAL_KEYS.join(", ")}, got ${describe(v)}`);
    return [];
  }
  const before = errors.length;
  checkKeys(v, INTERVAL_KEYS, path, errors);
  const schedule = nonEmptyString(v, "schedule", path, errors);
  const email = nonEmptyString(v, "email", path, errors);
  const start = instant(v, "start", path, errors);
  const end = instant(v, "end", path, errors);
  if (start && end && !(start.toMillis() < end.toMillis())) {
    const what = start.toMillis() === end.toMillis() ? "an empty shift" : "the end is before the start";
    errors.push(`${path}.end: ${formatUtc(end)} is not after start ${formatUtc(start)} (${what})`);
  }
  if (errors.length > before || schedule === null || email === null || !start || !end) return [];
  return [{ schedule, email, start, end, path }];
}

function parseRotation(v: unknown, path: string, errors: string[]): RotaRotation[] {
  if (!isRecord(v)) {
    errors.push(`${path}: expected a mapping with ${ROTATION_KEYS.join(", ")}, got ${describe(v)}`);
    return [];
  }
  const before = errors.length;
  checkKeys(v, ROTATION_KEYS, path, errors);
  const schedule = nonEmptyString(v, "schedule", path, errors);
  const members = memberList(v, path, errors);

  let timezone: string | null = null;
  if (!("timezone" in v)) errors.push(`${path}.timezone: missing (an IANA time zone like "Europe/Berlin")`);
  else if (typeof v.timezone !== "string") {
    errors.push(
      `${path}.timezone: expected an IANA time zone like "Europe/Berlin", got ${describe(v.timezone)}`,
    );
  } else if (!IANAZone.isValidZone(v.timezone)) {
    errors.push(`${path}.timezone: unknown time zone "${v.timezone}"`);
  } else timezone = v.timezone;

  let lengthMs: number | null = null;
  if (!("length" in v)) errors.push(`${path}.length: missing (a duration like "7d" or "12h")`);
  else {
    const length = parseDuration(v.length);
    if (typeof length === "string") errors.push(`${path}.length: ${length}`);
    else if (!(length.ms > 0)) errors.push(`${path}.length: must be greater than zero`);
    else lengthMs = length.ms;
  }

  let startWall: number | null = null;
  if (!("start" in v)) errors.push(`${path}.start: missing (the first handoff, e.g. "2026-01-05T09:00:00")`);
  else {
    const w = wallTime(v.start, timezone);
    if (typeof w === "string") errors.push(`${path}.start: ${w}`);
    else startWall = w;
  }

  let endWall: number | null = null;
  if ("end" in v) {
    const w = wallTime(v.end, timezone);
    if (typeof w === "string") errors.push(`${path}.end: ${w}`);
    else if (w !== null && startWall !== null && !(w > startWall)) {
      errors.push(`${path}.end: must be after start (${String(v.end)} is not after ${String(v.start)})`);
    } else endWall = w;
  }

  if (errors.length > before) return [];
  if (schedule === null || members === null || timezone === null || lengthMs === null || startWall === null) {
    return [];
  }
  return [{ schedule, members, timezone, startWall, lengthMs, endWall, path }];
}

function memberList(v: Record<string, unknown>, path: string, errors: string[]): string[] | null {
  if (!("members" in v)) {
    errors.push(`${path}.members: missing (a list of emails)`);
    return null;
  }
  const members = v.members;
  if (!Array.isArray(members) || members.length === 0) {
    errors.push(`${path}.members: expected a non-empty list of emails, got ${describe(members)}`);
    return null;
  }
  let ok = true;
  members.forEach((m, i) => {
    if (typeof m !== "string" || m.trim() === "") {
      errors.push(`${path}.members[${i}]: expected a non-empty string, got ${describe(m)}`);
      ok = false;
    }
  });
  return ok ? (members as string[]) : null;
}

/**
 * A rotation's wall-clock time: ISO 8601 local time, or with an offset, which is converted to the wall
 * time in the zone. Returns null when it is well-formed but the zone is unknown (reported elsewhere).
 */
function wallTime(input: unknown, zone: string | null): number | null | string {
  if (typeof input !== "string") {
    return `expected a local time like "2026-01-05T09:00:00", got ${describe(input)}`;
  }
  const text = input.trim();
  if (text.toLowerCase() === "now") return NOW_REFUSED;
  const timePart = text.slice(Math.max(0, text.search(/t/i)));
  const hasOffset = /t/i.test(text) && /(Z|[+-]\d{2}(:?\d{2})?)$/i.test(timePart);
  if (hasOffset) {
    const dt = DateTime.fromISO(text, { setZone: true });
    if (!dt.isValid) return `"${input}" is not an ISO 8601 time (e.g. "2026-01-05T09:00:00")`;
    return zone === null ? null : wallOf(dt, zone);
  }
  // Read as UTC so the wall clock is taken literally: reading it in the zone would already move a
  // time in a DST gap, and every later handoff with it.
  const dt = DateTime.fromISO(text, { zone: "utc" });
  if (!dt.isValid) return `"${input}" is not an ISO 8601 local time (e.g. "2026-01-05T09:00:00")`;
  return dt.toMillis();
}

const NOW_REFUSED = `"now" is not allowed in a rota: write a fixed time like "2026-11-22T09:00:00Z"`;
/** parseInstant needs a `now`; any will do, since "now" itself is refused before. */
const ANY_NOW = DateTime.fromMillis(0, { zone: "utc" });

function instant(v: Record<string, unknown>, field: string, path: string, errors: string[]): DateTime | null {
  if (!(field in v)) {
    errors.push(`${path}.${field}: missing (a time like "2026-11-22T09:00:00Z")`);
    return null;
  }
  const value = v[field];
  if (typeof value === "string" && value.trim().toLowerCase() === "now") {
    errors.push(`${path}.${field}: ${NOW_REFUSED}`);
    return null;
  }
  const t = parseInstant(value, ANY_NOW);
  if (typeof t === "string") {
    errors.push(`${path}.${field}: ${t}`);
    return null;
  }
  return t;
}

function nonEmptyString(
  v: Record<string, unknown>,
  field: string,
  path: string,
  errors: string[],
): string | null {
  if (!(field in v)) {
    errors.push(`${path}.${field}: missing`);
    return null;
  }
  const value = v[field];
  if (typeof value !== "string" || value.trim() === "") {
    errors.push(`${path}.${field}: expected a non-empty string, got ${describe(value)}`);
    return null;
  }
  return value;
}

function listOf(doc: Record<string, unknown>, field: string, errors: string[]): unknown[] {
  const value = doc[field];
  // A key left with everything under it commented out reads as null: treat it as an empty list.
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    errors.push(`${field}: expected a list, got ${describe(value)}`);
    return [];
  }
  return value;
}

function checkKeys(
  v: Record<string, unknown>,
  allowed: readonly string[],
  path: string,
  errors: string[],
): void {
  for (const k of Object.keys(v)) {
    if (!allowed.includes(k)) {
      errors.push(`${path ? `${path}.` : ""}${k}: unknown key (expected one of: ${allowed.join(", ")})`);
    }
  }
}

/**
 * Config refs match schedule names case-insensitively, so "Primary" and "primary" in one file would
 * be one schedule to the config but two here; refuse the mix rather than guess.
 */
function checkSpellings(items: { schedule: string; path: string }[], errors: string[]): void {
  const first = new Map<string, { schedule: string; path: string }>();
  for (const item of items) {
    const seen = first.get(key(item.schedule));
    if (!seen) first.set(key(item.schedule), item);
    else if (seen.schedule !== item.schedule) {
      errors.push(
        `${item.path}.schedule: "${item.schedule}" differs only in case from "${seen.schedule}" ` +
          `(${seen.path}.schedule): spell a schedule the same way everywhere`,
      );
    }
  }
}

function checkOneRotationEach(rotations: RotaRotation[], errors: string[]): void {
  const first = new Map<string, RotaRotation>();
  for (const r of rotations) {
    const seen = first.get(key(r.schedule));
    if (seen) {
      errors.push(
        `${r.path}.schedule: schedule "${r.schedule}" already has a rotation (${seen.path}): ` +
          `a schedule has at most one rotation`,
      );
    } else first.set(key(r.schedule), r);
  }
}

/** Reports every pair of intervals on the same schedule that overlap, the later-written one first. */
function checkNoOverlaps(items: RotaInterval[], errors: string[]): void {
  const index = new Map(items.map((item, i) => [item, i]));
  const at = (item: RotaInterval): number => index.get(item) ?? 0;
  const pairs: [RotaInterval, RotaInterval][] = [];
  const bySchedule = new Map<string, RotaInterval[]>();
  for (const item of items) {
    const list = bySchedule.get(key(item.schedule)) ?? [];
    list.push(item);
    bySchedule.set(key(item.schedule), list);
  }
  for (const list of bySchedule.values()) {
    const active: RotaInterval[] = [];
    for (const item of [...list].sort(byStart)) {
      const start = item.start.toMillis();
      for (let i = active.length - 1; i >= 0; i--) {
        if ((active[i] as RotaInterval).end.toMillis() <= start) active.splice(i, 1);
      }
      for (const other of active) {
        const [later, earlier] = at(item) > at(other) ? [item, other] : [other, item];
        pairs.push([later, earlier]);
      }
      active.push(item);
    }
  }
  pairs.sort(([a1, b1], [a2, b2]) => at(a1) - at(a2) || at(b1) - at(b2));
  for (const [later, earlier] of pairs) {
    errors.push(`${later.path} overlaps ${earlier.path} on schedule "${later.schedule}"`);
  }
}

/**
 * A rotation has someone on call for every moment from its first handoff to its end, so an explicit
 * shift on the same schedule may only lie outside that span. Checked here, at load, rather than
 * during expansion: the span is known without expanding anything.
 */
function checkShiftsOutsideRotations(
  shifts: RotaInterval[],
  rotations: RotaRotation[],
  errors: string[],
): void {
  const bySchedule = new Map(rotations.map((r) => [key(r.schedule), r]));
  for (const s of shifts) {
    const r = bySchedule.get(key(s.schedule));
    if (!r) continue;
    const rStart = instantOf(r.startWall, r.timezone);
    const rEnd = r.endWall === null ? Number.POSITIVE_INFINITY : instantOf(r.endWall, r.timezone);
    if (s.start.toMillis() < rEnd && s.end.toMillis() > rStart) {
      const span =
        r.endWall === null
          ? `from ${formatUtc(DateTime.fromMillis(rStart))} on`
          : `from ${formatUtc(DateTime.fromMillis(rStart))} to ${formatUtc(DateTime.fromMillis(rEnd))}`;
      errors.push(
        `${s.path} overlaps ${r.path} on schedule "${s.schedule}" (the rotation has someone on call ${span}; ` +
          `use an override to replace them)`,
      );
    }
  }
}

// --- small helpers ----------------------------------------------------------------------------------

function key(schedule: string): string {
  return schedule.toLowerCase();
}

function byStart(a: { start: DateTime }, b: { start: DateTime }): number {
  return a.start.toMillis() - b.start.toMillis();
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareShifts(a: Shift, b: Shift): number {
  return (
    a.start - b.start ||
    compareStrings(a.schedule.name, b.schedule.name) ||
    compareStrings(a.email, b.email) ||
    a.end - b.end
  );
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return "nothing";
  if (typeof v === "string") return `"${v}"`;
  if (typeof v === "object")
    return Array.isArray(v) ? (v.length === 0 ? "an empty list" : "a list") : "a mapping";
  // Only scalars are left (a number, a boolean, undefined): objects were described above.
  // eslint-disable-next-line @typescript-eslint/no-base-to-string
  return `${typeof v} ${String(v)}`;
}
