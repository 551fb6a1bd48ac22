import { DateTime } from "luxon";
import { formatUtc } from "../../core/time.js";
import { HttpError } from "../../infra/http.js";
import { mapLimit } from "../../infra/pool.js";
import { apiGet, type ApiSourceConfig } from "../api.js";
import { defineSource } from "../define.js";
import type { ScheduleRef, Shift, Source, SourceDeps } from "../types.js";
import {
  parseFinalSchedule,
  parseIncidentsPage,
  parseOncallsPage,
  parseSchedulesPage,
  parseUser,
  type ListedSchedule,
  type OncallEntry,
  type Page,
} from "./schema.js";
import { LIMIT, readAllPages } from "./paging.js";
import { normalizePagerduty, PAGERDUTY_TOKEN_ENV, pagerdutySchema, pagerdutyStarter } from "./config.js";
import { onceEach } from "../../core/once.js";

export const pagerdutySource = defineSource({
  schema: pagerdutySchema,
  tokenEnv: PAGERDUTY_TOKEN_ENV,
  features: { incidents: true, escalationLevels: true },
  normalize: normalizePagerduty,
  create: (config, deps) => createPagerdutySource(config, deps),
  starter: pagerdutyStarter,
});

/** Schedule ids per /oncalls query, to keep URLs well under common proxy limits. */
const IDS_PER_QUERY = 50;

/** Schedule ids are upper-case letters and digits (PABC123); anything else is a name. */
export function looksLikeScheduleId(ref: string): boolean {
  return /^[A-Z0-9]{6,}$/.test(ref) && /\d/.test(ref);
}

export function createPagerdutySource(config: ApiSourceConfig, deps: SourceDeps): Source {
  const headers = {
    Accept: "application/vnd.pagerduty+json;version=2",
    Authorization: `Token token=${deps.token}`,
  };
  const get = apiGet(config, deps, headers);

  /** Every page of an offset-paged list, each checked against the others (see readAllPages). */
  function getAllPages<T>(
    path: string,
    query: [string, string][],
    parse: (body: unknown, what: string) => Page<T>,
  ): Promise<T[] | "too-many"> {
    return readAllPages(
      `GET ${path}`,
      async (offset, opts) =>
        parse(
          await get(path, [
            ...query,
            ["limit", String(LIMIT)],
            ["offset", String(offset)],
            ...(opts.total ? [["total", "true"] as [string, string]] : []),
          ]),
          path,
        ),
      deps.concurrency,
    );
  }

  async function fetchOncalls(ids: string[], since: DateTime, until: DateTime): Promise<OncallEntry[]> {
    const query: [string, string][] = [
      ...ids.map((id): [string, string] => ["schedule_ids[]", id]),
      ["since", formatUtc(since)],
      ["until", formatUtc(until)],
      ["time_zone", "UTC"],
      ["include[]", "users"],
    ];
    const got = await getAllPages("/oncalls", query, parseOncallsPage);
    if (got !== "too-many") return got;
    // NOTE: past PagerDuty's 10,000-offset cap, halve the window (or the schedule list) and merge.
    const span = until.toMillis() - since.toMillis();
    if (span <= 3_600_000 && ids.length > 1) {
      const half = Math.ceil(ids.length / 2);
      return [
        ...(await fetchOncalls(ids.slice(0, half), since, until)),
        ...(await fetchOncalls(ids.slice(half), since, until)),
      ];
    }
    if (span <= 3_600_000)
      throw new Error("GET /oncalls: more than 10,000 entries in one hour of one schedule");
    const mid = DateTime.fromMillis(since.toMillis() + Math.floor(span / 2), { zone: "utc" });
    return [...(await fetchOncalls(ids, since, mid)), ...(await fetchOncalls(ids, mid, until))];
  }

  /** Schedule id -> true when it is in no escalation policy (learnt by resolveSchedules). */
  const noEscalationPolicy = new Map<string, boolean>();

  /**
   * NOTE: a schedule in no escalation policy never appears in /oncalls; its final schedule (overrides
   * applied) is read instead. `overflow=true` returns entries whole rather than cut at the window.
   */
  async function fetchFinalSchedule(
    id: string,
    since: DateTime,
    until: DateTime,
  ): Promise<{ inEscalationPolicy: boolean; entries: OncallEntry[] }> {
    const body = await get(`/schedules/${encodeURIComponent(id)}`, [
      ["since", formatUtc(since)],
      ["until", formatUtc(until)],
      ["time_zone", "UTC"],
      ["overflow", "true"],
    ]);
    const { name, inEscalationPolicy, entries } = parseFinalSchedule(body, id);
    return {
      inEscalationPolicy,
      entries: entries.map((e) => ({
        user: { id: e.userId, email: null },
        schedule: { id, name },
        level: null,
        start: e.start,
        end: e.end,
      })),
    };
  }

  const lookupEmail = onceEach((userId: string): Promise<string> =>
    get(`/users/${encodeURIComponent(userId)}`, []).then((body) => parseUser(body, userId).email),
  );

  return {
    /** NOTE: `GET /users/me` refuses account API keys; one schedule is the cheapest read both kinds pass. */
    async check() {
      parseSchedulesPage(await get("/schedules", [["limit", "1"]]), "/schedules");
      return "key works";
    },

    /**
     * Ids (upper-case letters and digits) are taken as they are; each name is looked up with
     * `GET /schedules?query=NAME` and must match exactly one schedule (case-insensitive), which also
     * says whether it is in an escalation policy. With `verify`, ids are read too (`validate
     * --online`: they must exist).
     */
    async resolveSchedules(refs, opts) {
      const out = new Map<string, ScheduleRef | { error: string }>();
      await mapLimit(refs, deps.concurrency, async (ref) => {
        if (looksLikeScheduleId(ref)) {
          if (!opts?.verify) return void out.set(ref, { id: ref, name: ref });
          try {
            const s = parseFinalSchedule(await get(`/schedules/${encodeURIComponent(ref)}`, []), ref);
            noEscalationPolicy.set(ref, !s.inEscalationPolicy);
            return void out.set(ref, { id: ref, name: s.name });
          } catch (err) {
            if (err instanceof HttpError && err.status === 404) {
              return void out.set(ref, { error: `no PagerDuty schedule has the id ${ref}` });
            }
            throw err;
          }
        }
        const got = await getAllPages("/schedules", [["query", ref]], parseSchedulesPage);
        const exact = (got === "too-many" ? [] : got).filter(
          (s) => s.name.toLowerCase() === ref.toLowerCase(),
        );
        if (exact.length === 1) {
          const s = exact[0] as ListedSchedule;
          noEscalationPolicy.set(s.id, !s.inEscalationPolicy);
          out.set(ref, { id: s.id, name: s.name });
        } else if (exact.length > 1) {
          out.set(ref, {
            error: `${exact.length} PagerDuty schedules are named "${ref}" (${exact.map((s) => s.id).join(", ")}): use the id`,
          });
        } else {
          out.set(ref, { error: `no PagerDuty schedule is named "${ref}"` });
        }
      });
      return out;
    },

    async fetchShifts(schedules, since, until) {
      const wanted = new Map(schedules.map((s) => [s.id, s]));
      const ids = [...wanted.keys()].filter((id) => !noEscalationPolicy.get(id));
      const outside = [...wanted.keys()].filter((id) => noEscalationPolicy.get(id));
      const chunks: string[][] = [];
      for (let i = 0; i < ids.length; i += IDS_PER_QUERY) chunks.push(ids.slice(i, i + IDS_PER_QUERY));
      const [fromOncalls, fromSchedules] = await Promise.all([
        mapLimit(chunks, deps.concurrency, (chunk) => fetchOncalls(chunk, since, until)),
        mapLimit(
          outside,
          deps.concurrency,
          async (id) => (await fetchFinalSchedule(id, since, until)).entries,
        ),
      ]);
      const entries = [...fromOncalls.flat(), ...fromSchedules.flat()];
      // NOTE: /oncalls never lists a schedule that is in no escalation policy. A schedule given by
      // id that came back empty is read once more, from the schedule itself: its escalation_policies
      // decide (not the empty answer), and the same answer carries its final schedule.
      const seenIds = new Set(entries.flatMap((e) => (e.schedule ? [e.schedule.id] : [])));
      const unknown = ids.filter((id) => !seenIds.has(id) && !noEscalationPolicy.has(id));
      const checked = await mapLimit(unknown, deps.concurrency, (id) => fetchFinalSchedule(id, since, until));
      for (const [i, c] of checked.entries()) {
        noEscalationPolicy.set(unknown[i] as string, !c.inEscalationPolicy);
        if (!c.inEscalationPolicy) entries.push(...c.entries);
      }

      // One entry per (user, schedule, level, start, end): the same shift comes back once per
      // escalation policy that references the schedule.
      const seen = new Set<string>();
      const unique: OncallEntry[] = [];
      for (const e of entries) {
        if (!e.schedule || !wanted.has(e.schedule.id)) continue;
        const key = JSON.stringify([
          e.user.id,
          e.schedule.id,
          e.level,
          e.start?.toMillis() ?? null,
          e.end?.toMillis() ?? null,
        ]);
        if (seen.has(key)) continue;
        seen.add(key);
        unique.push(e);
      }
      const missing = [...new Set(unique.filter((e) => e.user.email === null).map((e) => e.user.id))];
      await mapLimit(missing, deps.concurrency, lookupEmail);
      const shifts: Shift[] = [];
      for (const e of unique) {
        const schedule = e.schedule as { id: string; name: string };
        const name = (wanted.get(schedule.id) as ScheduleRef).name;
        const display = name !== schedule.id ? name : schedule.name || schedule.id;
        shifts.push({
          schedule: { id: schedule.id, name: display },
          level: e.level,
          email: e.user.email ?? (await lookupEmail(e.user.id)),
          // NOTE: a null start or end means "permanent"; the window bounds what we can know.
          start: (e.start ?? since).toMillis(),
          end: (e.end ?? until).toMillis(),
          reason:
            e.level === null
              ? `on call: ${display} (${schedule.id}), in no escalation policy`
              : `on call: ${display} (${schedule.id}) level ${e.level}`,
        });
      }
      return shifts;
    },

    /**
     * NOTE: `date_range=all`, since /incidents otherwise covers only the last month and a long
     * incident would silently drop out. Only acknowledged incidents are open and acknowledged.
     */
    async fetchAcknowledgements(services) {
      const query: [string, string][] = [
        ["statuses[]", "acknowledged"],
        ...services.map((id): [string, string] => ["service_ids[]", id]),
        ["include[]", "acknowledgers"],
        ["date_range", "all"],
        ["time_zone", "UTC"],
      ];
      const got = await getAllPages("/incidents", query, parseIncidentsPage);
      if (got === "too-many") throw new Error("GET /incidents: more than 10,000 acknowledged incidents");
      const acks = got.flat();
      const missing = [...new Set(acks.filter((a) => a.user.email === null).map((a) => a.user.id))];
      await mapLimit(missing, deps.concurrency, lookupEmail);
      return Promise.all(
        acks.map(async (a) => ({
          incident: a.incident,
          email: a.user.email ?? (await lookupEmail(a.user.id)),
          at: a.at,
        })),
      );
    },

    async listSchedules(query) {
      const got = await getAllPages("/schedules", query ? [["query", query]] : [], parseSchedulesPage);
      if (got === "too-many")
        throw new Error("GET /schedules: more than 10,000 schedules; pass --query to narrow the list");
      return got;
    },
  };
}
