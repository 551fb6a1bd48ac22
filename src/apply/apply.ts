import type { Logger } from "../infra/log.js";
import { mapLimit } from "../infra/pool.js";
import { CALL_KINDS, PREEXISTING, type Action } from "../plan/types.js";
import type { ActionResult, Target } from "../targets/types.js";

export type AppliedAction = { action: Action; result: ActionResult };

export type ApplyOptions = {
  /** Called as each action completes, before the next action of its chain starts. */
  onResult?: (applied: AppliedAction) => void | Promise<void>;
  /**
   * Consulted before each call starts: once it returns true, no further call starts. Calls under
   * way finish; the actions not started get no result (they stay `planned`).
   */
  shouldStop?: () => boolean;
};

/**
 * Runs the grants, extends, shortens and revokes of a plan: each target's calls concurrently up to its own
 * bound, targets side by side. Actions on the same access (target, resource, identity) form a chain
 * that runs one at a time, what takes access away first: a revoke that names only the identity and
 * the resource, run beside or after a new grant, would take that grant away too. A failed action
 * does not stop the others, except that a failed revoke keeps the grants chained after it from
 * being made (the next run plans both again, in order).
 */
export async function applyPlan(
  actions: readonly Action[],
  targets: ReadonlyMap<string, { target: Target; concurrency: number }>,
  log: Logger,
  opts: ApplyOptions = {},
): Promise<Map<Action, ActionResult>> {
  const todo = actions.filter((a) => CALL_KINDS.has(a.kind));
  const byTarget = new Map<string, Map<string, Action[]>>();
  for (const a of todo) {
    let chains = byTarget.get(a.target);
    if (!chains) byTarget.set(a.target, (chains = new Map<string, Action[]>()));
    const key = JSON.stringify([a.resource, a.identity]);
    chains.set(key, [...(chains.get(key) ?? []), a]);
  }
  const results = new Map<Action, ActionResult>();
  await Promise.all(
    [...byTarget].map(async ([name, chains]) => {
      const t = targets.get(name);
      await mapLimit([...chains.values()].map(order), t?.concurrency ?? 1, async (chain) => {
        let revokeFailed: string | null = null;
        for (const action of chain) {
          if (opts.shouldStop?.()) return;
          const result: ActionResult =
            revokeFailed !== null && action.kind !== "revoke" && action.kind !== "expire"
              ? {
                  status: "failed",
                  error: `not made: the revoke of the same access before it failed (${revokeFailed}); the next run tries both again`,
                }
              : await call(t?.target, name, action);
          if ((action.kind === "revoke" || action.kind === "expire") && result.status === "failed")
            revokeFailed = result.error;
          results.set(action, result);
          const fields = {
            kind: action.kind,
            rule: action.rule,
            target: name,
            resource: action.resource,
            identity: action.identity,
          };
          if (result.status === "applied")
            log.info("action applied", { ...fields, ...(result.output ? { output: result.output } : {}) });
          else if (result.status === "skipped")
            log.warn("action skipped", { ...fields, reason: result.reason });
          else log.warn("action failed", { ...fields, error: result.error });
          await opts.onResult?.({ action, result });
        }
      });
    }),
  );
  return results;
}

/** Revokes (and expiries) first, then the rest, each group in plan order. */
function order(chain: Action[]): Action[] {
  const removes = (a: Action) => a.kind === "revoke" || a.kind === "expire";
  return [...chain.filter(removes), ...chain.filter((a) => !removes(a))];
}

/**
 * One action's call. An action that changes only the ledger (`noCall`) calls nothing. The first grant
 * of a membership asks the target first whether the identity has the access already: if so nothing
 * is called, and the grant is recorded as pre-existing (never removed).
 */
async function call(target: Target | undefined, name: string, action: Action): Promise<ActionResult> {
  if (action.noCall) return { status: "applied", output: action.noCall };
  if (!target) return { status: "failed", error: `unknown target ${name}` };
  const c = {
    identity: action.identity,
    resource: action.resource,
    start: action.start,
    end: action.end,
    rule: action.rule,
    reason: action.reason,
    ...((action.kind === "grant" || action.kind === "extend") && action.ref ? { ref: action.ref } : {}),
    ...(action.revokes ? { grants: action.revokes } : {}),
  };
  try {
    if (action.kind === "grant" && action.checkFirst && target.hasAccess) {
      const has = await target.hasAccess(action.identity, action.resource);
      if (has.status === "failed")
        return { status: "failed", error: `could not check for existing access: ${has.error}` };
      if (has.status === "member") return { status: "applied", preexisting: true, output: PREEXISTING };
    }
    return action.kind === "grant"
      ? await target.grant(c)
      : action.kind === "extend"
        ? await target.extend(c)
        : action.kind === "shorten"
          ? await target.shorten({ ...c, grants: action.shortens ?? [] })
          : await target.revoke(c);
  } catch (err) {
    return { status: "failed", error: `internal error: ${err instanceof Error ? err.message : String(err)}` };
  }
}
