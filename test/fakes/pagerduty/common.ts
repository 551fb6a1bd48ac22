/**
 * The fake PagerDuty's types, its options and state, and what every route shares: the error
 * answers, time rendering, ordering and overlap.
 */
import { STATUS_CODES } from "node:http";
import { DateTime, IANAZone } from "luxon";
import type { RecordedRequest } from "../shell.js";

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

export const DAY_MS = 86_400_000;
export const WINDOW_MS = 60_000;

/** Zones whose zero offset Rails renders as "Z" (TimeWithZone#utc?); other zero-offset zones get "+00:00". */
export const UTC_ZONE_NAMES = new Set([
  "utc",
  "etc/utc",
  "uct",
  "etc/uct",
  "universal",
  "etc/universal",
  "zulu",
  "etc/zulu",
]);

export type Json = Record<string, unknown>;
export type Ctx = {
  method: string;
  path: string;
  query: URLSearchParams;
  nowMs: number;
  /** "GET /oncalls?..." for `unexpected` lines */
  line: string;
};
export type ParamKind = "scalar" | "array";

export class ApiError extends Error {
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
export class FakeStateError extends Error {}

export function pdError(message: string, code?: number, errors?: string[]): Json {
  const error: Json = { message };
  if (code !== undefined) error.code = code;
  if (errors !== undefined) error.errors = errors;
  return { error };
}

export function badInput(detail: string): ApiError {
  return new ApiError(
    400,
    pdError("Invalid Input Provided", 2001, [detail]),
    `400 Invalid Input Provided: ${detail}`,
  );
}
export function badTime(detail: string): ApiError {
  return new ApiError(
    400,
    pdError("Invalid time values in 'since' and/or 'until'", 2004, [detail]),
    `400 code 2004: ${detail}`,
  );
}
export function badRange(detail: string): ApiError {
  return new ApiError(400, pdError("Invalid Query Date Range", 2005, [detail]), `400 code 2005: ${detail}`);
}
export function notFound(): ApiError {
  return new ApiError(404, pdError("Not Found", 2100));
}

/** Default PD-style error body for a scripted status fault. */
export function defaultErrorBody(status: number): string {
  if (status === 429) return JSON.stringify(pdError("Rate Limit Exceeded", 2020));
  if (status >= 500) return JSON.stringify(pdError("Internal Server Error"));
  if (status === 401) return JSON.stringify(pdError("Authentication failed", 2006));
  if (status === 403) return JSON.stringify(pdError("Access Denied", 2010));
  if (status === 404) return JSON.stringify(pdError("Not Found", 2100));
  if (status === 400) return JSON.stringify(pdError("Invalid Input Provided", 2001));
  return JSON.stringify(pdError(STATUS_CODES[status] ?? `HTTP ${status}`));
}

export function toMs(iso: string, what: string): number {
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

export function isValidZone(zone: string): boolean {
  return IANAZone.isValidZone(zone);
}

export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Overlap of an entry with the window [since, until] (null start = −∞, null end = +∞). An entry that ends
 * exactly at `since` does not overlap; one that starts exactly at `until` does not either, except for an
 * instant query (since = until), which matches entries with start ≤ t < end.
 */
export function overlaps(start: number | null, end: number | null, since: number, until: number): boolean {
  const s = start ?? -Infinity;
  const e = end ?? Infinity;
  if (e <= since) return false;
  return since === until ? s <= until : s < until;
}
