import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DateTime } from "luxon";
import type { RuleConfig } from "../config/load.js";
import { formatUtc } from "../core/time.js";
import type { Shift } from "../sources/types.js";
import type { AccessRequest, TargetCapabilities } from "../targets/types.js";
import { planGrants } from "./plan.js";
import type { Action, HeldGrant } from "./types.js";

// A target that approves access requests (Teleport's access-requests mode): each pending request
// of someone on call, for roles among the rule's resources, is its own grant.

const at = (hhmm: string) => DateTime.fromISO(`2026-11-22T${hhmm}:00Z`, { zone: "utc" });

const REQUESTS: TargetCapabilities = {
  futureStart: false,
  revoke: true,
  extendInPlace: false,
  shortenInPlace: false,
  expires: false,
  memberships: true,
  listsMembers: false,
  identity: "teleport-user",
  approvesRequests: true,
};

const rule = (over: Partial<RuleConfig> = {}): RuleConfig => ({
  name: "oncall",
  source: "rota",
  schedules: ["primary"],
  escalationLevels: null,
  target: "tp",
  resources: ["db-admin", "k8s-admin"],
  leadMs: 0,
  graceMs: 0,
  maxDurationMs: null,
  revoke: true,
  ...over,
});

const shift = (email: string, start: string, end: string): Shift => ({
  schedule: { id: "primary", name: "primary" },
  level: null,
  email,
  start: at(start).toMillis(),
  end: at(end).toMillis(),
  reason: "on call: primary (rota)",
});

const request = (
  id: string,
  user: string,
  roles: string[],
  over: Partial<AccessRequest> = {},
): AccessRequest => ({
  id,
  user,
  roles,
  state: "PENDING",
  expires: at("20:00"),
  ...over,
});

const heldRequest = (id: string, start: string, end: string, over: Partial<HeldGrant> = {}): HeldGrant => ({
  target: "tp",
  resource: "db-admin",
  identity: "alice",
  rule: "oncall",
  start: at(start),
  end: at(end),
  ref: { request: id, expires: "2026-11-22T20:00:00Z" },
  ...over,
});

const USERS = new Map([
  ["alice@example.com", "alice"],
  ["bob@example.com", "bob"],
]);

function plan(
  now: string,
  o: {
    shifts?: Shift[];
    requests?: AccessRequest[] | null;
    held?: HeldGrant[];
    rules?: RuleConfig[];
    shiftsByRule?: Map<string, Shift[]>;
    unplannedRules?: RuleConfig[];
  },
): string[] {
  const rules = o.rules ?? [rule()];
  const actions = planGrants({
    now: at(now),
    rules,
    shifts: o.shiftsByRule ?? new Map([["oncall", o.shifts ?? []]]),
    held: o.held ?? [],
    identities: new Map(),
    targetIdentities: new Map([["tp", USERS]]),
    capabilities: () => REQUESTS,
    window: { since: at(now), until: at(now).plus({ hours: 24 }) },
    ...(o.requests === null ? {} : { requests: new Map([["tp", o.requests ?? []]]) }),
    ...(o.unplannedRules ? { unplannedRules: o.unplannedRules } : {}),
  });
  return actions.map(line);
}

function line(a: Action): string {
  const t = (d: DateTime) => formatUtc(d).slice(11, 16);
  const ref = a.ref?.request ? ` ref=${a.ref.request}` : "";
  const undoes = a.revokes ? ` undoes=${a.revokes.map((g) => g.ref?.request ?? "?").join("+")}` : "";
  return `${a.kind} ${a.rule} ${a.identity} ${a.resource} ${t(a.start)}-${t(a.end)}${ref}${undoes}${a.note ? ` (${a.note})` : ""}${a.noCall ? " [no call]" : ""}`;
}

describe("planGrants: a target that approves access requests", () => {
  it("approves on-call requests for the rule's roles; waits for a later shift only while the request stays pending; skips roles outside; ignores people not on call", () => {
    const shifts = [shift("alice@example.com", "09:00", "17:00"), shift("bob@example.com", "12:00", "18:00")];
    const requests = [
      request("r1", "alice", ["db-admin", "k8s-admin"]),
      request("r2", "alice", []),
      request("r3", "bob", ["db-admin"], { pendingUntil: at("13:00") }),
      request("r4", "bob", ["k8s-admin"], { pendingUntil: at("11:00") }),
      request("r5", "carol", ["db-admin"]),
      request("r6", "alice", ["db-admin"], { state: "APPROVED" }),
      request("r7", "alice", ["db-admin"], { state: "DENIED" }),
    ];
    assert.deepEqual(plan("10:00", { shifts, requests }), [
      "wait oncall bob db-admin 12:00-18:00 ref=r3 (tp does not end access by itself, so nothing is granted before its start; a run after 2026-11-22T12:00:00Z issues it)",
      "skip oncall alice (resources) 10:00-10:00 (request r2 asks for resources, not roles: shiftgrant approves role requests only; left pending for a reviewer)",
      "grant oncall alice db-admin,k8s-admin 10:00-17:00 ref=r1 (approves request r1)",
    ]);
    // The listing failed: nothing new is approved, and nothing else is said.
    assert.deepEqual(plan("10:00", { shifts, requests: null }), []);
  });

  it("each request is its own grant: a second one for the same roles is approved beside the held one, and each is undone with its own id", () => {
    const shifts = [shift("alice@example.com", "09:00", "17:00")];
    const held = [heldRequest("r1", "09:00", "17:00")];
    assert.deepEqual(plan("12:00", { shifts, held, requests: [request("r2", "alice", ["db-admin"])] }), [
      "unchanged oncall alice db-admin 09:00-17:00",
      "grant oncall alice db-admin 12:00-17:00 ref=r2 (approves request r2)",
    ]);
    // 17:00: both end; each expiry names its request.
    const both = [
      ...held,
      heldRequest("r2", "12:00", "17:00", { ref: { request: "r2", expires: "2026-11-22T20:00:00Z" } }),
    ];
    assert.deepEqual(plan("17:00", { shifts, held: both }), [
      "expire oncall alice db-admin 09:00-17:00 undoes=r1 (tp does not end access by itself; expiries run whatever --rule, --max-changes or a failed source say)",
      "expire oncall alice db-admin 12:00-17:00 undoes=r2 (tp does not end access by itself; expiries run whatever --rule, --max-changes or a failed source say)",
    ]);
  });

  it("a held request is continued by another rule granting its roles, and never granted again after a gap", () => {
    const primary = rule();
    const dba = rule({ name: "dba", resources: ["db-admin"], revoke: false });
    const held = [heldRequest("r1", "09:00", "12:00")];
    const shiftsByRule = new Map([
      ["oncall", [shift("alice@example.com", "09:00", "12:00")]],
      ["dba", [shift("alice@example.com", "11:00", "13:00"), shift("alice@example.com", "15:00", "16:00")]],
    ]);
    assert.deepEqual(plan("11:30", { rules: [primary, dba], shiftsByRule, held }), [
      "unchanged oncall alice db-admin 09:00-12:00",
      "unchanged dba alice db-admin 09:00-12:00",
      // Its 15:00 shift grants nothing: the request is expired at 13:00, and there is nothing to approve.
      "extend dba alice db-admin 12:00-13:00 ref=r1 [no call]",
    ]);
  });

  it("a shift that disappears revokes its request, unless a rule not read grants one of its roles", () => {
    const held = [heldRequest("r1", "09:00", "17:00", { resource: "db-admin,k8s-admin" })];
    assert.deepEqual(plan("12:00", { shifts: [], held }), [
      "revoke oncall alice db-admin,k8s-admin 09:00-17:00 undoes=r1",
    ]);
    const other = rule({ name: "k8s", resources: ["k8s-admin"] });
    assert.deepEqual(plan("12:00", { shifts: [], held, unplannedRules: [other] }), [
      "skip oncall alice db-admin,k8s-admin 09:00-17:00 (not revoked in this run: rule k8s also grants this access and it was not selected (--rule))",
    ]);
  });
});
