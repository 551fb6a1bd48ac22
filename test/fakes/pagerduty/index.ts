/**
 * A strict, stateful fake of the parts of PagerDuty's REST API v2 that shiftgrant uses:
 * GET /oncalls, /users, /users/{id}, /schedules, /schedules/{id}, /incidents. One file per route
 * (oncalls, users, schedules, incidents), the shared query helpers and renderers in context.ts, the
 * scripted faults in faults.ts.
 *
 * Where the real API's behaviour is unverified the fake picks the strict option (e.g. `limit > 100`
 * is a 400) and says so in a comment.
 *
 * Anything the fake did not expect (unknown path or method, bad or unknown query parameters, a valid
 * parameter the fake does not model, inconsistent fake state) is described in `unexpected`, and
 * close() fails the test on it unless the test allowed it.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { createFakeShell, type RecordedRequest, type Reply } from "../shell.js";
import {
  ApiError,
  type Ctx,
  type FakePagerDuty,
  type FakePagerDutyOptions,
  type FakePagerDutyState,
  type Fault,
  type Json,
  type PageLie,
  PD_ACCEPT,
  pdError,
  WINDOW_MS,
} from "./common.js";
import { createPdContext } from "./context.js";
import { answerFault } from "./faults.js";
import { getOncalls } from "./oncalls.js";
import { getSchedule, listSchedules } from "./schedules.js";
import { getUser, listUsers } from "./users.js";
import { listIncidents } from "./incidents.js";

export * from "./common.js";

export async function startFakePagerDuty(opts: FakePagerDutyOptions): Promise<FakePagerDuty> {
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
  const pd = createPdContext(opts, state, shell.unexpected, () => base);
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
    if (p === "/oncalls") return getOncalls(pd, ctx);
    if (p === "/users") return listUsers(pd, ctx);
    if (p === "/schedules") return listSchedules(pd, ctx);
    if (p === "/incidents") return listIncidents(pd, ctx);
    const m = /^\/(users|schedules)\/([A-Za-z0-9_-]+)$/.exec(p);
    if (m?.[1] === "users" && m[2] !== undefined) return getUser(pd, ctx, decodeURIComponent(m[2]));
    if (m?.[1] === "schedules" && m[2] !== undefined) return getSchedule(pd, ctx, decodeURIComponent(m[2]));
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
      shell.unexpected.push(
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
        shell.unexpected.push(`${ctx.line}: no such endpoint in the fake`);
        return json(404, pdError("Not Found", 2100), rl.headers);
      }
      return json(200, payload, rl.headers);
    } catch (err) {
      if (err instanceof ApiError) {
        if (err.note !== undefined) shell.unexpected.push(`${ctx.line}: ${err.note}`);
        return json(err.status, err.payload, rl.headers);
      }
      const msg = err instanceof Error ? err.message : String(err);
      shell.unexpected.push(`${ctx.line}: fake error: ${msg}`);
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
    answerFault(fault, req, res, {
      normal: () => handle(rec),
      rec,
      later,
      send,
      streamed: (n) => (fake.streamed += n),
    });
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
