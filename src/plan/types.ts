import type { DateTime } from "luxon";
import type { ScheduleRef } from "../sources/types.js";

export type ActionKind = "grant" | "extend" | "shorten" | "revoke" | "unchanged" | "wait" | "skip";

/** The kinds that make a call to a target (and so count as changes for --max-changes). */
export const CALL_KINDS: ReadonlySet<ActionKind> = new Set(["grant", "extend", "shorten", "revoke"]);
export type ActionStatus = "planned" | "applied" | "failed" | "skipped";

/** One thing the run does (or deliberately does not do) for one (rule, resource, identity). */
export type Action = {
  kind: ActionKind;
  rule: string;
  target: string;
  resource: string;
  identity: string;
  start: DateTime;
  end: DateTime;
  reason: string;
  /** Why a `skip` or `wait` is one; for a `shorten` or a kept `unchanged`, the end it had or keeps. */
  note?: string;
  /** A skip because the identity is not a plain email: the run exits 4. */
  badIdentity?: boolean;
  /** For a revoke: the held grants it ends (the ledger drops them once it is applied). */
  revokes?: HeldGrant[];
  /** For a shorten: the held grants it cuts to `end` (the ledger moves their end once it is applied). */
  shortens?: HeldGrant[];
  /** For a shorten: the end the held grant had before. */
  previousEnd?: DateTime;
  /** The shifts behind the action, for the audit log. */
  shifts: { schedule: ScheduleRef; level: number | null }[];
};

/** A grant the ledger says was issued: the plan subtracts these from what should exist. */
export type HeldGrant = {
  target: string;
  resource: string;
  identity: string;
  rule: string;
  start: DateTime;
  end: DateTime;
};
