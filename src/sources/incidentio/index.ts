import { DateTime } from "luxon";
import { formatUtc } from "../../core/time.js";
import { mapLimit } from "../../infra/pool.js";
import { apiGet, keySource, type ApiSourceConfig } from "../api.js";
import { defineSource } from "../define.js";
import type { ScheduleRef, Shift, Source, SourceDeps } from "../types.js";
import { parseScheduleEntriesPage, parseSchedulesPage, parseUser, type FinalEntry } from "./schema.js";
import { INCIDENTIO_TOKEN_ENV, incidentioSchema, incidentioStarter, normalizeIncidentio } from "./config.js";
import { onceEach } from "../../core/once.js";

export const incidentioSource = defineSource({
  schema: incidentioSchema,
  tokenEnv: INCIDENTIO_TOKEN_ENV,
  features: { incidents: false, escalationLevels: false },
  normalize: normalizeIncidentio,
  create: (config, deps) => createIncidentioSource(config, deps),
  starter: incidentioStarter,
});

/** Schedules per page of `GET /v2/schedules` (its sibling list endpoints take 1 to 250). */
const SCHEDULES_PAGE_SIZE = 100;
/**
 * NOTE: the longest window `GET /v2/schedule_entries` accepts is not documented (its sibling, the
 * preview endpoint, stops at 91 days), so longer windows are read in pieces of at most 90 days.
 * An entry that spans a cut comes back in both pieces and is de-duplicated like any other.
 */
const MAX_WINDOW_MS = 90 * 86_400_000;
/** A guard against a server that keeps handing out new cursors: no real window needs this many pages. */
const MAX_PAGES = 1_000;

export function createIncidentioSource(config: ApiSourceConfig, deps: SourceDeps): Source {
  const headers = { Accept: "application/json", Authorization: `Bearer ${deps.token}` };
  const keyFrom = keySource(config);
  // Say what to do about a key that does not work, not only what the server said.
  const get = apiGet(config, deps, headers, (err) => {
    if (err.status === 401) {
      return new Error(`${err.message}: incident.io did not accept the API key in ${keyFrom}`, {
        cause: err,
      });
    }
    if (err.status === 403) {
      return new Error(
        `${err.message}: the API key in ${keyFrom} may not read this; give it a role that can view schedules and users`,
        { cause: err },
      );
    }
    return null;
  });

  /** Every schedule of the account, read once per run (names and ids both resolve from it). */
  let listing: Promise<ScheduleRef[]> | null = null;
  const listAll = (): Promise<ScheduleRef[]> => {
    listing ??= (async () => {
      const all: ScheduleRef[] = [];
      const seen = new Set<string>();
      let after: string | null = null;
      for (let page = 1; ; page++) {
        const query: [string, string][] = [["page_size", String(SCHEDULES_PAGE_SIZE)]];
        if (after !== null) query.push(["after", after]);
        const got = parseSchedulesPage(await get("/v2/schedules", query), "GET /v2/schedules");
        all.push(...got.items);
        // The last page may still carry a cursor; an empty page ends the list too.
        if (got.after === null || got.items.length === 0) return all;
        if (seen.has(got.after) || page >= MAX_PAGES) {
          throw new Error(`GET /v2/schedules: the pagination cursor did not advance (${short(got.after)})`);
        }
        seen.add(got.after);
        after = got.after;
      }
    })();
    return listing;
  };

  /** The `final` entries of one schedule over one window, following the cursor to the end. */
  async function fetchEntries(
    schedule: ScheduleRef,
    since: DateTime,
    until: DateTime,
  ): Promise<FinalEntry[]> {
    const what = `GET /v2/schedule_entries (schedule ${schedule.id})`;
    const end = formatUtc(until);
    const entries: FinalEntry[] = [];
    const seen = new Set<string>();
    // NOTE: incident.io's paging quirk. The next page is asked for by sending the opaque cursor of
    // `pagination_meta.after` as `entry_window_start`, with the original `entry_window_end`; the
    // last page has no `pagination_meta`.
    let start = formatUtc(since);
    for (let page = 1; ; page++) {
      const got = parseScheduleEntriesPage(
        await get("/v2/schedule_entries", [
          ["schedule_id", schedule.id],
          ["entry_window_start", start],
          ["entry_window_end", end],
        ]),
        what,
      );
      entries.push(...got.entries);
      if (got.after === null) return entries;
      if (got.after === start || seen.has(got.after)) {
        throw new Error(
          `${what}: malformed response: the pagination cursor did not advance (${short(got.after)} came back again)`,
        );
      }
      if (page >= MAX_PAGES) throw new Error(`${what}: more than ${MAX_PAGES} pages of entries; giving up`);
      seen.add(got.after);
      start = got.after;
    }
  }

  /** Emails of users the entries did not embed one for: each user is looked up once per run. */
  const lookupUser = onceEach((id: string) => {
    const path = `/v2/users/${encodeURIComponent(id)}`;
    return get(path, []).then((b) => parseUser(b, `GET ${path}`));
  });

  return {
    async check() {
      parseSchedulesPage(await get("/v2/schedules", [["page_size", "1"]]), "GET /v2/schedules");
      return "key works";
    },

    async resolveSchedules(refs) {
      const all = await listAll();
      const out = new Map<string, ScheduleRef | { error: string }>();
      for (const ref of refs) {
        const byId =
          all.find((s) => s.id === ref) ?? all.find((s) => s.id.toLowerCase() === ref.toLowerCase());
        if (byId) {
          out.set(ref, { id: byId.id, name: byId.name });
          continue;
        }
        const named = all.filter((s) => s.name.toLowerCase() === ref.toLowerCase());
        if (named.length === 1) {
          const s = named[0] as ScheduleRef;
          out.set(ref, { id: s.id, name: s.name });
        } else if (named.length > 1) {
          out.set(ref, {
            error: `${named.length} incident.io schedules are named "${ref}" (${named.map((s) => s.id).join(", ")}): use the id`,
          });
        } else {
          out.set(ref, {
            error: `no incident.io schedule has the id or name "${ref}": \`shiftgrant schedules --source ${config.name}\` lists them`,
          });
        }
      }
      return out;
    },

    async fetchShifts(schedules, since, until) {
      const windows: { since: DateTime; until: DateTime }[] = [];
      for (let t = since.toMillis(); t < until.toMillis(); t += MAX_WINDOW_MS) {
        windows.push({
          since: DateTime.fromMillis(t, { zone: "utc" }),
          until: DateTime.fromMillis(Math.min(t + MAX_WINDOW_MS, until.toMillis()), { zone: "utc" }),
        });
      }
      const jobs = schedules.flatMap((schedule) => windows.map((w) => ({ schedule, ...w })));
      const fetched = await mapLimit(jobs, deps.concurrency, (j) =>
        fetchEntries(j.schedule, j.since, j.until),
      );

      // Whole entries that overlap the window, one per (schedule, user, start, end): a schedule's
      // rotations and layers can put the same person on call twice at once, entries that span a
      // window cut come back twice, and `entry_id` / `fingerprint` are not always there.
      const seen = new Set<string>();
      const kept: { schedule: ScheduleRef; entry: FinalEntry & { user: NonNullable<FinalEntry["user"]> } }[] =
        [];
      fetched.forEach((entries, i) => {
        const schedule = (jobs[i] as (typeof jobs)[number]).schedule;
        for (const e of entries) {
          // An entry with no user is a gap in the rota: no one to grant.
          if (e.user === null || e.end <= e.start || e.end <= since || e.start >= until) continue;
          const key = JSON.stringify([schedule.id, e.user.id, e.start.toMillis(), e.end.toMillis()]);
          if (seen.has(key)) continue;
          seen.add(key);
          kept.push({ schedule, entry: e as (typeof kept)[number]["entry"] });
        }
      });

      const missing = [
        ...new Set(kept.filter((k) => k.entry.user.email === null).map((k) => k.entry.user.id)),
      ];
      await mapLimit(missing, deps.concurrency, lookupUser);
      const shifts: Shift[] = [];
      for (const { schedule, entry } of kept) {
        let email = entry.user.email;
        if (email === null) {
          const found = await lookupUser(entry.user.id);
          if (found.email === null) {
            const who = found.name || entry.user.name;
            throw new Error(
              `incident.io user ${who ? `"${who}" ` : ""}(${entry.user.id}) is on call for "${schedule.name}" but has no email address in incident.io; add one there so that access can be granted`,
            );
          }
          email = found.email;
        }
        shifts.push({
          schedule: { id: schedule.id, name: schedule.name },
          level: null,
          email,
          start: entry.start.toMillis(),
          end: entry.end.toMillis(),
          reason: `on call: ${schedule.name} (incident.io)`,
        });
      }
      return shifts;
    },

    async listSchedules(query) {
      const all = await listAll();
      if (!query) return all;
      const q = query.toLowerCase();
      return all.filter((s) => s.name.toLowerCase().includes(q) || s.id.toLowerCase().includes(q));
    },
  };
}

/** A cursor for an error message: opaque and possibly long. */
function short(cursor: string): string {
  return JSON.stringify(cursor.length > 40 ? `${cursor.slice(0, 40)}…` : cursor);
}
