import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DateTime } from "luxon";
import { createSilentLogger } from "../infra/log.js";
import type { Action, ActionKind } from "../plan/types.js";
import type { ActionResult, Target, TargetCall } from "../targets/types.js";
import { applyPlan } from "./apply.js";

const T0 = DateTime.fromISO("2026-11-22T10:00:00Z", { zone: "utc" });

function action(kind: ActionKind, identity: string, resource = "db", hours = 0): Action {
  return {
    kind,
    rule: "prod",
    target: "cmd",
    resource,
    identity,
    start: T0.plus({ hours }),
    end: T0.plus({ hours: hours + 8 }),
    reason: "on call",
    shifts: [],
  };
}

/**
 * A target whose calls each wait until the test releases them. `events` records each start and end
 * in order; `started` resolves once `n` calls are under way.
 */
function gatedTarget(fail: (kind: string, call: TargetCall) => boolean = () => false) {
  const events: string[] = [];
  const gates: (() => void)[] = [];
  let waiters: { n: number; resolve: () => void }[] = [];
  let running = 0;
  const run =
    (kind: string) =>
    async (call: TargetCall): Promise<ActionResult> => {
      const name = `${kind} ${call.identity} ${call.resource}`;
      events.push(`start ${name}`);
      running++;
      waiters = waiters.filter((w) => (running >= w.n ? (w.resolve(), false) : true));
      await new Promise<void>((resolve) => gates.push(resolve));
      running--;
      events.push(`end ${name}`);
      return fail(kind, call) ? { status: "failed", error: `${kind} refused` } : { status: "applied" };
    };
  const target: Target = {
    capabilities: {
      futureStart: true,
      revoke: true,
      extendInPlace: false,
      shortenInPlace: false,
      expires: true,
      memberships: false,
      listsMembers: false,
      identity: "email",
    },
    shorten: run("shorten"),
    grant: run("grant"),
    extend: run("extend"),
    revoke: run("revoke"),
    check: async () => ({ ok: true, detail: "" }),
  };
  return {
    target,
    events,
    get running() {
      return running;
    },
    /** Resolves once `n` calls are under way at the same time. */
    underWay(n: number): Promise<void> {
      if (running >= n) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ n, resolve }));
    },
    /** Lets every call under way finish. */
    releaseAll(): void {
      for (const g of gates.splice(0)) g();
    },
  };
}

/** Releases calls as they come until `done` settles. */
async function drain(t: ReturnType<typeof gatedTarget>, done: Promise<unknown>): Promise<void> {
  let finished = false;
  void done.finally(() => (finished = true));
  while (!finished) {
    t.releaseAll();
    await new Promise((r) => setImmediate(r));
  }
}

describe("applyPlan: actions on the same access never run at once", () => {
  it("a revoke and a grant of the same (target, resource, identity) run one after the other, revoke first", async () => {
    const t = gatedTarget();
    // The plan lists the grant first: the chain still runs the revoke first.
    const grant = action("grant", "alice@example.com", "db", 24);
    const revoke = action("revoke", "alice@example.com");
    const done = applyPlan(
      [grant, revoke],
      new Map([["cmd", { target: t.target, concurrency: 4 }]]),
      createSilentLogger(),
    );
    await t.underWay(1);
    // Every call that could start has started (concurrency 4): only the revoke.
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(t.events, ["start revoke alice@example.com db"]);
    await drain(t, done);
    const results = await done;
    assert.deepEqual(t.events, [
      "start revoke alice@example.com db",
      "end revoke alice@example.com db",
      "start grant alice@example.com db",
      "end grant alice@example.com db",
    ]);
    assert.equal(results.get(grant)?.status, "applied");
    assert.equal(results.get(revoke)?.status, "applied");
  });

  it("chains of different access run side by side, up to the target's bound", async () => {
    const t = gatedTarget();
    const plan = [
      action("revoke", "alice@example.com"),
      action("grant", "alice@example.com", "db", 24),
      action("grant", "bob@example.com"),
      action("grant", "alice@example.com", "k8s"),
      action("grant", "carol@example.com"),
    ];
    const done = applyPlan(
      plan,
      new Map([["cmd", { target: t.target, concurrency: 3 }]]),
      createSilentLogger(),
    );
    await t.underWay(3);
    await new Promise((r) => setImmediate(r));
    // Three chains under way (the bound); alice's grant on db waits for her revoke, carol for a slot.
    assert.deepEqual(t.events, [
      "start revoke alice@example.com db",
      "start grant bob@example.com db",
      "start grant alice@example.com k8s",
    ]);
    await drain(t, done);
    await done;
    assert.equal(t.events.length, 10);
    assert.ok(
      t.events.indexOf("end revoke alice@example.com db") <
        t.events.indexOf("start grant alice@example.com db"),
    );
  });

  it("a failed revoke keeps the grant chained after it from being made; other chains go on", async () => {
    const t = gatedTarget((kind) => kind === "revoke");
    const revoke = action("revoke", "alice@example.com");
    const grant = action("grant", "alice@example.com", "db", 24);
    const other = action("grant", "bob@example.com");
    const done = applyPlan(
      [revoke, grant, other],
      new Map([["cmd", { target: t.target, concurrency: 2 }]]),
      createSilentLogger(),
    );
    await drain(t, done);
    const results = await done;
    assert.deepEqual(results.get(revoke), { status: "failed", error: "revoke refused" });
    assert.deepEqual(results.get(grant), {
      status: "failed",
      error:
        "not made: the revoke of the same access before it failed (revoke refused); the next run tries both again",
    });
    assert.deepEqual(results.get(other), { status: "applied" });
    assert.ok(!t.events.includes("start grant alice@example.com db"));
  });
});

describe("applyPlan: a stop check before each call", () => {
  it("once it says stop, no further call starts; calls under way finish and keep their result", async () => {
    const t = gatedTarget();
    const plan = ["a", "b", "c", "d", "e", "f"].map((n) => action("grant", `${n}@example.com`));
    let stop = false;
    const done = applyPlan(
      plan,
      new Map([["cmd", { target: t.target, concurrency: 2 }]]),
      createSilentLogger(),
      {
        shouldStop: () => stop,
      },
    );
    await t.underWay(2);
    stop = true;
    await drain(t, done);
    const results = await done;
    assert.deepEqual(t.events, [
      "start grant a@example.com db",
      "start grant b@example.com db",
      "end grant a@example.com db",
      "end grant b@example.com db",
    ]);
    assert.deepEqual(
      [...results.keys()].map((a) => a.identity),
      ["a@example.com", "b@example.com"],
    );
  });
});

describe("applyPlan: memberships", () => {
  /** A target that records its calls, says whether each identity has the access, and lists nothing. */
  function membershipTarget(members: Record<string, "member" | "absent" | "failed">) {
    const calls: string[] = [];
    const run =
      (kind: string) =>
      async (call: TargetCall): Promise<ActionResult> => {
        calls.push(`${kind} ${call.identity}`);
        return { status: "applied", ref: { id: `ref-${call.identity}` } };
      };
    const target: Target = {
      capabilities: {
        futureStart: false,
        revoke: true,
        extendInPlace: false,
        shortenInPlace: false,
        expires: false,
        memberships: true,
        listsMembers: false,
        identity: "email",
      },
      grant: run("grant"),
      extend: run("extend"),
      shorten: run("shorten"),
      revoke: run("revoke"),
      check: async () => ({ ok: true, detail: "" }),
      hasAccess: async (identity, resource) => {
        calls.push(`hasAccess ${identity} ${resource}`);
        const m = members[identity] ?? "absent";
        return m === "failed" ? { status: "failed", error: "403 from the directory" } : { status: m };
      },
    };
    return { target, calls };
  }

  it("the first grant asks first: pre-existing access is left alone (no call), absent access is granted", async () => {
    const t = membershipTarget({
      "pre@example.com": "member",
      "new@example.com": "absent",
      "err@example.com": "failed",
    });
    const first = (identity: string) => ({ ...action("grant", identity), checkFirst: true });
    const [pre, fresh, err] = [first("pre@example.com"), first("new@example.com"), first("err@example.com")];
    // Without checkFirst (the membership is held already) nothing is asked.
    const again = action("grant", "held@example.com");
    const results = await applyPlan(
      [pre, fresh, err, again],
      new Map([["cmd", { target: t.target, concurrency: 1 }]]),
      createSilentLogger(),
    );
    assert.deepEqual(t.calls, [
      "hasAccess pre@example.com db",
      "hasAccess new@example.com db",
      "grant new@example.com",
      "hasAccess err@example.com db",
      "grant held@example.com",
    ]);
    assert.deepEqual(results.get(pre), {
      status: "applied",
      preexisting: true,
      output: "already has this access outside shiftgrant; left alone",
    });
    assert.deepEqual(results.get(fresh), { status: "applied", ref: { id: "ref-new@example.com" } });
    assert.deepEqual(results.get(err), {
      status: "failed",
      error: "could not check for existing access: 403 from the directory",
    });
  });

  it("an action that changes only the ledger calls nothing; an expire is the target's revoke, run first", async () => {
    const t = membershipTarget({});
    const extend = { ...action("extend", "a@example.com", "db", 8), noCall: "no call: kept" };
    const expire = action("expire", "a@example.com");
    const results = await applyPlan(
      [extend, expire],
      new Map([["cmd", { target: t.target, concurrency: 1 }]]),
      createSilentLogger(),
    );
    assert.deepEqual(t.calls, ["revoke a@example.com"]);
    assert.deepEqual(results.get(extend), { status: "applied", output: "no call: kept" });
    assert.equal(results.get(expire)?.status, "applied");
  });
});
