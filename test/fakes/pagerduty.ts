/**
 * A strict, stateful fake of the parts of PagerDuty's REST API v2 that shiftgrant uses:
 * GET /oncalls, /users, /users/{id}, /schedules, /schedules/{id}, /incidents.
 *
 * Behaviour follows /work/shared/reference/api-facts.md (sections 1 and 2). Where the real API's behaviour is
 * unverified the fake picks the strict option (e.g. `limit > 100` is a 400) and says so in a comment.
 *
 * Anything the fake did not expect (unknown path or method, bad or unknown query parameters, a valid
 * parameter the fake does not model, inconsistent fake state) is described in `unexpected`; tests should
 * assert that it is empty.
 */
import { createHash } from "node:crypto";
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from "node:http";
import { DateTime, IANAZone } from "luxon";
import { createFakeShell, type RecordedRequest, type Reply } from "./shell.js";

export type FakeUser = {
  id: string;
  name: string;
  email: string;
  /** when true, include[]=users embeds this user WITHOUT an email field (forces a GET /users/{id} follow-up) */
  omitEmailInInclude?: boolean;
  /** the user's own time zone (`time_zone` of the full user); default: the account time zone */
  timeZone?: string;
  /** default "user" */
  role?: string;
  /** `job_title` of the full user; omitted when unset (the spec declares a string, not nullable) */
  jobTitle?: string;
};
export type FakeSchedule = {
  id: string;
  name: string;
  timeZone?: string;
  /** escalation policy ids that reference the schedule; [] = in no escalation policy (then /oncalls never lists it) */
  escalationPolicyIds: string[];
};
export type FakeOncall = {
  userId: string;
  scheduleId: string | null;
  escalationPolicyId: string;
  level: number;
  /** ISO UTC, e.g. "2026-11-22T09:00:00Z"; null = permanent */
  start: string | null;
  end: string | null;
  scheduleType?: "schedule_reference" | "schedule_v3_reference";
};
/** final_schedule entries for GET /schedules/{id}: who is on call per interval (used for schedules in no EP) */
export type FakeFinalEntry = { scheduleId: string; userId: string; start: string; end: string };
export type FakeIncident = {
  id: string;
  number: number;
  title: string;
  serviceId: string;
  status: "triggered" | "acknowledged" | "resolved";
  acknowledgements: {
    at: string;
    by: { type: "user"; userId: string } | { type: "service"; serviceId: string };
  }[];
  /** ISO; used by the since/until filter. When absent the incident matches every window. */
  createdAt?: string;
  /** default "high" */
  urgency?: "high" | "low";
  /**
   * `incident_key` (the de-duplication key). The spec declares a non-nullable string, so the fake never
   * sends null: default, a 32-hex-digit key derived from the id.
   */
  incidentKey?: string;
};
/** optional names for escalation policies (default name: "Escalation Policy <id>") */
export type FakeEscalationPolicy = { id: string; name: string };
/**
 * optional names for services (default name: "Service <id>"). The full Service (include[]=services or
 * include[]=acknowledgers) always carries `escalation_policy` (required by the spec's Service schema):
 * `escalationPolicyId`, default "<id>_EP".
 */
export type FakeService = { id: string; name: string; escalationPolicyId?: string };

export type Fault =
  | { kind: "status"; status: number; headers?: Record<string, string>; body?: string } // e.g. 429 with retry-after, 503
  | { kind: "hang" } // accept the request, never answer (until close)
  | { kind: "reset" } // destroy the socket without a response
  | { kind: "truncated" } // 200 with a JSON body cut in half (complete HTTP message, invalid JSON)
  | { kind: "premature-close" } // 200 announcing the full content-length, half the body sent, then the socket is destroyed
  | { kind: "non-json" } // 200 with text/html body
  | { kind: "lie-more" } // 200 {"oncalls":[],"more":true,...} (a page that lies about more)
  /** 200 with a JSON body of `bytes` bytes, streamed in 64 KB chunks (length announced if `announce`) */
  | { kind: "huge"; bytes: number; announce?: boolean };

/**
 * A page that lies about its place in the list: the fake's true answer to that request, changed.
 * `short` keeps only the first `keep` entries (their `more` stays as it was: a middle page that says
 * there are more); `total` replaces the announced total; `more` replaces the `more` flag.
 */
export type PageLie =
  { kind: "short"; keep: number } | { kind: "total"; total: number } | { kind: "more"; more: boolean };

export type { RecordedRequest };

export type FakePagerDutyOptions = {
  /** the only accepted key: header must be exactly `Token token=<token>` */
  token: string;
  users?: FakeUser[];
  schedules?: FakeSchedule[];
  oncalls?: FakeOncall[];
  finalEntries?: FakeFinalEntry[];
  incidents?: FakeIncident[];
  escalationPolicies?: FakeEscalationPolicy[];
  services?: FakeService[];
  /** default "America/New_York": used when time_zone is not sent */
  accountTimeZone?: string;
  /** if set, ignore time_zone and render every time in this zone (to test offset parsing) */
  forceTimeZone?: string;
  /** added to every response */
  latencyMs?: number;
  /** if set, a sliding 60 s window; over the limit -> 429 with ratelimit-* headers */
  rateLimitPerMinute?: number;
  /** the fake's clock (epoch ms) for defaults ("now") and the rate-limit window; default Date.now */
  now?: () => number;
  /**
   * If set, GET /oncalls rejects `until` later than now + this many days with 400 code 2005 (the docs say
   * "On-call shifts are limited to 90 days in the future"; the real response is unverified). Default: off.
   */
  oncallsFutureLimitDays?: number;
};

export type FakePagerDutyState = {
  users: FakeUser[];
  schedules: FakeSchedule[];
  oncalls: FakeOncall[];
  finalEntries: FakeFinalEntry[];
  incidents: FakeIncident[];
  escalationPolicies: FakeEscalationPolicy[];
  services: FakeService[];
};

export type FakePagerDuty = {
  /** "http://127.0.0.1:PORT" */
  url: string;
  /** every request, in order */
  requests: RecordedRequest[];
  /** descriptions of requests the fake did not expect (unknown path/method, bad params); tests assert this is [] */
  unexpected: string[];
  /** Allows unexpected lines that contain (or match) these: close() fails the test on any other. */
  allow(...matches: (string | RegExp)[]): void;
  /** queue faults for requests whose path matches (string = exact pathname, RegExp = test pathname); each fault used once, in order */
  fault(path: string | RegExp, ...faults: Fault[]): void;
  /** Makes the answer to the next request for `path` at this `offset` lie (used once). */
  lie(path: string, offset: number, lie: PageLie): void;
  /** mutate state between runs */
  state: FakePagerDutyState;
  /** bytes of padding sent by "huge" faults so far (a client that stops reading stops it early) */
  streamed: number;
  /** e.g. {"/oncalls": 3, "/users/PABC": 1} */
  countByPath(): Record<string, number>;
  /** closes server, destroys hung sockets */
  close(): Promise<void>;
};

/** The only Accept value the fake takes (PD-docs 03-Versioning). */
export const PD_ACCEPT = "application/vnd.pagerduty+json;version=2";
/** Base of the `html_url` fields (the web app, not the API). */
export const FAKE_PD_HTML_BASE = "https://shiftgrant-fake.pagerduty.com";

const DAY_MS = 86_400_000;
const WINDOW_MS = 60_000;

/** Zones whose zero offset Rails renders as "Z" (TimeWithZone#utc?); other zero-offset zones get "+00:00". */
const UTC_ZONE_NAMES = new Set([
  "utc",
  "etc/utc",
  "uct",
  "etc/uct",
  "universal",
  "etc/universal",
  "zulu",
  "etc/zulu",
]);

type Json = Record<string, unknown>;
type Ctx = {
  method: string;
  path: string;
  query: URLSearchParams;
  nowMs: number;
  /** "GET /oncalls?..." for `unexpected` lines */
  line: string;
};
type ParamKind = "scalar" | "array";

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly payload: Json,
    /** when set, also recorded in `unexpected` */
    readonly note?: string,
  ) {
    super(note ?? `HTTP ${status}`);
  }
}

/** A bug in the test's fake state (not in the client): answered with 500 and recorded in `unexpected`. */
class FakeStateError extends Error {}

function pdError(message: string, code?: number, errors?: string[]): Json {
  const error: Json = { message };
  if (code !== undefined) error.code = code;
  if (errors !== undefined) error.errors = errors;
  return { error };
}

function badInput(detail: string): ApiError {
  return new ApiError(
    400,
    pdError("Invalid Input Provided", 2001, [detail]),
    `400 Invalid Input Provided: ${detail}`,
  );
}
function badTime(detail: string): ApiError {
  return new ApiError(
    400,
    pdError("Invalid time values in 'since' and/or 'until'", 2004, [detail]),
    `400 code 2004: ${detail}`,
  );
}
function badRange(detail: string): ApiError {
  return new ApiError(400, pdError("Invalid Query Date Range", 2005, [detail]), `400 code 2005: ${detail}`);
}
function notFound(): ApiError {
  return new ApiError(404, pdError("Not Found", 2100));
}

/** Default PD-style error body for a scripted status fault. */
function defaultErrorBody(status: number): string {
  if (status === 429) return JSON.stringify(pdError("Rate Limit Exceeded", 2020));
  if (status >= 500) return JSON.stringify(pdError("Internal Server Error"));
  if (status === 401) return JSON.stringify(pdError("Authentication failed", 2006));
  if (status === 403) return JSON.stringify(pdError("Access Denied", 2010));
  if (status === 404) return JSON.stringify(pdError("Not Found", 2100));
  if (status === 400) return JSON.stringify(pdError("Invalid Input Provided", 2001));
  return JSON.stringify(pdError(STATUS_CODES[status] ?? `HTTP ${status}`));
}

function toMs(iso: string, what: string): number {
  const dt = DateTime.fromISO(iso, { zone: "utc" });
  if (!dt.isValid) throw new FakeStateError(`fake state: invalid time ${JSON.stringify(iso)} in ${what}`);
  return dt.toMillis();
}

/** Render an instant like PagerDuty (Rails `iso8601`): seconds precision, "Z" only for UTC zones. */
export function renderPdTime(ms: number, zone: string): string {
  const dt = DateTime.fromMillis(ms, { zone });
  if (UTC_ZONE_NAMES.has(zone.toLowerCase())) return dt.toUTC().toFormat("yyyy-MM-dd'T'HH:mm:ss'Z'");
  return dt.toFormat("yyyy-MM-dd'T'HH:mm:ssZZ");
}

function isValidZone(zone: string): boolean {
  return IANAZone.isValidZone(zone);
}

export async function startFakePagerDuty(opts: FakePagerDutyOptions): Promise<FakePagerDuty> {
  const accountTimeZone = opts.accountTimeZone ?? "America/New_York";
  const clock = opts.now ?? Date.now;
  const shell = createFakeShell<Fault>({ latencyMs: opts.latencyMs });
  const hits: number[] = [];
  let base = "";

  const state: FakePagerDutyState = {
    users: [...(opts.users ?? [])],
    schedules: [...(opts.schedules ?? [])],
    oncalls: [...(opts.oncalls ?? [])],
    finalEntries: [...(opts.finalEntries ?? [])],
    incidents: [...(opts.incidents ?? [])],
    escalationPolicies: [...(opts.escalationPolicies ?? [])],
    services: [...(opts.services ?? [])],
  };

  // ---------------------------------------------------------------- query helpers

  /** Records unknown params and repeated scalar params in `unexpected` (the real API ignores unknown ones). */
  function checkParams(ctx: Ctx, spec: Record<string, ParamKind>): void {
    const seen = new Set<string>();
    for (const key of ctx.query.keys()) {
      const kind = spec[key];
      if (kind === undefined) {
        if (!seen.has(key))
          fake.unexpected.push(`${ctx.line}: unknown query parameter ${JSON.stringify(key)}`);
      } else if (kind === "scalar" && seen.has(key)) {
        fake.unexpected.push(`${ctx.line}: scalar parameter ${JSON.stringify(key)} sent more than once`);
      }
      seen.add(key);
    }
  }
  /** A valid parameter whose effect the fake does not model: answered normally but recorded. */
  function notModelled(ctx: Ctx, what: string): void {
    fake.unexpected.push(`${ctx.line}: ${what} is not modelled by the fake`);
  }
  function scalar(q: URLSearchParams, name: string): string | undefined {
    const all = q.getAll(name);
    return all[all.length - 1];
  }
  function enumArray(q: URLSearchParams, name: string, allowed: readonly string[]): Set<string> {
    const values = q.getAll(name);
    for (const v of values) {
      if (!allowed.includes(v))
        throw badInput(`${name} value ${JSON.stringify(v)} is not one of ${allowed.join(", ")}`);
    }
    return new Set(values);
  }
  function bool(q: URLSearchParams, name: string): boolean | undefined {
    const raw = scalar(q, name);
    if (raw === undefined) return undefined;
    if (raw === "true") return true;
    if (raw === "false") return false;
    throw badInput(`${name} must be true or false, got ${JSON.stringify(raw)}`);
  }
  function paging(q: URLSearchParams): { limit: number; offset: number; total: boolean } {
    const rawLimit = scalar(q, "limit");
    const rawOffset = scalar(q, "offset");
    let limit = 25;
    let offset = 0;
    if (rawLimit !== undefined) {
      if (!/^\d+$/.test(rawLimit))
        throw badInput(`limit must be an integer, got ${JSON.stringify(rawLimit)}`);
      limit = Number(rawLimit);
      // Unverified whether PD clamps or rejects; the fake rejects (the client must never send it).
      if (limit > 100) throw badInput(`limit cannot exceed 100, got ${limit}`);
      if (limit < 1) throw badInput(`limit must be at least 1, got ${limit}`);
    }
    if (rawOffset !== undefined) {
      if (!/^\d+$/.test(rawOffset))
        throw badInput(`offset must be an integer, got ${JSON.stringify(rawOffset)}`);
      offset = Number(rawOffset);
    }
    if (offset + limit > 10000)
      throw badInput(`offset + limit cannot exceed 10000 (offset ${offset}, limit ${limit})`);
    return { limit, offset, total: bool(q, "total") ?? false };
  }
  function paginate<T>(
    items: T[],
    p: { limit: number; offset: number; total: boolean },
  ): { page: T[]; meta: { limit: number; offset: number; more: boolean; total: number | null } } {
    return {
      page: items.slice(p.offset, p.offset + p.limit),
      meta: {
        limit: p.limit,
        offset: p.offset,
        more: p.offset + p.limit < items.length,
        total: p.total ? items.length : null,
      },
    };
  }
  /** The zone used to render (and to read offset-less since/until): forceTimeZone > time_zone > fallback. */
  function zoneFor(q: URLSearchParams, fallback: string): string {
    const raw = scalar(q, "time_zone");
    if (raw !== undefined && !isValidZone(raw))
      throw badInput(`time_zone ${JSON.stringify(raw)} is not a valid time zone`);
    return opts.forceTimeZone ?? raw ?? fallback;
  }
  function parseTime(q: URLSearchParams, name: "since" | "until", zone: string): number | undefined {
    const raw = scalar(q, name);
    if (raw === undefined) return undefined;
    const dt = DateTime.fromISO(raw, { zone });
    if (raw.trim() === "" || !dt.isValid)
      throw badTime(`${name} is not an ISO 8601 date-time: ${JSON.stringify(raw)}`);
    return dt.toMillis();
  }

  // ---------------------------------------------------------------- renderers

  const self = (collection: string, id: string): string => `${base}/${collection}/${id}`;
  const html = (collection: string, id: string): string => `${FAKE_PD_HTML_BASE}/${collection}/${id}`;

  function findUser(id: string, what: string): FakeUser {
    const u = state.users.find((x) => x.id === id);
    if (!u) throw new FakeStateError(`fake state: ${what} references unknown user ${id}`);
    return u;
  }
  function findSchedule(id: string, what: string): FakeSchedule {
    const s = state.schedules.find((x) => x.id === id);
    if (!s) throw new FakeStateError(`fake state: ${what} references unknown schedule ${id}`);
    return s;
  }
  const epName = (id: string): string =>
    state.escalationPolicies.find((x) => x.id === id)?.name ?? `Escalation Policy ${id}`;
  const serviceName = (id: string): string =>
    state.services.find((x) => x.id === id)?.name ?? `Service ${id}`;
  const serviceEpId = (id: string): string =>
    state.services.find((x) => x.id === id)?.escalationPolicyId ?? `${id}_EP`;

  function userRef(u: FakeUser): Json {
    return {
      id: u.id,
      type: "user_reference",
      summary: u.name,
      self: self("users", u.id),
      html_url: html("users", u.id),
    };
  }
  function fullUser(u: FakeUser, withEmail: boolean): Json {
    const out: Json = {
      id: u.id,
      type: "user",
      summary: u.name,
      self: self("users", u.id),
      html_url: html("users", u.id),
      name: u.name,
    };
    if (withEmail) out.email = u.email;
    return {
      ...out,
      time_zone: u.timeZone ?? accountTimeZone,
      color: "purple",
      avatar_url: `https://secure.gravatar.com/avatar/${u.id}.png?d=mm&r=PG`,
      description: null, // the user's bio: nullable in the spec (unlike schedule/service/EP descriptions)
      invitation_sent: false,
      created_via_sso: false,
      // the spec declares job_title as a (non-nullable) string: omitted when unset, never null
      ...(u.jobTitle === undefined ? {} : { job_title: u.jobTitle }),
      role: u.role ?? "user",
      teams: [],
      contact_methods: [],
      notification_rules: [],
      coordinated_incidents: [],
    };
  }
  // Schedules, services and escalation policies have no `description` here: the spec declares a
  // non-nullable string there, and the fake has none to give, so the field is omitted rather than null.
  function epRef(id: string): Json {
    return {
      id,
      type: "escalation_policy_reference",
      summary: epName(id),
      self: self("escalation_policies", id),
      html_url: html("escalation_policies", id),
    };
  }
  function fullEp(id: string): Json {
    return {
      id,
      type: "escalation_policy",
      summary: epName(id),
      name: epName(id),
      self: self("escalation_policies", id),
      html_url: html("escalation_policies", id),
      num_loops: 0,
      on_call_handoff_notifications: "if_has_services",
      escalation_rules: [],
      services: [],
      teams: [],
    };
  }
  function scheduleUserIds(scheduleId: string): string[] {
    const ids = new Set<string>();
    for (const o of state.oncalls) if (o.scheduleId === scheduleId) ids.add(o.userId);
    for (const f of state.finalEntries) if (f.scheduleId === scheduleId) ids.add(f.userId);
    return [...ids].sort();
  }
  function scheduleBody(s: FakeSchedule): Json {
    return {
      id: s.id,
      type: "schedule",
      summary: s.name,
      self: self("schedules", s.id),
      html_url: html("schedules", s.id),
      name: s.name,
      time_zone: s.timeZone ?? accountTimeZone,
      escalation_policies: s.escalationPolicyIds.map(epRef),
      users: scheduleUserIds(s.id).map((id) => userRef(findUser(id, `schedule ${s.id}`))),
      teams: [],
    };
  }
  function serviceRef(id: string): Json {
    return {
      id,
      type: "service_reference",
      summary: serviceName(id),
      self: self("services", id),
      html_url: html("service-directory", id),
    };
  }
  function fullService(id: string): Json {
    return {
      id,
      type: "service",
      summary: serviceName(id),
      name: serviceName(id),
      self: self("services", id),
      html_url: html("service-directory", id),
      status: "active",
      escalation_policy: epRef(serviceEpId(id)),
    };
  }

  // ---------------------------------------------------------------- endpoints

  function getOncalls(ctx: Ctx): Json {
    const q = ctx.query;
    checkParams(ctx, {
      time_zone: "scalar",
      "include[]": "array",
      "user_ids[]": "array",
      "escalation_policy_ids[]": "array",
      "schedule_ids[]": "array",
      since: "scalar",
      until: "scalar",
      earliest: "scalar",
      limit: "scalar",
      offset: "scalar",
      total: "scalar",
    });
    const includes = enumArray(q, "include[]", ["users", "schedules", "escalation_policies"]);
    const zone = zoneFor(q, accountTimeZone);
    const page = paging(q);
    const earliest = bool(q, "earliest") ?? false;
    const since = parseTime(q, "since", zone) ?? ctx.nowMs;
    const until = parseTime(q, "until", zone) ?? ctx.nowMs;
    if (until < since) throw badRange("until cannot be before since");
    if (until - since > 90 * DAY_MS)
      throw badRange("the range between since and until cannot exceed 90 days");
    if (
      opts.oncallsFutureLimitDays !== undefined &&
      until > ctx.nowMs + opts.oncallsFutureLimitDays * DAY_MS
    ) {
      throw badRange(`until cannot be more than ${opts.oncallsFutureLimitDays} days in the future`);
    }

    const scheduleIds = q.getAll("schedule_ids[]");
    const epIds = q.getAll("escalation_policy_ids[]");
    const userIds = q.getAll("user_ids[]");

    type Row = { o: FakeOncall; start: number | null; end: number | null };
    const rows: Row[] = [];
    for (const o of state.oncalls) {
      const start = o.start === null ? null : toMs(o.start, "oncalls");
      const end = o.end === null ? null : toMs(o.end, "oncalls");
      if (o.scheduleId !== null) {
        const s = findSchedule(o.scheduleId, "oncalls");
        if (s.escalationPolicyIds.length === 0) continue; // a schedule in no escalation policy is never on call
      }
      if (scheduleIds.length > 0 && !scheduleIds.includes(o.scheduleId ?? "null")) continue;
      if (epIds.length > 0 && !epIds.includes(o.escalationPolicyId)) continue;
      if (userIds.length > 0 && !userIds.includes(o.userId)) continue;
      if (!overlaps(start, end, since, until)) continue;
      rows.push({ o, start, end });
    }
    rows.sort(
      (a, b) =>
        (a.start ?? -Infinity) - (b.start ?? -Infinity) ||
        cmp(a.o.userId, b.o.userId) ||
        a.o.level - b.o.level ||
        cmp(a.o.escalationPolicyId, b.o.escalationPolicyId) ||
        cmp(a.o.scheduleId ?? "", b.o.scheduleId ?? ""),
    );
    let selected = rows;
    if (earliest) {
      const seen = new Set<string>();
      selected = rows.filter((r) => {
        const key = `${r.o.escalationPolicyId}\u0000${r.o.level}\u0000${r.o.userId}`;
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      });
    }
    const { page: pageRows, meta } = paginate(selected, page);
    const oncalls = pageRows.map(({ o, start, end }) => {
      const user = findUser(o.userId, "oncalls");
      let schedule: Json | null = null;
      if (o.scheduleId !== null) {
        const s = findSchedule(o.scheduleId, "oncalls");
        schedule = includes.has("schedules")
          ? scheduleBody(s)
          : {
              id: s.id,
              type: o.scheduleType ?? "schedule_reference",
              summary: s.name,
              self: self("schedules", s.id),
              html_url: html("schedules", s.id),
            };
      }
      return {
        escalation_policy: includes.has("escalation_policies")
          ? fullEp(o.escalationPolicyId)
          : epRef(o.escalationPolicyId),
        escalation_level: o.level,
        schedule,
        user: includes.has("users") ? fullUser(user, user.omitEmailInInclude !== true) : userRef(user),
        start: start === null ? null : renderPdTime(start, zone),
        end: end === null ? null : renderPdTime(end, zone),
      };
    });
    return { oncalls, ...meta };
  }

  function getUser(ctx: Ctx, id: string): Json {
    checkParams(ctx, { "include[]": "array" });
    enumArray(ctx.query, "include[]", [
      "contact_methods",
      "notification_rules",
      "teams",
      "subdomains",
      "calendar_urls",
    ]);
    const u = state.users.find((x) => x.id === id);
    if (!u) throw notFound();
    return { user: fullUser(u, true) };
  }

  function listUsers(ctx: Ctx): Json {
    const q = ctx.query;
    checkParams(ctx, {
      query: "scalar",
      "team_ids[]": "array",
      "include[]": "array",
      limit: "scalar",
      offset: "scalar",
      total: "scalar",
    });
    enumArray(q, "include[]", ["contact_methods", "notification_rules", "teams", "subdomains"]);
    if (q.has("team_ids[]")) notModelled(ctx, "team_ids[]");
    const page = paging(q);
    // The spec says `query` matches names (until 2020: "names or email addresses"); the fake matches both.
    const needle = (scalar(q, "query") ?? "").toLowerCase();
    const users = state.users
      .filter((u) => u.name.toLowerCase().includes(needle) || u.email.toLowerCase().includes(needle))
      .sort((a, b) => cmp(a.name, b.name) || cmp(a.id, b.id));
    const { page: rows, meta } = paginate(users, page);
    return { users: rows.map((u) => fullUser(u, true)), ...meta };
  }

  function listSchedules(ctx: Ctx): Json {
    const q = ctx.query;
    checkParams(ctx, {
      query: "scalar",
      "include[]": "array",
      time_zone: "scalar",
      since: "scalar",
      until: "scalar",
      include_next_oncall_for_user: "scalar",
      "team_ids[]": "array",
      limit: "scalar",
      offset: "scalar",
      total: "scalar",
    });
    const includes = enumArray(q, "include[]", [
      "schedule_layers",
      "overrides_subschedule",
      "final_schedule",
    ]);
    for (const inc of includes) notModelled(ctx, `include[]=${inc} on GET /schedules`);
    if (q.has("team_ids[]")) notModelled(ctx, "team_ids[]");
    if (q.has("include_next_oncall_for_user")) notModelled(ctx, "include_next_oncall_for_user");
    zoneFor(q, accountTimeZone);
    const page = paging(q);
    const needle = (scalar(q, "query") ?? "").toLowerCase();
    const schedules = state.schedules
      .filter((s) => s.name.toLowerCase().includes(needle))
      .sort((a, b) => cmp(a.name, b.name) || cmp(a.id, b.id));
    const { page: rows, meta } = paginate(schedules, page);
    return { schedules: rows.map(scheduleBody), ...meta };
  }

  function getSchedule(ctx: Ctx, id: string): Json {
    const q = ctx.query;
    checkParams(ctx, {
      time_zone: "scalar",
      since: "scalar",
      until: "scalar",
      overflow: "scalar",
      include_next_oncall_for_user: "scalar",
    });
    if (q.has("include_next_oncall_for_user")) notModelled(ctx, "include_next_oncall_for_user");
    const s = state.schedules.find((x) => x.id === id);
    const zone = zoneFor(q, s?.timeZone ?? accountTimeZone);
    const overflow = bool(q, "overflow") ?? false;
    const sinceIn = parseTime(q, "since", zone);
    const untilIn = parseTime(q, "until", zone);
    if (!s) throw notFound();
    // since defaults to 2 weeks before until, until to 2 weeks after since.
    const since = sinceIn ?? (untilIn !== undefined ? untilIn - 14 * DAY_MS : ctx.nowMs);
    const until = untilIn ?? since + 14 * DAY_MS;
    if (until < since) throw badRange("until cannot be before since");

    const entries = state.finalEntries
      .filter((f) => f.scheduleId === s.id)
      .map((f) => ({ f, start: toMs(f.start, "finalEntries"), end: toMs(f.end, "finalEntries") }))
      .sort((a, b) => a.start - b.start || cmp(a.f.userId, b.f.userId));
    for (let i = 1; i < entries.length; i++) {
      const prev = entries[i - 1];
      const cur = entries[i];
      if (prev && cur && cur.start < prev.end) {
        throw new FakeStateError(
          `fake state: final entries of schedule ${s.id} overlap (a v2 final schedule has one user at a time)`,
        );
      }
    }
    const shown = entries
      .filter((e) => overlaps(e.start, e.end, since, until))
      .map((e) => ({
        f: e.f,
        start: overflow ? e.start : Math.max(e.start, since),
        end: overflow ? e.end : Math.min(e.end, until),
      }));
    let covered = 0;
    for (const e of shown) covered += Math.max(0, Math.min(e.end, until) - Math.max(e.start, since));
    const coverage = until > since ? Math.round((covered / (until - since)) * 10000) / 100 : 0;

    return {
      schedule: {
        ...scheduleBody(s),
        schedule_layers: [],
        overrides_subschedule: {
          name: "Overrides",
          rendered_schedule_entries: [],
          rendered_coverage_percentage: 0,
        },
        final_schedule: {
          name: "Final Schedule",
          rendered_coverage_percentage: coverage,
          rendered_schedule_entries: shown.map((e) => {
            const u = findUser(e.f.userId, "finalEntries");
            return {
              start: renderPdTime(e.start, zone),
              end: renderPdTime(e.end, zone),
              user: { id: u.id, type: "user_reference", summary: u.name },
            };
          }),
        },
      },
    };
  }

  function listIncidents(ctx: Ctx): Json {
    const q = ctx.query;
    checkParams(ctx, {
      "statuses[]": "array",
      "service_ids[]": "array",
      "urgencies[]": "array",
      "user_ids[]": "array",
      "team_ids[]": "array",
      incident_key: "scalar",
      "include[]": "array",
      since: "scalar",
      until: "scalar",
      date_range: "scalar",
      time_zone: "scalar",
      sort_by: "scalar",
      limit: "scalar",
      offset: "scalar",
      total: "scalar",
    });
    const statuses = enumArray(q, "statuses[]", ["triggered", "acknowledged", "resolved"]);
    const urgencies = enumArray(q, "urgencies[]", ["high", "low"]);
    const includes = enumArray(q, "include[]", [
      "acknowledgers",
      "agents",
      "assignees",
      "conference_bridge",
      "custom_fields",
      "escalation_policies",
      "first_trigger_log_entries",
      "priorities",
      "services",
      "teams",
      "users",
    ]);
    for (const p of ["user_ids[]", "team_ids[]", "incident_key", "sort_by"])
      if (q.has(p)) notModelled(ctx, p);
    const zone = zoneFor(q, accountTimeZone);
    const page = paging(q);
    const dateRange = scalar(q, "date_range");
    if (dateRange !== undefined && dateRange !== "all") {
      throw badInput(`date_range must be "all", got ${JSON.stringify(dateRange)}`);
    }
    const sinceIn = parseTime(q, "since", zone);
    const untilIn = parseTime(q, "until", zone);
    let window: { since: number; until: number } | null = null;
    if (dateRange !== "all") {
      const until = untilIn ?? ctx.nowMs;
      const since = sinceIn ?? DateTime.fromMillis(until, { zone }).minus({ months: 1 }).toMillis();
      if (until < since) throw badRange("until cannot be before since");
      if (DateTime.fromMillis(since, { zone }).plus({ months: 6 }).toMillis() < until) {
        throw badRange("the range between since and until cannot exceed 6 months");
      }
      window = { since, until };
    }
    const serviceIds = q.getAll("service_ids[]");
    const incidents = state.incidents
      .filter((i) => statuses.size === 0 || statuses.has(i.status))
      .filter((i) => urgencies.size === 0 || urgencies.has(i.urgency ?? "high"))
      .filter((i) => serviceIds.length === 0 || serviceIds.includes(i.serviceId))
      .filter((i) => {
        if (window === null || i.createdAt === undefined) return true;
        const at = toMs(i.createdAt, `incident ${i.id}`);
        return at >= window.since && at <= window.until;
      })
      .sort((a, b) => a.number - b.number);
    const { page: rows, meta } = paginate(incidents, page);
    return {
      incidents: rows.map((i) => {
        const acks = i.status === "acknowledged" ? i.acknowledgements : [];
        // created_at is never null (a non-nullable date-time in the spec); without createdAt or an
        // acknowledgement, the fake's "now" stands in.
        const created = i.createdAt ?? i.acknowledgements[0]?.at;
        const createdAt = renderPdTime(
          created === undefined ? ctx.nowMs : toMs(created, `incident ${i.id}`),
          zone,
        );
        return {
          id: i.id,
          type: "incident",
          summary: `[#${i.number}] ${i.title}`,
          self: self("incidents", i.id),
          html_url: html("incidents", i.id),
          incident_number: i.number,
          title: i.title,
          description: i.title,
          created_at: createdAt,
          status: i.status,
          incident_key: i.incidentKey ?? createHash("md5").update(i.id).digest("hex"),
          urgency: i.urgency ?? "high",
          service: includes.has("services") ? fullService(i.serviceId) : serviceRef(i.serviceId),
          assignments: [],
          acknowledgements: acks.map((a) => ({
            at: renderPdTime(toMs(a.at, `incident ${i.id}`), zone),
            acknowledger:
              a.by.type === "user"
                ? includes.has("acknowledgers")
                  ? fullUser(findUser(a.by.userId, `incident ${i.id}`), true)
                  : userRef(findUser(a.by.userId, `incident ${i.id}`))
                : includes.has("acknowledgers")
                  ? fullService(a.by.serviceId)
                  : serviceRef(a.by.serviceId),
          })),
        };
      }),
      ...meta,
    };
  }

  // ---------------------------------------------------------------- request pipeline

  function json(status: number, payload: unknown, extra: Record<string, string> = {}): Reply {
    return {
      status,
      headers: { "content-type": "application/json; charset=utf-8", ...extra },
      body: JSON.stringify(payload),
    };
  }

  /** Sliding 60 s window. `count` = whether this request is evaluated (and, if allowed, counted). */
  function rateLimit(nowMs: number, count: boolean): { headers: Record<string, string>; limited: boolean } {
    const limit = opts.rateLimitPerMinute;
    if (limit === undefined) return { headers: {}, limited: false };
    while (hits.length > 0 && (hits[0] ?? 0) <= nowMs - WINDOW_MS) hits.shift();
    let limited = false;
    if (count) {
      if (hits.length >= limit) limited = true;
      else hits.push(nowMs);
    }
    const oldest = hits[0];
    const reset = oldest === undefined ? 60 : Math.max(1, Math.ceil((oldest + WINDOW_MS - nowMs) / 1000));
    return {
      limited,
      headers: {
        "ratelimit-limit": String(limit),
        "ratelimit-remaining": String(Math.max(0, limit - hits.length)),
        "ratelimit-reset": String(reset),
      },
    };
  }

  function route(ctx: Ctx): Json | undefined {
    if (ctx.method !== "GET") return undefined;
    const p = ctx.path;
    if (p === "/oncalls") return getOncalls(ctx);
    if (p === "/users") return listUsers(ctx);
    if (p === "/schedules") return listSchedules(ctx);
    if (p === "/incidents") return listIncidents(ctx);
    const m = /^\/(users|schedules)\/([A-Za-z0-9_-]+)$/.exec(p);
    if (m?.[1] === "users" && m[2] !== undefined) return getUser(ctx, decodeURIComponent(m[2]));
    if (m?.[1] === "schedules" && m[2] !== undefined) return getSchedule(ctx, decodeURIComponent(m[2]));
    return undefined;
  }

  function handle(rec: RecordedRequest): Reply {
    const nowMs = clock();
    const qs = rec.query.toString();
    const ctx: Ctx = {
      method: rec.method,
      path: rec.path,
      query: rec.query,
      nowMs,
      line: `${rec.method} ${rec.path}${qs ? `?${decodeURIComponent(qs)}` : ""}`,
    };
    const accept = rec.headers["accept"];
    const acceptOk =
      typeof accept === "string" &&
      accept
        .split(",")
        .map((a) => a.replace(/\s+/g, "").toLowerCase())
        .includes(PD_ACCEPT);
    if (!acceptOk) {
      fake.unexpected.push(
        `${ctx.line}: Accept header is ${JSON.stringify(accept ?? null)}, expected ${PD_ACCEPT}`,
      );
      return json(406, pdError("Not Acceptable"), rateLimit(nowMs, false).headers);
    }
    if (rec.headers["authorization"] !== `Token token=${opts.token}`) {
      return json(401, pdError("Authentication failed", 2006), rateLimit(nowMs, false).headers);
    }
    const rl = rateLimit(nowMs, true);
    if (rl.limited) return json(429, pdError("Rate Limit Exceeded", 2020), rl.headers);
    try {
      const payload = route(ctx);
      if (payload === undefined) {
        fake.unexpected.push(`${ctx.line}: no such endpoint in the fake`);
        return json(404, pdError("Not Found", 2100), rl.headers);
      }
      return json(200, payload, rl.headers);
    } catch (err) {
      if (err instanceof ApiError) {
        if (err.note !== undefined) fake.unexpected.push(`${ctx.line}: ${err.note}`);
        return json(err.status, err.payload, rl.headers);
      }
      const msg = err instanceof Error ? err.message : String(err);
      fake.unexpected.push(`${ctx.line}: fake error: ${msg}`);
      return json(500, pdError("Internal Server Error"), rl.headers);
    }
  }

  const { takeFault, later, send } = shell;

  const lies: { path: string; offset: number; lie: PageLie }[] = [];
  /** The true answer, changed as the lie says. */
  function lying(rec: RecordedRequest, lie: PageLie): Reply {
    const reply = handle(rec);
    if (reply.status !== 200) return reply;
    const body = JSON.parse(reply.body) as Json;
    const key = Object.keys(body).find((k) => Array.isArray(body[k]));
    if (lie.kind === "short" && key !== undefined) body[key] = (body[key] as unknown[]).slice(0, lie.keep);
    if (lie.kind === "total") body.total = lie.total;
    if (lie.kind === "more") body.more = lie.more;
    return { ...reply, body: JSON.stringify(body) };
  }

  function onRequest(req: IncomingMessage, res: ServerResponse): void {
    const rec = shell.record(req);
    const offset = Number(rec.query.get("offset") ?? "0");
    const li = lies.findIndex((l) => l.path === rec.path && l.offset === offset);
    const lie = li >= 0 ? lies.splice(li, 1)[0]?.lie : undefined;
    if (lie !== undefined) return later(() => send(res, lying(rec, lie)));
    const fault = takeFault(rec.path);
    if (fault === undefined) return later(() => send(res, handle(rec)));
    switch (fault.kind) {
      case "hang":
        return; // the socket stays open until close()
      case "reset":
        return later(() => req.socket.destroy());
      case "status": {
        const headers: Record<string, string> = { ...(fault.headers ?? {}) };
        const body = fault.body ?? defaultErrorBody(fault.status);
        const hasType = Object.keys(headers).some((h) => h.toLowerCase() === "content-type");
        if (body !== "" && !hasType) headers["content-type"] = "application/json; charset=utf-8";
        return later(() => send(res, { status: fault.status, headers, body }));
      }
      case "truncated":
      case "premature-close": {
        const normal = handle(rec);
        const full = Buffer.from(
          normal.status === 200
            ? normal.body
            : JSON.stringify({ oncalls: [], limit: 25, offset: 0, more: false, total: null }),
          "utf8",
        );
        const half = full.subarray(0, Math.floor(full.length / 2));
        const headers = { ...normal.headers, "content-type": "application/json; charset=utf-8" };
        if (fault.kind === "truncated") {
          return later(() => {
            res.writeHead(200, { ...headers, "content-length": String(half.length) });
            res.end(half);
          });
        }
        return later(() => {
          res.writeHead(200, { ...headers, "content-length": String(full.length) });
          res.write(half, () => req.socket.destroy());
        });
      }
      case "non-json":
        return later(() =>
          send(res, {
            status: 200,
            headers: { "content-type": "text/html; charset=utf-8" },
            body: "<!DOCTYPE html><html><head><title>PagerDuty</title></head><body><h1>We'll be right back</h1></body></html>",
          }),
        );
      case "huge": {
        const chunk = Buffer.alloc(64 * 1024, "x");
        const open = '{"oncalls":[],"limit":100,"offset":0,"more":false,"total":0,"pad":"';
        let left = fault.bytes - open.length - 2;
        res.on("error", () => undefined);
        res.writeHead(200, {
          "content-type": "application/json; charset=utf-8",
          ...(fault.announce ? { "content-length": String(fault.bytes) } : {}),
        });
        res.write(open);
        const pump = (): void => {
          while (!res.destroyed && left > 0) {
            const part = left >= chunk.length ? chunk : chunk.subarray(0, left);
            left -= part.length;
            fake.streamed += part.length;
            if (!res.write(part)) return void res.once("drain", pump);
          }
          if (!res.destroyed) res.end('"}');
        };
        return pump();
      }
      case "lie-more": {
        const key = /^\/(oncalls|users|schedules|incidents)$/.exec(rec.path)?.[1] ?? "oncalls";
        const limit = Number(rec.query.get("limit") ?? "25");
        const offset = Number(rec.query.get("offset") ?? "0");
        return later(() =>
          send(
            res,
            json(200, {
              [key]: [],
              limit: Number.isFinite(limit) ? limit : 25,
              offset: Number.isFinite(offset) ? offset : 0,
              more: true,
              total: null,
            }),
          ),
        );
      }
    }
  }

  const fake: FakePagerDuty = {
    url: "",
    requests: shell.requests,
    unexpected: shell.unexpected,
    allow: shell.allow,
    state,
    streamed: 0,
    fault: shell.fault,
    lie: (path, offset, lie) => void lies.push({ path, offset, lie }),
    countByPath: shell.countByPath,
    close: shell.close,
  };
  fake.url = base = await shell.listen(onRequest);
  return fake;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Overlap of an entry with the window [since, until] (null start = −∞, null end = +∞). An entry that ends
 * exactly at `since` does not overlap; one that starts exactly at `until` does not either, except for an
 * instant query (since = until), which matches entries with start ≤ t < end.
 */
function overlaps(start: number | null, end: number | null, since: number, until: number): boolean {
  const s = start ?? -Infinity;
  const e = end ?? Infinity;
  if (e <= since) return false;
  return since === until ? s <= until : s < until;
}
