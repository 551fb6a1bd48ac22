import type { DateTime } from "luxon";
import { MalformedResponse, obj, optionalTime as time } from "../parse.js";
import type { ScheduleRef } from "../types.js";

/**
 * Only the fields shiftgrant reads are checked, and each is checked where it is read: a malformed
 * answer fails the source (nothing is planned from it) with a message that says what was wrong.
 */

export type OncallEntry = {
  user: { id: string; email: string | null };
  schedule: { id: string; name: string } | null;
  /** Null for a schedule read outside /oncalls (in no escalation policy). */
  level: number | null;
  start: DateTime | null;
  end: DateTime | null;
};

/**
 * One page of a classic (offset) paged list, with what the page says about where it sits in the list:
 * `offset` and `limit` as the server applied them, `more`, and `total` (null unless asked for).
 */
export type Page<T> = { items: T[]; more: boolean; total: number | null; offset: number; limit: number };

const count = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v >= 0;

function page<T>(body: unknown, what: string, key: string, item: (v: unknown, i: number) => T): Page<T> {
  const b = obj(body);
  if (!b) throw new MalformedResponse(what, "the body is not a JSON object");
  const list = b[key];
  if (!Array.isArray(list)) throw new MalformedResponse(what, `no "${key}" list`);
  if (typeof b.more !== "boolean") throw new MalformedResponse(what, `"more" is not true or false`);
  if (!count(b.offset)) throw new MalformedResponse(what, `"offset" is not a whole number`);
  if (!count(b.limit)) throw new MalformedResponse(what, `"limit" is not a whole number`);
  if (b.total !== null && b.total !== undefined && !count(b.total))
    throw new MalformedResponse(what, `"total" is not a whole number or null`);
  const total = count(b.total) ? b.total : null;
  return { items: list.map(item), more: b.more, total, offset: b.offset, limit: b.limit };
}

export function parseOncallsPage(body: unknown, what: string): Page<OncallEntry> {
  return page(body, `GET ${what}`, "oncalls", (v, i) => {
    const at = `oncalls[${i}]`;
    const e = obj(v);
    if (!e) throw new MalformedResponse(`GET ${what}`, `${at} is not an object`);
    const user = obj(e.user);
    if (!user || typeof user.id !== "string")
      throw new MalformedResponse(`GET ${what}`, `${at}.user has no id`);
    const sched = e.schedule === null || e.schedule === undefined ? null : obj(e.schedule);
    if (e.schedule && (!sched || typeof sched.id !== "string")) {
      throw new MalformedResponse(`GET ${what}`, `${at}.schedule has no id`);
    }
    if (typeof e.escalation_level !== "number") {
      throw new MalformedResponse(`GET ${what}`, `${at}.escalation_level is not a number`);
    }
    const start = time(e.start, `GET ${what}`, `${at}.start`);
    const end = time(e.end, `GET ${what}`, `${at}.end`);
    if (start && end && start > end) {
      throw new MalformedResponse(
        `GET ${what}`,
        `${at} starts (${String(e.start)}) after it ends (${String(e.end)})`,
      );
    }
    return {
      user: {
        id: user.id,
        email: typeof user.email === "string" && user.email.length > 0 ? user.email : null,
      },
      schedule: sched
        ? {
            id: sched.id as string,
            name: typeof sched.summary === "string" ? sched.summary : (sched.id as string),
          }
        : null,
      level: e.escalation_level,
      start,
      end,
    };
  });
}

/** A schedule as listed; `inEscalationPolicy` false means /oncalls never shows it. */
export type ListedSchedule = ScheduleRef & { inEscalationPolicy: boolean };

export function parseSchedulesPage(body: unknown, what: string): Page<ListedSchedule> {
  return page(body, `GET ${what}`, "schedules", (v, i) => {
    const s = obj(v);
    if (!s || typeof s.id !== "string")
      throw new MalformedResponse(`GET ${what}`, `schedules[${i}] has no id`);
    const name = typeof s.name === "string" ? s.name : typeof s.summary === "string" ? s.summary : s.id;
    if (!Array.isArray(s.escalation_policies)) {
      throw new MalformedResponse(`GET ${what}`, `schedules[${i}].escalation_policies is not a list`);
    }
    return { id: s.id, name, inEscalationPolicy: s.escalation_policies.length > 0 };
  });
}

export type FinalEntry = { userId: string; start: DateTime; end: DateTime };

/** `GET /schedules/{id}`: the final schedule's rendered entries (who is on call, overrides applied). */
export function parseFinalSchedule(
  body: unknown,
  id: string,
): { name: string; inEscalationPolicy: boolean; entries: FinalEntry[] } {
  const what = `GET /schedules/${id}`;
  const s = obj(obj(body)?.schedule);
  if (!s) throw new MalformedResponse(what, "no schedule object");
  if (!Array.isArray(s.escalation_policies)) {
    throw new MalformedResponse(what, "escalation_policies is not a list");
  }
  const list = obj(s.final_schedule)?.rendered_schedule_entries;
  if (!Array.isArray(list))
    throw new MalformedResponse(what, "no final_schedule.rendered_schedule_entries list");
  const entries = list.map((v, i) => {
    const at = `final_schedule.rendered_schedule_entries[${i}]`;
    const e = obj(v);
    const user = obj(e?.user);
    if (!e || !user || typeof user.id !== "string") throw new MalformedResponse(what, `${at}.user has no id`);
    const start = time(e.start, what, `${at}.start`);
    const end = time(e.end, what, `${at}.end`);
    if (!start || !end) throw new MalformedResponse(what, `${at} has no start or end`);
    if (start > end)
      throw new MalformedResponse(what, `${at} starts (${String(e.start)}) after it ends (${String(e.end)})`);
    return { userId: user.id, start, end };
  });
  return {
    name: typeof s.name === "string" ? s.name : id,
    inEscalationPolicy: s.escalation_policies.length > 0,
    entries,
  };
}

export function parseUser(body: unknown, id: string): { email: string } {
  const u = obj(obj(body)?.user);
  if (!u || typeof u.email !== "string" || u.email.length === 0) {
    throw new MalformedResponse(`GET /users/${id}`, "the user has no email");
  }
  return { email: u.email };
}

export type IncidentAck = {
  incident: { id: string; number: number; title: string; serviceId: string };
  user: { id: string; email: string | null };
  at: DateTime;
};

/**
 * `GET /incidents` with `include[]=acknowledgers`: the user acknowledgements of each incident. An
 * acknowledger that is a service (an integration's auto-acknowledgement) is nobody to give access to.
 */
export function parseIncidentsPage(body: unknown, what: string): Page<IncidentAck[]> {
  return page(body, `GET ${what}`, "incidents", (v, i) => {
    const at = `incidents[${i}]`;
    const inc = obj(v);
    if (!inc || typeof inc.id !== "string") throw new MalformedResponse(`GET ${what}`, `${at} has no id`);
    const service = obj(inc.service);
    if (!service || typeof service.id !== "string")
      throw new MalformedResponse(`GET ${what}`, `${at}.service has no id`);
    if (!Array.isArray(inc.acknowledgements)) {
      throw new MalformedResponse(`GET ${what}`, `${at}.acknowledgements is not a list`);
    }
    const incident = {
      id: inc.id,
      number: typeof inc.incident_number === "number" ? inc.incident_number : 0,
      title:
        typeof inc.title === "string" ? inc.title : typeof inc.summary === "string" ? inc.summary : inc.id,
      serviceId: service.id,
    };
    const acks: IncidentAck[] = [];
    inc.acknowledgements.forEach((a, j) => {
      const ack = obj(a);
      const who = obj(ack?.acknowledger);
      if (!ack || !who || typeof who.id !== "string" || typeof who.type !== "string") {
        throw new MalformedResponse(`GET ${what}`, `${at}.acknowledgements[${j}] has no acknowledger`);
      }
      if (who.type !== "user" && who.type !== "user_reference") return;
      const t = time(ack.at, `GET ${what}`, `${at}.acknowledgements[${j}].at`);
      if (!t) throw new MalformedResponse(`GET ${what}`, `${at}.acknowledgements[${j}] has no time`);
      acks.push({
        incident,
        user: { id: who.id, email: typeof who.email === "string" && who.email ? who.email : null },
        at: t,
      });
    });
    return acks;
  });
}
