/** GET /incidents: filters, includes and the acknowledgements. */
import { DateTime } from "luxon";
import { createHash } from "node:crypto";
import { type Ctx, type Json, badInput, badRange, renderPdTime, toMs } from "./common.js";
import type { PdContext } from "./context.js";

export function listIncidents(pd: PdContext, ctx: Ctx): Json {
  const {
    accountTimeZone,
    checkParams,
    enumArray,
    findUser,
    fullService,
    fullUser,
    html,
    notModelled,
    paginate,
    paging,
    parseTime,
    scalar,
    self,
    serviceRef,
    state,
    userRef,
    zoneFor,
  } = pd;
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
  for (const p of ["user_ids[]", "team_ids[]", "incident_key", "sort_by"]) if (q.has(p)) notModelled(ctx, p);
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
