import type { Logger } from "../infra/log.js";
import { mapLimit } from "../infra/pool.js";
import { CALL_KINDS, type Action } from "../plan/types.js";
import type { ActionResult, Target } from "../targets/types.js";

export type AppliedAction = { action: Action; result: ActionResult };

/**
 * Runs the grants, extends, shortens and revokes of a plan: each target's calls concurrently up to
 * its own bound, targets side by side. A failed action does not stop the others; results keep plan
 * order.
 */
export async function applyPlan(
  actions: readonly Action[],
  targets: ReadonlyMap<string, { target: Target; concurrency: number }>,
  log: Logger,
  onResult?: (applied: AppliedAction) => void | Promise<void>,
): Promise<Map<Action, ActionResult>> {
  const todo = actions.filter((a) => CALL_KINDS.has(a.kind));
  const byTarget = new Map<string, Action[]>();
  for (const a of todo) byTarget.set(a.target, [...(byTarget.get(a.target) ?? []), a]);
  const results = new Map<Action, ActionResult>();
  await Promise.all(
    [...byTarget].map(async ([name, list]) => {
      const t = targets.get(name);
      await mapLimit(list, t?.concurrency ?? 1, async (action) => {
        let result: ActionResult;
        if (!t) result = { status: "failed", error: `unknown target ${name}` };
        else {
          const call = {
            identity: action.identity,
            resource: action.resource,
            start: action.start,
            end: action.end,
            rule: action.rule,
            reason: action.reason,
            ...(action.revokes ? { grants: action.revokes } : {}),
          };
          try {
            result =
              action.kind === "grant"
                ? await t.target.grant(call)
                : action.kind === "extend"
                  ? await t.target.extend(call)
                  : action.kind === "shorten"
                    ? await t.target.shorten({ ...call, grants: action.shortens ?? [] })
                    : await t.target.revoke(call);
          } catch (err) {
            result = {
              status: "failed",
              error: `internal error: ${err instanceof Error ? err.message : String(err)}`,
            };
          }
        }
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
        else log.warn("action failed", { ...fields, error: result.error });
        await onResult?.({ action, result });
      });
    }),
  );
  return results;
}
