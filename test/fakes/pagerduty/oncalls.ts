/** GET /oncalls: who is on call, by escalation policy and level, with includes and paging. */
import {
  type Ctx,
  DAY_MS,
  type FakeOncall,
  type Json,
  badRange,
  cmp,
  overlaps,
  renderPdTime,
  toMs,
} from "./common.js";
import type { PdContext } from "./context.js";

export function getOncalls(pd: PdContext, ctx: Ctx): Json {
  const {
    accountTimeZone,
    bool,
    checkParams,
    enumArray,
    epRef,
    findSchedule,
    findUser,
    fullEp,
    fullUser,
    html,
    opts,
    paginate,
    paging,
    parseTime,
    scheduleBody,
    self,
    state,
    userRef,
    zoneFor,
  } = pd;
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
  if (until - since > 90 * DAY_MS) throw badRange("the range between since and until cannot exceed 90 days");
  if (opts.oncallsFutureLimitDays !== undefined && until > ctx.nowMs + opts.oncallsFutureLimitDays * DAY_MS) {
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
