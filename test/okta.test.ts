import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, it } from "node:test";
import { startFakeOkta, type FakeOktaGroup, type FakeOktaUser } from "./fakes/okta.js";
import { assertNoSecret, makeTempDir, parseJsonOutput, writeYaml } from "./helpers.js";
import { runMain } from "./harness.js";

// The okta target through the CLI against a fake Okta, with a rota file as the source and the
// clock moved between runs as cron would move it. Each test asserts the exact requests of each run.

const TOKEN = "00okta-test-token-DO-NOT-PRINT";

const ALICE: FakeOktaUser = {
  id: "00ualice0000000000a1",
  login: "alice@example.com",
  email: "alice@example.com",
};
// Bob's login is not his email: he is found by `profile.email`.
const BOB: FakeOktaUser = {
  id: "00ubob00000000000b01",
  login: "bsmith@corp.example.com",
  email: "bob@example.com",
};
const CAROL: FakeOktaUser = {
  id: "00ucarol0000000000c1",
  login: "carol@example.com",
  email: "carol@example.com",
};
const DAVE: FakeOktaUser = {
  id: "00udave00000000000d1",
  login: "Dave@Example.com",
  email: "dave@example.com",
};

const PROD: FakeOktaGroup = { id: "00gprod0000000000p01", name: "oncall-prod", type: "OKTA_GROUP" };
// Its prefix twin: `q=oncall-prod` finds both; only the exact name is taken.
const PROD_AD: FakeOktaGroup = { id: "00gprodad00000000a01", name: "oncall-prod-ad", type: "APP_GROUP" };
const OTHER1: FakeOktaGroup = { id: "00gother1000000000o1", name: "engineering", type: "OKTA_GROUP" };
const OTHER2: FakeOktaGroup = { id: "00gother2000000000o2", name: "everyone-eng", type: "OKTA_GROUP" };
const GROUPS = [PROD, PROD_AD, OTHER1, OTHER2];

// Each person on a schedule of their own (shifts on one schedule may not overlap).
const rota = (shifts: [string, string, string][]) =>
  `shifts:\n${shifts.map(([email, start, end]) => `  - { schedule: ${email.split("@")[0]}, email: ${email}, start: ${start}, end: ${end} }`).join("\n")}\n`;

async function setup(
  fakeOpts: Omit<Parameters<typeof startFakeOkta>[0], "token" | "groups">,
  target: string,
  rules: string,
) {
  const okta = await startFakeOkta({ token: TOKEN, groups: GROUPS, pageSize: 2, ...fakeOpts });
  const { dir, cleanup } = await makeTempDir();
  const config = await writeYaml(
    path.join(dir, "shiftgrant.yaml"),
    `
version: 1
state: state.json
sources: { rota: { type: file, path: rota.yaml } }
targets:
  okta: { type: okta, orgUrl: ${okta.url}, ${target} }
rules:
${rules}
`,
  );
  let seen = 0;
  return {
    okta,
    dir,
    shifts: (s: [string, string, string][]) => writeFile(path.join(dir, "rota.yaml"), rota(s)),
    run: (now: string, token = TOKEN) =>
      runMain(["sync", "-c", config, "--output", "json"], { cwd: dir, env: { OKTA_API_TOKEN: token }, now }),
    /** The requests made since the last call. */
    newCalls: () => {
      const all = okta.calls();
      const fresh = all.slice(seen);
      seen = all.length;
      return fresh;
    },
    cleanup: async () => {
      try {
        await okta.close();
      } finally {
        await cleanup();
      }
    },
  };
}

const actions = (stdout: string) =>
  parseJsonOutput(stdout).actions.map((a) => `${a.kind} ${a.identity} ${a.resource} ${a.status}`);
const reasons = (stdout: string) =>
  parseJsonOutput(stdout).actions.map((a) => String(a.reason ?? a.error ?? ""));

const rule = (schedules: string[], resources = ["oncall-prod"], name = "oncall") =>
  `  - { name: ${name}, source: rota, schedules: [${schedules.join(", ")}], target: okta, resources: [${resources.join(", ")}] }`;

describe("okta target: group memberships that shiftgrant ends", () => {
  it("a day: waits for the start, grants, extends without a call, expires after the end, leaves a pre-existing member alone", async () => {
    const t = await setup(
      {
        users: [ALICE, BOB, CAROL],
        memberships: {
          [PROD.id]: [CAROL.id],
          [PROD_AD.id]: [ALICE.id],
          [OTHER1.id]: [ALICE.id, CAROL.id],
          [OTHER2.id]: [ALICE.id],
        },
      },
      "concurrency: 1",
      rule(["alice", "bob", "carol"]),
    );
    try {
      await t.shifts([
        ["alice@example.com", "2026-11-22T10:00:00Z", "2026-11-22T14:00:00Z"],
        ["bob@example.com", "2026-11-22T10:00:00Z", "2026-11-22T14:00:00Z"],
        ["carol@example.com", "2026-11-22T08:00:00Z", "2026-11-22T20:00:00Z"],
      ]);
      // 09:00: alice and bob start at 10:00: nothing before the start. Carol is in the group already.
      const r1 = await t.run("2026-11-22T09:00:00Z");
      assert.equal(r1.code, 0, r1.stderr + r1.stdout);
      assert.deepEqual(
        actions(r1.stdout).sort(),
        [
          "skip carol@example.com oncall-prod skipped",
          "wait alice@example.com oncall-prod skipped",
          "wait bob@example.com oncall-prod skipped",
        ].sort(),
      );
      assert.match(
        String(parseJsonOutput(r1.stdout).actions.find((a) => a.kind === "skip")?.reason),
        /already has this access outside shiftgrant; left alone/,
      );
      assert.deepEqual(t.newCalls(), [
        "GET /api/v1/users/carol%40example.com",
        "GET /api/v1/groups?q=oncall-prod",
        `GET /api/v1/users/${CAROL.id}/groups`,
      ]);
      // 10:00: the shifts start. Alice by login, Bob by email (his login differs); the group is
      // looked up once per run; Alice's groups come in two pages; one 429 is waited out until Okta's
      // X-Rate-Limit-Reset (3 s ahead: longer than the first backoff could be).
      t.okta.fault(`/api/v1/groups/${PROD.id}/users/${ALICE.id}`, { kind: "rateLimit" });
      const r2 = await t.run("2026-11-22T10:00:00Z");
      assert.equal(r2.code, 0, r2.stderr + r2.stdout);
      assert.deepEqual(actions(r2.stdout), [
        "grant alice@example.com oncall-prod applied",
        "grant bob@example.com oncall-prod applied",
        "unchanged carol@example.com oncall-prod skipped",
      ]);
      assert.deepEqual(t.newCalls(), [
        "GET /api/v1/users/alice%40example.com",
        "GET /api/v1/groups?q=oncall-prod",
        `GET /api/v1/users/${ALICE.id}/groups`,
        `GET /api/v1/users/${ALICE.id}/groups?after=2`,
        `PUT /api/v1/groups/${PROD.id}/users/${ALICE.id}`,
        `PUT /api/v1/groups/${PROD.id}/users/${ALICE.id}`,
        "GET /api/v1/users/bob%40example.com",
        'GET /api/v1/users?search=profile.email eq "bob@example.com"',
        `GET /api/v1/users/${BOB.id}/groups`,
        `PUT /api/v1/groups/${PROD.id}/users/${BOB.id}`,
      ]);
      const wait = r2.sleeps[0] ?? 0;
      assert.ok(wait > 2000 && wait <= 3000, `waited ${wait} ms for the rate-limit reset`);
      assert.deepEqual(t.okta.members(PROD.id).sort(), [ALICE.login, BOB.login, CAROL.login].sort());

      // 12:00: Alice's shift grows to 16:00: no call, the membership stays.
      await t.shifts([
        ["alice@example.com", "2026-11-22T10:00:00Z", "2026-11-22T16:00:00Z"],
        ["bob@example.com", "2026-11-22T10:00:00Z", "2026-11-22T14:00:00Z"],
        ["carol@example.com", "2026-11-22T08:00:00Z", "2026-11-22T20:00:00Z"],
      ]);
      const r3 = await t.run("2026-11-22T12:00:00Z");
      assert.equal(r3.code, 0, r3.stderr + r3.stdout);
      assert.ok(actions(r3.stdout).includes("extend alice@example.com oncall-prod applied"), r3.stdout);
      assert.deepEqual(t.newCalls(), []);

      // 14:15: Bob's end has passed: his membership is removed by the ids the grant kept (no lookup).
      const r4 = await t.run("2026-11-22T14:15:00Z");
      assert.equal(r4.code, 0, r4.stderr + r4.stdout);
      assert.ok(actions(r4.stdout).includes("expire bob@example.com oncall-prod applied"), r4.stdout);
      assert.deepEqual(t.newCalls(), [`DELETE /api/v1/groups/${PROD.id}/users/${BOB.id}`]);

      // 16:15: Alice's new end has passed.
      const r5 = await t.run("2026-11-22T16:15:00Z");
      assert.equal(r5.code, 0, r5.stderr + r5.stdout);
      assert.deepEqual(actions(r5.stdout), [
        "expire alice@example.com oncall-prod applied",
        "unchanged carol@example.com oncall-prod skipped",
      ]);
      assert.deepEqual(t.newCalls(), [`DELETE /api/v1/groups/${PROD.id}/users/${ALICE.id}`]);

      // 20:15: Carol's shift is over, but she was a member before shiftgrant: she stays.
      const r6 = await t.run("2026-11-22T20:15:00Z");
      assert.equal(r6.code, 0, r6.stderr + r6.stdout);
      assert.deepEqual(t.newCalls(), []);
      assert.deepEqual(t.okta.members(PROD.id), [CAROL.login]);
    } finally {
      await t.cleanup();
    }
  });

  it("refuses an app group and a user Okta does not have: failed actions, exit 4, nothing changed", async () => {
    const t = await setup(
      { users: [ALICE] },
      "concurrency: 1",
      [rule(["alice"], ["oncall-prod-ad"], "ad"), rule(["eve"], ["oncall-prod"], "eve")].join("\n"),
    );
    try {
      await t.shifts([
        ["alice@example.com", "2026-11-22T08:00:00Z", "2026-11-22T20:00:00Z"],
        ["eve@example.com", "2026-11-22T08:00:00Z", "2026-11-22T20:00:00Z"],
      ]);
      const r = await t.run("2026-11-22T10:00:00Z");
      assert.equal(r.code, 4, r.stderr + r.stdout);
      const doc = parseJsonOutput(r.stdout);
      assert.deepEqual(
        doc.actions.map((a) => [a.kind, a.identity, a.resource, a.status]),
        [
          ["grant", "alice@example.com", "oncall-prod-ad", "failed"],
          ["grant", "eve@example.com", "oncall-prod", "failed"],
        ],
      );
      assert.match(
        String(doc.actions[0]?.error),
        /Okta group oncall-prod-ad \(00gprodad00000000a01\) is of type APP_GROUP: only OKTA_GROUP memberships can be changed/,
      );
      assert.match(String(doc.actions[1]?.error), /no Okta user has the login or email eve@example.com/);
      assert.deepEqual(t.newCalls(), [
        "GET /api/v1/users/alice%40example.com",
        "GET /api/v1/groups?q=oncall-prod-ad",
        "GET /api/v1/users/eve%40example.com",
        'GET /api/v1/users?search=profile.email eq "eve@example.com"',
      ]);
      assert.deepEqual(t.okta.members(PROD_AD.id), []);
    } finally {
      await t.cleanup();
    }
  });

  it("exclusive: removes a member nobody wants, whoever added them, and adds who is on call", async () => {
    const t = await setup(
      { users: [ALICE, BOB, CAROL, DAVE], memberships: { [PROD.id]: [BOB.id, CAROL.id, DAVE.id] } },
      "concurrency: 1, exclusive: [oncall-prod]",
      rule(["alice", "carol"]),
    );
    try {
      await t.shifts([
        ["alice@example.com", "2026-11-22T08:00:00Z", "2026-11-22T20:00:00Z"],
        ["carol@example.com", "2026-11-22T08:00:00Z", "2026-11-22T20:00:00Z"],
      ]);
      const r = await t.run("2026-11-22T10:00:00Z");
      assert.equal(r.code, 0, r.stderr + r.stdout);
      // Dave (listed by his login, lower-cased) and Bob were added by someone else: both go. Carol,
      // listed already, is taken over without a call (ended with her shift); nobody is checked first:
      // an exclusive group has no pre-existing access.
      assert.deepEqual(actions(r.stdout), [
        "grant alice@example.com oncall-prod applied",
        "revoke bsmith@corp.example.com oncall-prod applied",
        "grant carol@example.com oncall-prod applied",
        "revoke dave@example.com oncall-prod applied",
      ]);
      assert.equal(reasons(r.stdout)[3], "not on call; exclusive");
      assert.deepEqual(t.newCalls(), [
        "GET /api/v1/groups?q=oncall-prod",
        `GET /api/v1/groups/${PROD.id}/users?limit=200`,
        `GET /api/v1/groups/${PROD.id}/users?limit=200&after=2`,
        "GET /api/v1/users/alice%40example.com",
        `PUT /api/v1/groups/${PROD.id}/users/${ALICE.id}`,
        "GET /api/v1/users/bsmith%40corp.example.com",
        `DELETE /api/v1/groups/${PROD.id}/users/${BOB.id}`,
        "GET /api/v1/users/dave%40example.com",
        `DELETE /api/v1/groups/${PROD.id}/users/${DAVE.id}`,
      ]);
      assert.deepEqual(t.okta.members(PROD.id), [ALICE.login, CAROL.login]);
    } finally {
      await t.cleanup();
    }
  });

  it("a token Okta refuses fails the actions (exit 4) and never appears in the output", async () => {
    const t = await setup({ users: [ALICE] }, "concurrency: 1", rule(["alice"]));
    const bad = "00bad-okta-token-NEVER-PRINTED";
    try {
      await t.shifts([["alice@example.com", "2026-11-22T08:00:00Z", "2026-11-22T20:00:00Z"]]);
      const r = await t.run("2026-11-22T10:00:00Z", bad);
      assert.equal(r.code, 4, r.stderr + r.stdout);
      const doc = parseJsonOutput(r.stdout);
      assert.deepEqual(
        doc.actions.map((a) => [a.kind, a.identity, a.status]),
        [["grant", "alice@example.com", "failed"]],
      );
      assert.equal(
        doc.actions[0]?.error,
        "could not check for existing access: GET /api/v1/users/alice%40example.com: 401 E0000011 Invalid token provided (check the API token)",
      );
      assert.deepEqual(t.newCalls(), ["GET /api/v1/users/alice%40example.com"]);
      await assertNoSecret([bad], [r.stdout, r.stderr], [path.join(t.dir, "state.json")]);
      assert.deepEqual(t.okta.members(PROD.id), []);
    } finally {
      await t.cleanup();
    }
  });
});
