import type { DateTime } from "luxon";
import type { Config, RuleConfig } from "../config/load.js";
import { MAX_WINDOW_MS } from "../config/window.js";
import type { Logger } from "../infra/log.js";
import { sanitizeReason } from "../core/redact.js";
import { mapLimit } from "../infra/pool.js";
import type { ScheduleRef, Shift, Source } from "../sources/types.js";

export type SourceFailure = { rule: string; source: string; message: string };

export type FetchResult = {
  /** Shifts by rule name; a rule whose source failed is absent. */
  shifts: Map<string, Shift[]>;
  errors: SourceFailure[];
};

/**
 * Fetches the shifts of every rule. Rules that share a source share one fetch: all their schedules
 * go into one query. A failure (after retries) fails every rule of that source, and those rules plan
 * nothing; a schedule name that does not resolve fails only the rules that name it.
 */
export async function fetchRuleShifts(
  config: Config,
  rules: readonly RuleConfig[],
  sources: ReadonlyMap<string, Source>,
  window: { since: DateTime; until: DateTime },
  log: Logger,
  now: DateTime = window.since,
): Promise<FetchResult> {
  const shifts = new Map<string, Shift[]>();
  const errors: SourceFailure[] = [];
  const bySource = new Map<string, RuleConfig[]>();
  const incidentRules = new Map<string, RuleConfig[]>();
  for (const r of rules) {
    const group = r.incidents ? incidentRules : bySource;
    group.set(r.source, [...(group.get(r.source) ?? []), r]);
  }
  await Promise.all(
    [...incidentRules].map(([sourceName, sourceRules]) =>
      fetchIncidentShifts(
        sources.get(sourceName) as Source,
        sourceName,
        sourceRules,
        now,
        shifts,
        errors,
        log,
      ),
    ),
  );

  await mapLimit([...bySource], bySource.size, async ([sourceName, sourceRules]) => {
    const source = sources.get(sourceName) as Source;
    const fail = (r: RuleConfig, message: string) =>
      errors.push({ rule: r.name, source: sourceName, message });
    try {
      const refs = [...new Set(sourceRules.flatMap((r) => r.schedules))];
      const resolved = await source.resolveSchedules(refs);
      const ruleSchedules = new Map<string, ScheduleRef[]>();
      for (const r of sourceRules) {
        const problems: string[] = [];
        const list: ScheduleRef[] = [];
        for (const ref of r.schedules) {
          const got = resolved.get(ref);
          if (!got) problems.push(`schedule "${ref}" was not resolved`);
          else if ("error" in got) problems.push(got.error);
          else list.push(got);
        }
        if (problems.length > 0) fail(r, problems.join("; "));
        else ruleSchedules.set(r.name, list);
      }
      const all = new Map<string, ScheduleRef>();
      for (const list of ruleSchedules.values()) for (const s of list) all.set(s.id, s);
      if (all.size === 0) return;
      const started = Date.now();
      const reach = fetchWindow(window, sourceRules);
      const fetched = cleanReasons(await source.fetchShifts([...all.values()], reach.since, reach.until));
      log.debug("fetched shifts", {
        source: sourceName,
        schedules: all.size,
        shifts: fetched.length,
        ms: Date.now() - started,
      });
      for (const r of sourceRules) {
        const mine = ruleSchedules.get(r.name);
        if (!mine) continue;
        shifts.set(r.name, selectShifts(fetched, new Set(mine.map((s) => s.id)), r.escalationLevels));
      }
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      log.error("source failed; its rules plan nothing", { source: sourceName, error: message });
      for (const r of sourceRules) {
        if (!errors.some((e) => e.rule === r.name)) fail(r, message);
      }
    }
  });
  errors.sort((a, b) => ruleOrder(config, a.rule) - ruleOrder(config, b.rule));
  return { shifts, errors };
}

/** Shifts whose reasons (built from schedule names) are fit for an argv; see sanitizeReason. */
function cleanReasons(shifts: Shift[]): Shift[] {
  return shifts.map((s) => {
    const reason = sanitizeReason(s.reason);
    return reason === s.reason ? s : { ...s, reason };
  });
}

/**
 * What to read for a window: a shift that ended up to `grace` before it still wants access (its
 * grant runs until end + grace), and one that starts up to `lead` after it wants access inside it.
 * Reading only [since, until] would revoke a grant in its grace period and start one late. The
 * read stays within 90 days (what PagerDuty renders): the lead side gives way first.
 */
export function fetchWindow(
  window: { since: DateTime; until: DateTime },
  rules: readonly RuleConfig[],
): { since: DateTime; until: DateTime } {
  const grace = Math.max(0, ...rules.map((r) => r.graceMs));
  const lead = Math.max(0, ...rules.map((r) => r.leadMs));
  const since = window.since.minus({ milliseconds: grace });
  const until = window.until.plus({ milliseconds: lead });
  const cap = since.plus({ milliseconds: MAX_WINDOW_MS });
  return { since, until: until > cap ? cap : until };
}

/**
 * The incident mode: each user who acknowledged a still-open incident on a rule's services is on call
 * from the acknowledgement until maxDuration after now; a later run, seeing the incident still open,
 * extends it; once it is resolved nobody wants the grant any more (revoked with `revoke: true`).
 */
async function fetchIncidentShifts(
  source: Source,
  sourceName: string,
  rules: RuleConfig[],
  now: DateTime,
  shifts: Map<string, Shift[]>,
  errors: SourceFailure[],
  log: Logger,
): Promise<void> {
  try {
    if (!source.fetchAcknowledgements) throw new Error(`source ${sourceName} has no incidents`);
    const services = [...new Set(rules.flatMap((r) => r.incidents?.services ?? []))];
    const acks = await source.fetchAcknowledgements(services);
    log.debug("fetched acknowledgements", {
      source: sourceName,
      services: services.length,
      acknowledgements: acks.length,
    });
    for (const r of rules) {
      const mine = new Set(r.incidents?.services ?? []);
      const until = now.plus({ milliseconds: r.maxDurationMs ?? 4 * 3_600_000 });
      shifts.set(
        r.name,
        acks
          .filter((a) => mine.has(a.incident.serviceId) && a.at < until)
          .map((a) => ({
            schedule: { id: a.incident.id, name: `incident #${a.incident.number}` },
            level: null,
            email: a.email,
            start: a.at.toMillis(),
            end: until.toMillis(),
            reason: sanitizeReason(`acknowledged incident #${a.incident.number}: ${a.incident.title}`),
          })),
      );
    }
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    log.error("source failed; its rules plan nothing", { source: sourceName, error: message });
    for (const r of rules) errors.push({ rule: r.name, source: sourceName, message });
  }
}

/**
 * A rule's shifts: its schedules, its escalation levels (the filter comes first), then one shift per
 * (person, schedule, interval), keeping the lowest level, since a schedule shows up once per
 * escalation policy and level that uses it.
 */
export function selectShifts(
  all: readonly Shift[],
  scheduleIds: Set<string>,
  levels: number[] | null,
): Shift[] {
  const best = new Map<string, Shift>();
  for (const s of all) {
    if (!scheduleIds.has(s.schedule.id)) continue;
    if (levels && (s.level === null || !levels.includes(s.level))) continue;
    const key = JSON.stringify([s.email.trim().toLowerCase(), s.schedule.id, s.start, s.end]);
    const cur = best.get(key);
    if (!cur || (s.level ?? Infinity) < (cur.level ?? Infinity)) best.set(key, s);
  }
  return [...best.values()];
}

function ruleOrder(config: Config, name: string): number {
  return config.rules.findIndex((r) => r.name === name);
}
