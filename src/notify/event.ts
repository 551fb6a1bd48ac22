import { createHash } from "node:crypto";

/**
 * What shiftgrant tells people about: access given or extended (`granted`), access taken away
 * (`ended`), something that went wrong (`failed`), and one `summary` per run that changed something.
 * An event is plain data built from run-independent facts, so that the same fact always has the same
 * `id`: receivers de-duplicate on it, and the ledger remembers which ids each channel received.
 */
export type NotifyEventType = "granted" | "ended" | "failed" | "summary";

export const NOTIFY_EVENT_TYPES: readonly NotifyEventType[] = ["granted", "ended", "failed", "summary"];

/**
 * `kind` says what happened within the type: an action's kind (`grant`, `extend`, `shorten`,
 * `revoke`, `expire`, `skip`), `source` (a source failed) or `overdue` (an expiry not made), and
 * `run` for a summary. Times are UTC RFC 3339 strings; every field but `id`, `type`, `kind` and `at`
 * is there only where it applies.
 */
export type NotifyEvent = {
  id: string;
  type: NotifyEventType;
  kind: string;
  /** When the run that saw it ran. */
  at: string;
  rule?: string;
  target?: string;
  resource?: string;
  identity?: string;
  start?: string;
  end?: string;
  reason?: string;
  error?: string;
  source?: string;
  /** A summary's counts: granted, ended, failed. */
  counts?: { granted: number; ended: number; failed: number };
};

/** The id: a hash of the facts that make the event what it is, never of the run that saw it. */
export function eventId(facts: readonly string[]): string {
  return createHash("sha256").update(JSON.stringify(facts)).digest("hex").slice(0, 24);
}

export const EVENT_ID = /^[0-9a-f]{24}$/;
