import type { DateTime } from "luxon";
import type { ScheduleRef } from "../sources/types.js";
import type { GrantRef } from "../targets/types.js";

export type { GrantRef };

export type ActionKind = "grant" | "extend" | "shorten" | "revoke" | "expire" | "unchanged" | "wait" | "skip";

/** Every kind, in the order summaries and metrics list them. */
export const ACTION_KINDS: readonly ActionKind[] = [
  "grant",
  "extend",
  "shorten",
  "revoke",
  "expire",
  "unchanged",
  "wait",
  "skip",
];

/** The kinds that apply runs (a call to a target, or a ledger-only change: see `Action.noCall`). */
export const CALL_KINDS: ReadonlySet<ActionKind> = new Set([
  "grant",
  "extend",
  "shorten",
  "revoke",
  "expire",
]);

/**
 * Whether an action counts for `--max-changes`: a call that changes access. An expiry never does (it
 * only ends what was due to end), nor does a change the ledger records without a call.
 */
export function countsAsChange(a: Pick<Action, "kind" | "noCall">): boolean {
  return CALL_KINDS.has(a.kind) && a.kind !== "expire" && !a.noCall;
}

/** Why pre-existing access is neither granted, extended, cut nor removed. */
export const PREEXISTING = "already has this access outside shiftgrant; left alone";

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
  /**
   * Why a `skip` or `wait` is one; for a `shorten` or a kept `unchanged`, the end it had or keeps; for
   * a `grant` that approves an access request, which one.
   */
  note?: string;
  /** A skip because the identity is not a plain email: the run exits 4. */
  badIdentity?: boolean;
  /** For a revoke: the held grants it ends (the ledger drops them once it is applied). */
  revokes?: HeldGrant[];
  /** For a shorten: the held grants it cuts to `end` (the ledger moves their end once it is applied). */
  shortens?: HeldGrant[];
  /** For a shorten: the end the held grant had before. */
  previousEnd?: DateTime;
  /**
   * Applied without a call to the target: only the ledger changes (an extension or a cut of a
   * membership the target does not end by itself, the continuation of pre-existing access).
   */
  noCall?: string;
  /**
   * A grant that would start a membership (none held) on a target that can tell whether the identity
   * has the access already: apply asks it first, and leaves pre-existing access alone.
   */
  checkFirst?: boolean;
  /** Recorded as pre-existing access (never removed): the continuation of such a grant. */
  preexisting?: boolean;
  /** For an extend or a cut: the target's ref of the grant it continues, kept with the new one. */
  ref?: GrantRef;
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
  /**
   * The identity had this access before shiftgrant would have granted it: no call was made, and no
   * run removes, cuts or expires it.
   */
  preexisting?: boolean;
  ref?: GrantRef;
};
