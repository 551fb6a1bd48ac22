import { DateTime, FixedOffsetZone } from "luxon";
import type { RuleConfig } from "../config/load.js";
import { formatUtc } from "../core/time.js";
import type { ScheduleRef, Shift } from "../sources/types.js";
import { IDENTITY_KINDS, resolveIdentity } from "../core/identity.js";
import { mergeIntervals, overlaps, subtractIntervals, type Interval } from "./intervals.js";
import type { AccessRequest, TargetCapabilities } from "../targets/types.js";
import { PREEXISTING, type Action, type ActionKind, type GrantRef, type HeldGrant } from "./types.js";

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
  /** Each target's own identity map (applied after `identities`), by target name. */
  targetIdentities?: ReadonlyMap<string, ReadonlyMap<string, string>>;
  /** What each target can do: every target the ledger or a rule names (expiries need all of them). */
  capabilities: (target: string) => TargetCapabilities;
  /**
   * The members each `exclusive` resource has now, as its target listed them. Every identity listed
   * that should not have the access now is revoked.
   */
  members?: readonly { target: string; resource: string; identities: readonly string[] }[];
  /**
   * The access requests listed in this run by each target that approves them (`approvesRequests`). A
   * target absent here (its listing failed) approves nothing new in this run; what it holds goes on.
   */
  requests?: ReadonlyMap<string, readonly AccessRequest[]>;
  /**
   * The `exclusive` resources of every target, listed or not: shiftgrant owns their whole
   * membership, so there is no pre-existing access there (nothing is checked before a grant, and a
   * grant recorded as pre-existing is one like any other).
   */
  exclusive?: readonly { target: string; resource: string }[];
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
type Held = Interval & {
  rule: string;
  planned: boolean;
  cut?: boolean;
  note?: string;
  /** The ledger's grant behind it (none for a grant planned in this run). */
  grant?: HeldGrant;
};

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
 *
 * On a target that does not end grants by itself (`expires: false`), each held grant whose end has
 * passed is `expire`d, and on a target that holds memberships one membership serves every rule and
 * shift that wants it: it is removed (by one revoke or expire) only when nothing held or wanted
 * covers now (`planMemberships`). Pre-existing access is never removed, cut or expired.
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
  const capsCache = new Map<string, TargetCapabilities>();
  const capsOf = (target: string): TargetCapabilities => {
    let c = capsCache.get(target);
    if (!c) capsCache.set(target, (c = input.capabilities(target)));
    return c;
  };
  // On a target that approves requests, each request is its own access: two requests of one person
  // for the same roles are two grants, each undone by itself.
  const heldKey = (h: HeldGrant): string =>
    capsOf(h.target).approvesRequests && h.ref?.request !== undefined
      ? grantKey(h.target, requestSlot(h.ref.request), h.identity)
      : grantKey(h.target, h.resource, h.identity);
  // What the access system holds, by key, for the targets that do not end grants by themselves: a
  // grant whose end has passed is there until it is expired.
  const present = new Map<string, HeldGrant[]>();
  const exclusive = new Set(
    [...(input.exclusive ?? []), ...(input.members ?? [])].map((e) => accessKey(e.target, e.resource)),
  );
  // Who each listed (exclusive) resource has as members now, by key.
  const listed = new Set(
    (input.members ?? []).flatMap((m) => m.identities.map((id) => grantKey(m.target, m.resource, id))),
  );
  for (const h of ownedWhole(input.held, exclusive)) {
    const key = heldKey(h);
    const inForce = h.end.toMillis() > now;
    if (!capsOf(h.target).expires && !h.preexisting) pushTo(present, key, h);
    if (!inForce) continue;
    const view: Held = {
      start: h.start.toMillis(),
      end: h.end.toMillis(),
      rule: h.rule,
      planned: false,
      grant: h,
    };
    if (h.preexisting) view.note = PREEXISTING;
    pushTo(heldByKey, key, { grant: h, view });
    pushTo(held, key, view);
  }

  // Pass 1: what every rule wants, so that a revoke or a cut never removes what another rule still
  // wants. Only access that is held can be revoked or cut, so only that is indexed.
  const wanted = new Map<string, Map<string, Desired[]>>();
  const wantedByKey = new Map<string, Desired[]>();
  const slotsOf = new Map<string, Slot[]>();
  for (const rule of input.rules) {
    const shifts = input.shifts.get(rule.name);
    if (!shifts) continue;
    const perIdentity = desiredByIdentity(rule, shifts, input, actions, grantCapMs(rule, windowMs));
    wanted.set(rule.name, perIdentity);
    const slots = capsOf(rule.target).approvesRequests
      ? requestSlots(rule, perIdentity, input, heldKey)
      : resourceSlots(rule, perIdentity);
    slotsOf.set(rule.name, slots);
    if (held.size === 0 && present.size === 0) continue;
    for (const slot of slots) {
      const key = grantKey(rule.target, slot.resource, slot.identity);
      if (held.has(key) || present.has(key)) for (const d of slot.desired) pushTo(wantedByKey, key, d);
    }
  }
  actions.push(...unapprovedRequests(input, wanted, capsOf));

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

  // A request's resource is its roles: a rule not read that grants any of them could still want it.
  const unknownOf = (target: string, resource: string): string[] | undefined => {
    if (!capsOf(target).approvesRequests) return unknownWants.get(accessKey(target, resource));
    const all = resource.split(",").flatMap((role) => unknownWants.get(accessKey(target, role)) ?? []);
    return all.length > 0 ? [...new Set(all)] : undefined;
  };

  planCuts(input, heldByKey, held, wantedByKey, unknownOf, actions);

  // Pass 2: grants, extends and what is already covered, rule by rule; planned grants count as held
  // for the rules after, so two rules wanting the same access issue one call.
  for (const rule of input.rules) {
    const slots = slotsOf.get(rule.name);
    if (!slots) continue;
    // What a rule wants is not needed after its turn: let it be collected.
    wanted.delete(rule.name);
    slotsOf.delete(rule.name);
    const caps = input.capabilities(rule.target);
    const cap = grantCapMs(rule, windowMs);
    for (const { resource: slot, shown: resource, identity, desired, ref } of slots) {
      const key = grantKey(rule.target, slot, identity);
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
      for (const d of desired) {
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
          // A membership whose grants ended but was not expired yet is still there: what is wanted
          // from now continues it.
          const continues =
            heldHere.find((h) => h.end === piece.start) ??
            (!caps.expires && piece.start === now && present.has(key) ? STILL_PRESENT : undefined);
          const end = Math.min(piece.end, piece.start + cap);
          // A continuation that reaches one cap from now or further (a long shift; an incident,
          // always wanted until maxDuration after now) waits until the held grant nears its end: it
          // is then extended about every three quarters of the cap, not by every run. One that ends
          // sooner (a shift that grew) is issued at once.
          if (continues && piece.end >= now + cap && piece.start - now > renewBeforeMs(cap)) continue;
          const kind = continues ? "extend" : "grant";
          // An extension of a membership the target does not end makes no call, so it need not wait.
          const waits =
            piece.start > now && !caps.futureStart && !(continues && (caps.extendInPlace || !caps.expires));
          const action = make(waits ? "wait" : kind, piece.start, end, reason, d.shifts);
          if (waits) {
            action.note = caps.expires
              ? `${rule.target} cannot schedule a grant that starts later; a run after ${formatUtc(piece.start)} issues it`
              : `${rule.target} does not end access by itself, so nothing is granted before its start; a run after ${formatUtc(piece.start)} issues it`;
          } else if (continues) {
            const from =
              continues.grant ?? (continues === STILL_PRESENT ? present.get(key)?.at(-1) : undefined);
            if (from?.ref) action.ref = from.ref;
            if (from?.preexisting) {
              action.preexisting = true;
              action.noCall = PREEXISTING;
            } else if (!caps.expires) {
              action.noCall = `no call: ${rule.target} keeps the access until shiftgrant expires it; the ledger records the new end`;
            }
          } else if (!caps.expires && listed.has(key) && !present.has(key)) {
            // An exclusive resource's listing shows the access there already (a lost ledger, or
            // added by hand): shiftgrant owns it from now on, without adding it again.
            action.noCall = `no call: ${rule.target} lists ${identity} as a member already; the resource is exclusive, so the ledger records the access as shiftgrant's`;
          } else if (
            caps.memberships &&
            !caps.approvesRequests &&
            !exclusive.has(accessKey(rule.target, slot)) &&
            !present.has(key) &&
            !(held.get(key) ?? []).some((h) => h.end > now)
          ) {
            action.checkFirst = true;
          }
          // What a new grant approves (a request): the target's call names it, and so does the plan.
          if (ref && !action.ref) action.ref = ref;
          if (action.kind === "grant" && caps.approvesRequests && ref?.request)
            action.note = `approves request ${ref.request}`;
          actions.push(action);
          if (!waits) pushTo(held, key, { start: piece.start, end, rule: rule.name, planned: true });
          // Only the first segment of a piece is issued now; the rest continues it in later runs.
          if (end < piece.end) break;
        }
      }
    }
  }

  // Pass 3: revokes of this rule's own grants that nothing wants any more. Held grants of one key
  // that touch (a grant and its extensions) are revoked with one call. On a target that holds
  // memberships, the membership stays while another grant still covers now.
  const revokes: Action[] = [];
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
        const unknown = unknownOf(first.target, first.resource);
        if (unknown) {
          actions.push({ ...base, kind: "skip", note: `not revoked in this run: ${unknown.join("; ")}` });
        } else if (caps.revoke) revokes.push({ ...base, kind: "revoke", revokes: grants });
        else
          actions.push({
            ...base,
            kind: "skip",
            note: `${rule.target} cannot revoke; the grant expires at its end`,
          });
      }
    }
  }

  actions.push(...planMemberships(input, revokes, held, present, capsOf, heldKey));

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

/**
 * The held grants, where those of an exclusive resource are never pre-existing: shiftgrant owns its
 * whole membership, so a grant recorded as pre-existing before the resource became exclusive is
 * extended, expired and revoked as any other. (A copy: the ledger finds a grant by its fields.)
 */
function ownedWhole(held: readonly HeldGrant[], exclusive: ReadonlySet<string>): readonly HeldGrant[] {
  if (exclusive.size === 0) return held;
  return held.map((h) => {
    if (!h.preexisting || !exclusive.has(accessKey(h.target, h.resource))) return h;
    const { preexisting: _owned, ...rest } = h;
    return rest;
  });
}

/** A membership still there though its grants ended (not expired yet): pass 2 continues it. */
const STILL_PRESENT: Held = { start: 0, end: 0, rule: "", planned: false };

/**
 * The revokes of pass 3, expiries, and the members of exclusive resources, per membership.
 *
 * On a target that holds memberships, a revoke is made only when no other grant of the key is still
 * in force after this run (else the grant ends without a call: `unchanged`, "kept for RULE until
 * END"), and it ends every grant of the key at once: exactly one removal. Pre-existing access is
 * never removed.
 *
 * On a target that does not end grants by itself, each key whose grants' end has passed, and that
 * nothing held or planned covers now, is `expire`d: the revoke call, whatever the rule's `revoke:`
 * says. Expiry reads only the ledger and the clock: a failed source, `--rule` and `--max-changes`
 * never hold it back.
 *
 * Each identity an `exclusive` resource lists that nothing held or planned covers now is revoked.
 */
function planMemberships(
  input: PlanInput,
  revokes: readonly Action[],
  held: ReadonlyMap<string, readonly Held[]>,
  present: ReadonlyMap<string, readonly HeldGrant[]>,
  capsOf: (target: string) => TargetCapabilities,
  heldKey: (h: HeldGrant) => string,
): Action[] {
  const now = input.now.toMillis();
  const out: Action[] = [];
  const removed = new Set<string>();
  const revoked = new Set<HeldGrant>(revokes.flatMap((a) => a.revokes ?? []));
  const keyOf = (a: Action) => {
    const first = a.revokes?.[0];
    return first ? heldKey(first) : grantKey(a.target, a.resource, a.identity);
  };
  /** What covers now after this run: held (and not revoked now) or planned. */
  const coveringNow = (key: string): Held | undefined =>
    (held.get(key) ?? [])
      .filter((h) => h.start <= now && h.end > now && !(h.grant && revoked.has(h.grant)))
      .sort((a, b) => b.end - a.end)[0];
  /** Every grant of the key a removal ends: what the access system holds, and what is in force. */
  const allOf = (key: string): HeldGrant[] => {
    const list = [...(present.get(key) ?? [])];
    for (const h of held.get(key) ?? []) {
      if (h.grant && !h.grant.preexisting && !list.includes(h.grant)) list.push(h.grant);
    }
    return list;
  };

  for (const a of revokes) {
    const caps = capsOf(a.target);
    const key = keyOf(a);
    if (!caps.memberships) {
      out.push(a);
      continue;
    }
    if (removed.has(key)) continue; // another rule's revoke of this membership ends these grants too
    const keeper = coveringNow(key);
    if (keeper) {
      const { revokes: _ends, ...rest } = a;
      out.push({
        ...rest,
        kind: "unchanged",
        reason: keeper.grant?.preexisting
          ? PREEXISTING
          : `kept for ${keeper.rule} until ${formatUtc(keeper.end)}`,
      });
      continue;
    }
    removed.add(key);
    out.push({ ...a, revokes: allOf(key) });
  }

  for (const [key, grants] of present) {
    if (removed.has(key)) continue;
    const ended = grants.filter((g) => g.end.toMillis() <= now);
    if (ended.length === 0) continue;
    const first = ended[0] as HeldGrant;
    const caps = capsOf(first.target);
    const keeper = coveringNow(key);
    const byRule = new Map<string, HeldGrant[]>();
    for (const g of ended) pushTo(byRule, g.rule, g);
    if (keeper) {
      // Each rule whose own grants ended while another rule still holds the membership.
      for (const [rule, list] of byRule) {
        if ((held.get(key) ?? []).some((h) => h.rule === rule && h.start <= now && h.end > now)) continue;
        out.push({
          kind: "unchanged",
          rule,
          target: first.target,
          resource: first.resource,
          identity: first.identity,
          start: at(Math.min(...list.map((g) => g.start.toMillis()))),
          end: at(Math.max(...list.map((g) => g.end.toMillis()))),
          reason: `kept for ${keeper.rule} until ${formatUtc(keeper.end)}`,
          shifts: [],
        });
      }
      continue;
    }
    const last = ended.reduce((m, g) => (g.end > m.end ? g : m), first);
    const base = {
      rule: last.rule,
      target: first.target,
      resource: first.resource,
      identity: first.identity,
      start: at(Math.min(...ended.map((g) => g.start.toMillis()))),
      end: at(last.end.toMillis()),
      reason: "the grant's end has passed",
      shifts: [],
    };
    removed.add(key);
    if (!caps.revoke) {
      out.push({ ...base, kind: "skip", note: `${first.target} cannot revoke: remove this access by hand` });
      continue;
    }
    out.push({
      ...base,
      kind: "expire",
      note: `${first.target} does not end access by itself; expiries run whatever --rule, --max-changes or a failed source say`,
      revokes: allOf(key),
    });
  }

  for (const m of input.members ?? []) {
    const caps = capsOf(m.target);
    const kind = IDENTITY_KINDS[caps.identity];
    const rules = [...input.rules, ...(input.unplannedRules ?? [])];
    const rule = rules.find((r) => r.target === m.target && r.resources.includes(m.resource));
    const unknown = input.rules
      .filter((r) => !input.shifts.has(r.name))
      .concat(input.unplannedRules ?? [])
      .filter((r) => r.target === m.target && r.resources.includes(m.resource))
      .map((r) => r.name);
    for (const identity of [...new Set(m.identities)].sort(cmp)) {
      const key = grantKey(m.target, m.resource, identity);
      if (removed.has(key)) continue;
      // A listed resource is exclusive, so nothing held there is pre-existing (ownedWhole): whatever
      // covers now keeps the member.
      if (coveringNow(key)) continue;
      const base = {
        rule: rule?.name ?? m.target,
        target: m.target,
        resource: m.resource,
        identity,
        start: input.now,
        end: input.now,
        reason: "not on call; exclusive",
        shifts: [],
      };
      if (!kind.valid(identity)) {
        out.push({
          ...base,
          kind: "skip",
          note: `a member that is not ${kind.describe}; it is never passed to ${m.target}: remove it by hand`,
        });
        continue;
      }
      if (unknown.length > 0) {
        out.push({
          ...base,
          kind: "skip",
          note: `not revoked in this run: ${unknown.map((r) => `rule ${r} also grants this access and was not read`).join("; ")}`,
        });
        continue;
      }
      removed.add(key);
      const grants = allOf(key);
      for (const h of held.get(key) ?? [])
        if (h.grant?.preexisting && !grants.includes(h.grant)) grants.push(h.grant);
      out.push({ ...base, kind: "revoke", revokes: grants });
    }
  }
  return out;
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
    // Pre-existing access is the person's own: never revoked or cut.
    const mine = list.filter(
      (e) => e.grant.rule === rule.name && e.grant.target === rule.target && !e.grant.preexisting,
    );
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
  unknownOf: (target: string, resource: string) => string[] | undefined,
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
        // A membership the target does not end by itself is cut in the ledger alone: it is expired
        // at the new end.
        const ledgerCut = !caps.expires;
        const inPlace = caps.shortenInPlace || ledgerCut;
        let newEnd = wantedEnd;
        if (inPlace) {
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
        const unknown = unknownOf(first.target, first.resource);
        const views = new Set(span.views);
        if (unknown || (!inPlace && !caps.revoke)) {
          for (const v of views) v.cut = true;
          actions.push({
            ...base,
            end: at(span.end),
            kind: "skip",
            note: unknown
              ? `not cut to ${formatUtc(newEnd)} in this run: ${unknown.join("; ")}`
              : `${rule.target} cannot revoke or shorten; the grant expires at its old end, ${old} (shift now ends at ${formatUtc(newEnd)})`,
          });
        } else if (inPlace) {
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
            ...(ledgerCut
              ? {
                  noCall: `no call: the access stays until ${formatUtc(newEnd)}, when shiftgrant expires it`,
                }
              : {}),
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
  const own = input.targetIdentities?.get(rule.target);
  const target = {
    kind: input.capabilities(rule.target).identity,
    ...(own ? { identities: own } : {}),
  };
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
    const id = resolveIdentity(s.email, input.identities, target);
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
  // A request's resource is what it asks for, unknown here: one skip names the rule's roles.
  const resources = input.capabilities(rule.target).approvesRequests
    ? [rule.resources.join(",")]
    : rule.resources;
  for (const [identity, list] of bad) {
    for (const d of merge(list)) {
      for (const resource of resources) {
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

/**
 * One access a rule plans for one identity: its key's resource (`resource`), the resource actions
 * show (`shown`), the intervals it wants it for, and for a request what a grant approves (`ref`).
 */
type Slot = { resource: string; shown: string; identity: string; desired: Desired[]; ref?: GrantRef };

/** A rule's resources, each for every identity on call in it. */
function resourceSlots(rule: RuleConfig, perIdentity: ReadonlyMap<string, Desired[]>): Slot[] {
  const identities = [...perIdentity.keys()].sort();
  const out: Slot[] = [];
  for (const resource of rule.resources) {
    for (const identity of identities) {
      out.push({ resource, shown: resource, identity, desired: perIdentity.get(identity) ?? [] });
    }
  }
  return out;
}

/** A request's key in the plan: control characters never occur in a resource, so it is no role list. */
function requestSlot(id: string): string {
  return `\u0001${id}`;
}

/** The request asks for roles (not resources), and every one of them is among the rule's resources. */
function fitsRule(rule: RuleConfig, roles: readonly string[]): boolean {
  return roles.length > 0 && roles.every((r) => rule.resources.includes(r));
}

/**
 * On a target that approves requests, what a rule plans for each identity on call in it is requests,
 * each its own access, whose roles are all among the rule's resources:
 * - the requests the ledger holds (approved by an earlier run, for this rule or another that grants
 *   the same roles): continued while the person is on call, as any membership, but never granted
 *   again after a gap (there is nothing left to approve);
 * - the pending requests: approved if the person is on call now (`grant`), else approved by the first
 *   run of their next shift if it is still pending then (`wait`).
 */
function requestSlots(
  rule: RuleConfig,
  perIdentity: ReadonlyMap<string, Desired[]>,
  input: PlanInput,
  heldKey: (h: HeldGrant) => string,
): Slot[] {
  const now = input.now.toMillis();
  const heldRequests = new Map<string, { grant: HeldGrant; lastEnd: number }>();
  for (const h of input.held) {
    if (h.target !== rule.target || h.preexisting || h.ref?.request === undefined) continue;
    const key = heldKey(h);
    const seen = heldRequests.get(key);
    if (!seen || h.end.toMillis() > seen.lastEnd)
      heldRequests.set(key, { grant: h, lastEnd: h.end.toMillis() });
  }
  const pending = (input.requests?.get(rule.target) ?? []).filter((r) => r.state === "PENDING");
  const out: Slot[] = [];
  for (const identity of [...perIdentity.keys()].sort(cmp)) {
    const desired = perIdentity.get(identity) ?? [];
    const mine = new Set<string>();
    for (const { grant, lastEnd } of heldRequests.values()) {
      const id = grant.ref?.request;
      if (grant.identity !== identity || id === undefined || !fitsRule(rule, grant.resource.split(",")))
        continue;
      mine.add(id);
      const reach = Math.max(lastEnd, now);
      out.push({
        resource: requestSlot(id),
        shown: grant.resource,
        identity,
        desired: desired.filter((d) => d.start <= reach),
        ...(grant.ref ? { ref: grant.ref } : {}),
      });
    }
    const next = desired[0];
    if (!next) continue;
    for (const r of pending) {
      if (r.user !== identity || mine.has(r.id) || !fitsRule(rule, r.roles)) continue;
      // A request that will be gone (its request TTL ended) before its person's next shift is never
      // approved: no `wait` promises it.
      if (next.start > now && r.pendingUntil && r.pendingUntil.toMillis() <= next.start) continue;
      out.push({
        resource: requestSlot(r.id),
        shown: r.roles.join(","),
        identity,
        desired: [next],
        ref: { request: r.id, expires: formatUtc(r.expires.toMillis()) },
      });
    }
  }
  return out.sort(
    (a, b) => cmp(a.shown, b.shown) || cmp(a.identity, b.identity) || cmp(a.resource, b.resource),
  );
}

/**
 * The pending requests of people on call now that no rule they are on call in can approve (a role
 * outside its resources, or resources rather than roles): a `skip` that says why; the request stays
 * pending for a human reviewer and is never denied. Requests of people not on call are left to the
 * usual review, unshown: they are none of the rota's business.
 */
function unapprovedRequests(
  input: PlanInput,
  wanted: ReadonlyMap<string, ReadonlyMap<string, Desired[]>>,
  capsOf: (target: string) => TargetCapabilities,
): Action[] {
  const now = input.now.toMillis();
  const out: Action[] = [];
  for (const [target, requests] of input.requests ?? []) {
    if (!capsOf(target).approvesRequests) continue;
    const rules = input.rules.filter((r) => r.target === target && wanted.has(r.name));
    for (const r of requests) {
      if (r.state !== "PENDING") continue;
      const onCall = rules.filter((rule) => wanted.get(rule.name)?.has(r.user));
      if (onCall.some((rule) => fitsRule(rule, r.roles))) continue;
      const nowIn = onCall.find((rule) =>
        (wanted.get(rule.name)?.get(r.user) ?? []).some((d) => d.start <= now),
      );
      const d =
        nowIn &&
        wanted
          .get(nowIn.name)
          ?.get(r.user)
          ?.find((x) => x.start <= now);
      if (!nowIn || !d) continue;
      const allowed = new Set(onCall.flatMap((rule) => rule.resources));
      const outside = r.roles.filter((role) => !allowed.has(role));
      const names = onCall.map((rule) => rule.name).join(", ");
      out.push({
        kind: "skip",
        rule: nowIn.name,
        target,
        resource: r.roles.length > 0 ? r.roles.join(",") : "(resources)",
        identity: r.user,
        start: at(now),
        end: at(now),
        reason: d.reasons.join("; "),
        note:
          r.roles.length === 0
            ? `request ${r.id} asks for resources, not roles: shiftgrant approves role requests only; left pending for a reviewer`
            : `request ${r.id} asks for ${outside.join(", ")}, not among the resources of ${names}; left pending for a reviewer`,
        shifts: d.shifts,
      });
    }
  }
  return out;
}

/** A revoke comes before a grant of the same access at the same start: the order they run in. */
const KIND_ORDER = {
  skip: 0,
  unchanged: 1,
  shorten: 2,
  revoke: 3,
  expire: 3,
  grant: 4,
  extend: 5,
  wait: 6,
} as const;

/** Deterministic order: rule (config order), resource, identity, start, kind. */
function sortActions(actions: Action[], rules: readonly RuleConfig[]): Action[] {
  const ruleIndex = new Map(rules.map((r, i) => [r.name, i]));
  const resIndex = new Map(rules.map((r) => [r.name, new Map(r.resources.map((res, i) => [res, i]))]));
  return actions.sort(
    (a, b) =>
      // An expiry of a rule not read in this run (or no longer in the config) comes last.
      (ruleIndex.get(a.rule) ?? 1e9) - (ruleIndex.get(b.rule) ?? 1e9) ||
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
