import { DateTime, FixedOffsetZone } from "luxon";
import type { RuleConfig } from "../config/load.js";
import { formatUtc } from "../config/time.js";
import type { ScheduleRef, Shift } from "../sources/types.js";
import { resolveIdentity } from "./identity.js";
import { mergeIntervals, overlaps, subtractIntervals, type Interval } from "./intervals.js";
import type { Action, ActionKind, HeldGrant, TargetCapabilities } from "./types.js";

export type PlanInput = {
  now: DateTime;
  /** The rules to plan, in config order. */
  rules: readonly RuleConfig[];
  /**
   * The config's other rules, not planned in this run (`--rule`). What they want is unknown, as for a
   * rule whose source failed, so no revoke takes away access they might still want.
   */
  unplannedRules?: readonly RuleConfig[];
  /** Shifts by rule name. A rule whose source failed is absent: it plans nothing, not even a revoke. */
  shifts: ReadonlyMap<string, readonly Shift[]>;
  /** What the ledger says is already granted. */
  held: readonly HeldGrant[];
  identities: ReadonlyMap<string, string>;
  capabilities: (target: string) => TargetCapabilities;
};

type Desired = Interval & { reasons: string[]; shifts: { schedule: ScheduleRef; level: number | null }[] };
type Held = Interval & { rule: string; planned: boolean };

/**
 * Decides every action of a run. Pure: everything comes in as arguments, nothing is read or written.
 *
 * Per (rule, resource, identity): each shift becomes [start − lead, end + grace]; intervals that
 * overlap or touch merge; the start is clipped to now; what is already held is subtracted. What is
 * left is a `grant`, or an `extend` where it continues a held grant. A grant is cut at maxDuration
 * from its start; the rest is issued as an extend by a later run, once the held grant has less than
 * a quarter of maxDuration left (`renewBeforeMs`).
 */
export function planGrants(input: PlanInput): Action[] {
  instants = new Map();
  try {
    return plan(input);
  } finally {
    instants = new Map();
  }
}

function plan(input: PlanInput): Action[] {
  const now = input.now.toMillis();
  const actions: Action[] = [];
  const held = new Map<string, Held[]>();
  for (const h of input.held) {
    if (h.end.toMillis() <= now) continue;
    pushTo(held, grantKey(h.target, h.resource, h.identity), {
      start: h.start.toMillis(),
      end: h.end.toMillis(),
      rule: h.rule,
      planned: false,
    });
  }

  // Pass 1: what every rule wants, so that a revoke never removes what another rule still wants.
  // Only access that a revoking rule holds can be revoked, so only that is indexed.
  const revocable = new Set<string>();
  for (const h of input.held) {
    if (input.rules.some((r) => r.revoke && r.name === h.rule))
      revocable.add(grantKey(h.target, h.resource, h.identity));
  }
  const wanted = new Map<string, Map<string, Desired[]>>();
  const wantedByKey = new Map<string, Interval[]>();
  for (const rule of input.rules) {
    const shifts = input.shifts.get(rule.name);
    if (!shifts) continue;
    const perIdentity = desiredByIdentity(rule, shifts, input.identities, now, actions);
    wanted.set(rule.name, perIdentity);
    if (revocable.size === 0) continue;
    for (const [identity, desired] of perIdentity) {
      for (const resource of rule.resources) {
        const key = grantKey(rule.target, resource, identity);
        if (revocable.has(key)) for (const d of desired) pushTo(wantedByKey, key, d);
      }
    }
  }

  // Pass 2: grants, extends and what is already covered, rule by rule; planned grants count as held
  // for the rules after, so two rules wanting the same access issue one call.
  for (const rule of input.rules) {
    const perIdentity = wanted.get(rule.name);
    if (!perIdentity) continue;
    wanted.delete(rule.name); // what a rule wants is not needed after its turn: let it be collected
    const caps = input.capabilities(rule.target);
    const identities = [...perIdentity.keys()].sort();
    for (const resource of rule.resources) {
      for (const identity of identities) {
        const key = grantKey(rule.target, resource, identity);
        // Actions are built with a literal per kind, not by spreading a shared base: V8 builds spread
        // objects on a slow path, which made most of a large plan's time and memory.
        const make = (
          kind: ActionKind,
          start: number,
          end: number,
          reason: string,
          shifts: Action["shifts"],
        ): Action => ({
          kind,
          rule: rule.name,
          target: rule.target,
          resource,
          identity,
          start: at(start),
          end: at(end),
          reason,
          shifts,
        });
        // This identity's desired intervals are sorted and disjoint, so one sweep over the held
        // grants (sorted by start) finds those near each: linear, however many shifts one person has.
        // Grants planned below for this rule lie inside the interval they were planned for, so they
        // never touch a later one; they are added to `held` for the rules after.
        const candidates = [...(held.get(key) ?? [])].sort((a, b) => a.start - b.start);
        let next = 0;
        let near: Held[] = [];
        const reported = new Set<Held>();
        for (const d of perIdentity.get(identity) ?? []) {
          const reason = d.reasons.join("; ");
          while (next < candidates.length && (candidates[next] as Held).start <= d.end) {
            near.push(candidates[next] as Held);
            next++;
          }
          near = near.filter((h) => h.end >= d.start);
          const heldHere = near;
          for (const h of heldHere) {
            // A held grant that spans two desired intervals (a shift split in two) is reported once.
            if (!h.planned && overlaps(h, d) && !reported.has(h)) {
              reported.add(h);
              actions.push(make("unchanged", h.start, h.end, reason, d.shifts));
            }
          }
          for (const piece of subtractIntervals(d, heldHere)) {
            const continues = heldHere.find((h) => h.end === piece.start);
            const end = rule.maxDurationMs
              ? Math.min(piece.end, piece.start + rule.maxDurationMs)
              : piece.end;
            if (continues && rule.maxDurationMs && piece.start - now > renewBeforeMs(rule.maxDurationMs)) {
              continue; // covered for now: a later run extends it when the held grant nears its end
            }
            const kind = continues ? "extend" : "grant";
            const waits = piece.start > now && !caps.futureStart && !(continues && caps.extendInPlace);
            const action = make(waits ? "wait" : kind, piece.start, end, reason, d.shifts);
            if (waits) {
              action.note = `${rule.target} cannot schedule a grant that starts later; a run after ${formatUtc(piece.start)} issues it`;
            }
            actions.push(action);
            if (!waits) pushTo(held, key, { start: piece.start, end, rule: rule.name, planned: true });
            // Only the first segment of a piece is issued now; the rest continues it in later runs.
            if (end < piece.end) break;
          }
        }
      }
    }
  }

  // What a rule whose source failed wants is unknown, and so is what a rule left out of this run
  // wants (`--rule`); and one held grant may cover several rules (a grant planned for one rule is
  // coverage for the others). So no rule revokes access that such a rule could still want: the same
  // target and resource. The revoke waits for a run that reads every rule sharing that access.
  const unknownWants = new Map<string, string[]>();
  const unread = [
    ...input.rules.filter((r) => !input.shifts.has(r.name)).map((r) => ({ r, why: "its source failed" })),
    ...(input.unplannedRules ?? []).map((r) => ({ r, why: "it was not selected (--rule)" })),
  ];
  for (const { r, why } of unread) {
    for (const resource of r.resources) {
      pushTo(
        unknownWants,
        accessKey(r.target, resource),
        `rule ${r.name} also grants this access and ${why}`,
      );
    }
  }

  // Pass 3: revokes of this rule's own grants that nothing wants any more. Held grants of one key
  // that touch (a grant and its extensions) are revoked with one call.
  for (const rule of input.rules) {
    if (!rule.revoke || !input.shifts.has(rule.name)) continue;
    const caps = input.capabilities(rule.target);
    const mine = new Map<string, HeldGrant[]>();
    for (const h of input.held) {
      if (h.rule !== rule.name || h.target !== rule.target || h.end.toMillis() <= now) continue;
      pushTo(mine, grantKey(h.target, h.resource, h.identity), h);
    }
    for (const [key, list] of mine) {
      const spans = mergeIntervals(
        list.map((h) => ({ start: h.start.toMillis(), end: h.end.toMillis(), grants: [h] })),
        (a, b) => ({ ...a, grants: a.grants.concat(b.grants) }),
      );
      // Both sorted: one sweep finds whether anything still wants each span.
      const want = mergeIntervals(wantedByKey.get(key) ?? []);
      let w = 0;
      for (const span of spans) {
        while (w < want.length && (want[w] as Interval).end <= span.start) w++;
        if (w < want.length && overlaps(want[w] as Interval, span)) continue;
        const first = span.grants[0] as HeldGrant;
        const base = {
          rule: rule.name,
          target: first.target,
          resource: first.resource,
          identity: first.identity,
          start: at(span.start),
          end: at(span.end),
          reason: "no longer on call",
          shifts: [],
        };
        const unknown = unknownWants.get(accessKey(first.target, first.resource));
        if (unknown) {
          actions.push({ ...base, kind: "skip", note: `not revoked in this run: ${unknown.join("; ")}` });
        } else if (caps.revoke) actions.push({ ...base, kind: "revoke", revokes: span.grants });
        else
          actions.push({
            ...base,
            kind: "skip",
            note: `${rule.target} cannot revoke; the grant expires at its end`,
          });
      }
    }
  }

  return sortActions(actions, input.rules);
}

/** A held grant with less than this left is extended by the run that sees it. */
export function renewBeforeMs(maxDurationMs: number): number {
  return maxDurationMs / 4;
}

function desiredByIdentity(
  rule: RuleConfig,
  shifts: readonly Shift[],
  identities: ReadonlyMap<string, string>,
  now: number,
  actions: Action[],
): Map<string, Desired[]> {
  const byIdentity = new Map<string, Desired[]>();
  const bad = new Map<string, Desired[]>();
  const badReason = new Map<string, string>();
  for (const s of shifts) {
    const d: Desired = {
      start: s.start - rule.leadMs,
      end: s.end + rule.graceMs,
      reasons: [s.reason],
      shifts: [{ schedule: s.schedule, level: s.level }],
    };
    if (d.end <= now) continue;
    const id = resolveIdentity(s.email, identities);
    if (id.ok) pushTo(byIdentity, id.identity, d);
    else {
      pushTo(bad, id.identity, d);
      badReason.set(id.identity, id.reason);
    }
  }
  // The Desired objects were made above for this call alone, so merging may grow them in place:
  // a plan of 100,000 shifts then makes no garbage here.
  const merge = (list: Desired[]): Desired[] => {
    list.sort((a, b) => a.start - b.start || a.end - b.end);
    const out: Desired[] = [];
    for (const cur of list) {
      const last = out[out.length - 1];
      if (last && cur.start <= last.end) {
        last.end = Math.max(last.end, cur.end);
        for (const r of cur.reasons) if (!last.reasons.includes(r)) last.reasons.push(r);
        last.shifts.push(...cur.shifts);
      } else {
        out.push(cur);
      }
    }
    for (const d of out) d.start = Math.max(d.start, now);
    return out;
  };
  const out = new Map<string, Desired[]>();
  for (const [identity, list] of byIdentity) out.set(identity, merge(list));
  for (const [identity, list] of bad) {
    for (const d of merge(list)) {
      for (const resource of rule.resources) {
        actions.push({
          kind: "skip",
          rule: rule.name,
          target: rule.target,
          resource,
          identity,
          start: at(d.start),
          end: at(d.end),
          reason: d.reasons.join("; "),
          note: badReason.get(identity) as string,
          badIdentity: true,
          shifts: d.shifts,
        });
      }
    }
  }
  return out;
}

const KIND_ORDER = { skip: 0, unchanged: 1, grant: 2, extend: 3, wait: 4, revoke: 5 } as const;

/** Deterministic order: rule (config order), resource, identity, start, kind. */
function sortActions(actions: Action[], rules: readonly RuleConfig[]): Action[] {
  const ruleIndex = new Map(rules.map((r, i) => [r.name, i]));
  const resIndex = new Map(rules.map((r) => [r.name, new Map(r.resources.map((res, i) => [res, i]))]));
  return actions.sort(
    (a, b) =>
      (ruleIndex.get(a.rule) ?? 0) - (ruleIndex.get(b.rule) ?? 0) ||
      (resIndex.get(a.rule)?.get(a.resource) ?? 1e9) - (resIndex.get(b.rule)?.get(b.resource) ?? 1e9) ||
      cmp(a.resource, b.resource) ||
      cmp(a.identity, b.identity) ||
      a.start.toMillis() - b.start.toMillis() ||
      KIND_ORDER[a.kind] - KIND_ORDER[b.kind],
  );
}

/** One string per (target, resource, identity): NUL cannot occur in any of them (config and identity rules). */
function grantKey(target: string, resource: string, identity: string): string {
  return `${target}\u0000${resource}\u0000${identity}`;
}

function accessKey(target: string, resource: string): string {
  return JSON.stringify([target, resource]);
}

/**
 * Instants of a plan repeat (now, handoff times shared by many people), and a DateTime is immutable:
 * one object per instant keeps a plan of 100,000 shifts small. The cache lives for one planGrants call.
 */
let instants = new Map<number, DateTime>();

function at(ms: number): DateTime {
  let t = instants.get(ms);
  if (!t) {
    t = DateTime.fromMillis(ms, { zone: FixedOffsetZone.utcInstance });
    instants.set(ms, t);
  }
  return t;
}

function pushTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** Plain code-point order: the same on every machine, whatever its locale. */
function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
