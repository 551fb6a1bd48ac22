/**
 * A strict, stateful fake of the parts of incident.io's API that shiftgrant uses:
 * GET /v2/schedules, /v2/schedules/{id}, /v2/schedule_entries, /v2/users/{id}.
 *
 * Behaviour follows incident.io's API documentation. Where the real API's behaviour is
 * unverified, the fake picks the strict option and says so in a comment.
 *
 * - Auth: `Authorization: Bearer <key>`, exactly. Anything else is a 401 with incident.io's error body.
 * - Schedule entries are computed from each schedule's `scheduled` entries and its `overrides` (an
 *   override replaces whoever its rotation layer had over its interval); the answer carries all three
 *   lists. Entries overlapping the window come back whole.
 * - Paging of /v2/schedule_entries: when more entries exist than `pageSize`, the answer carries
 *   `pagination_meta: {after, after_url}`; the next page is asked for with the opaque cursor in
 *   `entry_window_start` and the ORIGINAL `entry_window_end`. The last page has no `pagination_meta`.
 * - Rate limit (optional, sliding 60 s window): `X-RateLimit-*` headers on every counted answer; a
 *   429 has `Retry-After` and the documented body. `fault()` scripts one-off answers.
 *
 * Anything the fake did not expect (unknown path, unknown or missing parameters, a cursor sent with a
 * different end, inconsistent fake state) is described in `unexpected`; tests should assert it is [].
 */
import { createHash, randomUUID } from "node:crypto";
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from "node:http";
import { DateTime } from "luxon";
import { createFakeShell, type RecordedRequest, type Reply } from "./shell.js";

export type FakeIncUser = {
  id: string;
  name: string;
  /** absent: incident.io has no email for this user (e.g. a Slack-only user) */
  email?: string;
  /** default true; false: schedule entries embed the user WITHOUT `email` (forces GET /v2/users/{id}) */
  emailInEntries?: boolean;
  slackUserId?: string;
};

export type FakeIncEntry = {
  /** null: an entry with no one on call (`user` is optional in the API) */
  userId: string | null;
  /** ISO with offset, e.g. "2026-11-22T09:00:00Z" */
  start: string;
  end: string;
  /** default "<schedule id>R1" */
  rotationId?: string;
  /** default "<rotation id>L1" */
  layerId?: string;
  /** overrides only: the override's id (`entry_id`); default derived from its fingerprint */
  id?: string;
  /** false: render the entry without `fingerprint` (the field is optional) */
  fingerprint?: boolean;
};

export type FakeIncSchedule = {
  id: string;
  name: string;
  /** default "Europe/London" */
  timezone?: string;
  teamIds?: string[];
  /** what the rotation rules produce, before overrides */
  scheduled?: FakeIncEntry[];
  /** one-off overrides; each replaces its rotation layer's entries over its interval */
  overrides?: FakeIncEntry[];
  /** if set, the `final` list verbatim instead of the one computed from scheduled + overrides */
  final?: FakeIncEntry[];
};

export type { RecordedRequest };

export type Fault =
  | { kind: "status"; status: number; headers?: Record<string, string>; body?: string } // e.g. 503, or a 429 built by rateLimited()
  | { kind: "hang" } // accept the request, never answer (until close)
  | { kind: "reset" } // destroy the socket without a response
  | { kind: "truncated" } // 200 with the normal JSON body cut in half
  | { kind: "non-json" } // 200 with an HTML body
  /** 200 (or `status`) with `body`, or with what `from` makes of the request and the normal answer's body */
  | {
      kind: "json";
      status?: number;
      body?: unknown;
      from?: (req: RecordedRequest, normal: unknown) => unknown;
    };

export type FakeIncidentioOptions = {
  /** the only accepted API key */
  key: string;
  schedules?: FakeIncSchedule[];
  users?: FakeIncUser[];
  /** added to every response */
  latencyMs?: number;
  /** entries (all three lists together) per /v2/schedule_entries page; default 50 (the real size is unverified) */
  pageSize?: number;
  /** requests per minute; over it, 429 with Retry-After. Default: no limit */
  rateLimitPerMinute?: number;
  /**
   * Longest window /v2/schedule_entries accepts, in days: longer is a 422. The real limit is
   * undocumented (the preview endpoint stops at 91 days); the fake takes 91 as the strict choice.
   */
  maxWindowDays?: number;
  /** the fake's clock (epoch ms), for `current_shifts` and the rate-limit window; default Date.now */
  now?: () => number;
};

export type FakeIncidentioState = { schedules: FakeIncSchedule[]; users: FakeIncUser[] };

export type FakeIncidentio = {
  /** "http://127.0.0.1:PORT" */
  url: string;
  requests: RecordedRequest[];
  unexpected: string[];
  /** Allows unexpected lines that contain (or match) these: close() fails the test on any other. */
  allow(...matches: (string | RegExp)[]): void;
  /** queue faults for requests whose path matches (string = exact pathname); each used once, in order */
  fault(path: string | RegExp, ...faults: Fault[]): void;
  /** mutate between runs */
  state: FakeIncidentioState;
  /** requests by path; `grouped` counts /v2/users/X as /v2/users/{id} (and /v2/schedules/X likewise) */
  countByPath(grouped?: boolean): Record<string, number>;
  close(): Promise<void>;
};

const DAY_MS = 86_400_000;
const WINDOW_MS = 60_000;
const CURSOR_PREFIX = "cur1_";
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

type Json = Record<string, unknown>;
type Ctx = { path: string; query: URLSearchParams; nowMs: number; line: string };

/** incident.io's error envelope (INC-desc). */
export function incError(status: number, type: string, errors: Json[]): Json {
  return { type, status, request_id: randomUUID(), errors };
}

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

/** A bug in the test's fake state (not in the client): 500, recorded in `unexpected`. */
class FakeStateError extends Error {}

/**
 * 422 `validation_error` naming the field. The `code` values are unverified (the docs show only the
 * envelope and `errors[].source.field`).
 */
function invalid(field: string, message: string, note = true): ApiError {
  return new ApiError(
    422,
    incError(422, "validation_error", [{ code: "invalid_value", message, source: { field } }]),
    note ? `422 ${field}: ${message}` : undefined,
  );
}
function notFound(what: string): ApiError {
  // Body shape per the error envelope; the exact code/message are unverified.
  return new ApiError(404, incError(404, "not_found", [{ code: "not_found", message: `${what} not found` }]));
}

/** The documented 429 body. */
export function rateLimitBody(retryAt: Date, limit = 1200, keyName = "shiftgrant"): Json {
  return {
    type: "too_many_requests",
    status: 429,
    request_id: randomUUID(),
    rate_limit: {
      name: keyName,
      limit,
      remaining: 0,
      retry_after: retryAt.toISOString().replace(/\.\d+Z$/, "Z"),
    },
    errors: [
      {
        code: "too_many_requests",
        message:
          "Too many requests hit the API too quickly. We recommend an exponential backoff of your requests.",
      },
    ],
  };
}

/**
 * A 429 as incident.io sends it: `Retry-After` (seconds), the `X-RateLimit-*` headers and the
 * documented body. `retryAfterSeconds` null: no headers at all ("omitted if unknown"), body only.
 */
export function rateLimited(retryAfterSeconds: number | null, limit = 1200): Fault {
  const nowS = Math.floor(Date.now() / 1000);
  const wait = retryAfterSeconds ?? 1;
  const headers: Record<string, string> =
    retryAfterSeconds === null
      ? {}
      : {
          "retry-after": String(retryAfterSeconds),
          "x-ratelimit-limit": `${limit}, ${limit};window=60`,
          "x-ratelimit-remaining": "0",
          "x-ratelimit-used": String(limit),
          "x-ratelimit-reset": String(nowS + wait),
        };
  return {
    kind: "status",
    status: 429,
    headers,
    body: JSON.stringify(rateLimitBody(new Date((nowS + wait) * 1000), limit)),
  };
}

/** Default incident.io-style body for a scripted status fault. */
function defaultErrorBody(status: number): string {
  if (status === 429) return JSON.stringify(rateLimitBody(new Date(Date.now() + 1000)));
  if (status === 401)
    return JSON.stringify(
      incError(401, "authentication_error", [
        { code: "missing_authorization_material", message: "No authorization material provided in request" },
      ]),
    );
  const type = status >= 500 ? "internal_error" : "bad_request";
  return JSON.stringify(
    incError(status, type, [{ code: type, message: STATUS_CODES[status] ?? `HTTP ${status}` }]),
  );
}

/** incident.io renders instants in UTC with microseconds: 2021-08-17T13:28:57.801578Z. */
export function renderIncTime(ms: number): string {
  return `${DateTime.fromMillis(ms, { zone: "utc" }).toFormat("yyyy-MM-dd'T'HH:mm:ss.SSS")}000Z`;
}

function toMs(iso: string, what: string): number {
  const dt = DateTime.fromISO(iso, { setZone: true });
  if (!dt.isValid) throw new FakeStateError(`fake state: invalid time ${JSON.stringify(iso)} in ${what}`);
  return dt.toMillis();
}

type Tagged = {
  group: "scheduled" | "overrides" | "final";
  userId: string | null;
  start: number;
  end: number;
  rotationId: string;
  layerId: string;
  entryId: string | null;
  fingerprint: boolean;
};

export async function startFakeIncidentio(opts: FakeIncidentioOptions): Promise<FakeIncidentio> {
  const clock = opts.now ?? Date.now;
  const pageSize = opts.pageSize ?? 50;
  const maxWindowMs = (opts.maxWindowDays ?? 91) * DAY_MS;
  const shell = createFakeShell<Fault>({ latencyMs: opts.latencyMs });
  const hits: number[] = [];
  let base = "";

  const state: FakeIncidentioState = {
    schedules: structuredClone(opts.schedules ?? []),
    users: structuredClone(opts.users ?? []),
  };

  // ---------------------------------------------------------------- query helpers

  function checkParams(ctx: Ctx, allowed: string[]): void {
    const seen = new Set<string>();
    for (const key of ctx.query.keys()) {
      if (seen.has(key)) fake.unexpected.push(`${ctx.line}: parameter ${JSON.stringify(key)} sent twice`);
      else if (!allowed.includes(key))
        fake.unexpected.push(`${ctx.line}: unknown query parameter ${JSON.stringify(key)}`);
      seen.add(key);
    }
  }

  function findUser(id: string, what: string): FakeIncUser {
    const u = state.users.find((x) => x.id === id);
    if (!u) throw new FakeStateError(`fake state: ${what} references unknown user ${id}`);
    return u;
  }

  // ---------------------------------------------------------------- entries

  function fingerprintOf(scheduleId: string, e: Tagged): string {
    return createHash("sha1")
      .update(JSON.stringify([scheduleId, e.rotationId, e.layerId, e.userId, e.start, e.end]))
      .digest("hex")
      .slice(0, 26)
      .toUpperCase();
  }

  function tag(s: FakeIncSchedule, e: FakeIncEntry, group: Tagged["group"], what: string): Tagged {
    const rotationId = e.rotationId ?? `${s.id}R1`;
    const start = toMs(e.start, what);
    const end = toMs(e.end, what);
    if (end < start) throw new FakeStateError(`fake state: ${what} ends before it starts`);
    return {
      group,
      userId: e.userId,
      start,
      end,
      rotationId,
      layerId: e.layerId ?? `${rotationId}L1`,
      entryId: group === "scheduled" ? null : (e.id ?? null),
      fingerprint: e.fingerprint !== false,
    };
  }

  /**
   * All three lists of a schedule. `final`: each scheduled entry minus the intervals its rotation
   * layer is overridden for, plus the overrides whole; sorted by start.
   */
  function entriesOf(s: FakeIncSchedule): Tagged[] {
    const scheduled = (s.scheduled ?? []).map((e, i) => tag(s, e, "scheduled", `${s.id}.scheduled[${i}]`));
    const overrides = (s.overrides ?? []).map((e, i) => tag(s, e, "overrides", `${s.id}.overrides[${i}]`));
    for (const o of overrides) o.entryId ??= `OVR${fingerprintOf(s.id, o).slice(3)}`;
    let final: Tagged[];
    if (s.final) final = s.final.map((e, i) => tag(s, e, "final", `${s.id}.final[${i}]`));
    else {
      final = [];
      for (const e of scheduled) {
        let pieces = [{ start: e.start, end: e.end }];
        for (const o of overrides) {
          if (o.rotationId !== e.rotationId || o.layerId !== e.layerId) continue;
          pieces = pieces.flatMap((p) =>
            o.end <= p.start || o.start >= p.end
              ? [p]
              : [
                  ...(o.start > p.start ? [{ start: p.start, end: o.start }] : []),
                  ...(o.end < p.end ? [{ start: o.end, end: p.end }] : []),
                ],
          );
        }
        for (const p of pieces) final.push({ ...e, ...p, group: "final" });
      }
      for (const o of overrides) final.push({ ...o, group: "final" });
    }
    const order = (a: Tagged, b: Tagged) =>
      a.start - b.start || a.end - b.end || String(a.userId).localeCompare(String(b.userId));
    return [...final.sort(order), ...overrides.sort(order), ...scheduled.sort(order)];
  }

  function renderEntry(s: FakeIncSchedule, e: Tagged): Json {
    const out: Json = {
      start_at: renderIncTime(e.start),
      end_at: renderIncTime(e.end),
      rotation_id: e.rotationId,
      layer_id: e.layerId,
    };
    // `entry_id` is absent for scheduled entries: they are computed on the fly (INC-gen).
    if (e.entryId !== null) out.entry_id = e.entryId;
    if (e.fingerprint) out.fingerprint = fingerprintOf(s.id, e);
    if (e.userId !== null) {
      const u = findUser(e.userId, `schedule ${s.id}`);
      const user: Json = { id: u.id, name: u.name, role: "viewer" };
      if (u.email !== undefined && u.emailInEntries !== false) user.email = u.email;
      if (u.slackUserId !== undefined) user.slack_user_id = u.slackUserId;
      out.user = user;
    }
    return out;
  }

  // ---------------------------------------------------------------- cursors

  type Cursor = { offset: number; start: number; end: number };
  const encodeCursor = (c: Cursor) =>
    CURSOR_PREFIX + Buffer.from(JSON.stringify([c.offset, c.start, c.end])).toString("base64url");
  function decodeCursor(raw: string): Cursor | null {
    if (!raw.startsWith(CURSOR_PREFIX)) return null;
    try {
      const v: unknown = JSON.parse(Buffer.from(raw.slice(CURSOR_PREFIX.length), "base64url").toString());
      if (Array.isArray(v) && v.length === 3 && v.every((n) => Number.isInteger(n))) {
        return { offset: v[0] as number, start: v[1] as number, end: v[2] as number };
      }
    } catch {
      // not a cursor of ours
    }
    return null;
  }

  function parseTimeParam(raw: string, field: string): number {
    if (!RFC3339.test(raw))
      throw invalid(field, `${field} must be an RFC 3339 date-time, got ${JSON.stringify(raw)}`);
    const dt = DateTime.fromISO(raw, { setZone: true });
    if (!dt.isValid) throw invalid(field, `${field} is not a valid date-time: ${JSON.stringify(raw)}`);
    return dt.toMillis();
  }

  // ---------------------------------------------------------------- endpoints

  function listScheduleEntries(ctx: Ctx): Json {
    const q = ctx.query;
    checkParams(ctx, ["schedule_id", "entry_window_start", "entry_window_end"]);
    const scheduleId = q.get("schedule_id");
    if (scheduleId === null || scheduleId === "") {
      throw new ApiError(
        422,
        incError(422, "validation_error", [
          { code: "is_required", message: "schedule_id is required", source: { field: "schedule_id" } },
        ]),
        "422 schedule_id is missing",
      );
    }
    const s = state.schedules.find((x) => x.id === scheduleId);
    if (!s) throw notFound(`schedule ${scheduleId}`);

    const rawStart = q.get("entry_window_start");
    const rawEnd = q.get("entry_window_end");
    let offset = 0;
    let start: number;
    let end: number;
    const cursor = rawStart === null ? null : decodeCursor(rawStart);
    if (cursor) {
      offset = cursor.offset;
      start = cursor.start;
      end = cursor.end;
      const sentEnd = rawEnd === null ? null : parseTimeParam(rawEnd, "entry_window_end");
      if (sentEnd !== cursor.end) {
        throw invalid(
          "entry_window_end",
          "entry_window_end must be the one of the request that returned the cursor",
        );
      }
    } else {
      if (rawStart === null || rawEnd === null) {
        fake.unexpected.push(
          `${ctx.line}: a window without entry_window_start and entry_window_end ("a sensible range starting from now") is not modelled; the fake uses 7 days`,
        );
      }
      start = rawStart === null ? ctx.nowMs : parseTimeParam(rawStart, "entry_window_start");
      end = rawEnd === null ? start + 7 * DAY_MS : parseTimeParam(rawEnd, "entry_window_end");
      if (end < start)
        throw invalid("entry_window_end", "entry_window_end must not be before entry_window_start");
      if (end - start > maxWindowMs) {
        throw invalid("entry_window_end", `the window cannot be longer than ${maxWindowMs / DAY_MS} days`);
      }
    }

    const all = entriesOf(s).filter((e) => e.start < end && e.end > start);
    const page = all.slice(offset, offset + pageSize);
    const out: Json = {
      schedule_entries: {
        final: page.filter((e) => e.group === "final").map((e) => renderEntry(s, e)),
        overrides: page.filter((e) => e.group === "overrides").map((e) => renderEntry(s, e)),
        scheduled: page.filter((e) => e.group === "scheduled").map((e) => renderEntry(s, e)),
      },
    };
    if (offset + pageSize < all.length) {
      const after = encodeCursor({ offset: offset + pageSize, start, end });
      const next = new URL(`${base}/v2/schedule_entries`);
      next.searchParams.set("schedule_id", s.id);
      next.searchParams.set("entry_window_start", after);
      next.searchParams.set("entry_window_end", rawEnd ?? renderIncTime(end));
      out.pagination_meta = { after, after_url: next.toString() };
    }
    return out;
  }

  function scheduleBody(s: FakeIncSchedule, nowMs: number, withNext: boolean): Json {
    const entries = entriesOf(s);
    const final = entries.filter((e) => e.group === "final");
    const current = final.filter((e) => e.start <= nowMs && e.end > nowMs && e.userId !== null);
    const nextStart = Math.min(...final.filter((e) => e.start > nowMs).map((e) => e.start));
    const next = final.filter((e) => e.start === nextStart && e.userId !== null);
    const rotations = [...new Set(entries.map((e) => e.rotationId))].map((id, i) => ({
      id,
      name: `Rotation ${i + 1}`,
      layers: [...new Set(entries.filter((e) => e.rotationId === id).map((e) => e.layerId))].map((l, j) => ({
        id: l,
        name: `Layer ${j + 1}`,
      })),
    }));
    return {
      id: s.id,
      name: s.name,
      timezone: s.timezone ?? "Europe/London",
      team_ids: s.teamIds ?? [],
      permalink: `https://app.incident.io/shiftgrant-fake/on-call/schedules/${s.id}`,
      annotations: {},
      config: { rotations },
      current_shifts: current.map((e) => renderEntry(s, e)),
      ...(withNext ? { next_shifts: next.map((e) => renderEntry(s, e)) } : {}),
      created_at: "2026-01-05T09:00:00.000000Z",
      updated_at: "2026-01-05T09:00:00.000000Z",
    };
  }

  function listSchedules(ctx: Ctx): Json {
    const q = ctx.query;
    checkParams(ctx, ["page_size", "after"]);
    let size = 25;
    const rawSize = q.get("page_size");
    if (rawSize !== null) {
      // 1..250 as its sibling list endpoints document; unverified for this one.
      if (!/^\d+$/.test(rawSize) || Number(rawSize) < 1 || Number(rawSize) > 250)
        throw invalid(
          "page_size",
          `page_size must be an integer from 1 to 250, got ${JSON.stringify(rawSize)}`,
        );
      size = Number(rawSize);
    }
    let from = 0;
    const after = q.get("after");
    if (after !== null) {
      const i = state.schedules.findIndex((s) => s.id === after);
      // Unverified what the real API does with an unknown cursor; the fake rejects it.
      if (i < 0) throw invalid("after", `after: no schedule with id ${JSON.stringify(after)}`);
      from = i + 1;
    }
    const page = state.schedules.slice(from, from + size);
    const more = from + size < state.schedules.length;
    return {
      schedules: page.map((s) => scheduleBody(s, ctx.nowMs, size <= 25)),
      pagination_meta: {
        ...(more ? { after: (page[page.length - 1] as FakeIncSchedule).id } : {}),
        page_size: size,
        total_record_count: state.schedules.length,
      },
    };
  }

  function showSchedule(ctx: Ctx, id: string): Json {
    checkParams(ctx, []);
    const s = state.schedules.find((x) => x.id === id);
    if (!s) throw notFound(`schedule ${id}`);
    return { schedule: scheduleBody(s, ctx.nowMs, true) };
  }

  function showUser(ctx: Ctx, id: string): Json {
    checkParams(ctx, []);
    const u = state.users.find((x) => x.id === id);
    if (!u) throw notFound(`user ${id}`);
    return {
      user: {
        id: u.id,
        name: u.name,
        ...(u.email !== undefined ? { email: u.email } : {}),
        ...(u.slackUserId !== undefined ? { slack_user_id: u.slackUserId } : {}),
        role: "viewer",
        base_role: {
          id: "01BASEROLEVIEWER00000000000",
          name: "Viewer",
          slug: "viewer",
          description: "Can view",
        },
        custom_roles: [],
      },
    };
  }

  // ---------------------------------------------------------------- pipeline

  function json(status: number, payload: unknown, extra: Record<string, string> = {}): Reply {
    return {
      status,
      headers: { "content-type": "application/json; charset=utf-8", ...extra },
      body: JSON.stringify(payload),
    };
  }

  function rateLimit(nowMs: number): { headers: Record<string, string>; limited: boolean; retryS: number } {
    const limit = opts.rateLimitPerMinute;
    if (limit === undefined) return { headers: {}, limited: false, retryS: 0 };
    while (hits.length > 0 && (hits[0] ?? 0) <= nowMs - WINDOW_MS) hits.shift();
    const limited = hits.length >= limit;
    if (!limited) hits.push(nowMs);
    const oldest = hits[0] ?? nowMs;
    const resetMs = oldest + WINDOW_MS;
    const retryS = Math.max(1, Math.ceil((resetMs - nowMs) / 1000));
    return {
      limited,
      retryS,
      headers: {
        "x-ratelimit-limit": `${limit}, ${limit};window=60`,
        "x-ratelimit-remaining": String(Math.max(0, limit - hits.length)),
        "x-ratelimit-used": String(hits.length),
        "x-ratelimit-reset": String(Math.ceil(resetMs / 1000)),
      },
    };
  }

  function route(ctx: Ctx): Json | undefined {
    const p = ctx.path;
    if (p === "/v2/schedules") return listSchedules(ctx);
    if (p === "/v2/schedule_entries") return listScheduleEntries(ctx);
    const m = /^\/v2\/(users|schedules)\/([^/]+)$/.exec(p);
    if (m?.[1] === "users" && m[2] !== undefined) return showUser(ctx, decodeURIComponent(m[2]));
    if (m?.[1] === "schedules" && m[2] !== undefined) return showSchedule(ctx, decodeURIComponent(m[2]));
    return undefined;
  }

  function handle(rec: RecordedRequest): Reply {
    const nowMs = clock();
    const qs = rec.query.toString();
    const ctx: Ctx = {
      path: rec.path,
      query: rec.query,
      nowMs,
      line: `${rec.method} ${rec.path}${qs ? `?${decodeURIComponent(qs)}` : ""}`,
    };
    const auth = rec.headers["authorization"];
    if (auth === undefined || auth === "") {
      return json(
        401,
        incError(401, "authentication_error", [
          {
            code: "missing_authorization_material",
            message: "No authorization material provided in request",
          },
        ]),
      );
    }
    if (auth !== `Bearer ${opts.key}`) {
      // Code and message for a wrong key are unverified; the envelope and type are documented.
      return json(
        401,
        incError(401, "authentication_error", [
          { code: "invalid_authorization_material", message: "The API key provided is not valid" },
        ]),
      );
    }
    const rl = rateLimit(nowMs);
    if (rl.limited) {
      return json(429, rateLimitBody(new Date(nowMs + rl.retryS * 1000), opts.rateLimitPerMinute), {
        ...rl.headers,
        "retry-after": String(rl.retryS),
      });
    }
    if (rec.method !== "GET") {
      fake.unexpected.push(`${ctx.line}: method not modelled by the fake`);
      return json(404, incError(404, "not_found", [{ code: "not_found", message: "Not Found" }]), rl.headers);
    }
    try {
      const payload = route(ctx);
      if (payload === undefined) {
        fake.unexpected.push(`${ctx.line}: no such endpoint in the fake`);
        return json(
          404,
          incError(404, "not_found", [{ code: "not_found", message: "Not Found" }]),
          rl.headers,
        );
      }
      return json(200, payload, rl.headers);
    } catch (err) {
      if (err instanceof ApiError) {
        if (err.note !== undefined) fake.unexpected.push(`${ctx.line}: ${err.note}`);
        return json(err.status, err.payload, rl.headers);
      }
      fake.unexpected.push(`${ctx.line}: fake error: ${err instanceof Error ? err.message : String(err)}`);
      return json(
        500,
        incError(500, "internal_error", [{ code: "internal_error", message: "Internal Server Error" }]),
      );
    }
  }

  const { takeFault, later, send } = shell;

  function onRequest(req: IncomingMessage, res: ServerResponse): void {
    const rec = shell.record(req);
    const fault = takeFault(rec.path);
    if (fault === undefined) return later(() => send(res, handle(rec)));
    switch (fault.kind) {
      case "hang":
        return;
      case "reset":
        return later(() => req.socket.destroy());
      case "status": {
        const headers: Record<string, string> = { ...(fault.headers ?? {}) };
        const body = fault.body ?? defaultErrorBody(fault.status);
        if (body !== "" && !Object.keys(headers).some((h) => h.toLowerCase() === "content-type"))
          headers["content-type"] = "application/json; charset=utf-8";
        return later(() => send(res, { status: fault.status, headers, body }));
      }
      case "truncated": {
        const full = Buffer.from(handle(rec).body, "utf8");
        const half = full.subarray(0, Math.floor(full.length / 2));
        return later(() => {
          res.writeHead(200, {
            "content-type": "application/json; charset=utf-8",
            "content-length": String(half.length),
          });
          res.end(half);
        });
      }
      case "non-json":
        return later(() =>
          send(res, {
            status: 200,
            headers: { "content-type": "text/html; charset=utf-8" },
            body: "<!DOCTYPE html><html><body><h1>incident.io is down for maintenance</h1></body></html>",
          }),
        );
      case "json": {
        const body = fault.from ? fault.from(rec, JSON.parse(handle(rec).body)) : fault.body;
        return later(() => send(res, json(fault.status ?? 200, body)));
      }
    }
  }

  const fake: FakeIncidentio = {
    url: "",
    requests: shell.requests,
    unexpected: shell.unexpected,
    allow: shell.allow,
    state,
    fault: shell.fault,
    countByPath(grouped = false) {
      if (!grouped) return shell.countByPath();
      const out: Record<string, number> = {};
      for (const r of shell.requests) {
        const key = r.path.replace(/^\/v2\/(users|schedules)\/[^/]+$/, "/v2/$1/{id}");
        out[key] = (out[key] ?? 0) + 1;
      }
      return out;
    },
    close: shell.close,
  };
  fake.url = base = await shell.listen(onRequest);
  return fake;
}
