import { DateTime } from "luxon";
import { formatUtc } from "../core/time.js";
import type { SourceFailure } from "../fetch/fetch.js";
import { eventId, type NotifyEvent } from "../notify/event.js";
import type { Action } from "../plan/types.js";
import type { NoticeRecord } from "../state/ledger.js";
import type { ActionResult } from "../targets/types.js";

/** A notification is kept this long after the end of what it tells of: as long as ended grants. */
const KEEP_MS = 7 * 86_400_000;

/** What became of an action, as the events see it: a result, or `overdue` for an expiry not made. */
export type Outcome = ActionResult | { status: "overdue" } | { status: "badIdentity" };

/**
 * The event an action's outcome tells of, or null. The id holds no start for `failed`: a grant that
 * fails run after run starts at each run's now, and must be told once, not every 15 minutes.
 */
export function actionEvent(a: Action, outcome: Outcome, now: DateTime): NotifyEvent | null {
  const base = {
    at: formatUtc(now),
    rule: a.rule,
    target: a.target,
    resource: a.resource,
    // A bad identity came from a source unchecked: it is kept short (the ledger keeps the event).
    identity: clip(a.identity),
    start: formatUtc(a.start),
    end: formatUtc(a.end),
    reason: a.reason,
  };
  const facts = [a.target, a.resource, a.identity, base.start, base.end];
  switch (outcome.status) {
    case "applied": {
      if (outcome.preexisting) return null;
      const type =
        a.kind === "grant" || a.kind === "extend" || a.kind === "shorten"
          ? "granted"
          : a.kind === "revoke" || a.kind === "expire"
            ? "ended"
            : null;
      if (!type) return null;
      return { id: eventId([type, a.kind, ...facts]), type, kind: a.kind, ...base };
    }
    case "failed":
      return { id: failedId(a.kind, a), type: "failed", kind: a.kind, ...base, error: clip(outcome.error) };
    case "skipped":
      return { id: failedId("skip", a), type: "failed", kind: "skip", ...base, error: clip(outcome.reason) };
    case "badIdentity":
      return {
        id: failedId("skip", a),
        type: "failed",
        kind: "skip",
        ...base,
        error: clip(a.note ?? "not a valid identity"),
      };
    case "overdue":
      return { id: failedId("overdue", a), type: "failed", kind: "overdue", ...base };
  }
}

/** Longest text an event carries in one field: an error can hold a tool's whole output. */
const MAX_FIELD = 1000;

function clip(text: string): string {
  return text.length <= MAX_FIELD ? text : `${text.slice(0, MAX_FIELD - 1)}…`;
}

function failedId(kind: string, a: Action): string {
  return eventId(["failed", kind, a.rule, a.target, a.resource, a.identity, formatUtc(a.end)]);
}

/** A rule whose source failed: told once per UTC day while it keeps failing. */
export function sourceEvent(f: SourceFailure, now: DateTime): NotifyEvent {
  return {
    id: eventId(["failed", "source", f.source, f.rule, now.toUTC().toISODate() ?? ""]),
    type: "failed",
    kind: "source",
    at: formatUtc(now),
    rule: f.rule,
    source: f.source,
    error: clip(f.message),
  };
}

/** One per run that changed access: how many grants, ends and failures it told of. */
export function summaryEvent(
  events: readonly NotifyEvent[],
  now: DateTime,
  runId: string,
): NotifyEvent | null {
  const n = (t: NotifyEvent["type"]) => events.filter((e) => e.type === t).length;
  const counts = { granted: n("granted"), ended: n("ended"), failed: n("failed") };
  if (counts.granted + counts.ended === 0) return null;
  return { id: eventId(["summary", runId]), type: "summary", kind: "run", at: formatUtc(now), counts };
}

/** The notice the ledger keeps for an event, pending for the outlets that want it (null: none does). */
export function noticeFor(e: NotifyEvent, outlets: readonly string[], now: DateTime): NoticeRecord | null {
  if (outlets.length === 0) return null;
  const end = e.end ? Math.max(Date.parse(e.end), now.toMillis()) : now.toMillis();
  return {
    event: e,
    pending: [...outlets],
    done: [],
    keepUntil: DateTime.fromMillis(end + KEEP_MS, { zone: "utc" }),
  };
}
