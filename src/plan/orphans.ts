import type { DateTime } from "luxon";
import type { HeldGrant } from "./types.js";

/** Held grants in force of one target or rule that the config no longer names. */
export type OrphanedGrants = {
  kind: "target" | "rule";
  name: string;
  count: number;
  /** One line for the logs and the report, saying what happens and what to do. */
  message: string;
};

/**
 * Held grants in force whose target or rule the config no longer names: a renamed (or removed)
 * target or rule. The plan matches held grants by target name, so a renamed target's grants count
 * for nothing: every one of them is issued again under the new name, and the old ones are never
 * extended, cut or revoked. A renamed rule's grants still count as held access, but no rule revokes
 * or cuts them. Nothing is guessed (a removed target looks the same as a renamed one): each is a
 * warning that says how to carry the ledger over. Pure.
 */
export function findOrphanedGrants(
  held: readonly HeldGrant[],
  config: { targets: ReadonlySet<string>; rules: ReadonlySet<string> },
  now: DateTime,
  stateFile: string,
): OrphanedGrants[] {
  const byTarget = new Map<string, number>();
  const byRule = new Map<string, number>();
  for (const g of held) {
    if (g.end.toMillis() <= now.toMillis()) continue;
    if (!config.targets.has(g.target)) byTarget.set(g.target, (byTarget.get(g.target) ?? 0) + 1);
    else if (!config.rules.has(g.rule)) byRule.set(g.rule, (byRule.get(g.rule) ?? 0) + 1);
  }
  const grants = (n: number) => `${n} grant${n === 1 ? "" : "s"}`;
  const out: OrphanedGrants[] = [];
  for (const [name, count] of [...byTarget].sort(([a], [b]) => cmp(a, b))) {
    out.push({
      kind: "target",
      name,
      count,
      message:
        `the ledger ${stateFile} holds ${grants(count)} in force on target "${name}", which the config no longer has: ` +
        `they are never extended, cut or revoked, and if the target was renamed, this run grants the same access again under the new name. ` +
        `To carry them over, stop scheduled runs, replace "target": "${name}" by the new name in the ledger, then run again.`,
    });
  }
  for (const [name, count] of [...byRule].sort(([a], [b]) => cmp(a, b))) {
    out.push({
      kind: "rule",
      name,
      count,
      message:
        `the ledger ${stateFile} holds ${grants(count)} in force of rule "${name}", which the config no longer has: ` +
        `they still count as held access, but no rule revokes or cuts them. ` +
        `If the rule was renamed, stop scheduled runs, replace "rule": "${name}" by the new name in the ledger, then run again.`,
    });
  }
  return out;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
