import type { DateTime } from "luxon";
import { MalformedResponse, obj, time } from "../parse.js";
import type { ScheduleRef } from "../types.js";

/**
 * Only the fields shiftgrant reads are checked, and each is checked where it is read: a malformed
 * answer fails the source (nothing is planned from it) with a message that says what was wrong.
 * Everything else is ignored: incident.io adds fields and enum values without notice, and clients
 * must tolerate them.
 */

function body(v: unknown, what: string): Record<string, unknown> {
  const b = obj(v);
  if (!b) throw new MalformedResponse(what, "the body is not a JSON object");
  return b;
}

/**
 * The cursor of `pagination_meta`: null when there is no next page (no `pagination_meta`, or no
 * `after` in it), else a non-empty string.
 */
function cursor(b: Record<string, unknown>, what: string): string | null {
  if (b.pagination_meta === undefined || b.pagination_meta === null) return null;
  const meta = obj(b.pagination_meta);
  if (!meta) throw new MalformedResponse(what, "pagination_meta is not an object");
  if (meta.after === undefined || meta.after === null) return null;
  if (typeof meta.after !== "string" || meta.after === "")
    throw new MalformedResponse(what, "pagination_meta.after is not a non-empty string");
  return meta.after;
}

/** `GET /v2/schedules`: one page of schedules and the cursor of the next page, if any. */
export function parseSchedulesPage(v: unknown, what: string): { items: ScheduleRef[]; after: string | null } {
  const b = body(v, what);
  if (!Array.isArray(b.schedules)) throw new MalformedResponse(what, `no "schedules" list`);
  const items = b.schedules.map((s, i) => {
    const o = obj(s);
    if (!o || typeof o.id !== "string" || o.id === "")
      throw new MalformedResponse(what, `schedules[${i}].id is not a string`);
    // `name` is required by the API; a schedule without one can still be named by its id.
    return { id: o.id, name: typeof o.name === "string" && o.name !== "" ? o.name : o.id };
  });
  return { items, after: cursor(b, what) };
}

/** One effective on-call entry. `user` is null for an entry with no one on call. */
export type FinalEntry = {
  user: { id: string; name: string; email: string | null } | null;
  start: DateTime;
  end: DateTime;
};

/**
 * `GET /v2/schedule_entries`: the `final` entries (overrides applied) and the cursor of the next
 * page. `scheduled` and `overrides` are not read.
 */
export function parseScheduleEntriesPage(
  v: unknown,
  what: string,
): { entries: FinalEntry[]; after: string | null } {
  const b = body(v, what);
  const final = obj(b.schedule_entries)?.final;
  if (!Array.isArray(final)) throw new MalformedResponse(what, `no "schedule_entries.final" list`);
  const entries = final.map((e, i): FinalEntry => {
    const at = `schedule_entries.final[${i}]`;
    const o = obj(e);
    if (!o) throw new MalformedResponse(what, `${at} is not an object`);
    const start = time(o.start_at, what, `${at}.start_at`);
    const end = time(o.end_at, what, `${at}.end_at`);
    if (end < start)
      throw new MalformedResponse(
        what,
        `${at} ends (${String(o.end_at)}) before it starts (${String(o.start_at)})`,
      );
    let user: FinalEntry["user"] = null;
    if (o.user !== undefined && o.user !== null) {
      const u = obj(o.user);
      if (!u || typeof u.id !== "string" || u.id === "")
        throw new MalformedResponse(what, `${at}.user.id is not a string`);
      user = {
        id: u.id,
        name: typeof u.name === "string" ? u.name : u.id,
        email: typeof u.email === "string" && u.email.trim() !== "" ? u.email : null,
      };
    }
    return { user, start, end };
  });
  return { entries, after: cursor(b, what) };
}

/** `GET /v2/users/{id}`: the user's email, or null when incident.io has none for them. */
export function parseUser(v: unknown, what: string): { name: string; email: string | null } {
  const u = obj(body(v, what).user);
  if (!u) throw new MalformedResponse(what, `no "user" object`);
  if (u.email !== undefined && u.email !== null && typeof u.email !== "string")
    throw new MalformedResponse(what, "user.email is not a string");
  return {
    name: typeof u.name === "string" ? u.name : "",
    email: typeof u.email === "string" && u.email.trim() !== "" ? u.email : null,
  };
}
