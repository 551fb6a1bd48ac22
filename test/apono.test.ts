import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, it } from "node:test";
import { DateTime } from "luxon";
import { simulateDay } from "./day.js";
import { dayFixture } from "./days/apono.js";
import { createHttpClient } from "../src/infra/http.js";
import { createAponoTarget } from "../src/targets/apono/index.js";
import { normalizeApono, aponoSchema } from "../src/targets/apono/config.js";
import { startFakeApono, type FakeAponoIntegration, type FakeAponoUser } from "./fakes/apono.js";
import { assertNoSecret, makeTempDir, parseJsonOutput, writeYaml } from "./helpers.js";
import { runMain } from "./harness.js";
import { actionLines, callsSince } from "./target-helpers.js";

// The apono target through the CLI against a fake Apono, with a rota file as the source and the
// fake's clock moved with each run's. Each test asserts the exact requests of each run.

const TOKEN = "apono-test-token-DO-NOT-PRINT";
const user = (n: string, active = true): FakeAponoUser => ({
  id: `u-${n}`,
  email: `${n}@example.com`,
  active,
});
const PG: FakeAponoIntegration = {
  id: "int-pg",
  name: "prod-postgres",
  resources: ["res-db1", "res-db2"],
  permissions: ["ReadOnly", "ReadWrite"],
};

// Each person on a schedule of their own.
const rota = (shifts: [string, string, string][]) =>
  `shifts:\n${shifts.map(([who, start, end]) => `  - { schedule: ${who}, email: ${who}@example.com, start: ${start}, end: ${end} }`).join("\n")}\n`;

async function setup(
  fakeOpts: { users: FakeAponoUser[]; integrations: FakeAponoIntegration[] },
  target: string,
  rules: string,
) {
  const apono = await startFakeApono({ token: TOKEN, ...fakeOpts });
  const { dir, cleanup } = await makeTempDir();
  const config = await writeYaml(
    path.join(dir, "shiftgrant.yaml"),
    `
version: 1
state: state.json
sources: { rota: { type: file, path: rota.yaml } }
targets:
  apono:
    type: apono
    baseUrl: ${apono.url}
    concurrency: 1
${target}
rules:
${rules}
`,
  );
  return {
    apono,
    dir,
    config,
    shifts: (s: [string, string, string][]) => writeFile(path.join(dir, "rota.yaml"), rota(s)),
    run: (now: string, opts: { token?: string; args?: string[] } = {}) => {
      apono.setNow(DateTime.fromISO(now, { zone: "utc" }));
      return runMain(["sync", "-c", config, "--output", "json", ...(opts.args ?? [])], {
        cwd: dir,
        env: { APONO_TOKEN: opts.token ?? TOKEN },
        now,
      });
    },
    /** The requests made since the last call. */
    newCalls: callsSince(() => apono.calls()),
    cleanup: async () => {
      try {
        await apono.close();
      } finally {
        await cleanup();
      }
    },
  };
}

const actions = actionLines;

const create = (
  userId: string,
  justification: string,
  seconds: number,
  res = ["res-db1"],
  perms = ["ReadOnly"],
) =>
  `POST /api/v3/access-requests ${JSON.stringify({
    user_id: userId,
    integration_id: "int-pg",
    resource_ids: res,
    permissions: perms,
    justification,
    duration_in_sec: seconds,
  })}`;
/** A request followed to GRANTED: PENDING when made, APPROVED at the first read, GRANTED at the second. */
const granted = (id: string) => [`GET /api/v3/access-requests/${id}`, `GET /api/v3/access-requests/${id}`];

describe("apono target: access requests that Apono ends", () => {
  it("the simulated day: requests for the grant's length, an extension as a new request, the swap, dave's own request untouched", async () => {
    const f = await dayFixture();
    try {
      const runs = await simulateDay(f, { only: ["00:00", "12:00", "12:15", "13:00", "16:00", "20:15"] });
      const by = new Map(runs.map((r) => [r.at, r]));
      const day = (at: string) => {
        const r = by.get(at);
        assert.ok(r, at);
        assert.equal(r.code, 0, `${at}: ${r.stderr}`);
        return r;
      };
      const alice = create("u-alice", "on call: primary (rota)", 44_100);
      // 00:00: alice's primary shift (to 12:15 with grace) and, on the same access, her dba shift's
      // continuation to 14:00: a second request, from now, made at once (no gap when the first ends).
      assert.deepEqual(day("00:00").calls, [
        "GET /api/v2/users/alice%40example.com",
        alice,
        ...granted("req-0002"),
        create("u-alice", "on call: dba (rota)", 50_400),
        ...granted("req-0003"),
      ]);
      assert.deepEqual(day("00:00").actions, [
        "grant primary alice@example.com applied",
        "wait primary bob@example.com skipped",
        "extend dba alice@example.com applied",
        "wait dba dave@example.com skipped",
      ]);
      // 12:00: bob's shift starts.
      assert.deepEqual(day("12:00").calls, [
        "GET /api/v2/users/bob%40example.com",
        create("u-bob", "on call: primary (rota)", 44_100),
        ...granted("req-0004"),
      ]);
      // 12:15: alice's primary request has ended by itself; her dba request holds the access: no call.
      assert.deepEqual(day("12:15").calls, []);
      // 13:00: carol took bob's shift from 13:00: bob's request is revoked, and what he still has
      // (to 13:15, with grace) is a new request; carol's runs to 00:15.
      assert.deepEqual(day("13:00").calls, [
        'POST /api/v3/access-requests-bulk/revoke {"request_ids":["req-0004"]}',
        "GET /api/v2/users/bob%40example.com",
        create("u-bob", "on call: primary (rota)", 900),
        ...granted("req-0005"),
        "GET /api/v2/users/carol%40example.com",
        create("u-carol", "on call: primary (rota)", 40_500),
        ...granted("req-0006"),
      ]);
      assert.deepEqual(day("13:00").actions, [
        "revoke primary bob@example.com applied",
        "grant primary bob@example.com applied",
        "grant primary carol@example.com applied",
        "wait dba dave@example.com skipped",
      ]);
      // 16:00 (no run since 14:00): alice's access ended at 14:00 in Apono, with no call; dave's shift
      // is a request of shiftgrant's own beside the one he asked for himself (Apono has no way to
      // tell that he has the access already).
      assert.deepEqual(day("16:00").calls, [
        "GET /api/v2/users/dave%40example.com",
        create("u-dave", "on call: dba (rota)", 14_400),
        ...granted("req-0007"),
      ]);
      // 20:15: dave's shift has ended: Apono ended shiftgrant's request; his own is untouched.
      assert.deepEqual(day("20:15").calls, []);
      const states = Object.fromEntries(f.requestStates().map((r) => [r.id, r.status]));
      assert.deepEqual(states, {
        "req-0001": "GRANTED", // dave's own, for a week
        "req-0002": "EXPIRED",
        "req-0003": "EXPIRED",
        "req-0004": "REVOKING",
        "req-0005": "EXPIRED",
        "req-0006": "GRANTED",
        "req-0007": "EXPIRED",
      });
    } finally {
      await f.close();
    }
  });

  it("an extension is a new request up to the new end; a revoke names every request of the access; a dry run calls nothing", async () => {
    const t = await setup(
      { users: [user("alice")], integrations: [PG] },
      `    resources:
      db: { integrationId: int-pg, resourceIds: [res-db1, res-db2], permissions: [ReadWrite] }`,
      "  - { name: oncall, source: rota, schedules: [alice], target: apono, resources: [db], revoke: true }",
    );
    try {
      await t.shifts([["alice", "2026-11-22T10:00:00Z", "2026-11-22T14:00:00Z"]]);
      const dry = await t.run("2026-11-22T10:00:00Z", { args: ["--dry-run"] });
      assert.equal(dry.code, 0, dry.stderr);
      assert.deepEqual(actions(dry.stdout), ["grant alice@example.com db planned"]);
      assert.deepEqual(t.newCalls(), []);

      const r1 = await t.run("2026-11-22T10:00:00Z");
      assert.equal(r1.code, 0, r1.stderr + r1.stdout);
      assert.deepEqual(actions(r1.stdout), ["grant alice@example.com db applied"]);
      const both = ["res-db1", "res-db2"];
      assert.deepEqual(t.newCalls(), [
        "GET /api/v2/users/alice%40example.com",
        create("u-alice", "on call: alice (rota)", 14_400, both, ["ReadWrite"]),
        ...granted("req-0001"),
      ]);
      // Polled through the run's sleep: two waits of 2 s, no real time.
      assert.deepEqual(r1.sleeps, [2000, 2000]);

      // 12:00: the shift now ends at 18:00: a request from now for 6 hours; the first one stays.
      await t.shifts([["alice", "2026-11-22T10:00:00Z", "2026-11-22T18:00:00Z"]]);
      const r2 = await t.run("2026-11-22T12:00:00Z");
      assert.equal(r2.code, 0, r2.stderr + r2.stdout);
      assert.deepEqual(actions(r2.stdout), [
        "unchanged alice@example.com db skipped",
        "extend alice@example.com db applied",
      ]);
      assert.deepEqual(t.newCalls(), [
        "GET /api/v2/users/alice%40example.com",
        create("u-alice", "on call: alice (rota)", 21_600, both, ["ReadWrite"]),
        ...granted("req-0002"),
      ]);
      assert.deepEqual(t.apono.granted(), ["req-0001", "req-0002"]);
      const ledger = JSON.parse(await readFile(path.join(t.dir, "state.json"), "utf8")) as {
        grants: { start: string; end: string; ref?: Record<string, string> }[];
      };
      assert.deepEqual(
        ledger.grants.map((g) => [g.start, g.end, g.ref]),
        [
          ["2026-11-22T10:00:00Z", "2026-11-22T14:00:00Z", { requestId: "req-0001" }],
          ["2026-11-22T14:00:00Z", "2026-11-22T18:00:00Z", { requestId: "req-0002" }],
        ],
      );

      // 13:00: the shift moved to the evening: one bulk revoke of both requests; the evening waits.
      await t.shifts([["alice", "2026-11-22T20:00:00Z", "2026-11-22T22:00:00Z"]]);
      const r3 = await t.run("2026-11-22T13:00:00Z");
      assert.equal(r3.code, 0, r3.stderr + r3.stdout);
      assert.deepEqual(actions(r3.stdout), [
        "revoke alice@example.com db applied",
        "wait alice@example.com db skipped",
      ]);
      assert.deepEqual(t.newCalls(), [
        'POST /api/v3/access-requests-bulk/revoke {"request_ids":["req-0001","req-0002"]}',
      ]);
      assert.deepEqual(t.apono.granted(), []);
    } finally {
      await t.cleanup();
    }
  });

  it("refusals: REJECTED, FAILED, an approval that never comes, an unknown integration fail (exit 4); an unknown or inactive user is a skip; a refused token never shows; a stop ends the wait", async () => {
    const flows: FakeAponoIntegration[] = [
      { ...PG, id: "int-rej", name: "rejects", flow: "reject" },
      { ...PG, id: "int-man", name: "manual", flow: "manual" },
      { ...PG, id: "int-fail", name: "fails", flow: "fail" },
    ];
    const map = (name: string, id: string) =>
      `      ${name}: { integrationId: ${id}, resourceIds: [res-db1], permissions: [ReadOnly] }`;
    const t = await setup(
      { users: [user("alice"), user("erin", false)], integrations: [PG, ...flows] },
      [
        "    timeout: 5s",
        "    resources:",
        map("rej", "int-rej"),
        map("man", "int-man"),
        map("fail", "int-fail"),
        map("gone", "int-gone"),
        map("db", "int-pg"),
      ].join("\n"),
      [
        "  - { name: a, source: rota, schedules: [alice], target: apono, resources: [rej, man, fail, gone] }",
        "  - { name: b, source: rota, schedules: [bob, erin], target: apono, resources: [db] }",
      ].join("\n"),
    );
    try {
      await t.shifts([
        ["alice", "2026-11-22T08:00:00Z", "2026-11-22T20:00:00Z"],
        ["bob", "2026-11-22T08:00:00Z", "2026-11-22T20:00:00Z"],
        ["erin", "2026-11-22T08:00:00Z", "2026-11-22T20:00:00Z"],
      ]);
      const r = await t.run("2026-11-22T10:00:00Z");
      assert.equal(r.code, 4, r.stderr + r.stdout);
      const doc = parseJsonOutput(r.stdout);
      assert.deepEqual(
        doc.actions.map((a) => [a.kind, a.identity, a.resource, a.status, a.error ?? a.reason]),
        [
          [
            "grant",
            "alice@example.com",
            "rej",
            "failed",
            "Apono request AR-1001 (req-0001) is REJECTED: Apono rejected it (an approver, or the access flow): give this token's requests an access flow that approves them automatically",
          ],
          [
            "grant",
            "alice@example.com",
            "man",
            "failed",
            "Apono request AR-1002 (req-0002) is still PENDING after 5s; its access flow waits for an approval: give this token's requests an access flow that approves them automatically, or a longer timeout on the target; the request was withdrawn",
          ],
          [
            "grant",
            "alice@example.com",
            "fail",
            "failed",
            "Apono request AR-1003 (req-0003) is FAILED: Apono could not provision the access: see the request in the Apono app (the integration's status and its connector)",
          ],
          [
            "grant",
            "alice@example.com",
            "gone",
            "failed",
            "POST /api/v3/access-requests: 404 Integration int-gone not found",
          ],
          [
            "skip",
            "bob@example.com",
            "db",
            "skipped",
            "on call: bob (rota) (Apono has no user with the email bob@example.com: add the user to Apono (through its identity provider), or map this email to the user's Apono email (identities:))",
          ],
          [
            "skip",
            "erin@example.com",
            "db",
            "skipped",
            "on call: erin (rota) (Apono user erin@example.com is not active: activate the user in Apono (or in the identity provider it syncs from))",
          ],
        ],
      );
      const req = (integration: string) =>
        create("u-alice", "on call: alice (rota)", 36_000).replace("int-pg", integration);
      assert.deepEqual(t.newCalls(), [
        "GET /api/v2/users/alice%40example.com",
        req("int-rej"),
        "GET /api/v3/access-requests/req-0001",
        req("int-man"),
        "GET /api/v3/access-requests/req-0002",
        "GET /api/v3/access-requests/req-0002",
        "GET /api/v3/access-requests/req-0002",
        'POST /api/v3/access-requests-bulk/revoke {"request_ids":["req-0002"]}',
        req("int-fail"),
        "GET /api/v3/access-requests/req-0003",
        "GET /api/v3/access-requests/req-0003",
        req("int-gone"),
        "GET /api/v2/users/bob%40example.com",
        "GET /api/v2/users/erin%40example.com",
      ]);
      // Waits go through the run's sleep (no real time):
      // REJECTED at the first read; 5 s of waiting for the approval; FAILED at the second read.
      assert.deepEqual(r.sleeps, [2000, 2000, 2000, 1000, 2000, 2000]);
      assert.deepEqual(t.apono.granted(), []);
      const ledger = JSON.parse(await readFile(path.join(t.dir, "state.json"), "utf8")) as {
        grants: unknown[];
      };
      assert.deepEqual(ledger.grants, []);

      // A token Apono refuses: every action fails at the user lookup, and the token shows nowhere.
      const bad = "apono-bad-token-NEVER-PRINTED";
      const r2 = await t.run("2026-11-22T10:15:00Z", { token: bad });
      assert.equal(r2.code, 4, r2.stderr + r2.stdout);
      const doc2 = parseJsonOutput(r2.stdout);
      assert.deepEqual(
        doc2.actions.map((a) => `${a.kind} ${a.identity} ${a.resource} ${a.status}`),
        [
          "grant alice@example.com rej failed",
          "grant alice@example.com man failed",
          "grant alice@example.com fail failed",
          "grant alice@example.com gone failed",
          "grant bob@example.com db failed",
          "grant erin@example.com db failed",
        ],
      );
      assert.equal(
        doc2.actions[0]?.error,
        "GET /api/v2/users/alice%40example.com: 401 (Apono refused the token: check the API token and that it is not expired)",
      );
      assert.deepEqual(t.newCalls(), [
        "GET /api/v2/users/alice%40example.com",
        "GET /api/v2/users/bob%40example.com",
        "GET /api/v2/users/erin%40example.com",
      ]);
      await assertNoSecret(
        [bad, TOKEN],
        [r.stdout, r.stderr, r2.stdout, r2.stderr],
        [path.join(t.dir, "state.json")],
      );

      // A stop (SIGTERM) while a request waits for its approval: the wait ends, the request is
      // withdrawn, and no further action starts.
      const stop = new AbortController();
      t.apono.setNow(DateTime.fromISO("2026-11-22T10:30:00Z", { zone: "utc" }));
      const r3 = await runMain(["sync", "-c", t.config, "--output", "json"], {
        cwd: t.dir,
        env: { APONO_TOKEN: TOKEN },
        now: "2026-11-22T10:30:00Z",
        stop: { signal: stop.signal, graceful: () => undefined, onHardStop: () => () => undefined },
        sleep: () => {
          if (t.apono.calls().at(-1)?.includes('"int-man"')) stop.abort("SIGTERM");
          return Promise.resolve();
        },
      });
      assert.equal(r3.code, 4, r3.stderr + r3.stdout);
      const doc3 = parseJsonOutput(r3.stdout) as ReturnType<typeof parseJsonOutput> & { stopped?: string };
      assert.match(String(doc3.stopped), /SIGTERM/);
      assert.deepEqual(
        doc3.actions.filter((a) => a.status !== "planned").map((a) => [a.resource, a.status, a.error]),
        [
          [
            "rej",
            "failed",
            "Apono request AR-1004 (req-0004) is REJECTED: Apono rejected it (an approver, or the access flow): give this token's requests an access flow that approves them automatically",
          ],
          [
            "man",
            "failed",
            "Apono request AR-1005 (req-0005) was PENDING when the run was asked to stop (SIGTERM); the request was withdrawn",
          ],
        ],
      );
      assert.deepEqual(t.newCalls(), [
        "GET /api/v2/users/alice%40example.com",
        req("int-rej").replace("36000", "34200"),
        "GET /api/v3/access-requests/req-0004",
        req("int-man").replace("36000", "34200"),
        "GET /api/v3/access-requests/req-0005",
        'POST /api/v3/access-requests-bulk/revoke {"request_ids":["req-0005"]}',
      ]);
    } finally {
      await t.cleanup();
    }
  });

  it("config: a rule's resource missing from the map is refused; validate --online reads each integration", async () => {
    const t = await setup(
      { users: [], integrations: [PG, { ...PG, id: "int-off", name: "legacy", status: "Disabled" }] },
      `    resources:
      db: { integrationId: int-pg, resourceIds: [res-db1], permissions: [ReadOnly] }`,
      "  - { name: oncall, source: rota, schedules: [alice], target: apono, resources: [db] }",
    );
    try {
      const validate = (config: string) =>
        runMain(["validate", "--online", "-c", config], { cwd: t.dir, env: { APONO_TOKEN: TOKEN } });
      await t.shifts([["alice", "2026-11-22T08:00:00Z", "2026-11-22T20:00:00Z"]]);
      const ok = await validate(t.config);
      assert.equal(ok.code, 0, ok.stderr + ok.stdout);
      assert.ok(
        ok.stdout.includes(
          `  ok    target apono: ${t.apono.url} takes the token; integrations: prod-postgres (Active)`,
        ),
        ok.stdout,
      );
      assert.deepEqual(t.newCalls(), ["GET /api/v2/integrations/int-pg"]);

      const text = await readFile(t.config, "utf8");
      const off = await writeYaml(
        path.join(t.dir, "off.yaml"),
        text.replace("integrationId: int-pg", "integrationId: int-off"),
      );
      const r = await validate(off);
      assert.equal(r.code, 2, r.stderr + r.stdout);
      assert.ok(
        r.stdout.includes(
          "  FAIL  target apono: Apono integration legacy (int-off, for db) is Disabled: fix it in the Apono app",
        ),
        r.stdout,
      );
      assert.deepEqual(t.newCalls(), ["GET /api/v2/integrations/int-off"]);

      const unmapped = await writeYaml(
        path.join(t.dir, "unmapped.yaml"),
        text.replace("resources: [db]", "resources: [db, prod-mysql]"),
      );
      const bad = await runMain(["sync", "-c", unmapped, "--output", "json"], {
        cwd: t.dir,
        env: { APONO_TOKEN: TOKEN },
        now: "2026-11-22T10:00:00Z",
      });
      assert.equal(bad.code, 2, bad.stderr + bad.stdout);
      assert.ok(
        bad.stderr.includes(
          JSON.stringify(
            'rules[0].resources[1]: target "apono" (apono) has no resource "prod-mysql"; add it under targets.apono.resources with its integrationId, resourceIds and permissions (known: db)',
          ).slice(1, -1),
        ),
        bad.stderr,
      );
      assert.deepEqual(t.newCalls(), []);
    } finally {
      await t.cleanup();
    }
  });
});

describe("the apono target, called directly", () => {
  it("a revoke sends only the requests still running; one whose requests all ended makes no call; a running grant without a request id fails; a grant whose end has passed asks nothing", async () => {
    const apono = await startFakeApono({ token: TOKEN, users: [user("alice")], integrations: [PG] });
    try {
      const at = (iso: string) => DateTime.fromISO(iso, { zone: "utc" });
      let now = at("2026-11-22T10:00:00Z");
      apono.setNow(now);
      const config = normalizeApono(
        aponoSchema.parse({
          type: "apono",
          baseUrl: apono.url,
          resources: { db: { integrationId: "int-pg", resourceIds: ["res-db1"], permissions: ["ReadOnly"] } },
        }),
        { name: "apono", at: "targets.apono", problems: [], resolvePath: (p) => p },
      );
      const target = createAponoTarget(config, {
        exec: () => Promise.reject(new Error("no exec")),
        env: {},
        token: TOKEN,
        http: createHttpClient(
          { timeoutMs: 2000, retries: 0, backoffMs: 10, maxRetryWaitMs: 2000 },
          { log: { error() {}, warn() {}, info() {}, debug() {} } as never },
        ),
        now: () => now,
        sleep: () => Promise.resolve(),
      });
      const call = (start: string, end: string, grants: { end: string; requestId?: string }[] = []) => ({
        identity: "alice@example.com",
        resource: "db",
        start: at(start),
        end: at(end),
        rule: "oncall",
        reason: "on call",
        grants: grants.map((g) => ({
          rule: "oncall",
          resource: "db",
          identity: "alice@example.com",
          start: at(start),
          end: at(g.end),
          ...(g.requestId ? { ref: { requestId: g.requestId } } : {}),
        })),
      });
      const first = await target.grant(call("2026-11-22T10:00:00Z", "2026-11-22T11:00:00Z"));
      const second = await target.extend(call("2026-11-22T11:00:00Z", "2026-11-22T13:00:00Z"));
      assert.deepEqual([first.status, second.status], ["applied", "applied"]);
      assert.deepEqual(apono.granted(), ["req-0001", "req-0002"]);

      now = at("2026-11-22T12:00:00Z");
      apono.setNow(now);
      const grants = [
        { end: "2026-11-22T11:00:00Z", requestId: "req-0001" },
        { end: "2026-11-22T13:00:00Z", requestId: "req-0002" },
      ];
      assert.deepEqual(await target.revoke(call("2026-11-22T10:00:00Z", "2026-11-22T13:00:00Z", grants)), {
        status: "applied",
        output: "revoked req-0002: Revoking 1 access request(s)",
      });
      assert.deepEqual(
        await target.revoke(call("2026-11-22T10:00:00Z", "2026-11-22T11:00:00Z", grants.slice(0, 1))),
        {
          status: "applied",
          output: "no call: every Apono request of this access has ended by itself",
        },
      );
      assert.deepEqual(
        await target.revoke(
          call("2026-11-22T10:00:00Z", "2026-11-22T13:00:00Z", [{ end: "2026-11-22T13:00:00Z" }]),
        ),
        {
          status: "failed",
          error: "the ledger holds no Apono request id for this access: revoke it in the Apono app",
        },
      );
      assert.deepEqual(await target.grant(call("2026-11-22T10:00:00Z", "2026-11-22T11:00:00Z")), {
        status: "failed",
        error: "the grant's end, 2026-11-22T11:00:00.000Z, has passed",
      });
      assert.deepEqual(apono.calls().slice(7), [
        'POST /api/v3/access-requests-bulk/revoke {"request_ids":["req-0002"]}',
      ]);
    } finally {
      await apono.close();
    }
  });
});
