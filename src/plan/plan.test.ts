import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DateTime } from "luxon";
import type { RuleConfig } from "../config/load.js";
import { formatUtc } from "../core/time.js";
import type { Shift } from "../sources/types.js";
import { planGrants, renewBeforeMs } from "./plan.js";
import type { TargetCapabilities } from "../targets/types.js";
import type { Action, HeldGrant } from "./types.js";

const utc = (iso: string): DateTime => DateTime.fromISO(iso, { zone: "utc" });
const NOW = utc("2026-11-22T10:00:00Z");
const H = 3_600_000;
const M = 60_000;

const FULL: TargetCapabilities = {
  futureStart: true,
  revoke: true,
  extendInPlace: false,
  shortenInPlace: false,
  expires: true,
  memberships: false,
  listsMembers: false,
  identity: "email",
};

function rule(over: Partial<RuleConfig> = {}): RuleConfig {
  return {
    name: "r",
    source: "rota",
    schedules: ["primary"],
    escalationLevels: null,
    target: "cmd",
    resources: ["db"],
    leadMs: 0,
    graceMs: 0,
    maxDurationMs: null,
    revoke: false,
    ...over,
  };
}

function shift(email: string, start: string, end: string, schedule = "primary"): Shift {
  return {
    schedule: { id: schedule, name: schedule },
    level: null,
    email,
    start: utc(start).toMillis(),
    end: utc(end).toMillis(),
    reason: `on call: ${schedule} (rota)`,
  };
}

function held(identity: string, start: string, end: string, over: Partial<HeldGrant> = {}): HeldGrant {
  return { target: "cmd", resource: "db", identity, rule: "r", start: utc(start), end: utc(end), ...over };
}

type PlanArgs = {
  rules?: RuleConfig[];
  shifts?: Record<string, Shift[]>;
  held?: HeldGrant[];
  now?: DateTime;
  caps?: TargetCapabilities;
  identities?: Record<string, string>;
  /** The window's length, from now (default 24h). */
  windowMs?: number;
};

function window(since: DateTime, ms: number) {
  return { since, until: since.plus({ milliseconds: ms }) };
}

function plan(args: PlanArgs): Action[] {
  const rules = args.rules ?? [rule()];
  return planGrants({
    now: args.now ?? NOW,
    rules,
    shifts: new Map(Object.entries(args.shifts ?? {})),
    held: args.held ?? [],
    identities: new Map(Object.entries(args.identities ?? {})),
    capabilities: () => args.caps ?? FULL,
    window: window(args.now ?? NOW, args.windowMs ?? 24 * H),
  });
}

/** One action as a line: `kind rule resource identity start end`. Easy to read in a failed assertion. */
function lines(actions: Action[]): string[] {
  return actions.map(
    (a) =>
      `${a.kind} ${a.rule} ${a.resource} ${a.identity} ${formatUtc(a.start).slice(5, 16)} ${formatUtc(a.end).slice(5, 16)}`,
  );
}

describe("planGrants: intervals", () => {
  it("merges shifts that overlap or touch into one grant, and keeps a separate one apart", () => {
    const actions = plan({
      shifts: {
        r: [
          shift("alice@example.com", "2026-11-22T11:00:00Z", "2026-11-22T13:00:00Z"),
          shift("alice@example.com", "2026-11-22T13:00:00Z", "2026-11-22T15:00:00Z", "secondary"),
          shift("alice@example.com", "2026-11-22T14:00:00Z", "2026-11-22T18:00:00Z"),
          shift("alice@example.com", "2026-11-22T20:00:00Z", "2026-11-22T22:00:00Z"),
        ],
      },
    });
    assert.deepEqual(lines(actions), [
      "grant r db alice@example.com 11-22T11:00 11-22T18:00",
      "grant r db alice@example.com 11-22T20:00 11-22T22:00",
    ]);
    // The merged grant names both schedules, for the target's reason and the audit log.
    assert.equal(actions[0]?.reason, "on call: primary (rota); on call: secondary (rota)");
    assert.deepEqual(
      actions[0]?.shifts.map((s) => s.schedule.id),
      ["primary", "secondary", "primary"],
    );
  });

  it("widens each shift by lead and grace, and merges shifts that then touch", () => {
    const actions = plan({
      rules: [rule({ leadMs: 15 * M, graceMs: 15 * M })],
      shifts: {
        r: [
          shift("alice@example.com", "2026-11-22T12:00:00Z", "2026-11-22T14:00:00Z"),
          // 14:30 − 15m lead = 14:15 = 14:00 + 15m grace: they touch, so one grant.
          shift("alice@example.com", "2026-11-22T14:30:00Z", "2026-11-22T16:00:00Z"),
          shift("bob@example.com", "2026-11-22T17:00:00Z", "2026-11-22T18:00:00Z"),
        ],
      },
    });
    assert.deepEqual(lines(actions), [
      "grant r db alice@example.com 11-22T11:45 11-22T16:15",
      "grant r db bob@example.com 11-22T16:45 11-22T18:15",
    ]);
  });

  it("clips the start to now; a shift that ended (grace included) is dropped", () => {
    const actions = plan({
      rules: [rule({ graceMs: 15 * M })],
      shifts: {
        r: [
          shift("alice@example.com", "2026-11-22T08:00:00Z", "2026-11-22T12:00:00Z"),
          shift("bob@example.com", "2026-11-22T06:00:00Z", "2026-11-22T09:45:00Z"), // ends 10:00 with grace
          shift("carol@example.com", "2026-11-22T06:00:00Z", "2026-11-22T09:50:00Z"), // 10:05 with grace
        ],
      },
    });
    assert.deepEqual(lines(actions), [
      "grant r db alice@example.com 11-22T10:00 11-22T12:15",
      "grant r db carol@example.com 11-22T10:00 11-22T10:05",
    ]);
  });

  it("cuts a grant at maxDuration from its start: a 48h shift with maxDuration 12h is granted for 12h", () => {
    const actions = plan({
      rules: [rule({ maxDurationMs: 12 * H })],
      shifts: { r: [shift("alice@example.com", "2026-11-22T10:00:00Z", "2026-11-24T10:00:00Z")] },
    });
    assert.deepEqual(lines(actions), ["grant r db alice@example.com 11-22T10:00 11-22T22:00"]);
  });

  it("issues one action per resource of the rule", () => {
    const actions = plan({
      rules: [rule({ resources: ["db", "k8s"] })],
      shifts: { r: [shift("alice@example.com", "2026-11-22T10:00:00Z", "2026-11-22T18:00:00Z")] },
    });
    assert.deepEqual(lines(actions), [
      "grant r db alice@example.com 11-22T10:00 11-22T18:00",
      "grant r k8s alice@example.com 11-22T10:00 11-22T18:00",
    ]);
  });
});

describe("planGrants: with the ledger", () => {
  const shifts = { r: [shift("alice@example.com", "2026-11-22T09:00:00Z", "2026-11-22T18:00:00Z")] };

  it("is unchanged when what is held covers what is wanted", () => {
    const actions = plan({
      shifts,
      held: [held("alice@example.com", "2026-11-22T09:00:00Z", "2026-11-22T18:00:00Z")],
    });
    assert.deepEqual(lines(actions), ["unchanged r db alice@example.com 11-22T09:00 11-22T18:00"]);
  });

  it("extends from the held end when the shift grew", () => {
    const actions = plan({
      shifts: { r: [shift("alice@example.com", "2026-11-22T09:00:00Z", "2026-11-22T22:00:00Z")] },
      held: [held("alice@example.com", "2026-11-22T09:00:00Z", "2026-11-22T18:00:00Z")],
    });
    assert.deepEqual(lines(actions), [
      "unchanged r db alice@example.com 11-22T09:00 11-22T18:00",
      "extend r db alice@example.com 11-22T18:00 11-22T22:00",
    ]);
  });

  it("grants (not extends) a piece that starts after a gap, and ignores held grants that ended", () => {
    const actions = plan({
      shifts: {
        r: [
          shift("alice@example.com", "2026-11-22T09:00:00Z", "2026-11-22T12:00:00Z"),
          shift("alice@example.com", "2026-11-22T14:00:00Z", "2026-11-22T16:00:00Z"),
        ],
      },
      held: [
        held("alice@example.com", "2026-11-22T08:00:00Z", "2026-11-22T10:00:00Z"), // ends now
        held("alice@example.com", "2026-11-22T10:00:00Z", "2026-11-22T11:00:00Z"),
      ],
    });
    assert.deepEqual(lines(actions), [
      "unchanged r db alice@example.com 11-22T10:00 11-22T11:00",
      "extend r db alice@example.com 11-22T11:00 11-22T12:00",
      "grant r db alice@example.com 11-22T14:00 11-22T16:00",
    ]);
  });

  it(
    "maxDuration renewal rule: a held grant is extended (by up to maxDuration from its end) once it has " +
      "at most a quarter of maxDuration left; before that the run issues nothing",
    () => {
      const rules = [rule({ maxDurationMs: 12 * H })];
      const long = { r: [shift("alice@example.com", "2026-11-22T10:00:00Z", "2026-11-24T10:00:00Z")] };
      const h = [held("alice@example.com", "2026-11-22T10:00:00Z", "2026-11-22T22:00:00Z")];
      assert.equal(renewBeforeMs(12 * H), 3 * H);
      const at = (t: string) => lines(plan({ rules, shifts: long, held: h, now: utc(t) }));
      for (const t of ["2026-11-22T10:00:00Z", "2026-11-22T16:00:00Z", "2026-11-22T18:59:59Z"]) {
        assert.deepEqual(at(t), ["unchanged r db alice@example.com 11-22T10:00 11-22T22:00"], t);
      }
      for (const t of ["2026-11-22T19:00:00Z", "2026-11-22T21:30:00Z"]) {
        assert.deepEqual(
          at(t),
          [
            "unchanged r db alice@example.com 11-22T10:00 11-22T22:00",
            "extend r db alice@example.com 11-22T22:00 11-23T10:00",
          ],
          t,
        );
      }
      // The last piece is cut by the shift's end, not by maxDuration.
      const last = plan({
        rules,
        shifts: { r: [shift("alice@example.com", "2026-11-22T10:00:00Z", "2026-11-24T04:00:00Z")] },
        held: [
          held("alice@example.com", "2026-11-22T10:00:00Z", "2026-11-22T22:00:00Z"),
          held("alice@example.com", "2026-11-22T22:00:00Z", "2026-11-23T10:00:00Z"),
          held("alice@example.com", "2026-11-23T10:00:00Z", "2026-11-23T22:00:00Z"),
        ],
        now: utc("2026-11-23T20:00:00Z"),
      });
      assert.deepEqual(lines(last), [
        "unchanged r db alice@example.com 11-23T10:00 11-23T22:00",
        "extend r db alice@example.com 11-23T22:00 11-24T04:00",
      ]);
    },
  );

  it("reports a held grant once when the shift under it was split in two", () => {
    const actions = plan({
      shifts: {
        r: [
          shift("alice@example.com", "2026-11-22T09:00:00Z", "2026-11-22T12:00:00Z"),
          shift("alice@example.com", "2026-11-22T14:00:00Z", "2026-11-22T18:00:00Z"),
        ],
      },
      held: [held("alice@example.com", "2026-11-22T09:00:00Z", "2026-11-22T18:00:00Z")],
    });
    assert.deepEqual(lines(actions), ["unchanged r db alice@example.com 11-22T09:00 11-22T18:00"]);
  });

  it("counts a held grant of another rule as coverage", () => {
    const actions = plan({
      shifts,
      held: [held("alice@example.com", "2026-11-22T09:00:00Z", "2026-11-22T18:00:00Z", { rule: "other" })],
    });
    assert.deepEqual(lines(actions), ["unchanged r db alice@example.com 11-22T09:00 11-22T18:00"]);
  });

  it("does not count a held grant of another target or resource as coverage", () => {
    const actions = plan({
      shifts,
      held: [
        held("alice@example.com", "2026-11-22T09:00:00Z", "2026-11-22T18:00:00Z", { target: "sdm" }),
        held("alice@example.com", "2026-11-22T09:00:00Z", "2026-11-22T18:00:00Z", { resource: "k8s" }),
      ],
    });
    assert.deepEqual(lines(actions), ["grant r db alice@example.com 11-22T10:00 11-22T18:00"]);
  });
});

describe("planGrants: targets that cannot schedule a future start", () => {
  const caps: TargetCapabilities = {
    futureStart: false,
    revoke: true,
    extendInPlace: false,
    shortenInPlace: false,
    expires: true,
    memberships: false,
    listsMembers: false,
    identity: "email",
  };

  it("waits for a grant that starts later, and grants one that starts now", () => {
    const actions = plan({
      caps,
      shifts: {
        r: [
          shift("alice@example.com", "2026-11-22T09:00:00Z", "2026-11-22T12:00:00Z"),
          shift("bob@example.com", "2026-11-22T14:00:00Z", "2026-11-22T18:00:00Z"),
        ],
      },
    });
    assert.deepEqual(lines(actions), [
      "grant r db alice@example.com 11-22T10:00 11-22T12:00",
      "wait r db bob@example.com 11-22T14:00 11-22T18:00",
    ]);
    assert.match(actions[1]?.note ?? "", /cannot schedule a grant that starts later/);
  });

  it("waits for a continuation unless the target extends in place", () => {
    const args = {
      shifts: { r: [shift("alice@example.com", "2026-11-22T09:00:00Z", "2026-11-22T18:00:00Z")] },
      held: [held("alice@example.com", "2026-11-22T09:00:00Z", "2026-11-22T14:00:00Z")],
    };
    assert.deepEqual(lines(plan({ ...args, caps })), [
      "unchanged r db alice@example.com 11-22T09:00 11-22T14:00",
      "wait r db alice@example.com 11-22T14:00 11-22T18:00",
    ]);
    assert.deepEqual(lines(plan({ ...args, caps: { ...caps, extendInPlace: true } })), [
      "unchanged r db alice@example.com 11-22T09:00 11-22T14:00",
      "extend r db alice@example.com 11-22T14:00 11-22T18:00",
    ]);
  });
});

describe("planGrants: revoke", () => {
  const swapped = { r: [shift("carol@example.com", "2026-11-22T09:00:00Z", "2026-11-22T18:00:00Z")] };
  const bobHeld = [held("bob@example.com", "2026-11-22T09:00:00Z", "2026-11-22T18:00:00Z")];

  it("revokes a held grant nobody wants any more, with revoke: true", () => {
    const actions = plan({ rules: [rule({ revoke: true })], shifts: swapped, held: bobHeld });
    assert.deepEqual(lines(actions), [
      "revoke r db bob@example.com 11-22T09:00 11-22T18:00",
      "grant r db carol@example.com 11-22T10:00 11-22T18:00",
    ]);
    assert.deepEqual(actions[0]?.revokes, bobHeld);
    assert.equal(actions[0]?.reason, "no longer on call");
  });

  it("revokes nothing without revoke: true", () => {
    const actions = plan({ rules: [rule()], shifts: swapped, held: bobHeld });
    assert.deepEqual(lines(actions), ["grant r db carol@example.com 11-22T10:00 11-22T18:00"]);
  });

  it("says so (skip, with the reason) for a target that cannot revoke", () => {
    const actions = plan({
      rules: [rule({ revoke: true })],
      shifts: swapped,
      held: bobHeld,
      caps: {
        futureStart: true,
        revoke: false,
        extendInPlace: false,
        shortenInPlace: false,
        expires: true,
        memberships: false,
        listsMembers: false,
        identity: "email",
      },
    });
    assert.deepEqual(lines(actions), [
      "skip r db bob@example.com 11-22T09:00 11-22T18:00",
      "grant r db carol@example.com 11-22T10:00 11-22T18:00",
    ]);
    assert.equal(actions[0]?.note, "cmd cannot revoke; the grant expires at its end");
    assert.equal(actions[0]?.badIdentity, undefined);
  });

  it("revokes a grant and its extensions (held grants that touch) with one call", () => {
    const chain = [
      held("bob@example.com", "2026-11-22T06:00:00Z", "2026-11-22T12:00:00Z"),
      held("bob@example.com", "2026-11-22T12:00:00Z", "2026-11-22T18:00:00Z"),
      held("bob@example.com", "2026-11-23T06:00:00Z", "2026-11-23T08:00:00Z"),
    ];
    const actions = plan({ rules: [rule({ revoke: true })], shifts: { r: [] }, held: chain });
    assert.deepEqual(lines(actions), [
      "revoke r db bob@example.com 11-22T06:00 11-22T18:00",
      "revoke r db bob@example.com 11-23T06:00 11-23T08:00",
    ]);
    assert.deepEqual(actions[0]?.revokes, chain.slice(0, 2));
  });

  it("never revokes for a rule whose source failed (its shifts are absent), nor grants: its grants are kept", () => {
    const actions = plan({
      rules: [rule({ revoke: true }), rule({ name: "other", resources: ["db", "k8s"] })],
      shifts: {},
      held: [
        ...bobHeld,
        held("bob@example.com", "2026-11-22T18:00:00Z", "2026-11-23T02:00:00Z"), // its extension
        held("carol@example.com", "2026-11-22T04:00:00Z", "2026-11-22T10:00:00Z"), // ended
        held("dave@example.com", "2026-11-22T09:00:00Z", "2026-11-22T18:00:00Z", { rule: "other" }),
        held("dave@example.com", "2026-11-22T09:00:00Z", "2026-11-22T12:00:00Z", {
          rule: "other",
          resource: "k8s",
        }),
      ],
    });
    // One row per access held, a grant and its extension as one; nothing that already ended.
    assert.deepEqual(lines(actions), [
      "unchanged r db bob@example.com 11-22T09:00 11-23T02:00",
      "unchanged other db dave@example.com 11-22T09:00 11-22T18:00",
      "unchanged other k8s dave@example.com 11-22T09:00 11-22T12:00",
    ]);
    for (const a of actions) {
      assert.equal(a.reason, "kept: the source failed; nothing planned");
      assert.deepEqual([a.note, a.revokes, a.shifts], [undefined, undefined, []]);
    }
  });

  it("never revokes a grant that ended, nor another rule's grant", () => {
    const actions = plan({
      rules: [rule({ revoke: true })],
      shifts: { r: [] },
      held: [
        held("bob@example.com", "2026-11-22T04:00:00Z", "2026-11-22T10:00:00Z"),
        held("dave@example.com", "2026-11-22T09:00:00Z", "2026-11-22T18:00:00Z", { rule: "other" }),
      ],
    });
    assert.deepEqual(lines(actions), []);
  });

  it("does not revoke what another rule still wants", () => {
    // The other rule wants it to the held end: nothing is cut either (a shorter want is a cut, below).
    const actions = plan({
      rules: [rule({ revoke: true }), rule({ name: "other", schedules: ["secondary"] })],
      shifts: {
        r: [],
        other: [shift("bob@example.com", "2026-11-22T12:00:00Z", "2026-11-22T18:00:00Z", "secondary")],
      },
      held: bobHeld,
    });
    assert.deepEqual(lines(actions), ["unchanged other db bob@example.com 11-22T09:00 11-22T18:00"]);
  });

  it("defers a revoke of access that another rule, whose source failed, may still want", () => {
    const actions = plan({
      rules: [rule({ revoke: true }), rule({ name: "other", source: "pd", schedules: ["secondary"] })],
      shifts: { r: [] },
      held: bobHeld,
    });
    assert.deepEqual(lines(actions), ["skip r db bob@example.com 11-22T09:00 11-22T18:00"]);
    assert.equal(
      actions[0]?.note,
      "not revoked in this run: rule other also grants this access and its source failed",
    );
    assert.equal(actions[0]?.badIdentity, undefined);
  });

  it("defers a revoke of access that a rule left out of this run (--rule) may still want", () => {
    const other = rule({ name: "other", schedules: ["secondary"] });
    const actions = planGrants({
      now: NOW,
      rules: [rule({ revoke: true })],
      unplannedRules: [other],
      shifts: new Map([["r", []]]),
      held: bobHeld,
      identities: new Map(),
      capabilities: () => FULL,
      window: window(NOW, 24 * H),
    });
    assert.deepEqual(lines(actions), ["skip r db bob@example.com 11-22T09:00 11-22T18:00"]);
    assert.equal(
      actions[0]?.note,
      "not revoked in this run: rule other also grants this access and it was not selected (--rule)",
    );
    // A rule on other resources does not hold the revoke back.
    const unrelated = planGrants({
      now: NOW,
      rules: [rule({ revoke: true })],
      unplannedRules: [rule({ name: "other", resources: ["k8s"] })],
      shifts: new Map([["r", []]]),
      held: bobHeld,
      identities: new Map(),
      capabilities: () => FULL,
      window: window(NOW, 24 * H),
    });
    assert.deepEqual(lines(unrelated), ["revoke r db bob@example.com 11-22T09:00 11-22T18:00"]);
  });
});

describe("planGrants: a shift that gets shorter", () => {
  // alice's 8-hour shift (09:00–17:00, grace 15m) was granted at 09:00; at 10:00 an override hands
  // the rest of it to bob. alice now wants access until 10:15 (1 hour plus grace), not 17:15.
  const TELEPORT: TargetCapabilities = {
    futureStart: false,
    revoke: true,
    extendInPlace: true,
    shortenInPlace: true,
    expires: true,
    memberships: false,
    listsMembers: false,
    identity: "email",
  };
  const grace = 15 * M;
  const overridden = {
    r: [
      shift("alice@example.com", "2026-11-22T09:00:00Z", "2026-11-22T10:00:00Z"),
      shift("bob@example.com", "2026-11-22T10:00:00Z", "2026-11-22T17:00:00Z"),
    ],
  };
  const aliceHeld = [held("alice@example.com", "2026-11-22T09:00:00Z", "2026-11-22T17:15:00Z")];

  it("cuts the held grant in place (shorten) where the target can: the new end is the shift's plus grace", () => {
    const actions = plan({
      rules: [rule({ revoke: true, graceMs: grace })],
      shifts: overridden,
      held: aliceHeld,
      caps: TELEPORT,
    });
    assert.deepEqual(lines(actions), [
      "shorten r db alice@example.com 11-22T09:00 11-22T10:15",
      "grant r db bob@example.com 11-22T10:00 11-22T17:15",
    ]);
    const cut = actions[0] as Action;
    assert.deepEqual(cut.shortens, aliceHeld);
    assert.equal(formatUtc(cut.previousEnd ?? 0), "2026-11-22T17:15:00Z");
    assert.equal(cut.reason, "on call: primary (rota)");
    assert.equal(cut.note, "was until 2026-11-22T17:15:00Z; shift now ends at 2026-11-22T10:15:00Z");
  });

  it("elsewhere revokes the held grant, then grants what remains [now, new end]", () => {
    const actions = plan({
      rules: [rule({ revoke: true, graceMs: grace })],
      shifts: overridden,
      held: aliceHeld,
    });
    assert.deepEqual(lines(actions), [
      "revoke r db alice@example.com 11-22T09:00 11-22T17:15",
      "grant r db alice@example.com 11-22T10:00 11-22T10:15",
      "grant r db bob@example.com 11-22T10:00 11-22T17:15",
    ]);
    assert.deepEqual(actions[0]?.revokes, aliceHeld);
    assert.equal(actions[0]?.reason, "no longer on call after 2026-11-22T10:15:00Z");
    // The revoke is listed before the grant of the same access even when both start together.
    const future = plan({
      rules: [rule({ revoke: true })],
      shifts: { r: [shift("alice@example.com", "2026-11-22T12:00:00Z", "2026-11-22T14:00:00Z")] },
      held: [held("alice@example.com", "2026-11-22T12:00:00Z", "2026-11-22T20:00:00Z")],
    });
    assert.deepEqual(lines(future), [
      "revoke r db alice@example.com 11-22T12:00 11-22T20:00",
      "grant r db alice@example.com 11-22T12:00 11-22T14:00",
    ]);
  });

  it("cuts a grant and its extensions together; an extension past the new end goes whole", () => {
    const chain = [
      held("alice@example.com", "2026-11-22T09:00:00Z", "2026-11-22T13:00:00Z"),
      held("alice@example.com", "2026-11-22T13:00:00Z", "2026-11-22T17:15:00Z"),
    ];
    const actions = plan({
      rules: [rule({ revoke: true, graceMs: grace })],
      shifts: overridden,
      held: chain,
      caps: TELEPORT,
    });
    assert.deepEqual(lines(actions), [
      "shorten r db alice@example.com 11-22T09:00 11-22T10:15",
      "grant r db bob@example.com 11-22T10:00 11-22T17:15",
    ]);
    assert.deepEqual(actions[0]?.shortens, chain);
  });

  it("without revoke: true cuts nothing and says so on the unchanged grant", () => {
    const actions = plan({
      rules: [rule({ graceMs: grace })],
      shifts: overridden,
      held: aliceHeld,
      caps: TELEPORT,
    });
    assert.deepEqual(lines(actions), [
      "unchanged r db alice@example.com 11-22T09:00 11-22T17:15",
      "grant r db bob@example.com 11-22T10:00 11-22T17:15",
    ]);
    assert.equal(actions[0]?.note, "kept until 2026-11-22T17:15:00Z; shift now ends at 2026-11-22T10:15:00Z");
  });

  it("a target that can neither revoke nor shorten: skip, the grant expires at its old end", () => {
    const actions = plan({
      rules: [rule({ revoke: true, graceMs: grace })],
      shifts: overridden,
      held: aliceHeld,
      caps: {
        futureStart: true,
        revoke: false,
        extendInPlace: false,
        shortenInPlace: false,
        expires: true,
        memberships: false,
        listsMembers: false,
        identity: "email",
      },
    });
    assert.deepEqual(lines(actions), [
      "skip r db alice@example.com 11-22T09:00 11-22T17:15",
      "grant r db bob@example.com 11-22T10:00 11-22T17:15",
    ]);
    assert.equal(
      actions[0]?.note,
      "cmd cannot revoke or shorten; the grant expires at its old end, 2026-11-22T17:15:00Z (shift now ends at 2026-11-22T10:15:00Z)",
    );
  });

  it("no cut while a rule sharing the access was not read (skip, with why), nor for a rule whose source failed", () => {
    const other = rule({ name: "other", schedules: ["secondary"] });
    for (const caps of [TELEPORT, FULL]) {
      const actions = plan({
        rules: [rule({ revoke: true, graceMs: grace }), other],
        shifts: overridden, // "other" is absent: its source failed
        held: aliceHeld,
        caps,
      });
      assert.deepEqual(lines(actions), [
        "skip r db alice@example.com 11-22T09:00 11-22T17:15",
        "grant r db bob@example.com 11-22T10:00 11-22T17:15",
      ]);
      assert.equal(
        actions[0]?.note,
        "not cut to 2026-11-22T10:15:00Z in this run: rule other also grants this access and its source failed",
      );
    }
    const failed = plan({
      rules: [rule({ revoke: true, graceMs: grace })],
      shifts: {},
      held: aliceHeld,
      caps: TELEPORT,
    });
    // Not cut: only reported, kept as it is.
    assert.deepEqual(lines(failed), ["unchanged r db alice@example.com 11-22T09:00 11-22T17:15"]);
    assert.equal(failed[0]?.reason, "kept: the source failed; nothing planned");
  });

  it("never cuts what another rule still wants: the new end is the latest wanted end", () => {
    const rules = [rule({ revoke: true, graceMs: grace }), rule({ name: "other", schedules: ["secondary"] })];
    const shifts = {
      ...overridden,
      other: [shift("alice@example.com", "2026-11-22T09:00:00Z", "2026-11-22T12:00:00Z", "secondary")],
    };
    assert.deepEqual(lines(plan({ rules, shifts, held: aliceHeld, caps: TELEPORT })), [
      "shorten r db alice@example.com 11-22T09:00 11-22T12:00",
      "grant r db bob@example.com 11-22T10:00 11-22T17:15",
      "unchanged other db alice@example.com 11-22T09:00 11-22T12:00",
    ]);
    // Wanted to its end by the other rule: nothing to cut.
    const whole = {
      ...overridden,
      other: [shift("alice@example.com", "2026-11-22T09:00:00Z", "2026-11-22T17:15:00Z", "secondary")],
    };
    assert.deepEqual(lines(plan({ rules, shifts: whole, held: aliceHeld, caps: TELEPORT })), [
      "unchanged r db alice@example.com 11-22T09:00 11-22T17:15",
      "grant r db bob@example.com 11-22T10:00 11-22T17:15",
      "unchanged other db alice@example.com 11-22T09:00 11-22T17:15",
    ]);
  });

  it("in place, never cuts the shared membership before another rule's held grant ends", () => {
    const rules = [rule({ revoke: true, graceMs: grace }), rule({ name: "other", schedules: ["secondary"] })];
    const shifts = { ...overridden, other: [] };
    const both = [
      ...aliceHeld,
      held("alice@example.com", "2026-11-22T09:00:00Z", "2026-11-22T13:00:00Z", { rule: "other" }),
    ];
    // alice still wants 10:00–10:15 for rule r: the other rule's grant covers it.
    assert.deepEqual(lines(plan({ rules, shifts, held: both, caps: TELEPORT })), [
      "unchanged r db alice@example.com 11-22T09:00 11-22T13:00",
      "shorten r db alice@example.com 11-22T09:00 11-22T13:00",
      "grant r db bob@example.com 11-22T10:00 11-22T17:15",
    ]);
    // An extension held by the other rule continues the membership: it is not cut at all.
    const chained = [
      held("alice@example.com", "2026-11-22T09:00:00Z", "2026-11-22T12:00:00Z"),
      held("alice@example.com", "2026-11-22T12:00:00Z", "2026-11-22T17:15:00Z", { rule: "other" }),
    ];
    assert.deepEqual(lines(plan({ rules, shifts, held: chained, caps: TELEPORT })), [
      "unchanged r db alice@example.com 11-22T09:00 11-22T12:00",
      "grant r db bob@example.com 11-22T10:00 11-22T17:15",
    ]);
  });

  it("never cuts to a shift end at the window's end, where some sources cut what they return", () => {
    // Held from an earlier run up to 20:00 tomorrow; this run's window ends at 10:00 tomorrow.
    const long = [held("alice@example.com", "2026-11-22T09:00:00Z", "2026-11-23T20:00:00Z")];
    const at = (end: string) =>
      lines(
        plan({
          rules: [rule({ revoke: true })],
          shifts: { r: [shift("alice@example.com", "2026-11-22T09:00:00Z", end)] },
          held: long,
        }),
      );
    assert.deepEqual(at("2026-11-23T10:00:00Z"), [
      "unchanged r db alice@example.com 11-22T09:00 11-23T20:00",
    ]);
    // An end inside the window is news: cut.
    assert.deepEqual(at("2026-11-23T09:59:00Z"), [
      "revoke r db alice@example.com 11-22T09:00 11-23T20:00",
      "grant r db alice@example.com 11-22T10:00 11-23T09:59",
    ]);
  });

  it("cuts only the tail: a gap in the middle of a held grant stays", () => {
    const actions = plan({
      rules: [rule({ revoke: true })],
      shifts: {
        r: [
          shift("alice@example.com", "2026-11-22T09:00:00Z", "2026-11-22T12:00:00Z"),
          shift("alice@example.com", "2026-11-22T14:00:00Z", "2026-11-22T17:15:00Z"),
        ],
      },
      held: aliceHeld,
    });
    assert.deepEqual(lines(actions), ["unchanged r db alice@example.com 11-22T09:00 11-22T17:15"]);
  });
});

describe("planGrants: the cap on a grant's length without maxDuration", () => {
  // The window plus lead and grace: 24h + 15m + 15m here.
  const capped = rule({ leadMs: 15 * M, graceMs: 15 * M });

  it("a rota typo ending in 2062 is granted up to the cap, not for 36 years", () => {
    const actions = plan({
      rules: [capped],
      shifts: { r: [shift("alice@example.com", "2026-11-22T09:00:00Z", "2062-11-22T09:00:00Z")] },
    });
    assert.deepEqual(lines(actions), ["grant r db alice@example.com 11-22T10:00 11-23T10:30"]);
    assert.equal(formatUtc(actions[0]?.end ?? 0), "2026-11-23T10:30:00Z");
  });

  it("an end of 9999-12-31 (or past year 9999) is clipped, on grants and on skips alike", () => {
    const endless = Date.UTC(10_000, 0, 1, 0, 14);
    const actions = plan({
      rules: [capped],
      shifts: {
        r: [
          shift("alice@example.com", "2026-11-22T09:00:00Z", "9999-12-31T23:59:59Z"),
          { ...shift("-bad@example.com", "2026-11-22T09:00:00Z", "2026-11-22T10:00:00Z"), end: endless },
          { ...shift("bob@example.com", "2026-11-22T12:00:00Z", "2026-11-22T13:00:00Z"), end: endless },
        ],
      },
    });
    assert.deepEqual(
      actions.map((a) => `${a.kind} ${a.identity} ${formatUtc(a.start)} ${formatUtc(a.end)}`),
      [
        "skip -bad@example.com 2026-11-22T10:00:00Z 2026-11-23T10:30:00Z",
        "grant alice@example.com 2026-11-22T10:00:00Z 2026-11-23T10:30:00Z",
        "grant bob@example.com 2026-11-22T11:45:00Z 2026-11-23T12:15:00Z",
      ],
    );
  });

  it("the window sets it: --window 2h caps at 2h plus lead and grace; maxDuration, when set, is the cap", () => {
    const long = { r: [shift("alice@example.com", "2026-11-22T09:00:00Z", "2026-11-30T09:00:00Z")] };
    assert.deepEqual(lines(plan({ rules: [capped], shifts: long, windowMs: 2 * H })), [
      "grant r db alice@example.com 11-22T10:00 11-22T12:30",
    ]);
    assert.deepEqual(lines(plan({ rules: [rule({ maxDurationMs: 72 * H })], shifts: long })), [
      "grant r db alice@example.com 11-22T10:00 11-25T10:00",
    ]);
  });

  // Hourly runs with a 24h window, each reading the shifts a source returns for its window and
  // applying its plan to the ledger the next one reads.
  function simulate(shifts: Shift[], from: string, hours: number): string[] {
    let heldNow: HeldGrant[] = [];
    const calls: string[] = [];
    for (let h = 0; h < hours; h++) {
      const now = utc(from).plus({ hours: h });
      const read = shifts.filter(
        (s) => s.start - capped.leadMs < now.toMillis() + 24 * H && s.end + capped.graceMs > now.toMillis(),
      );
      const actions = plan({ rules: [capped], shifts: { r: read }, held: heldNow, now });
      for (const a of actions) {
        if (a.kind !== "grant" && a.kind !== "extend") continue;
        calls.push(`${formatUtc(now).slice(5, 16)} ${a.kind} ${a.identity} ${formatUtc(a.end).slice(5, 16)}`);
        heldNow = [
          ...heldNow,
          {
            target: a.target,
            resource: a.resource,
            identity: a.identity,
            rule: a.rule,
            start: a.start,
            end: a.end,
          },
        ];
      }
    }
    return calls;
  }

  it("normal rotations no longer than the window cause no extra call: one grant per shift", () => {
    // 12-hour shifts, hourly runs over two days: each shift is granted once, a day ahead, in full.
    const daily: Shift[] = [];
    for (let i = 0; i < 6; i++) {
      const start = utc("2026-11-22T08:00:00Z").plus({ hours: 12 * i });
      daily.push(
        shift(
          i % 2 ? "bob@example.com" : "alice@example.com",
          formatUtc(start),
          formatUtc(start.plus({ hours: 12 })),
        ),
      );
    }
    assert.deepEqual(simulate(daily, "2026-11-22T10:00:00Z", 48), [
      "11-22T10:00 grant alice@example.com 11-22T20:15",
      "11-22T10:00 grant alice@example.com 11-23T20:15",
      "11-22T10:00 grant bob@example.com 11-23T08:15",
      "11-22T20:00 grant bob@example.com 11-24T08:15",
      "11-23T08:00 grant alice@example.com 11-24T20:15",
      "11-23T20:00 grant bob@example.com 11-25T08:15",
    ]);
  });

  it("a weekly shift read with a one-day window is extended about every 18 hours, not by every run", () => {
    const weekly = [shift("alice@example.com", "2026-11-22T09:00:00Z", "2026-11-29T09:00:00Z")];
    assert.deepEqual(simulate(weekly, "2026-11-22T10:00:00Z", 7 * 24), [
      "11-22T10:00 grant alice@example.com 11-23T10:30",
      "11-23T05:00 extend alice@example.com 11-24T11:00",
      "11-24T05:00 extend alice@example.com 11-25T11:30",
      "11-25T06:00 extend alice@example.com 11-26T12:00",
      "11-26T06:00 extend alice@example.com 11-27T12:30",
      "11-27T07:00 extend alice@example.com 11-28T13:00",
      "11-28T07:00 extend alice@example.com 11-29T09:15",
    ]);
  });
});

describe("planGrants: identities", () => {
  it("skips an identity that is not a plain email (badIdentity), for each resource, and grants the rest", () => {
    const actions = plan({
      rules: [rule({ resources: ["db", "k8s"] })],
      shifts: {
        r: [
          shift("--help@example.com", "2026-11-22T09:00:00Z", "2026-11-22T12:00:00Z"),
          shift("alice@example.com", "2026-11-22T09:00:00Z", "2026-11-22T12:00:00Z"),
          shift("x@example.com;rm -rf /", "2026-11-22T09:00:00Z", "2026-11-22T12:00:00Z"),
        ],
      },
    });
    assert.deepEqual(lines(actions), [
      "skip r db --help@example.com 11-22T10:00 11-22T12:00",
      "grant r db alice@example.com 11-22T10:00 11-22T12:00",
      "skip r db x@example.com;rm -rf / 11-22T10:00 11-22T12:00",
      "skip r k8s --help@example.com 11-22T10:00 11-22T12:00",
      "grant r k8s alice@example.com 11-22T10:00 11-22T12:00",
      "skip r k8s x@example.com;rm -rf / 11-22T10:00 11-22T12:00",
    ]);
    const skips = actions.filter((a) => a.kind === "skip");
    assert.ok(skips.every((a) => a.badIdentity === true && /not a plain email/.test(a.note ?? "")));
  });

  it("trims, lower-cases and maps emails through identities before planning", () => {
    const actions = plan({
      identities: { "alice@example.com": "alice@ops.example" },
      shifts: {
        r: [
          shift("  Alice@Example.COM ", "2026-11-22T09:00:00Z", "2026-11-22T12:00:00Z"),
          shift("alice@example.com", "2026-11-22T12:00:00Z", "2026-11-22T13:00:00Z"),
        ],
      },
    });
    assert.deepEqual(lines(actions), ["grant r db alice@ops.example 11-22T10:00 11-22T13:00"]);
  });
});

describe("planGrants: several rules", () => {
  it("issues one grant when two rules want the same access, and extends for the longer one", () => {
    const actions = plan({
      rules: [rule({ name: "a" }), rule({ name: "b", schedules: ["secondary"] })],
      shifts: {
        a: [shift("alice@example.com", "2026-11-22T09:00:00Z", "2026-11-22T18:00:00Z")],
        b: [
          shift("alice@example.com", "2026-11-22T09:00:00Z", "2026-11-22T20:00:00Z", "secondary"),
          shift("bob@example.com", "2026-11-22T09:00:00Z", "2026-11-22T12:00:00Z", "secondary"),
        ],
      },
    });
    assert.deepEqual(lines(actions), [
      "grant a db alice@example.com 11-22T10:00 11-22T18:00",
      "extend b db alice@example.com 11-22T18:00 11-22T20:00",
      "grant b db bob@example.com 11-22T10:00 11-22T12:00",
    ]);
  });

  it("is deterministic: the same input in another order gives the same plan", () => {
    const s = [
      shift("bob@example.com", "2026-11-22T12:00:00Z", "2026-11-22T14:00:00Z"),
      shift("alice@example.com", "2026-11-22T15:00:00Z", "2026-11-22T16:00:00Z"),
      shift("alice@example.com", "2026-11-22T11:00:00Z", "2026-11-22T12:00:00Z"),
    ];
    const one = lines(plan({ shifts: { r: s } }));
    const two = lines(plan({ shifts: { r: [...s].reverse() } }));
    assert.deepEqual(one, two);
  });
});

describe("planGrants: scale", () => {
  it("plans 100,000 shifts", () => {
    const people = 5_000;
    const shifts: Shift[] = [];
    const base = utc("2026-11-22T00:00:00Z").toMillis();
    for (let i = 0; i < 100_000; i++) {
      const p = i % people;
      // Each person: 20 shifts of 2h, 1h apart, across several schedules.
      const k = Math.floor(i / people);
      const start = base + k * 3 * H + (p % 7) * M;
      shifts.push({
        schedule: { id: `s${p % 50}`, name: `S${p % 50}` },
        level: null,
        email: `user${p}@example.com`,
        start,
        end: start + 2 * H,
        reason: `on call: S${p % 50}`,
      });
    }
    const heldNow: HeldGrant[] = [];
    for (let p = 0; p < people; p += 2) {
      heldNow.push(held(`user${p}@example.com`, "2026-11-22T09:00:00Z", "2026-11-22T11:00:00Z"));
    }
    const started = performance.now();
    const actions = plan({
      rules: [rule({ revoke: true, maxDurationMs: 24 * H })],
      shifts: { r: shifts },
      held: heldNow,
    });
    const ms = performance.now() - started;
    console.log(
      `planGrants: 100,000 shifts, ${heldNow.length} held → ${actions.length} actions in ${ms.toFixed(0)} ms`,
    );
    assert.ok(actions.length > 0);
  });
});
