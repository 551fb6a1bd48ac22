import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DateTime } from "luxon";
import type { RuleConfig } from "../config/load.js";
import { formatUtc } from "../core/time.js";
import type { Shift } from "../sources/types.js";
import type { TargetCapabilities } from "../targets/types.js";
import { planGrants, type PlanInput } from "./plan.js";
import { countsAsChange, PREEXISTING, type Action, type HeldGrant } from "./types.js";

// Targets that do not end grants by themselves (`expires: false`) and targets that hold one
// membership per resource and identity: expiries, shared memberships, pre-existing access and
// exclusive resources.

const utc = (iso: string): DateTime => DateTime.fromISO(iso, { zone: "utc" });
const at = (hhmm: string) => utc(`2026-11-22T${hhmm}:00Z`);

/** A `command` target with `expires: false`, as its capabilities say. */
const NO_EXPIRY: TargetCapabilities = {
  futureStart: false,
  revoke: true,
  extendInPlace: false,
  shortenInPlace: false,
  expires: false,
  memberships: true,
  listsMembers: false,
  identity: "email",
};

function rule(over: Partial<RuleConfig> = {}): RuleConfig {
  return {
    name: "a",
    source: "rota",
    schedules: ["primary"],
    escalationLevels: null,
    target: "grp",
    resources: ["ops"],
    leadMs: 0,
    graceMs: 0,
    maxDurationMs: null,
    revoke: false,
    ...over,
  };
}

function shift(email: string, start: string, end: string): Shift {
  return {
    schedule: { id: "primary", name: "primary" },
    level: null,
    email,
    start: at(start).toMillis(),
    end: at(end).toMillis(),
    reason: "on call: primary (rota)",
  };
}

function held(rule: string, start: string, end: string, over: Partial<HeldGrant> = {}): HeldGrant {
  return {
    target: "grp",
    resource: "ops",
    identity: "alice@example.com",
    rule,
    start: at(start),
    end: at(end),
    ...over,
  };
}

function plan(now: string, over: Partial<PlanInput> & { shiftsByRule?: Record<string, Shift[]> }) {
  const rules = over.rules ?? [rule()];
  return planGrants({
    now: at(now),
    rules,
    shifts: over.shifts ?? new Map(Object.entries(over.shiftsByRule ?? {})),
    held: over.held ?? [],
    identities: new Map(),
    capabilities: over.capabilities ?? (() => NO_EXPIRY),
    window: { since: at(now), until: at(now).plus({ hours: 24 }) },
    ...(over.unplannedRules ? { unplannedRules: over.unplannedRules } : {}),
    ...(over.members ? { members: over.members } : {}),
    ...(over.targetIdentities ? { targetIdentities: over.targetIdentities } : {}),
  });
}

/** `kind rule identity start-end`, and what the action says beside its reason. */
function lines(actions: Action[]): string[] {
  return actions.map((a) => {
    const extra = [
      a.noCall ? "no call" : "",
      a.checkFirst ? "check first" : "",
      a.preexisting ? "pre-existing" : "",
    ]
      .filter(Boolean)
      .join(", ");
    return `${a.kind} ${a.rule} ${a.identity} ${formatUtc(a.start).slice(11, 16)}-${formatUtc(a.end).slice(11, 16)} ${a.reason}${a.note ? ` (${a.note})` : ""}${extra ? ` [${extra}]` : ""}`;
  });
}

describe("planGrants: a target that does not end grants by itself (expires: false)", () => {
  it("grants nothing before the shift starts (wait), then grants at the start, checking for existing access", () => {
    const shifts = { a: [shift("alice@example.com", "12:00", "18:00")] };
    assert.deepEqual(lines(plan("10:00", { shiftsByRule: shifts })), [
      "wait a alice@example.com 12:00-18:00 on call: primary (rota) (grp does not end access by itself, so nothing is granted before its start; a run after 2026-11-22T12:00:00Z issues it)",
    ]);
    assert.deepEqual(lines(plan("12:00", { shiftsByRule: shifts })), [
      "grant a alice@example.com 12:00-18:00 on call: primary (rota) [check first]",
    ]);
  });

  it("an extension makes no call and keeps the target's ref; the ledger records the new end", () => {
    const actions = plan("14:00", {
      shiftsByRule: { a: [shift("alice@example.com", "12:00", "20:00")] },
      held: [held("a", "12:00", "18:00", { ref: { key: "k1" } })],
    });
    assert.deepEqual(lines(actions), [
      "unchanged a alice@example.com 12:00-18:00 on call: primary (rota)",
      "extend a alice@example.com 18:00-20:00 on call: primary (rota) [no call]",
    ]);
    assert.deepEqual(actions[1]?.ref, { key: "k1" });
    assert.equal(countsAsChange(actions[1]), false);
  });

  it("expires a held grant whose end has passed, with the revoke call, though the rule says revoke: false", () => {
    const g = held("a", "08:00", "12:00");
    const actions = plan("12:15", { shiftsByRule: { a: [] }, held: [g] });
    assert.deepEqual(lines(actions), [
      "expire a alice@example.com 08:00-12:00 the grant's end has passed (grp does not end access by itself; expiries run whatever --rule, --max-changes or a failed source say)",
    ]);
    assert.deepEqual(actions[0]?.revokes, [g]);
    // An expiry is never held back by --max-changes: it does not count as a change.
    assert.equal(countsAsChange(actions[0]), false);
  });

  it("expires whatever a failed source or --rule leaves unknown, and however long ago the end passed", () => {
    const g = held("a", "08:00", "12:00");
    // The rule's source failed: it plans nothing, but the expiry depends only on the ledger and clock.
    const failed = plan("14:00", { shifts: new Map(), held: [g] });
    assert.deepEqual(
      failed.map((a) => a.kind),
      ["expire"],
    );
    // The rule was not selected (--rule another): the expiry still runs.
    const other = rule({ name: "b", resources: ["other"] });
    const unselected = plan("23:00", {
      rules: [other],
      unplannedRules: [rule()],
      shiftsByRule: { b: [] },
      held: [g],
    });
    assert.deepEqual(
      lines(unselected).map((l) => l.split(" (")[0]),
      ["expire a alice@example.com 08:00-12:00 the grant's end has passed"],
    );
  });

  it("a grant whose end passed while the shift now goes on is continued without a call, not expired", () => {
    const actions = plan("12:15", {
      shiftsByRule: { a: [shift("alice@example.com", "08:00", "16:00")] },
      held: [held("a", "08:00", "12:00", { ref: { key: "k1" } })],
    });
    assert.deepEqual(lines(actions), [
      "extend a alice@example.com 12:15-16:00 on call: primary (rota) [no call]",
    ]);
    assert.deepEqual(actions[0]?.ref, { key: "k1" });
  });

  it("a shift that now ends earlier cuts the grant in the ledger alone (no call): it is expired at the new end", () => {
    const g = held("a", "08:00", "18:00");
    const actions = plan("12:00", {
      rules: [rule({ revoke: true })],
      shiftsByRule: { a: [shift("alice@example.com", "08:00", "14:00")] },
      held: [g],
    });
    assert.deepEqual(lines(actions), [
      "shorten a alice@example.com 08:00-14:00 on call: primary (rota) (was until 2026-11-22T18:00:00Z; shift now ends at 2026-11-22T14:00:00Z) [no call]",
    ]);
    assert.deepEqual(actions[0]?.shortens, [g]);
  });
});

describe("planGrants: one membership, many reasons", () => {
  const rules = [rule({ name: "a" }), rule({ name: "b", schedules: ["secondary"] })];

  it("a grant that ends while another rule's still covers the membership ends without a call", () => {
    const actions = plan("12:30", {
      rules,
      shiftsByRule: { a: [], b: [shift("alice@example.com", "10:00", "16:00")] },
      held: [held("a", "08:00", "12:00"), held("b", "10:00", "16:00")],
    });
    assert.deepEqual(lines(actions), [
      "unchanged a alice@example.com 08:00-12:00 kept for b until 2026-11-22T16:00:00Z",
      "unchanged b alice@example.com 10:00-16:00 on call: primary (rota)",
    ]);
  });

  it("once nothing covers now, exactly one expire ends every grant of the membership", () => {
    const ga = held("a", "08:00", "12:00");
    const gb = held("b", "10:00", "16:00");
    const actions = plan("16:15", { rules, shiftsByRule: { a: [], b: [] }, held: [ga, gb] });
    assert.deepEqual(
      actions.map((a) => [a.kind, a.rule, formatUtc(a.start), formatUtc(a.end)]),
      [["expire", "b", "2026-11-22T08:00:00Z", "2026-11-22T16:00:00Z"]],
    );
    assert.deepEqual(new Set(actions[0]?.revokes), new Set([ga, gb]));
  });

  it("a second rule that wants the same access adds no second call", () => {
    const actions = plan("12:00", {
      rules,
      shiftsByRule: {
        a: [shift("alice@example.com", "12:00", "16:00")],
        b: [shift("alice@example.com", "12:00", "16:00")],
      },
    });
    assert.deepEqual(lines(actions), [
      "grant a alice@example.com 12:00-16:00 on call: primary (rota) [check first]",
    ]);
  });

  it("revoke: true removes the membership only when no other rule's grant covers now, and then once", () => {
    const revoking = [
      rule({ name: "a", revoke: true }),
      rule({ name: "b", revoke: true, schedules: ["secondary"] }),
    ];
    const ga = held("a", "08:00", "18:00");
    const gb = held("b", "10:00", "14:00");
    // Both shifts disappeared; b (revoke: false) keeps its grant until 14:00, so the membership stays.
    const kept = plan("12:00", {
      rules: [rule({ name: "a", revoke: true }), rule({ name: "b", schedules: ["secondary"] })],
      shiftsByRule: { a: [], b: [] },
      held: [ga, gb],
    });
    assert.deepEqual(lines(kept), [
      "unchanged a alice@example.com 08:00-18:00 kept for b until 2026-11-22T14:00:00Z",
    ]);
    // Both shifts disappeared: one revoke (the first rule's) ends both grants.
    const gone = plan("12:00", { rules: revoking, shiftsByRule: { a: [], b: [] }, held: [ga, gb] });
    assert.deepEqual(
      gone.map((a) => [a.kind, a.rule]),
      [["revoke", "a"]],
    );
    assert.deepEqual(new Set(gone[0]?.revokes), new Set([ga, gb]));
  });
});

describe("planGrants: pre-existing access is never removed", () => {
  it("is neither revoked, cut nor expired; what continues it is recorded without a call", () => {
    const pre = held("a", "08:00", "12:00", { preexisting: true });
    // Its end passed: no expiry (it was never shiftgrant's).
    assert.deepEqual(plan("13:00", { shiftsByRule: { a: [] }, held: [pre] }), []);
    // revoke: true and the shift gone: no revoke.
    const revoking = plan("10:00", { rules: [rule({ revoke: true })], shiftsByRule: { a: [] }, held: [pre] });
    assert.deepEqual(revoking, []);
    // The shift grew: the continuation is pre-existing too, and makes no call.
    const grown = plan("10:00", {
      shiftsByRule: { a: [shift("alice@example.com", "08:00", "14:00")] },
      held: [pre],
    });
    assert.deepEqual(lines(grown), [
      `unchanged a alice@example.com 08:00-12:00 on call: primary (rota) (${PREEXISTING})`,
      "extend a alice@example.com 12:00-14:00 on call: primary (rota) [no call, pre-existing]",
    ]);
    assert.equal(grown[1]?.noCall, PREEXISTING);
  });

  it("after a gap, the next grant of the membership checks again", () => {
    const pre = held("a", "08:00", "10:00", { preexisting: true });
    const actions = plan("12:00", {
      shiftsByRule: { a: [shift("alice@example.com", "12:00", "14:00")] },
      held: [pre],
    });
    assert.deepEqual(lines(actions), [
      "grant a alice@example.com 12:00-14:00 on call: primary (rota) [check first]",
    ]);
  });
});

describe("planGrants: exclusive resources", () => {
  const LISTS: TargetCapabilities = { ...NO_EXPIRY, listsMembers: true };
  const members = [
    {
      target: "grp",
      resource: "ops",
      identities: ["alice@example.com", "mallory@example.com", "-rf@example.com", "pre@example.com"],
    },
  ];

  it("revokes every listed member nothing covers now, pre-existing or not; keeps whoever is on call", () => {
    const pre = held("a", "08:00", "18:00", { identity: "pre@example.com", preexisting: true });
    const actions = plan("12:00", {
      capabilities: () => LISTS,
      shiftsByRule: { a: [shift("alice@example.com", "08:00", "18:00")] },
      held: [held("a", "08:00", "18:00"), pre],
      members,
    });
    assert.deepEqual(lines(actions), [
      "skip a -rf@example.com 12:00-12:00 not on call; exclusive (a member that is not a plain email address; it is never passed to grp: remove it by hand)",
      "unchanged a alice@example.com 08:00-18:00 on call: primary (rota)",
      "revoke a mallory@example.com 12:00-12:00 not on call; exclusive",
      "revoke a pre@example.com 12:00-12:00 not on call; exclusive",
    ]);
    // The revoke of pre-existing access drops its ledger entry; --max-changes counts these revokes.
    assert.deepEqual(actions[3]?.revokes, [pre]);
    assert.equal(countsAsChange(actions[2] as Action), true);
  });

  it("owns every membership: nobody is checked for pre-existing access, a listed member on call is taken over without a call, and one recorded as pre-existing (a lost ledger) is kept while on call", () => {
    const pre = held("a", "08:00", "18:00", { identity: "pre@example.com", preexisting: true });
    const actions = plan("12:00", {
      capabilities: () => LISTS,
      shiftsByRule: {
        a: [
          shift("alice@example.com", "08:00", "18:00"),
          shift("bob@example.com", "08:00", "18:00"),
          shift("pre@example.com", "08:00", "18:00"),
        ],
      },
      held: [pre],
      members: [{ target: "grp", resource: "ops", identities: ["alice@example.com", "pre@example.com"] }],
    });
    assert.deepEqual(lines(actions), [
      "grant a alice@example.com 12:00-18:00 on call: primary (rota) [no call]",
      "grant a bob@example.com 12:00-18:00 on call: primary (rota)",
      "unchanged a pre@example.com 08:00-18:00 on call: primary (rota) (already has this access outside shiftgrant; left alone)",
    ]);
    assert.equal(
      actions[0]?.noCall,
      "no call: already a member of exclusive ops; shiftgrant ends it with the shift",
    );
  });

  it("removes nobody while a rule granting the resource was not read", () => {
    const actions = plan("12:00", {
      capabilities: () => LISTS,
      rules: [rule(), rule({ name: "b" })],
      shiftsByRule: { a: [] },
      members: [{ target: "grp", resource: "ops", identities: ["mallory@example.com"] }],
    });
    assert.deepEqual(lines(actions), [
      "skip a mallory@example.com 12:00-12:00 not on call; exclusive (not revoked in this run: rule b also grants this access and was not read)",
    ]);
  });
});

describe("planGrants: identities per target", () => {
  it("a target's own map wins over the global one, and its identity kind decides what is valid", () => {
    const actions = plan("12:00", {
      rules: [rule(), rule({ name: "b", target: "other" })],
      shiftsByRule: {
        a: [shift("alice@corp.example", "12:00", "14:00"), shift("bob@corp.example", "12:00", "14:00")],
        b: [shift("alice@corp.example", "12:00", "14:00")],
      },
      targetIdentities: new Map([
        [
          "grp",
          new Map([
            ["alice@corp.example", "alice@ops.example"],
            ["bob@corp.example", "not an email"],
          ]),
        ],
      ]),
    });
    assert.deepEqual(
      actions.map((a) => `${a.kind} ${a.target} ${a.identity}${a.badIdentity ? " bad" : ""}`),
      ["grant grp alice@ops.example", "skip grp bob@corp.example bad", "grant other alice@corp.example"],
    );
    assert.match(actions[1]?.note ?? "", /maps to "not an email", which is not a plain email address/);
  });
});
