/**
 * A strict, stateful fake of the parts of Opsgenie's REST API v2 that shiftgrant uses (and a few it
 * might): GET /v2/schedules, /v2/schedules/{identifier}/timeline, /v2/teams/{identifier},
 * /v2/users/{identifier}.
 *
 * Behaviour follows Opsgenie's API documentation and its OpenAPI description
 * (paths/schedule.yaml, paths/team.yaml, definitions/schedule.yaml, team.yaml, common.yaml). Where
 * the real behaviour is not documented the fake picks one and says so ("unverified").
 *
 * Anything the fake did not expect (unknown path or method, unknown or invalid query parameters, a
 * valid parameter it does not model, inconsistent fake state) is described in `unexpected`; tests
 * should assert that it is empty.
 */
import { randomUUID } from "node:crypto";
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from "node:http";
import { DateTime, IANAZone } from "luxon";
import { createFakeShell, type RecordedRequest, type Reply } from "./shell.js";

export type FakeOgUser = {
  id: string;
  /** the username, which Opsgenie defines as the user's email */
  username: string;
  fullName?: string;
};

export type FakeOgTeam = { id: string; name: string; memberIds: string[]; adminIds?: string[] };

/** Who a period puts on call. */
export type FakeOgRecipient =
  | { type: "user"; userId: string }
  | { type: "team"; teamId: string }
  | { type: "escalation"; id: string; name: string }
  | { type: "none" };

/**
 * One period of a rotation in the FINAL timeline, as stored: the test writes what Opsgenie would have
 * computed (rotation rules, overrides and forwarding already applied). Times are ISO UTC.
 */
export type FakeOgPeriod = {
  start: string;
  end: string;
  /**
   * default "default". "override" for an override, "forwarding" (with `fromUserId`) when the
   * on-call user forwards to the recipient, "historical" (with `flattenedUserIds`) for the past.
   * Unverified: whether the final timeline labels override periods "override".
   */
  type?: "default" | "override" | "forwarding" | "historical";
  recipient: FakeOgRecipient;
  fromUserId?: string;
  flattenedUserIds?: string[];
};

export type FakeOgRotation = { id: string; name: string; order?: number; periods: FakeOgPeriod[] };

export type FakeOgSchedule = {
  id: string;
  name: string;
  /** IANA zone; the timeline's days, weeks and months start at midnight here. Default "UTC". */
  timezone?: string;
  enabled?: boolean;
  description?: string;
  /** the owner team's id (a team-scoped key only sees its own team's schedules) */
  ownerTeamId?: string;
  rotations: FakeOgRotation[];
};

export type Fault =
  | { kind: "status"; status: number; headers?: Record<string, string>; body?: string }
  /** 429 with the X-RateLimit-* headers (default) or bare (`headers: false`) */
  | { kind: "throttle"; headers?: boolean; periodSec?: number; reason?: string }
  | { kind: "hang" }
  | { kind: "reset" }
  | { kind: "truncated" }
  | { kind: "non-json" }
  /** 200 with a body the test writes (e.g. a timeline with no finalTimeline) */
  | { kind: "body"; body: unknown };

export type { RecordedRequest };

export type FakeOpsgenieOptions = {
  /** the only accepted key: the header must be exactly `GenieKey <key>` */
  key: string;
  /**
   * If set, the key belongs to this team's API integration: the schedule list holds only the team's
   * schedules (unverified) and anything else of another team is 403 with code 40301 (OG-docs).
   */
  keyTeamId?: string;
  schedules?: FakeOgSchedule[];
  users?: FakeOgUser[];
  teams?: FakeOgTeam[];
  /** added to every response */
  latencyMs?: number;
  /**
   * A token bucket approximated by a sliding window: more than `limit` requests in `periodSec`
   * seconds -> 429 with X-RateLimit-State: THROTTLED, X-RateLimit-Reason, X-RateLimit-Period-In-Sec.
   * Opsgenie's per-plan numbers are unverified.
   */
  rateLimit?: { limit: number; periodSec: number; reason?: string };
  /**
   * Unverified whether Opsgenie caps the timeline's length: if set, a timeline never spans more than
   * this many days (endDate says where it stopped).
   */
  maxTimelineDays?: number;
  /** the fake's clock (epoch ms), for a missing `date` and the rate limit; default Date.now */
  now?: () => number;
};

export type FakeOpsgenieState = { schedules: FakeOgSchedule[]; users: FakeOgUser[]; teams: FakeOgTeam[] };

export type FakeOpsgenie = {
  /** "http://127.0.0.1:PORT" */
  url: string;
  requests: RecordedRequest[];
  unexpected: string[];
  /** Allows unexpected lines that contain (or match) these: close() fails the test on any other. */
  allow(...matches: (string | RegExp)[]): void;
  /** queue faults for requests whose path matches (string = exact pathname); each used once, in order */
  fault(path: string | RegExp, ...faults: Fault[]): void;
  state: FakeOpsgenieState;
  /** e.g. {"/v2/schedules": 1, "/v2/schedules/abc/timeline": 2} */
  countByPath(): Record<string, number>;
  close(): Promise<void>;
};

type Json = Record<string, unknown>;
type Ctx = { method: string; path: string; query: URLSearchParams; nowMs: number; line: string };

/** An API error: answered with the Opsgenie error envelope; `note` is also recorded in `unexpected`. */
class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly note?: string,
    readonly code?: number,
  ) {
    super(message);
  }
}
/** A bug in the test's fake state: answered with 500 and recorded in `unexpected`. */
class FakeStateError extends Error {}

/**
 * Opsgenie's error body (OG-oas ErrorResponse: BaseResponse + message, optional code). The messages
 * below are the fake's; Opsgenie's exact wording is unverified.
 */
const MESSAGES: Record<number, string> = {
  400: "Request could not be processed",
  401: "Could not authenticate",
  403: "You are not authorized to access this resource",
  404: "Requested resource could not be found",
  429: "You are making too many requests! To avoid errors, we recommend you limit requests.",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

function renderTime(ms: number): string {
  return DateTime.fromMillis(ms, { zone: "utc" }).toFormat("yyyy-MM-dd'T'HH:mm:ss'Z'");
}

export async function startFakeOpsgenie(opts: FakeOpsgenieOptions): Promise<FakeOpsgenie> {
  const clock = opts.now ?? Date.now;
  const shell = createFakeShell<Fault>({ latencyMs: opts.latencyMs });
  const hits: number[] = [];

  const state: FakeOpsgenieState = {
    schedules: [...(opts.schedules ?? [])],
    users: [...(opts.users ?? [])],
    teams: [...(opts.teams ?? [])],
  };

  function envelope(status: number, message: string, code?: number): Json {
    return {
      message,
      ...(code === undefined ? {} : { code }),
      took: status === 401 ? 0.0 : 0.002,
      requestId: randomUUID(),
    };
  }

  // ---------------------------------------------------------------- query helpers

  /** Unknown parameters are a 400 here (strict: the client must not send what the fake cannot vouch for). */
  function checkParams(ctx: Ctx, allowed: string[]): void {
    const seen = new Set<string>();
    for (const key of ctx.query.keys()) {
      if (!allowed.includes(key)) throw bad(ctx, `unknown query parameter ${JSON.stringify(key)}`);
      if (seen.has(key)) throw bad(ctx, `query parameter ${JSON.stringify(key)} sent more than once`);
      seen.add(key);
    }
  }
  function bad(_ctx: Ctx, detail: string): ApiError {
    return new ApiError(400, `${MESSAGES[400]}: ${detail}`, `400: ${detail}`);
  }
  function oneOf<T extends string>(ctx: Ctx, name: string, allowed: readonly T[], dflt: T): T {
    const raw = ctx.query.get(name);
    if (raw === null) return dflt;
    if (!(allowed as readonly string[]).includes(raw))
      throw bad(ctx, `${name} must be one of ${allowed.join(", ")}, got ${JSON.stringify(raw)}`);
    return raw as T;
  }
  /** `expand` is a csv list (OG-oas collectionFormat: csv); values outside `allowed` are a 400. */
  function expand(ctx: Ctx, allowed: string[]): string[] {
    const raw = ctx.query.get("expand");
    if (raw === null) return [];
    const values = raw.split(",").map((v) => v.trim());
    for (const v of values)
      if (!allowed.includes(v))
        throw bad(ctx, `expand value ${JSON.stringify(v)} is not one of ${allowed.join(",")}`);
    return values;
  }

  // ---------------------------------------------------------------- lookups

  function canSee(ownerTeamId: string | undefined): boolean {
    return opts.keyTeamId === undefined || ownerTeamId === opts.keyTeamId;
  }
  function forbidden(): ApiError {
    return new ApiError(403, MESSAGES[403] as string, undefined, 40301);
  }
  function findSchedule(ctx: Ctx, identifier: string, paramName: string): FakeOgSchedule {
    const type = oneOf(ctx, paramName, ["id", "name"] as const, "id");
    const s = state.schedules.find((x) => (type === "id" ? x.id === identifier : x.name === identifier));
    if (!s) throw new ApiError(404, `No schedule exists with ${type} [${identifier}]`);
    if (!canSee(s.ownerTeamId)) throw forbidden();
    return s;
  }
  function userById(id: string, what: string): FakeOgUser {
    const u = state.users.find((x) => x.id === id);
    if (!u) throw new FakeStateError(`fake state: ${what} references unknown user ${id}`);
    return u;
  }
  function teamById(id: string, what: string): FakeOgTeam {
    const t = state.teams.find((x) => x.id === id);
    if (!t) throw new FakeStateError(`fake state: ${what} references unknown team ${id}`);
    return t;
  }
  function teamMeta(id: string | undefined): Json | undefined {
    if (id === undefined) return undefined;
    return { id, name: teamById(id, "a schedule's ownerTeamId").name };
  }
  function zoneOf(s: FakeOgSchedule): string {
    const z = s.timezone ?? "UTC";
    if (!IANAZone.isValidZone(z)) throw new FakeStateError(`fake state: schedule ${s.id} has zone ${z}`);
    return z;
  }
  function toMs(iso: string, what: string): number {
    const dt = DateTime.fromISO(iso, { zone: "utc" });
    if (!dt.isValid) throw new FakeStateError(`fake state: invalid time ${JSON.stringify(iso)} in ${what}`);
    return dt.toMillis();
  }

  // ---------------------------------------------------------------- endpoints

  function listSchedules(ctx: Ctx): Json {
    checkParams(ctx, ["expand"]);
    const ex = expand(ctx, ["rotation"]);
    if (ex.length > 0) fake.unexpected.push(`${ctx.line}: expand=rotation is not modelled by the fake`);
    return {
      data: state.schedules
        .filter((s) => canSee(s.ownerTeamId))
        .map((s) => ({
          id: s.id,
          name: s.name,
          description: s.description ?? "",
          timezone: zoneOf(s),
          enabled: s.enabled ?? true,
          ...(s.ownerTeamId === undefined ? {} : { ownerTeam: teamMeta(s.ownerTeamId) }),
          rotations: [],
        })),
      expandable: ["rotation"],
    };
  }

  function recipientJson(r: FakeOgRecipient, what: string): Json {
    switch (r.type) {
      case "user": {
        const u = userById(r.userId, what);
        return { id: u.id, type: "user", name: u.username };
      }
      case "team": {
        const t = teamById(r.teamId, what);
        return { id: t.id, type: "team", name: t.name };
      }
      case "escalation":
        return { id: r.id, type: "escalation", name: r.name };
      case "none":
        return { type: "none" };
    }
  }

  /**
   * The timeline covers `interval` `intervalUnit`s from the start of the day, week (Monday) or month
   * that holds `date`, in the schedule's time zone. The alignment is inferred from the documented
   * example (startDate 2022-03-21T07:00:00Z, a Monday at midnight in a UTC-7 zone, to 2022-04-04:
   * two weeks); unverified. Periods that overlap it are returned cut at its bounds (unverified; the
   * web UI's timeline does the same). A rotation with nothing in it comes without `periods`.
   */
  function getTimeline(ctx: Ctx, identifier: string): Json {
    checkParams(ctx, ["identifierType", "expand", "interval", "intervalUnit", "date"]);
    const s = findSchedule(ctx, identifier, "identifierType");
    const ex = expand(ctx, ["base", "forwarding", "override"]);
    if (ex.length > 0)
      fake.unexpected.push(`${ctx.line}: expand=${ex.join(",")} is not modelled by the fake`);
    const rawInterval = ctx.query.get("interval");
    let interval = 1;
    if (rawInterval !== null) {
      if (!/^\d+$/.test(rawInterval) || Number(rawInterval) < 1)
        throw bad(ctx, `interval must be a positive integer, got ${JSON.stringify(rawInterval)}`);
      interval = Number(rawInterval);
    }
    const unit = oneOf(ctx, "intervalUnit", ["days", "weeks", "months"] as const, "weeks");
    const rawDate = ctx.query.get("date");
    let date = DateTime.fromMillis(ctx.nowMs, { zone: "utc" });
    if (rawDate !== null) {
      // An unencoded "+" arrives as a space: a real client mistake, refused like a bad date.
      date = DateTime.fromISO(rawDate, { setZone: true });
      if (!date.isValid) throw bad(ctx, `date ${JSON.stringify(rawDate)} is not a date-time`);
    }
    const zone = zoneOf(s);
    const startDt = date.setZone(zone).startOf(unit === "days" ? "day" : unit === "weeks" ? "week" : "month");
    const start = startDt.toMillis();
    let end = startDt.plus({ [unit]: interval }).toMillis();
    if (opts.maxTimelineDays !== undefined) end = Math.min(end, start + opts.maxTimelineDays * 86_400_000);

    const rotations = [...s.rotations]
      .sort((a, b) => (a.order ?? 0) - (b.order ?? 0))
      .map((r, i) => {
        const periods = r.periods
          .map((p, j) => ({
            p,
            ps: toMs(p.start, `${s.id} ${r.id}[${j}]`),
            pe: toMs(p.end, `${s.id} ${r.id}[${j}]`),
          }))
          .filter(({ ps, pe }) => pe > start && ps < end)
          .sort((a, b) => a.ps - b.ps)
          .map(({ p, ps, pe }) => {
            const what = `schedule ${s.id} rotation ${r.id}`;
            const out: Json = {
              startDate: renderTime(Math.max(ps, start)),
              endDate: renderTime(Math.min(pe, end)),
              type: p.type ?? "default",
              recipient: recipientJson(p.recipient, what),
            };
            if (p.type === "forwarding" && p.fromUserId !== undefined)
              out.fromUser = userById(p.fromUserId, what).username;
            if (p.type === "historical" && p.flattenedUserIds !== undefined) {
              out.flattenedRecipients = p.flattenedUserIds.map((id) =>
                recipientJson({ type: "user", userId: id }, what),
              );
            }
            return out;
          });
        return {
          id: r.id,
          name: r.name,
          order: r.order ?? i + 1,
          ...(periods.length > 0 ? { periods } : {}),
        };
      });
    return {
      data: {
        _parent: { id: s.id, name: s.name, enabled: s.enabled ?? true },
        startDate: renderTime(start),
        endDate: renderTime(end),
        finalTimeline: { rotations },
      },
      expandable: ["base", "forwarding", "override"],
    };
  }

  function getTeam(ctx: Ctx, identifier: string): Json {
    checkParams(ctx, ["identifierType"]);
    const type = oneOf(ctx, "identifierType", ["id", "name"] as const, "id");
    const t = state.teams.find((x) => (type === "id" ? x.id === identifier : x.name === identifier));
    if (!t) throw new ApiError(404, `No team exists with ${type} [${identifier}]`);
    if (!canSee(t.id)) throw forbidden();
    return {
      data: {
        id: t.id,
        name: t.name,
        description: "",
        members: t.memberIds.map((id) => {
          const u = userById(id, `team ${t.id}`);
          return {
            user: { id: u.id, username: u.username },
            role: t.adminIds?.includes(id) ? "admin" : "user",
          };
        }),
      },
    };
  }

  function getUser(ctx: Ctx, identifier: string): Json {
    checkParams(ctx, ["expand"]);
    const ex = expand(ctx, ["contact"]);
    if (ex.length > 0) fake.unexpected.push(`${ctx.line}: expand=contact is not modelled by the fake`);
    const u = state.users.find((x) => x.id === identifier || x.username === identifier);
    if (!u) throw new ApiError(404, `No user exists with identifier [${identifier}]`);
    return {
      data: {
        id: u.id,
        username: u.username,
        fullName: u.fullName ?? u.username,
        role: { id: "User", name: "User" },
        timeZone: "UTC",
        locale: "en_US",
        blocked: false,
        verified: true,
        createdAt: "2020-01-01T00:00:00.000Z",
      },
      expandable: ["contact"],
    };
  }

  function route(ctx: Ctx): Json | undefined {
    if (ctx.method !== "GET") return undefined;
    const p = ctx.path;
    if (p === "/v2/schedules") return listSchedules(ctx);
    let m = /^\/v2\/schedules\/([^/]+)\/timeline$/.exec(p);
    if (m?.[1] !== undefined) return getTimeline(ctx, decodeURIComponent(m[1]));
    m = /^\/v2\/teams\/([^/]+)$/.exec(p);
    if (m?.[1] !== undefined) return getTeam(ctx, decodeURIComponent(m[1]));
    m = /^\/v2\/users\/([^/]+)$/.exec(p);
    if (m?.[1] !== undefined) return getUser(ctx, decodeURIComponent(m[1]));
    return undefined;
  }

  // ---------------------------------------------------------------- request pipeline

  function json(status: number, payload: Json, extra: Record<string, string> = {}): Reply {
    const requestId = typeof payload.requestId === "string" ? payload.requestId : randomUUID();
    const body = { ...payload, took: payload.took ?? 0.011, requestId };
    return {
      status,
      headers: {
        "content-type": "application/json",
        "x-request-id": requestId,
        "x-response-time": "0.011",
        ...extra,
      },
      body: JSON.stringify(body),
    };
  }

  function throttleHeaders(periodSec: number, reason: string): Record<string, string> {
    return {
      "x-ratelimit-state": "THROTTLED",
      "x-ratelimit-reason": reason,
      "x-ratelimit-period-in-sec": String(periodSec),
    };
  }

  /** Sliding window over `periodSec`; null when the request may go on. */
  function rateLimited(nowMs: number): Reply | null {
    const rl = opts.rateLimit;
    if (!rl) return null;
    while (hits.length > 0 && (hits[0] ?? 0) <= nowMs - rl.periodSec * 1000) hits.shift();
    if (hits.length >= rl.limit) {
      return json(
        429,
        envelope(429, MESSAGES[429] as string),
        throttleHeaders(rl.periodSec, rl.reason ?? "ACCOUNT"),
      );
    }
    hits.push(nowMs);
    return null;
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
    if (rec.headers["authorization"] !== `GenieKey ${opts.key}`) {
      return json(401, envelope(401, MESSAGES[401] as string));
    }
    const limited = rateLimited(nowMs);
    if (limited) return limited;
    const ok: Record<string, string> = opts.rateLimit ? { "x-ratelimit-state": "OK" } : {};
    try {
      const payload = route(ctx);
      if (payload === undefined) {
        fake.unexpected.push(`${ctx.line}: no such endpoint in the fake`);
        return json(404, envelope(404, MESSAGES[404] as string), ok);
      }
      return json(200, payload, ok);
    } catch (err) {
      if (err instanceof ApiError) {
        if (err.note !== undefined) fake.unexpected.push(`${ctx.line}: ${err.note}`);
        return json(err.status, envelope(err.status, err.message, err.code), ok);
      }
      const msg = err instanceof Error ? err.message : String(err);
      fake.unexpected.push(`${ctx.line}: fake error: ${msg}`);
      return json(500, envelope(500, MESSAGES[500] as string), ok);
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
        const body =
          fault.body ??
          JSON.stringify(
            envelope(fault.status, MESSAGES[fault.status] ?? STATUS_CODES[fault.status] ?? "Error"),
          );
        const headers = { "content-type": "application/json", ...(fault.headers ?? {}) };
        return later(() => send(res, { status: fault.status, headers, body }));
      }
      case "throttle": {
        const headers =
          fault.headers === false ? {} : throttleHeaders(fault.periodSec ?? 1, fault.reason ?? "ACCOUNT");
        const reply =
          fault.headers === false
            ? { status: 429, headers: {}, body: "" }
            : json(429, envelope(429, MESSAGES[429] as string), headers);
        return later(() => send(res, reply));
      }
      case "truncated": {
        const full = handle(rec);
        return later(() =>
          send(res, { ...full, status: 200, body: full.body.slice(0, Math.floor(full.body.length / 2)) }),
        );
      }
      case "non-json":
        return later(() =>
          send(res, {
            status: 200,
            headers: { "content-type": "text/html; charset=utf-8" },
            body: "<!DOCTYPE html><html><body><h1>Opsgenie is under maintenance</h1></body></html>",
          }),
        );
      case "body":
        return later(() => send(res, json(200, fault.body as Json)));
    }
  }

  const fake: FakeOpsgenie = {
    url: "",
    requests: shell.requests,
    unexpected: shell.unexpected,
    allow: shell.allow,
    state,
    fault: shell.fault,
    countByPath: shell.countByPath,
    close: shell.close,
  };
  fake.url = await shell.listen(onRequest);
  return fake;
}
