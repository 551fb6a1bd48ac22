import { DateTime, FixedOffsetZone } from "luxon";
import type { RuleConfig } from "../config/load.js";
import { formatUtc } from "../core/time.js";
import type { ScheduleRef, Shift } from "../sources/types.js";
import { resolveIdentity } from "../core/identity.js";
import { mergeIntervals, overlaps, subtractIntervals, type Interval } from "./intervals.js";
import type { TargetCapabilities } from "../targets/types.js";
import type { Action, ActionKind, HeldGrant } from "./types.js";

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
  /**
   * The run's window. Its length bounds grants of rules without maxDuration; its end is as far as the
   * sources were read, so a shift that reaches it may go on past it.
   */
  window: { since: DateTime; until: DateTime };
};

/** `open`: a shift behind it reaches the window's end, where some sources cut what they return. */
type Desired = Interval & {
  reasons: string[];
  shifts: { schedule: ScheduleRef; level: number | null }[];
  open: boolean;
};
/**
 * A held grant as pass 2 sees it. `cut`: its rule's own report is the cut (a shorten, or a skip that
 * says why not), not an `unchanged`. `note`: said on its `unchanged` (a grant kept past the shift).
 */
type Held = Interval & { rule: string; planned: boolean; cut?: boolean; note?: string };

/**
 * Decides every action of a run. Pure: everything comes in as arguments, nothing is read or written.
 *
 * Per (rule, resource, identity): each shift becomes [start − lead, end + grace]; intervals that
 * overlap or touch merge; the start is clipped to now; what is already held is subtracted. What is
 * left is a `grant`, or an `extend` where it continues a held grant. A grant is cut at its rule's cap
 * (`grantCapMs`: maxDuration, else the window plus lead and grace) from its start; the rest is issued
 * as an extend by a later run, once the held grant has less than a quarter of the cap left
 * (`renewBeforeMs`). With `revoke: true`, a held grant that nothing wants any more is revoked, and
 * one whose wanted coverage now ends earlier is cut to that end (`planCuts`).
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
  const windowMs = input.window.until.toMillis() - input.window.since.toMillis();
  const actions: Action[] = [];
  // The held grants in force, by (target, resource, identity): as the ledger has them (for the
  // calls and the ledger), and as pass 2 sees them (`view`, which a cut changes).
  const heldByKey = new Map<string, { grant: HeldGrant; view: Held }[]>();
  const held = new Map<string, Held[]>();
  for (const h of input.held) {
    if (h.end.toMillis() <= now) continue;
    const key = grantKey(h.target, h.resource, h.identity);
    const view: Held = { start: h.start.toMillis(), end: h.end.toMillis(), rule: h.rule, planned: false };
    pushTo(heldByKey, key, { grant: h, view });
    pushTo(held, key, view);
  }

  // Pass 1: what every rule wants, so that a revoke or a cut never removes what another rule still
  // wants. Only access that is held can be revoked or cut, so only that is indexed.
  const wanted = new Map<string, Map<string, Desired[]>>();
  const wantedByKey = new Map<string, Desired[]>();
  for (const rule of input.rules) {
    const shifts = input.shifts.get(rule.name);
    if (!shifts) continue;
    const perIdentity = desiredByIdentity(rule, shifts, input, actions, grantCapMs(rule, windowMs));
    wanted.set(rule.name, perIdentity);
    if (held.size === 0) continue;
    for (const [identity, desired] of perIdentity) {
      for (const resource of rule.resources) {
        const key = grantKey(rule.target, resource, identity);
        if (held.has(key)) for (const d of desired) pushTo(wantedByKey, key, d);
      }
    }
  }

  // What a rule whose source failed wants is unknown, and so is what a rule left out of this run
  // wants (`--rule`); and one held grant may cover several rules (a grant planned for one rule is
  // coverage for the others). So no rule revokes or cuts access that such a rule could still want:
  // the same target and resource. That waits for a run that reads every rule sharing that access.
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

  planCuts(input, heldByKey, held, wantedByKey, unknownWants, actions);

  // Pass 2: grants, extends and what is already covered, rule by rule; planned grants count as held
  // for the rules after, so two rules wanting the same access issue one call.
  for (const rule of input.rules) {
    const perIdentity = wanted.get(rule.name);
    if (!perIdentity) continue;
    wanted.delete(rule.name); // what a rule wants is not needed after its turn: let it be collected
    const caps = input.capabilities(rule.target);
    const cap = grantCapMs(rule, windowMs);
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
            // A held grant that spans two desired intervals (a shift split in two) is reported once;
            // one its own rule cuts is reported by the cut.
            if (h.planned || !overlaps(h, d) || reported.has(h) || (h.cut && h.rule === rule.name)) continue;
            reported.add(h);
            const action = make("unchanged", h.start, h.end, reason, d.shifts);
            if (h.note) action.note = h.note;
            actions.push(action);
          }
          for (const piece of subtractIntervals(d, heldHere)) {
            const continues = heldHere.find((h) => h.end === piece.start);
            const end = Math.min(piece.end, piece.start + cap);
            // A continuation that reaches one cap from now or further (a long shift; an incident,
            // always wanted until maxDuration after now) waits until the held grant nears its end: it
            // is then extended about every three quarters of the cap, not by every run. One that ends
            // sooner (a shift that grew) is issued at once.
            if (continues && piece.end >= now + cap && piece.start - now > renewBeforeMs(cap)) continue;
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

  // Pass 3: revokes of this rule's own grants that nothing wants any more. Held grants of one key
  // that touch (a grant and its extensions) are revoked with one call.
  for (const rule of input.rules) {
    if (!rule.revoke || !input.shifts.has(rule.name)) continue;
    const caps = input.capabilities(rule.target);
    for (const [key, spans] of ownSpans(rule, heldByKey)) {
      // Both sorted: one sweep finds whether anything still wants each span.
      const want = mergeIntervals(wantedByKey.get(key) ?? []);
      let w = 0;
      for (const { start, end, grants } of spans) {
        while (w < want.length && (want[w] as Interval).end <= start) w++;
        if (w < want.length && overlaps(want[w] as Interval, { start, end })) continue;
        const first = grants[0] as HeldGrant;
        const base = {
          rule: rule.name,
          target: first.target,
          resource: first.resource,
          identity: first.identity,
          start: at(start),
          end: at(end),
          reason: "no longer on call",
          shifts: [],
        };
        const unknown = unknownWants.get(accessKey(first.target, first.resource));
        if (unknown) {
          actions.push({ ...base, kind: "skip", note: `not revoked in this run: ${unknown.join("; ")}` });
        } else if (caps.revoke) actions.push({ ...base, kind: "revoke", revokes: grants });
        else
          actions.push({
            ...base,
            kind: "skip",
            note: `${rule.target} cannot revoke; the grant expires at its end`,
          });
      }
    }
  }

  // A rule whose source failed plans nothing, but what it holds is reported, kept: a plan that
  // showed nothing for it would read as "nobody is on call" at the very moment nobody knows.
  for (const rule of input.rules) {
    if (input.shifts.has(rule.name)) continue;
    for (const spans of ownSpans(rule, heldByKey).values()) {
      for (const { start, end, grants } of spans) {
        const first = grants[0] as HeldGrant;
        actions.push({
          kind: "unchanged",
          rule: rule.name,
          target: first.target,
          resource: first.resource,
          identity: first.identity,
          start: at(start),
          end: at(end),
          reason: KEPT_ON_SOURCE_FAILURE,
          shifts: [],
        });
      }
    }
  }

  return sortActions(actions, input.rules);
}

/** The reason of a held grant reported for a rule whose source failed: no call, nothing planned. */
const KEPT_ON_SOURCE_FAILURE = "kept: the source failed; nothing planned";

type Span = Interval & { grants: HeldGrant[]; views: Held[] };

/**
 * A rule's own held grants in force, by key, as spans: grants of one key that overlap or touch (a
 * grant and its extensions) make one span, sorted by start.
 */
function ownSpans(
  rule: RuleConfig,
  heldByKey: ReadonlyMap<string, readonly { grant: HeldGrant; view: Held }[]>,
): Map<string, Span[]> {
  const out = new Map<string, Span[]>();
  for (const [key, list] of heldByKey) {
    const mine = list.filter((e) => e.grant.rule === rule.name && e.grant.target === rule.target);
    if (mine.length === 0) continue;
    out.set(
      key,
      mergeIntervals(
        mine.map((e) => ({
          start: e.grant.start.toMillis(),
          end: e.grant.end.toMillis(),
          grants: [e.grant],
          views: [e.view],
        })),
        (a, b) => ({ ...a, grants: a.grants.concat(b.grants), views: a.views.concat(b.views) }),
      ),
    );
  }
  return out;
}

/**
 * A held grant whose wanted coverage now ends earlier than it does (an override handed the rest of
 * the shift to someone else) is cut to the new end: the latest end of what still wants it, lead and
 * grace included, never earlier than now (what wants it has not ended). A gap in the middle is never
 * cut, only the tail; what nothing wants at all is pass 3's revoke; a shift that reaches the
 * window's end is never cut to it (it may go on past what was read).
 *
 * With `revoke: true`: a `shorten` where the target changes the end in place (the same membership
 * then holds the other rules' grants too, so it is never cut before their ends); elsewhere a
 * `revoke` of the held grant, after which pass 2 grants again what is still wanted. Not in this run
 * (a `skip`, with why) when a rule sharing the access was not read, nor on a target that can neither.
 * Without `revoke: true` nothing is cut: the grant's `unchanged` says until when it is kept.
 *
 * Changes `held` (pass 2's view) to what the cut leaves, so that pass 2 plans from it.
 */
function planCuts(
  input: PlanInput,
  heldByKey: ReadonlyMap<string, readonly { grant: HeldGrant; view: Held }[]>,
  held: Map<string, Held[]>,
  wantedByKey: ReadonlyMap<string, readonly Desired[]>,
  unknownWants: ReadonlyMap<string, string[]>,
  actions: Action[],
): void {
  for (const rule of input.rules) {
    if (!input.shifts.has(rule.name)) continue;
    const caps = input.capabilities(rule.target);
    for (const [key, spans] of ownSpans(rule, heldByKey)) {
      for (const span of spans) {
        const still = (wantedByKey.get(key) ?? []).filter((d) => overlaps(d, span));
        // A shift that reaches the window's end may be cut there by its source (Opsgenie's timeline,
        // PagerDuty's rendered schedule): its end is not news that it got shorter.
        if (still.length === 0 || still.some((d) => d.open)) continue;
        const wantedEnd = still.reduce((m, d) => Math.max(m, d.end), 0);
        if (wantedEnd >= span.end) continue;
        const old = formatUtc(span.end);
        if (!rule.revoke) {
          for (const v of span.views) {
            if (v.end > wantedEnd) v.note = `kept until ${old}; shift now ends at ${formatUtc(wantedEnd)}`;
          }
          continue;
        }
        let newEnd = wantedEnd;
        if (caps.shortenInPlace) {
          for (const o of heldByKey.get(key) ?? []) {
            if (o.grant.rule !== rule.name && o.view.start <= span.end && o.view.end > newEnd)
              newEnd = o.view.end;
          }
          if (newEnd >= span.end) continue;
        }
        const first = span.grants[0] as HeldGrant;
        const reasons: string[] = [];
        for (const d of still) for (const r of d.reasons) if (!reasons.includes(r)) reasons.push(r);
        const shifts = still.flatMap((d) => d.shifts);
        const base = {
          rule: rule.name,
          target: first.target,
          resource: first.resource,
          identity: first.identity,
          start: at(span.start),
          reason: reasons.join("; "),
          shifts,
        };
        const unknown = unknownWants.get(accessKey(first.target, first.resource));
        const views = new Set(span.views);
        if (unknown || (!caps.shortenInPlace && !caps.revoke)) {
          for (const v of views) v.cut = true;
          actions.push({
            ...base,
            end: at(span.end),
            kind: "skip",
            note: unknown
              ? `not cut to ${formatUtc(newEnd)} in this run: ${unknown.join("; ")}`
              : `${rule.target} cannot revoke or shorten; the grant expires at its old end, ${old} (shift now ends at ${formatUtc(newEnd)})`,
          });
        } else if (caps.shortenInPlace) {
          for (const v of views) {
            v.cut = true;
            v.end = Math.min(v.end, newEnd);
          }
          // A held extension that starts at or after the new end is cut away whole.
          held.set(
            key,
            (held.get(key) ?? []).filter((h) => !views.has(h) || h.start < newEnd),
          );
          actions.push({
            ...base,
            end: at(newEnd),
            kind: "shorten",
            note: `was until ${old}; shift now ends at ${formatUtc(newEnd)}`,
            shortens: span.grants,
            previousEnd: at(span.end),
          });
        } else {
          // Pass 2 no longer sees the held grant, so it grants again what is still wanted.
          held.set(
            key,
            (held.get(key) ?? []).filter((h) => !views.has(h)),
          );
          actions.push({
            ...base,
            end: at(span.end),
            kind: "revoke",
            reason: `no longer on call after ${formatUtc(newEnd)}`,
            note: "cut: revoked, and what is still wanted is granted again",
            revokes: span.grants,
            shifts: [],
          });
        }
      }
    }
  }
}

/**
 * The longest grant a rule issues at once: its maxDuration, else the window plus lead and grace (the
 * most one shift inside the window can want). A shift that runs longer (a weekly rotation read with a
 * one-day window, a rota typo ending in 2062, an "until 9999" entry) is granted up to the cap and
 * extended by later runs as their windows reach further.
 */
export function grantCapMs(rule: RuleConfig, windowMs: number): number {
  return rule.maxDurationMs ?? windowMs + rule.leadMs + rule.graceMs;
}

/** A held grant with less than this left of its rule's cap is extended by the run that sees it. */
export function renewBeforeMs(capMs: number): number {
  return capMs / 4;
}

function desiredByIdentity(
  rule: RuleConfig,
  shifts: readonly Shift[],
  input: PlanInput,
  actions: Action[],
  capMs: number,
): Map<string, Desired[]> {
  const now = input.now.toMillis();
  const until = input.window.until.toMillis();
  const byIdentity = new Map<string, Desired[]>();
  const bad = new Map<string, Desired[]>();
  const badReason = new Map<string, string>();
  for (const s of shifts) {
    const d: Desired = {
      start: s.start - rule.leadMs,
      end: s.end + rule.graceMs,
      reasons: [s.reason],
      shifts: [{ schedule: s.schedule, level: s.level }],
      open: s.end >= until,
    };
    if (d.end <= now) continue;
    const id = resolveIdentity(s.email, input.identities);
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
        last.open ||= cur.open;
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
          end: at(Math.min(d.end, d.start + capMs)),
          reason: d.reasons.join("; "),
          note: badReason.get(identity),
          badIdentity: true,
          shifts: d.shifts,
        });
      }
    }
  }
  return out;
}

/** A revoke comes before a grant of the same access at the same start: the order they run in. */
const KIND_ORDER = { skip: 0, unchanged: 1, shorten: 2, revoke: 3, grant: 4, extend: 5, wait: 6 } as const;

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
