/**
 * What the fake's routes share: query parameters read as PagerDuty reads them (and anything it would
 * not expect recorded), and the objects it renders (users, schedules, escalation policies, services).
 */
import { DateTime } from "luxon";
import {
  type Ctx,
  FAKE_PD_HTML_BASE,
  type FakePagerDutyOptions,
  type FakePagerDutyState,
  type FakeSchedule,
  FakeStateError,
  type FakeUser,
  type Json,
  type ParamKind,
  badInput,
  badTime,
  isValidZone,
} from "./common.js";

/** The shared helpers, bound to one fake's options and state. */
export type PdContext = ReturnType<typeof createPdContext>;

export function createPdContext(
  opts: FakePagerDutyOptions,
  state: FakePagerDutyState,
  unexpected: string[],
  baseUrl: () => string,
) {
  const accountTimeZone = opts.accountTimeZone ?? "America/New_York";
  const clock = opts.now ?? Date.now;
  // ---------------------------------------------------------------- query helpers

  /** Records unknown params and repeated scalar params in `unexpected` (the real API ignores unknown ones). */
  function checkParams(ctx: Ctx, spec: Record<string, ParamKind>): void {
    const seen = new Set<string>();
    for (const key of ctx.query.keys()) {
      const kind = spec[key];
      if (kind === undefined) {
        if (!seen.has(key)) unexpected.push(`${ctx.line}: unknown query parameter ${JSON.stringify(key)}`);
      } else if (kind === "scalar" && seen.has(key)) {
        unexpected.push(`${ctx.line}: scalar parameter ${JSON.stringify(key)} sent more than once`);
      }
      seen.add(key);
    }
  }
  /** A valid parameter whose effect the fake does not model: answered normally but recorded. */
  function notModelled(ctx: Ctx, what: string): void {
    unexpected.push(`${ctx.line}: ${what} is not modelled by the fake`);
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

  const self = (collection: string, id: string): string => `${baseUrl()}/${collection}/${id}`;
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

  return {
    opts,
    state,
    unexpected,
    accountTimeZone,
    clock,
    checkParams,
    notModelled,
    scalar,
    enumArray,
    bool,
    paging,
    paginate,
    zoneFor,
    parseTime,
    self,
    html,
    findUser,
    findSchedule,
    epName,
    serviceName,
    serviceEpId,
    userRef,
    fullUser,
    epRef,
    fullEp,
    scheduleUserIds,
    scheduleBody,
    serviceRef,
    fullService,
  };
}
