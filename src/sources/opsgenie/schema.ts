import type { DateTime } from "luxon";
import { MalformedResponse, obj, time } from "../parse.js";
import type { ScheduleRef } from "../types.js";

/**
 * Only the fields shiftgrant reads are checked, and each is checked where it is read: a malformed
 * answer fails the source (nothing is planned from it) with a message that names the field.
 *
 * Shapes: opsgenie/opsgenie-oas `definitions/schedule.yaml` (ListSchedulesResponse,
 * GetScheduleTimelineResponse) and `definitions/common.yaml` (BaseResponse: `requestId`, `took`).
 */

/** A schedule as `GET /v2/schedules` lists it. */
export type ListedSchedule = ScheduleRef & { enabled: boolean };

/** `GET /v2/schedules`: `{"data":[{"id","name","enabled",…}],"expandable":[…],"took","requestId"}`. */
export function parseScheduleList(body: unknown, what: string): ListedSchedule[] {
  const b = obj(body);
  if (!b) throw new MalformedResponse(what, "the body is not a JSON object");
  if (!Array.isArray(b.data)) throw new MalformedResponse(what, `no "data" list`);
  return b.data.map((v, i) => {
    const s = obj(v);
    if (!s || typeof s.id !== "string" || s.id === "")
      throw new MalformedResponse(what, `data[${i}].id is not a string`);
    if (typeof s.name !== "string") throw new MalformedResponse(what, `data[${i}].name is not a string`);
    return { id: s.id, name: s.name, enabled: s.enabled !== false };
  });
}

/** A timeline recipient: `{"id","type","name"}`; for a user, `name` is the username (an email). */
export type Recipient = { type: string; id: string | null; name: string | null };

export type TimelinePeriod = {
  /** `default`, `override`, `forwarding`, `historical`… (unknown types are kept: the recipient decides). */
  type: string;
  start: DateTime;
  end: DateTime;
  /** Null when the period names nobody. */
  recipient: Recipient | null;
  /** `historical` periods only: who was actually notified, a team flattened to its users. */
  flattened: Recipient[];
  rotation: string;
};

export type Timeline = {
  /** `_parent.name`, when given. */
  name: string | null;
  /** The span the answer covers: `data.startDate` to `data.endDate`. */
  start: DateTime;
  end: DateTime;
  periods: TimelinePeriod[];
};

function recipient(v: unknown, what: string, at: string): Recipient {
  const r = obj(v);
  if (!r) throw new MalformedResponse(what, `${at} is not an object`);
  if (typeof r.type !== "string" || r.type === "")
    throw new MalformedResponse(what, `${at}.type is not a string`);
  const name = typeof r.name === "string" && r.name.trim() !== "" ? r.name : null;
  // A user's `name` is the username (an email): the one field the grant is made from.
  if (r.type === "user" && name === null) throw new MalformedResponse(what, `${at}.name is not a username`);
  return { type: r.type, id: typeof r.id === "string" && r.id !== "" ? r.id : null, name };
}

/**
 * `GET /v2/schedules/{id}/timeline`: `data.startDate`/`data.endDate` (the span covered) and
 * `data.finalTimeline.rotations[].periods[]` (who is on call, overrides and forwarding applied).
 * A rotation with nothing in the span may come without `periods`: that is no periods, not an error.
 */
export function parseTimeline(body: unknown, what: string): Timeline {
  const b = obj(body);
  if (!b) throw new MalformedResponse(what, "the body is not a JSON object");
  const data = obj(b.data);
  if (!data) throw new MalformedResponse(what, `no "data" object`);
  const start = time(data.startDate, what, "data.startDate");
  const end = time(data.endDate, what, "data.endDate");
  if (start > end)
    throw new MalformedResponse(
      what,
      `data.startDate (${String(data.startDate)}) is after data.endDate (${String(data.endDate)})`,
    );
  const final = obj(data.finalTimeline);
  if (!final) throw new MalformedResponse(what, "no data.finalTimeline");
  if (!Array.isArray(final.rotations))
    throw new MalformedResponse(what, "data.finalTimeline.rotations is not a list");
  const periods: TimelinePeriod[] = [];
  final.rotations.forEach((rv, i) => {
    const rat = `data.finalTimeline.rotations[${i}]`;
    const rot = obj(rv);
    if (!rot) throw new MalformedResponse(what, `${rat} is not an object`);
    if (rot.periods === undefined || rot.periods === null) return;
    if (!Array.isArray(rot.periods)) throw new MalformedResponse(what, `${rat}.periods is not a list`);
    const rotation = typeof rot.name === "string" ? rot.name : typeof rot.id === "string" ? rot.id : `#${i}`;
    rot.periods.forEach((pv, j) => {
      const at = `${rat}.periods[${j}]`;
      const p = obj(pv);
      if (!p) throw new MalformedResponse(what, `${at} is not an object`);
      const ps = time(p.startDate, what, `${at}.startDate`);
      const pe = time(p.endDate, what, `${at}.endDate`);
      if (ps > pe) {
        throw new MalformedResponse(
          what,
          `${at} starts (${String(p.startDate)}) after it ends (${String(p.endDate)})`,
        );
      }
      const flat = p.flattenedRecipients;
      if (flat !== undefined && flat !== null && !Array.isArray(flat))
        throw new MalformedResponse(what, `${at}.flattenedRecipients is not a list`);
      periods.push({
        type: typeof p.type === "string" ? p.type : "default",
        start: ps,
        end: pe,
        recipient:
          p.recipient === undefined || p.recipient === null
            ? null
            : recipient(p.recipient, what, `${at}.recipient`),
        flattened: (flat ?? []).map((r, k) => recipient(r, what, `${at}.flattenedRecipients[${k}]`)),
        rotation,
      });
    });
  });
  const parent = obj(data._parent);
  return {
    name: parent && typeof parent.name === "string" && parent.name !== "" ? parent.name : null,
    start,
    end,
    periods,
  };
}
