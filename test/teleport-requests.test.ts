import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, it } from "node:test";
import { DateTime } from "luxon";
import { simulateDay } from "./day.js";
import { dayFixture as requestsDay } from "./days/teleport-requests.js";
import { dayFixture as listsDay } from "./days/teleport.js";
import { createFakeTctl } from "./fakes/tctl.js";
import { startFakePagerDuty } from "./fakes/pagerduty.js";
import { runMain } from "./harness.js";
import { makeTempDir, parseJsonOutput, writeYaml } from "./helpers.js";

// The teleport target in-process, against the in-process fake tctl (test/fakes/tctl.ts): the
// access-requests mode (approve the pending requests of people on call, lock them when the shift
// ends) and exclusive access lists.

const ARGS = ["--auth-server", "proxy.example.com:443", "-i", "/opt/machine-id/identity"];
const sortCalls = (calls: string[][]) => [...calls].sort((a, b) => (a.join(" ") < b.join(" ") ? -1 : 1));
const at = (hhmm: string) => DateTime.fromISO(`2026-11-22T${hhmm}:00Z`, { zone: "utc" });

describe("teleport target, mode: access-requests", () => {
  it("approves the on-call requester's roles, leaves the others pending, locks at the end for the access left, and retries a failed lock (exit 4, 4, 0)", async () => {
    const { dir, cleanup } = await makeTempDir();
    let now = at("09:55");
    const tctl = createFakeTctl({ now: () => now });
    try {
      await writeFile(
        path.join(dir, "rota.yaml"),
        `shifts:
  - { schedule: primary, email: alice@example.com, start: 2026-11-22T09:00:00Z, end: 2026-11-22T17:00:00Z }
  - { schedule: primary, email: bob@example.com, start: 2026-11-22T17:00:00Z, end: 2026-11-22T23:00:00Z }
`,
      );
      const config = await writeYaml(
        path.join(dir, "shiftgrant.yaml"),
        `
version: 1
state: state.json
sources: { rota: { type: file, path: rota.yaml } }
targets:
  tp:
    type: teleport
    mode: access-requests
    args: ${JSON.stringify(ARGS)}
    identities: { alice@example.com: alice, bob@example.com: bob }
rules:
  - { name: oncall, source: rota, schedules: [primary], target: tp, resources: [db-admin, k8s-admin], grace: 15m }
`,
      );
      // 09:55: alice asks for two of the rule's roles (access until 17:55), and for a role outside
      // it; bob, not on call yet, asks too; alice also holds a request a reviewer approved.
      const wanted = tctl.file("alice", ["k8s-admin", "db-admin"], { access: "PT8H" });
      const outside = tctl.file("alice", ["db-admin", "prod-root"]);
      const early = tctl.file("bob", ["db-admin"]);
      const reviewed = tctl.file("alice", ["db-admin"], { access: "PT4H" });
      tctl.review(reviewed, "APPROVED");
      const run = async (hhmm: string, ...extra: string[]) => {
        now = at(hhmm);
        const res = await runMain(["sync", "-c", config, "--output", "json", ...extra], {
          cwd: dir,
          now,
          exec: tctl.exec,
        });
        // The listing comes first; the calls after it run concurrently: compared in a fixed order.
        const [first, ...rest] = tctl.takeCalls();
        return { ...res, calls: first ? [first, ...sortCalls(rest)] : [], doc: parseJsonOutput(res.stdout) };
      };
      const ls = [...ARGS, "requests", "ls", "--format=json"];
      const grant = {
        kind: "grant",
        rule: "oncall",
        target: "tp",
        resource: "db-admin,k8s-admin",
        identity: "alice",
        start: "2026-11-22T10:00:00Z",
        end: "2026-11-22T17:15:00Z",
        reason: `on call: primary (rota) (approves request ${wanted})`,
      };
      const skip = {
        kind: "skip",
        rule: "oncall",
        target: "tp",
        resource: "db-admin,prod-root",
        identity: "alice",
        start: "2026-11-22T10:00:00Z",
        end: "2026-11-22T10:00:00Z",
        reason: `on call: primary (rota) (request ${outside} asks for prod-root, not among the resources of oncall; left pending for a reviewer)`,
        status: "skipped",
      };

      // 10:00, dry run: the requests are read, nothing is approved.
      const dry = await run("10:00", "--dry-run");
      assert.equal(dry.code, 0, dry.stderr);
      assert.deepEqual(dry.calls, [ls]);
      assert.deepEqual(dry.doc.actions, [{ ...grant, status: "planned" }, skip]);
      assert.deepEqual(
        tctl.requests().map((r) => [r.id, r.state]),
        [
          [wanted, 1],
          [outside, 1],
          [early, 1],
          [reviewed, 2],
        ],
      );

      // 10:00: alice's request for the rule's roles is approved; the rest stays as it was.
      const r1 = await run("10:00");
      assert.equal(r1.code, 0, r1.stderr);
      assert.deepEqual(r1.calls, [
        ls,
        [...ARGS, "requests", "approve", wanted, "--reason", "on call: primary (rota)"],
      ]);
      assert.deepEqual(r1.doc.actions, [{ ...grant, status: "applied" }, skip]);
      assert.deepEqual(
        tctl.requests().map((r) => [r.id, r.state, r.resolveReason]),
        [
          [wanted, 2, "on call: primary (rota)"],
          [outside, 1, undefined],
          [early, 1, undefined],
          [reviewed, 2, undefined],
        ],
      );
      // The ledger keeps the request id, and its access expiry for the lock.
      const ledger = JSON.parse(await readFile(path.join(dir, "state.json"), "utf8")) as {
        grants: { resource: string; identity: string; end: string; ref?: Record<string, string> }[];
      };
      assert.deepEqual(
        ledger.grants.map((g) => [g.resource, g.identity, g.end, g.ref]),
        [
          [
            "db-admin,k8s-admin",
            "alice",
            "2026-11-22T17:15:00Z",
            { request: wanted, expires: "2026-11-22T17:55:00Z" },
          ],
        ],
      );

      // 12:00: the listing fails: nothing is approved, what is held goes on, exit 4.
      tctl.failNext(/requests ls/, 'ERROR: access denied to perform action "list" on "access_request"');
      const r2 = await run("12:00");
      assert.equal(r2.code, 4, r2.stderr);
      assert.deepEqual(r2.calls, [ls]);
      assert.deepEqual(
        r2.doc.actions.map((a) => [a.kind, a.identity, a.status]),
        [["unchanged", "alice", "skipped"]],
      );
      assert.match(
        r2.stderr,
        /could not list the access requests; none is approved on this target in this run/,
      );
      assert.match(r2.stderr, /access denied to perform action/);

      // 17:10 bob files a request (his first one expired pending); 17:15 it is approved, and alice's
      // access ends: the lock fails, the run says so and exits 4.
      now = at("17:10");
      const bobs = tctl.file("bob", ["db-admin"]);
      const lock = (ttl: string) => [
        ...ARGS,
        "lock",
        `--access-request=${wanted}`,
        "--message=shiftgrant: on-call access of alice ended (the grant's end has passed; rule oncall)",
        `--ttl=${ttl}`,
      ];
      tctl.failNext(/ lock /, "ERROR: connection to the auth server was lost", 2);
      const r3 = await run("17:15");
      assert.equal(r3.code, 4, r3.stderr);
      assert.deepEqual(r3.calls, [
        ls,
        ...sortCalls([
          lock("40m"),
          [...ARGS, "requests", "approve", bobs, "--reason", "on call: primary (rota)"],
        ]),
      ]);
      assert.deepEqual(
        r3.doc.actions.map((a) => [a.kind, a.identity, a.resource, a.status, a.error]),
        [
          ["grant", "bob", "db-admin", "applied", undefined],
          [
            "expire",
            "alice",
            "db-admin,k8s-admin",
            "failed",
            "tctl exited with code 1: ERROR: connection to the auth server was lost",
          ],
        ],
      );
      assert.match(r3.stderr, /access past its end was not expired; the next run tries again/);

      // 17:30: the expiry is retried, and fails again.
      const r4 = await run("17:30");
      assert.equal(r4.code, 4, r4.stderr);
      assert.deepEqual(r4.calls, [ls, lock("25m")]);

      // 17:45: the lock is made, for the 10 minutes the request's access has left.
      const r5 = await run("17:45");
      assert.equal(r5.code, 0, r5.stderr);
      assert.deepEqual(r5.calls, [ls, lock("10m")]);
      assert.deepEqual(
        r5.doc.actions.map((a) => [a.kind, a.identity, a.status]),
        [
          ["unchanged", "bob", "skipped"],
          ["expire", "alice", "applied"],
        ],
      );
      assert.deepEqual(
        tctl.locks().map((l) => [l.request, l.ttl, l.expires]),
        [[wanted, "10m", "2026-11-22T17:55:00Z"]],
      );
      // Nothing denied; the reviewer's request and the one outside the rule were never touched.
      assert.deepEqual(
        tctl.requests().map((r) => [r.id, r.state]),
        [
          [wanted, 2],
          [outside, 1],
          [early, 1],
          [reviewed, 2],
          [bobs, 2],
        ],
      );
      tctl.close();
    } finally {
      await cleanup();
    }
  });

  it("with the incident mode: approves the request of whoever acknowledged an open incident", async () => {
    const { dir, cleanup } = await makeTempDir();
    const now = at("10:00");
    const tctl = createFakeTctl({ now: () => now });
    const pd = await startFakePagerDuty({
      token: "pd-token-tp",
      users: [
        { id: "PUSER01", name: "Alice", email: "alice@example.com" },
        { id: "PUSER02", name: "Bob", email: "bob@example.com" },
      ],
      services: [{ id: "PSVC001", name: "Database" }],
      incidents: [
        {
          id: "PINC001",
          number: 101,
          title: "Primary database unreachable",
          serviceId: "PSVC001",
          status: "acknowledged",
          createdAt: "2026-11-22T09:20:00Z",
          acknowledgements: [{ at: "2026-11-22T09:30:00Z", by: { type: "user", userId: "PUSER01" } }],
        },
      ],
    });
    try {
      const config = await writeYaml(
        path.join(dir, "shiftgrant.yaml"),
        `
version: 1
state: state.json
sources: { pd: { type: pagerduty, baseUrl: "${pd.url}" } }
targets:
  tp: { type: teleport, mode: access-requests }
rules:
  - { name: responders, source: pd, incidents: { services: [PSVC001] }, target: tp, resources: [db-admin], maxDuration: 4h }
`,
      );
      const alices = tctl.file("alice@example.com", ["db-admin"]);
      tctl.file("bob@example.com", ["db-admin"]);
      const res = await runMain(["sync", "-c", config, "--output", "json"], {
        cwd: dir,
        now,
        env: { PAGERDUTY_TOKEN: "pd-token-tp" },
        exec: tctl.exec,
      });
      assert.equal(res.code, 0, res.stderr);
      assert.deepEqual(tctl.takeCalls(), [
        ["requests", "ls", "--format=json"],
        [
          "requests",
          "approve",
          alices,
          "--reason",
          "acknowledged incident #101: Primary database unreachable",
        ],
      ]);
      assert.deepEqual(
        parseJsonOutput(res.stdout).actions.map((a) => [a.kind, a.identity, a.resource, a.start, a.end]),
        [["grant", "alice@example.com", "db-admin", "2026-11-22T10:00:00Z", "2026-11-22T14:00:00Z"]],
      );
      assert.deepEqual(pd.unexpected, []);
      tctl.close();
    } finally {
      await pd.close();
      await cleanup();
    }
  });

  it("refuses exclusive, and a mode it does not know, naming them", async () => {
    const { dir, cleanup } = await makeTempDir();
    try {
      const config = await writeYaml(
        path.join(dir, "shiftgrant.yaml"),
        `
version: 1
sources: { rota: { type: file, path: rota.yaml } }
targets:
  tp: { type: teleport, mode: access-requests, exclusive: [db-admin] }
  tp2: { type: teleport, mode: requests }
rules:
  - { name: oncall, source: rota, schedules: [primary], target: tp, resources: [db-admin] }
`,
      );
      const res = await runMain(["validate", "-c", config], { cwd: dir });
      assert.equal(res.code, 2, res.stderr);
      assert.match(
        res.stderr,
        /targets\.tp\.exclusive: a teleport target with mode: access-requests approves the requests people file; there is no membership for shiftgrant to own\. Remove exclusive, or use mode: access-lists/,
      );
      assert.match(
        res.stderr,
        /targets\.tp2\.mode: Invalid option: expected one of .*access-lists.*access-requests/,
      );
    } finally {
      await cleanup();
    }
  });

  it("the simulated day: approvals as shifts begin, the swap, the overdue lock at 16:00, dave's own request left alone", async () => {
    const fixture = await requestsDay();
    try {
      const runs = await simulateDay(fixture, {
        only: ["00:00", "12:00", "13:00", "13:15", "16:00", "+00:15"],
      });
      const req = (n: number) => `0b6c4e9e-000${n}-4000-8000-5e1f7a9c0d11`;
      const lock = (n: number, who: string, rule: string, ttl: string) =>
        `tctl -i /opt/machine-id/identity lock --access-request=${req(n)} "--message=shiftgrant: on-call access of ${who} ended (the grant's end has passed; rule ${rule})" --ttl=${ttl}`;
      const approve = (n: number) =>
        `tctl -i /opt/machine-id/identity requests approve ${req(n)} --reason "on call: primary (rota)"`;
      assert.deepEqual(
        runs.map((r) => [r.at, r.code, [...r.calls].sort(), r.actions]),
        [
          // dave's request (1) was approved by a reviewer before the day: never touched.
          ["00:00", 0, [approve(2)], ["grant primary alice applied"]],
          // alice's first request's access ended at 12:00: she filed another, approved as its own
          // grant; both are kept for dba (alice is on call there until 14:00) without a call.
          [
            "12:00",
            0,
            [approve(3), approve(4)],
            [
              "grant primary alice applied",
              "grant primary bob applied",
              "extend dba alice applied",
              "extend dba alice applied",
            ],
          ],
          ["13:00", 0, [approve(5)], ["shorten primary bob applied", "grant primary carol applied"]],
          ["13:15", 0, [lock(3, "bob", "primary", "10h45m")], ["expire primary bob applied"]],
          // No run from 14:00 to 15:45: alice's access, kept for dba until 14:00, is locked at 16:00.
          [
            "16:00",
            0,
            [lock(2, "alice", "dba", "1m"), lock(4, "alice", "dba", "8h0m")],
            ["expire dba alice applied", "expire dba alice applied"],
          ],
          ["+00:15", 0, [lock(5, "carol", "primary", "45m")], ["expire primary carol applied"]],
        ],
      );
    } finally {
      await fixture.close();
    }
  });
});

describe("teleport target, access lists", () => {
  it("exclusive: the members tctl lists who are not on call are removed, whoever added them", async () => {
    const fixture = await listsDay();
    try {
      const runs = await simulateDay(fixture, { exclusive: true, only: ["00:00", "16:00"] });
      const tctl = "tctl -i /opt/machine-id/identity";
      assert.deepEqual(
        runs.map((r) => [r.at, r.code, [...r.calls].sort(), r.actions]),
        [
          // dave was a member before the day: exclusive removes him.
          [
            "00:00",
            0,
            [
              `${tctl} acl users add prod-access alice@example.com 2026-11-22T12:15:00Z "on call: primary (rota)"`,
              `${tctl} acl users add prod-access alice@example.com 2026-11-22T14:00:00Z "on call: dba (rota)"`,
              `${tctl} acl users rm prod-access dave@example.com`,
            ],
            [
              "grant primary alice@example.com applied",
              "wait primary bob@example.com skipped",
              "revoke primary dave@example.com applied",
              "extend dba alice@example.com applied",
              "wait dba dave@example.com skipped",
            ],
          ],
          // This run alone of the day since 00:00: alice's membership, lapsed at 14:00 but still
          // listed, is removed; carol (bob swapped out) and dave are on call.
          [
            "16:00",
            0,
            [
              `${tctl} acl users add prod-access carol@example.com 2026-11-23T00:15:00Z "on call: primary (rota)"`,
              `${tctl} acl users add prod-access dave@example.com 2026-11-22T20:00:00Z "on call: dba (rota)"`,
              `${tctl} acl users rm prod-access alice@example.com`,
            ],
            [
              "revoke primary alice@example.com applied",
              "grant primary carol@example.com applied",
              "grant dba dave@example.com applied",
            ],
          ],
        ],
      );
      // Each run read the list's members first.
      assert.deepEqual(
        fixture.tctl.history().filter((a) => a.includes("ls")),
        [
          ["-i", "/opt/machine-id/identity", "acl", "users", "ls", "prod-access", "--format=json"],
          ["-i", "/opt/machine-id/identity", "acl", "users", "ls", "prod-access", "--format=json"],
        ],
      );
    } finally {
      await fixture.close();
    }
  });
});
