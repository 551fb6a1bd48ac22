import type { DateTime } from "luxon";
import type { HeldGrant } from "./types.js";

/** A grant the ledger holds now, as `shiftgrant grants` shows it. */
export type HeldRow = {
  grant: HeldGrant;
  /** Its end has passed on a target that does not end access by itself, and nothing else covers it: an expiry is due. */
  overdue: boolean;
};

/**
 * What the ledger holds now: every grant that has not ended, and every ended one a target still holds
 * until shiftgrant expires it (overdue, unless another grant of the same access still covers now).
 * Sorted by target, resource, identity, start. Pure.
 */
export function listHeld(
  grants: readonly HeldGrant[],
  expires: (target: string) => boolean,
  now: DateTime,
): HeldRow[] {
  const t = now.toMillis();
  const key = (g: HeldGrant) => JSON.stringify([g.target, g.resource, g.identity]);
  const covered = new Set(grants.filter((g) => g.start.toMillis() <= t && g.end.toMillis() > t).map(key));
  const rows: HeldRow[] = [];
  for (const g of grants) {
    if (g.end.toMillis() > t) rows.push({ grant: g, overdue: false });
    else if (!expires(g.target) && !g.preexisting && !covered.has(key(g)))
      rows.push({ grant: g, overdue: true });
  }
  return rows.sort(
    (a, b) =>
      cmp(a.grant.target, b.grant.target) ||
      cmp(a.grant.resource, b.grant.resource) ||
      cmp(a.grant.identity, b.grant.identity) ||
      a.grant.start.toMillis() - b.grant.start.toMillis(),
  );
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
