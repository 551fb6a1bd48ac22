/** GET /schedules and /schedules/{id} (with the final schedule of a window). */
import {
  type Ctx,
  DAY_MS,
  FakeStateError,
  type Json,
  badRange,
  cmp,
  notFound,
  overlaps,
  renderPdTime,
  toMs,
} from "./common.js";
import type { PdContext } from "./context.js";

export function listSchedules(pd: PdContext, ctx: Ctx): Json {
  const {
    accountTimeZone,
    checkParams,
    enumArray,
    notModelled,
    paginate,
    paging,
    scalar,
    scheduleBody,
    state,
    zoneFor,
  } = pd;
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
  const includes = enumArray(q, "include[]", ["schedule_layers", "overrides_subschedule", "final_schedule"]);
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

export function getSchedule(pd: PdContext, ctx: Ctx, id: string): Json {
  const {
    scheduleBody,
    accountTimeZone,
    bool,
    checkParams,
    findUser,
    notModelled,
    parseTime,
    state,
    zoneFor,
  } = pd;
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
