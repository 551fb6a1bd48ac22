import type { DateTime } from "luxon";
import { formatUtc } from "../../core/time.js";
import type { HttpError } from "../../infra/http.js";
import { mapLimit } from "../../infra/pool.js";
import { apiGet, keySource, type ApiSourceConfig } from "../api.js";
import { defineSource } from "../define.js";
import type { ScheduleRef, Shift, Source, SourceDeps } from "../types.js";
import { MalformedResponse } from "../parse.js";
import {
  parseScheduleList,
  parseTimeline,
  type ListedSchedule,
  type Recipient,
  type TimelinePeriod,
} from "./schema.js";
import { normalizeOpsgenie, OPSGENIE_TOKEN_ENV, opsgenieSchema, opsgenieStarter } from "./config.js";

export const opsgenieSource = defineSource({
  schema: opsgenieSchema,
  tokenEnv: OPSGENIE_TOKEN_ENV,
  features: { incidents: false, escalationLevels: false },
  normalize: normalizeOpsgenie,
  create: (config, deps) => createOpsgenieSource(config, deps),
  starter: opsgenieStarter,
});

const DAY_MS = 86_400_000;
/** Timeline requests for one schedule before giving up (a 90-day window needs one, or a few). */
const MAX_TIMELINE_REQUESTS = 100;

/**
 * Opsgenie (docs/sources.md): `GET /v2/schedules` to resolve names and list schedules, and per
 * schedule `GET /v2/schedules/{id}/timeline` (the final timeline: rotations with overrides and
 * forwarding applied). Auth `Authorization: GenieKey <key>`. A user recipient's `name` is the
 * username, which Opsgenie defines as the user's email, so no user lookups are needed.
 *
 * Team recipients (a team as a rotation participant) are NOT expanded to the team's members: who a
 * team notifies depends on its routing rules (its own schedule, an escalation, or no one), so
 * granting every member would give access to people who are not on call. Such periods grant
 * nobody and are reported with a warning naming the schedule, the team and the times.
 */
export function createOpsgenieSource(config: ApiSourceConfig, deps: SourceDeps): Source {
  const headers = { Authorization: `GenieKey ${deps.token ?? ""}` };
  const keyFrom = keySource(config);
  const get = apiGet(config, deps, headers, explain);

  /** 401 and 403 say what to do about the key; everything else keeps the client's message. */
  function explain(err: HttpError): Error | null {
    if (err.status === 401) {
      return new Error(
        `${err.message} (Opsgenie refused the API key from ${keyFrom}: use the key of an API integration ` +
          `with Read access, and an EU account needs baseUrl https://api.eu.opsgenie.com)`,
      );
    }
    if (err.status === 403) {
      return new Error(
        `${err.message} (the API key may not read this: a team's API integration only reads what its ` +
          `team owns, and the integration must not be restricted from configuration access; use a ` +
          `global API integration with Read access)`,
      );
    }
    return null;
  }

  // One listing per run serves every name lookup (Opsgenie's list has no paging parameters).
  let listing: Promise<ListedSchedule[]> | null = null;
  const listAll = (): Promise<ListedSchedule[]> => {
    listing ??= get("/v2/schedules", []).then((body) => parseScheduleList(body, "GET /v2/schedules"));
    return listing;
  };

  /**
   * The final timeline of one schedule over [since, until]. `date=since` with
   * `interval=<days>&intervalUnit=days` asks for the window plus a day: Opsgenie starts the timeline
   * at the start of the day (in the schedule's time zone) that holds `date`, so up to a day before it.
   *
   * NOTE: the answer's startDate/endDate say what it covers, and that is checked rather than trusted
   * to match the request: the day alignment is inferred from Opsgenie's documented example, not
   * documented, and whether the API caps or trims long intervals is not documented either. If the
   * answer stops before `until`, the rest is asked for from where it stopped; a period cut at that
   * boundary then comes back in two pieces, which the planner joins (they touch).
   * A period running past the timeline's ends may also come back cut at them (unverified; the test
   * fake does this): the cut start is before `since` (the planner clips to now anyway) and the cut
   * end is at or after `until`, so the grant covers the window and later runs extend it.
   */
  async function fetchTimeline(id: string, since: DateTime, until: DateTime) {
    const path = `/v2/schedules/${encodeURIComponent(id)}/timeline`;
    const what = `GET ${path}`;
    const periods: TimelinePeriod[] = [];
    let name: string | null = null;
    let from = since;
    for (let n = 0; n === 0 || from < until; n++) {
      if (n >= MAX_TIMELINE_REQUESTS) {
        throw new Error(
          `${what}: after ${n} requests the timeline still stops at ${formatUtc(from)}, before ${formatUtc(until)}`,
        );
      }
      const days = Math.max(1, Math.ceil((until.toMillis() - from.toMillis()) / DAY_MS)) + 1;
      const t = parseTimeline(
        await get(path, [
          ["identifierType", "id"],
          ["interval", String(days)],
          ["intervalUnit", "days"],
          ["date", formatUtc(from)],
        ]),
        what,
      );
      if (t.start > from) {
        throw new MalformedResponse(
          what,
          `the timeline starts at ${formatUtc(t.start)}, after the date asked for (${formatUtc(from)})`,
        );
      }
      if (t.end <= from) {
        throw new MalformedResponse(
          what,
          `the timeline ends at ${formatUtc(t.end)}, not after the date asked for (${formatUtc(from)})`,
        );
      }
      name ??= t.name;
      periods.push(...t.periods);
      from = t.end;
    }
    return { name, periods };
  }

  return {
    /** The schedule listing (one request, no paging) that name lookups use anyway. */
    async check() {
      const all = await listAll();
      return `key works (it sees ${all.length} schedule${all.length === 1 ? "" : "s"})`;
    },

    async resolveSchedules(refs) {
      const all = await listAll();
      const out = new Map<string, ScheduleRef | { error: string }>();
      for (const ref of refs) {
        const byId = all.find((s) => s.id.toLowerCase() === ref.toLowerCase());
        if (byId) {
          out.set(ref, { id: byId.id, name: byId.name });
          continue;
        }
        const named = all.filter((s) => s.name.toLowerCase() === ref.toLowerCase());
        const only = named[0];
        if (named.length === 1 && only) out.set(ref, { id: only.id, name: only.name });
        else if (named.length > 1) {
          out.set(ref, {
            error: `${named.length} Opsgenie schedules are named "${ref}" (${named.map((s) => s.id).join(", ")}): use the id`,
          });
        } else {
          out.set(ref, {
            error:
              `no Opsgenie schedule has the id or name "${ref}" (of ${all.length} the key can see): ` +
              `run \`shiftgrant schedules --source ${config.name}\` to list them`,
          });
        }
      }
      return out;
    },

    async fetchShifts(schedules, since, until) {
      const timelines = await mapLimit(schedules, deps.concurrency, (s) => fetchTimeline(s.id, since, until));
      const shifts: Shift[] = [];
      const seen = new Set<string>();
      const warned = new Set<string>();
      schedules.forEach((schedule, i) => {
        const t = timelines[i] as Awaited<ReturnType<typeof fetchTimeline>>;
        const name = schedule.name !== schedule.id ? schedule.name : (t.name ?? schedule.id);
        for (const p of t.periods) {
          // Whole periods that overlap the window; an empty one grants nothing.
          if (!(p.end > since && p.start < until && p.end > p.start)) continue;
          const users = recipientsOf(p);
          if (users === "nobody") continue;
          if (!Array.isArray(users)) {
            const key = JSON.stringify([schedule.id, users.type, users.id ?? users.name]);
            if (!warned.has(key)) {
              warned.add(key);
              deps.log.warn(
                "an Opsgenie schedule has a participant that is not a user: nobody is granted for its periods",
                {
                  source: config.name,
                  schedule: `${name} (${schedule.id})`,
                  rotation: p.rotation,
                  participant: `${users.type} ${users.name ?? users.id ?? "(unnamed)"}`,
                  start: formatUtc(p.start),
                  end: formatUtc(p.end),
                  fix:
                    users.type === "team"
                      ? "who a team notifies depends on its routing rules; put users in the rotation, or name the team's own schedule in the rule"
                      : "put users in the rotation",
                },
              );
            }
            continue;
          }
          for (const email of users) {
            const k = JSON.stringify([schedule.id, email, p.start.toMillis(), p.end.toMillis()]);
            if (seen.has(k)) continue;
            seen.add(k);
            shifts.push({
              schedule: { id: schedule.id, name },
              level: null,
              email,
              start: p.start.toMillis(),
              end: p.end.toMillis(),
              reason: `on call: ${name} (opsgenie)`,
            });
          }
        }
      });
      return shifts;

      /**
       * The usernames (emails) a period puts on call: its user recipient; for a `historical` period
       * whose recipient is not a user, the users it was flattened to. A `none` participant (or no
       * recipient) is nobody. Anything else (a team, an escalation) is returned to be reported.
       */
      function recipientsOf(p: TimelinePeriod): string[] | "nobody" | Recipient {
        const r = p.recipient;
        if (r?.type === "user" && r.name !== null) return [r.name];
        const flat = p.flattened
          .filter((f) => f.type === "user" && f.name !== null)
          .map((f) => f.name as string);
        if (flat.length > 0) return flat;
        if (r === null || r.type === "none") return "nobody";
        return r;
      }
    },

    async listSchedules(query) {
      const all = await listAll();
      const q = query?.toLowerCase() ?? "";
      return all
        .filter((s) => q === "" || s.name.toLowerCase().includes(q) || s.id.toLowerCase() === q)
        .map((s) => ({ id: s.id, name: s.name }));
    },
  };
}
