import type { DateTime } from "luxon";
import type { HttpClient } from "../infra/http.js";
import type { Logger } from "../infra/log.js";

/** One person on call for one schedule over one interval, as a source reports it. Times are UTC. */
export type Shift = {
  /** The schedule as the source names it: id and display name. */
  schedule: { id: string; name: string };
  /** Escalation level (PagerDuty); null where the source has no levels. */
  level: number | null;
  /** The email exactly as the source gave it: not yet trimmed, lower-cased or mapped. */
  email: string;
  /**
   * Milliseconds since the epoch (UTC). Not luxon DateTimes: a DateTime takes some 675 bytes, and a
   * large org's shifts number in the hundred thousands; sources parse with luxon and hand over numbers.
   */
  start: number;
  end: number;
  /** Why this person gets access, for the plan, the target and the audit log. */
  reason: string;
};

export type ScheduleRef = { id: string; name: string };

/** What every source can do. Sources return data; they never plan, log the world or exit. */
export type Source = {
  /**
   * One cheap read with the source's key (for a file, reading and parsing it), whatever the rules use
   * the source for: `validate --online` proves with it that a run can read the source. Resolves to
   * what it proved, for the checklist; rejects with the error a run would meet.
   */
  check(): Promise<string>;
  /**
   * Resolves the schedules a config names (ids or exact names) to ids. Unresolvable names are
   * errors. With `verify`, ids are checked to exist too, where that costs a request (`validate --online`).
   */
  resolveSchedules(
    refs: string[],
    opts?: { verify?: boolean },
  ): Promise<Map<string, ScheduleRef | { error: string }>>;
  /** All shifts of these schedules overlapping [since, until], whole (a shift may start before since). */
  fetchShifts(schedules: ScheduleRef[], since: DateTime, until: DateTime): Promise<Shift[]>;
  /** Lists schedules, for `shiftgrant schedules`. */
  listSchedules(query?: string): Promise<ScheduleRef[]>;
  /** The incident mode (pagerduty): who acknowledged a still-open incident on these services. */
  fetchAcknowledgements?(services: string[]): Promise<Acknowledgement[]>;
};

/** One person's acknowledgement of an open incident. */
export type Acknowledgement = {
  incident: { id: string; number: number; title: string; serviceId: string };
  email: string;
  at: DateTime;
};

export type SourceDeps = {
  http: HttpClient;
  /** The source's token (null for sources that need none). */
  token: string | null;
  /** Requests in flight at once. */
  concurrency: number;
  log: Logger;
};
