import assert from "node:assert/strict";
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, it } from "node:test";
import { keyMaterial } from "../src/core/private-key.js";
import { simulateDay } from "./day.js";
import { dayFixture } from "./days/okta.js";
import { startFakeOkta, type FakeOktaApp, type FakeOktaGroup, type FakeOktaUser } from "./fakes/okta.js";
import { assertNoSecret, makeTempDir, parseJsonOutput, writeYaml } from "./helpers.js";
import { runMain } from "./harness.js";
import { actionLines, callsSince, personalRota } from "./target-helpers.js";

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
const rota = personalRota;

async function setup(
  fakeOpts: Omit<Parameters<typeof startFakeOkta>[0], "token" | "groups"> & { groups?: FakeOktaGroup[] },
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
  return {
    okta,
    dir,
    shifts: (s: [string, string, string][]) => writeFile(path.join(dir, "rota.yaml"), rota(s)),
    config,
    run: (now: string, token = TOKEN) =>
      runMain(["sync", "-c", config, "--output", "json"], { cwd: dir, env: { OKTA_API_TOKEN: token }, now }),
    validate: (token = TOKEN) =>
      runMain(["validate", "--online", "-c", config], { cwd: dir, env: { OKTA_API_TOKEN: token } }),
    /** The requests made since the last call. */
    newCalls: callsSince(() => okta.calls()),
    cleanup: async () => {
      try {
        await okta.close();
      } finally {
        await cleanup();
      }
    },
  };
}

const actions = actionLines;
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
      // The reset is a whole second of the fake's clock, read as it answered; the client reads its
      // clock a little later: the wait is 3 s less the fraction of the fake's second less that
      // delay, so anywhere in (2 s - delay, 3 s]. Above 1 s it is the reset, not a first backoff
      // (at most 1 s). (A bound of 2 s failed when the fake's second ended between the two reads.)
      const wait = r2.sleeps[0] ?? 0;
      assert.ok(wait > 1000 && wait <= 3000, `waited ${wait} ms for the rate-limit reset`);
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

  it("what Okta cannot do: an unknown or ambiguous user is a skip; an app group, twin groups or no group fail; exit 4", async () => {
    const twinA: FakeOktaGroup = { id: "00gtwina000000000t01", name: "twins", type: "OKTA_GROUP" };
    const twinB: FakeOktaGroup = { id: "00gtwinb000000000t02", name: "Twins", type: "OKTA_GROUP" };
    const dup1: FakeOktaUser = {
      id: "00udup1000000000dd01",
      login: "dup.one@corp.example.com",
      email: "dup@example.com",
    };
    const dup2: FakeOktaUser = {
      id: "00udup2000000000dd02",
      login: "dup.two@corp.example.com",
      email: "DUP@example.com",
    };
    const t = await setup(
      { users: [ALICE, dup1, dup2], groups: [...GROUPS, twinA, twinB] },
      "concurrency: 1",
      [
        rule(["alice"], ["oncall-prod-ad", "twins", "no-such-group", "00gmissing00000000m1"], "alice"),
        rule(["eve"], ["oncall-prod"], "eve"),
        rule(["dup"], ["oncall-prod"], "dup"),
      ].join("\n"),
    );
    try {
      await t.shifts([
        ["alice@example.com", "2026-11-22T08:00:00Z", "2026-11-22T20:00:00Z"],
        ["eve@example.com", "2026-11-22T08:00:00Z", "2026-11-22T20:00:00Z"],
        ["dup@example.com", "2026-11-22T08:00:00Z", "2026-11-22T20:00:00Z"],
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
            "oncall-prod-ad",
            "failed",
            "Okta group oncall-prod-ad (00gprodad00000000a01) is of type APP_GROUP: only OKTA_GROUP memberships can be changed in Okta; manage it in its source, or use an OKTA_GROUP",
          ],
          [
            "grant",
            "alice@example.com",
            "twins",
            "failed",
            "2 Okta groups are named twins (00gtwina000000000t01, 00gtwinb000000000t02): use the group's id as the resource",
          ],
          [
            "grant",
            "alice@example.com",
            "no-such-group",
            "failed",
            "no Okta group is named no-such-group: check the name, or use the group's id",
          ],
          [
            "grant",
            "alice@example.com",
            "00gmissing00000000m1",
            "failed",
            "PUT /api/v1/groups/00gmissing00000000m1/users/00ualice0000000000a1: 404 E0000007 Not found: Resource not found: 00gmissing00000000m1 (UserGroup)",
          ],
          [
            "skip",
            "eve@example.com",
            "oncall-prod",
            "skipped",
            "on call: eve (rota) (no Okta user has the login or email eve@example.com: add the user in Okta, or map this email to the user's login (identities:))",
          ],
          [
            "skip",
            "dup@example.com",
            "oncall-prod",
            "skipped",
            "on call: dup (rota) (2 Okta users have the email dup@example.com (dup.one@corp.example.com, dup.two@corp.example.com): map it to one login (identities:))",
          ],
        ],
      );
      // A skip is a whole action in the JSON: why, and nothing recorded.
      assert.deepEqual(doc.actions[4], {
        kind: "skip",
        rule: "eve",
        target: "okta",
        resource: "oncall-prod",
        identity: "eve@example.com",
        start: "2026-11-22T10:00:00Z",
        end: "2026-11-22T20:00:00Z",
        reason:
          "on call: eve (rota) (no Okta user has the login or email eve@example.com: add the user in Okta, or map this email to the user's login (identities:))",
        status: "skipped",
      });
      assert.equal(doc.summary.skip, 2);
      assert.equal(doc.summary.failed, 4);
      // The warning says the same, one line per skip.
      const skipped = r.stderr
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((l) => l.message === "action skipped")
        .map(({ timestamp: _t, runId: _r, ...l }) => l);
      assert.deepEqual(skipped[0], {
        level: "warn",
        message: "action skipped",
        kind: "grant",
        rule: "eve",
        target: "okta",
        resource: "oncall-prod",
        identity: "eve@example.com",
        reason:
          "no Okta user has the login or email eve@example.com: add the user in Okta, or map this email to the user's login (identities:)",
      });
      assert.equal(skipped.length, 2);
      assert.deepEqual(t.newCalls(), [
        "GET /api/v1/users/alice%40example.com",
        "GET /api/v1/groups?q=oncall-prod-ad",
        "GET /api/v1/groups?q=twins",
        "GET /api/v1/groups?q=no-such-group",
        `GET /api/v1/users/${ALICE.id}/groups`,
        `PUT /api/v1/groups/00gmissing00000000m1/users/${ALICE.id}`,
        "GET /api/v1/users/eve%40example.com",
        'GET /api/v1/users?search=profile.email eq "eve@example.com"',
        "GET /api/v1/users/dup%40example.com",
        'GET /api/v1/users?search=profile.email eq "dup@example.com"',
      ]);
      // Nothing was recorded: the next run asks again.
      const state = JSON.parse(await readFile(path.join(t.dir, "state.json"), "utf8")) as {
        grants: unknown[];
      };
      assert.deepEqual(state.grants, []);
      assert.deepEqual(t.okta.members(PROD_AD.id), []);
    } finally {
      await t.cleanup();
    }
  });

  it("exclusive: removes a member nobody wants, whoever added them, adds who is on call, and expires them all", async () => {
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
      // Dave (listed by his login, lower-cased) and Bob were added by someone else: both go.
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
        // Carol is listed as a member already: on an exclusive group that is not pre-existing
        // access; the ledger records it as shiftgrant's, without a call.
        "GET /api/v1/users/dave%40example.com",
        `DELETE /api/v1/groups/${PROD.id}/users/${DAVE.id}`,
      ]);
      assert.deepEqual(t.okta.members(PROD.id), [ALICE.login, CAROL.login]);

      // 20:15: both shifts are over: both memberships are expired, carol's as well.
      const end = await t.run("2026-11-22T20:15:00Z");
      assert.equal(end.code, 0, end.stderr + end.stdout);
      assert.deepEqual(actions(end.stdout), [
        "expire alice@example.com oncall-prod applied",
        "expire carol@example.com oncall-prod applied",
      ]);
      assert.deepEqual(t.newCalls(), [
        "GET /api/v1/groups?q=oncall-prod",
        `GET /api/v1/groups/${PROD.id}/users?limit=200`,
        `DELETE /api/v1/groups/${PROD.id}/users/${ALICE.id}`,
        // Carol's grant made no call, so no user id was kept for it: she is looked up.
        "GET /api/v1/users/carol%40example.com",
        `DELETE /api/v1/groups/${PROD.id}/users/${CAROL.id}`,
      ]);
      assert.deepEqual(t.okta.members(PROD.id), []);
    } finally {
      await t.cleanup();
    }
  });

  it("a token Okta refuses fails the actions (exit 4) and validate --online (exit 2), never printed; an expiry refused twice (403) is done by the third run", async () => {
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

      // validate --online makes one cheap read, which the bad token fails: exit 2, the 401 named.
      const v = await t.validate(bad);
      assert.equal(v.code, 2, v.stderr + v.stdout);
      assert.match(
        v.stdout,
        /\n {2}FAIL {2}target okta: GET \/api\/v1\/groups: 401 E0000011 Invalid token provided \(check the API token\)\n/,
      );
      assert.deepEqual(t.newCalls(), ["GET /api/v1/groups?limit=1"]);
      await assertNoSecret([bad], [v.stdout, v.stderr]);

      // With the good token alice is granted; her expiry is refused twice (the token's admin lost
      // its role over the group, then got it back): exit 4 twice, then done.
      assert.equal((await t.run("2026-11-22T10:00:00Z")).code, 0);
      t.newCalls();
      const del = `/api/v1/groups/${PROD.id}/users/${ALICE.id}`;
      t.okta.fault(del, { kind: "error", status: 403 }, { kind: "error", status: 403 });
      const codes: number[] = [];
      for (const at of ["20:15", "20:30", "20:45"]) {
        const e = await t.run(`2026-11-22T${at}:00Z`);
        codes.push(e.code ?? -1);
        const a = parseJsonOutput(e.stdout).actions;
        assert.deepEqual(
          a.map((x) => `${x.kind} ${x.status}`),
          [`expire ${at === "20:45" ? "applied" : "failed"}`],
        );
        if (at !== "20:45")
          assert.equal(
            a[0]?.error,
            `DELETE ${del}: 403 E0000006 You do not have permission to perform the requested action (the token's admin needs a role over this group that may manage its members and read users: Group Admin on it, or a custom role with okta.groups.members.manage and okta.users.read)`,
          );
      }
      assert.deepEqual(codes, [4, 4, 0]);
      assert.deepEqual(t.newCalls(), [`DELETE ${del}`, `DELETE ${del}`, `DELETE ${del}`]);
      assert.deepEqual(t.okta.members(PROD.id), []);
    } finally {
      await t.cleanup();
    }
  });
});

// The service app's keys: made once for the file (an RSA key takes a moment to make).
let rsa: { privatePem: string; publicKey: KeyObject; wrong: KeyObject } | null = null;
function appKeys() {
  if (rsa) return rsa;
  const a = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const other = generateKeyPairSync("ec", { namedCurve: "P-256" });
  rsa = {
    privatePem: a.privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    publicKey: a.publicKey,
    wrong: other.publicKey,
  };
  return rsa;
}

const CLIENT_ID = "0oaservice0000000001";
const BOTH_SCOPES = ["okta.groups.manage", "okta.users.read"];

describe("okta target: an OAuth 2.0 service app (private_key_jwt)", () => {
  it("with DPoP (Okta's default): the nonce round, a proof per request and per retry, a new token after a 401; nothing secret leaks", async () => {
    const keys = appKeys();
    const app: FakeOktaApp = {
      clientId: CLIENT_ID,
      publicKey: keys.publicKey,
      kid: "key-1",
      dpop: true,
      scopes: BOTH_SCOPES,
    };
    const t = await setup(
      { users: [ALICE, BOB], oauth: app },
      `concurrency: 1, oauth: { clientId: ${CLIENT_ID}, privateKeyFile: okta-key.pem, keyId: key-1 }`,
      rule(["alice", "bob"]),
    );
    try {
      await writeFile(path.join(t.dir, "okta-key.pem"), keys.privatePem, { mode: 0o600 });
      await t.shifts([
        ["alice@example.com", "2026-11-22T10:00:00Z", "2026-11-22T14:00:00Z"],
        ["bob@example.com", "2026-11-22T10:00:00Z", "2026-11-22T16:00:00Z"],
      ]);
      // A 429 on the first PUT: the retry carries a new proof (Okta takes each jti once).
      t.okta.fault(`/api/v1/groups/${PROD.id}/users/${ALICE.id}`, { kind: "rateLimit" });
      const r1 = await t.run("2026-11-22T10:00:00Z", "");
      assert.equal(r1.code, 0, r1.stderr + r1.stdout);
      assert.deepEqual(actions(r1.stdout), [
        "grant alice@example.com oncall-prod applied",
        "grant bob@example.com oncall-prod applied",
      ]);
      // One token for the run: the first request has no nonce and is answered use_dpop_nonce.
      assert.deepEqual(t.newCalls(), [
        "POST /oauth2/v1/token",
        "POST /oauth2/v1/token",
        "GET /api/v1/users/alice%40example.com",
        "GET /api/v1/groups?q=oncall-prod",
        `GET /api/v1/users/${ALICE.id}/groups`,
        `PUT /api/v1/groups/${PROD.id}/users/${ALICE.id}`,
        `PUT /api/v1/groups/${PROD.id}/users/${ALICE.id}`,
        "GET /api/v1/users/bob%40example.com",
        'GET /api/v1/users?search=profile.email eq "bob@example.com"',
        `GET /api/v1/users/${BOB.id}/groups`,
        `PUT /api/v1/groups/${PROD.id}/users/${BOB.id}`,
      ]);
      const apiCalls = t.okta.requests.filter((q) => q.path.startsWith("/api/"));
      assert.ok(apiCalls.every((q) => /^DPoP fake-at-/.test(String(q.headers.authorization))));
      assert.equal(new Set(apiCalls.map((q) => q.headers.dpop)).size, apiCalls.length);
      assert.deepEqual(t.okta.members(PROD.id), [ALICE.login, BOB.login]);

      // 14:15: Okta stops taking the run's token (it expired) before the DELETE: a 401, a new token
      // (the nonce round again), and the DELETE made again with it.
      t.okta.fault(`/api/v1/groups/${PROD.id}/users/${ALICE.id}`, { kind: "tokensExpire" });
      const r2 = await t.run("2026-11-22T14:15:00Z", "");
      assert.equal(r2.code, 0, r2.stderr + r2.stdout);
      assert.deepEqual(actions(r2.stdout), [
        "expire alice@example.com oncall-prod applied",
        "unchanged bob@example.com oncall-prod skipped",
      ]);
      assert.deepEqual(t.newCalls(), [
        "POST /oauth2/v1/token",
        "POST /oauth2/v1/token",
        `DELETE /api/v1/groups/${PROD.id}/users/${ALICE.id}`,
        "POST /oauth2/v1/token",
        "POST /oauth2/v1/token",
        `DELETE /api/v1/groups/${PROD.id}/users/${ALICE.id}`,
      ]);
      assert.deepEqual(t.okta.members(PROD.id), [BOB.login]);
      assert.equal(t.okta.issued.length, 3);
      await assertNoSecret(
        [...t.okta.issued, ...keyMaterial(keys.privatePem)],
        [r1.stdout, r1.stderr, r2.stdout, r2.stderr],
        [path.join(t.dir, "state.json")],
      );
    } finally {
      await t.cleanup();
    }
  });

  it("without DPoP, a JWK key: Bearer tokens, fetched anew as they near their end; validate --online checks the app's token", async () => {
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const jwk = { ...ec.privateKey.export({ format: "jwk" }), kid: "jwk-1", use: "sig" };
    const app: FakeOktaApp = {
      clientId: CLIENT_ID,
      publicKey: ec.publicKey,
      kid: "jwk-1",
      dpop: false,
      scopes: BOTH_SCOPES,
    };
    const t = await setup(
      { users: [ALICE], oauth: app },
      `concurrency: 1, oauth: { clientId: ${CLIENT_ID}, privateKeyFile: okta.jwk.json }`,
      rule(["alice"]),
    );
    try {
      await writeFile(path.join(t.dir, "okta.jwk.json"), JSON.stringify(jwk), { mode: 0o600 });
      await t.shifts([["alice@example.com", "2026-11-22T10:00:00Z", "2026-11-22T14:00:00Z"]]);
      const v = await t.validate("");
      assert.equal(v.code, 0, v.stderr + v.stdout);
      assert.match(
        v.stdout,
        new RegExp(
          `ok {4}target okta: ${t.okta.url.replace(/[.]/g, "\\.")} answers and takes the service app's token`,
        ),
      );
      assert.deepEqual(t.newCalls(), ["POST /oauth2/v1/token", "GET /api/v1/groups?limit=1"]);
      // Tokens that live 30 s: each is fetched anew once less than a minute is left of it.
      app.expiresIn = 30;
      const r = await t.run("2026-11-22T10:00:00Z", "");
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.deepEqual(actions(r.stdout), ["grant alice@example.com oncall-prod applied"]);
      assert.deepEqual(t.newCalls(), [
        "POST /oauth2/v1/token",
        "GET /api/v1/users/alice%40example.com",
        "POST /oauth2/v1/token",
        "GET /api/v1/groups?q=oncall-prod",
        "POST /oauth2/v1/token",
        `GET /api/v1/users/${ALICE.id}/groups`,
        "POST /oauth2/v1/token",
        `PUT /api/v1/groups/${PROD.id}/users/${ALICE.id}`,
      ]);
      const api = t.okta.requests.filter((q) => q.path.startsWith("/api/"));
      assert.ok(
        api.every((q) => /^Bearer fake-at-/.test(String(q.headers.authorization)) && !q.headers.dpop),
      );
      await assertNoSecret(
        [...t.okta.issued, ...keyMaterial(JSON.stringify(jwk)).slice(1)],
        [v.stdout, v.stderr, r.stdout, r.stderr],
        [path.join(t.dir, "state.json")],
      );
    } finally {
      await t.cleanup();
    }
  });
});

describe("okta target: a service app Okta refuses", () => {
  it("a key Okta does not know, ungranted scopes: every action fails (exit 4) saying what to fix; a key file that is no private key: exit 2", async () => {
    const keys = appKeys();
    // The app holds another public key than the one in the file.
    const app: FakeOktaApp = { clientId: CLIENT_ID, publicKey: keys.wrong, dpop: false, scopes: BOTH_SCOPES };
    const t = await setup(
      { users: [ALICE, BOB], oauth: app },
      `concurrency: 1, oauth: { clientId: ${CLIENT_ID}, privateKeyFile: okta-key.pem }`,
      rule(["alice", "bob"]),
    );
    const keyFile = path.join(t.dir, "okta-key.pem");
    try {
      await writeFile(keyFile, keys.privatePem, { mode: 0o600 });
      await t.shifts([
        ["alice@example.com", "2026-11-22T10:00:00Z", "2026-11-22T14:00:00Z"],
        ["bob@example.com", "2026-11-22T10:00:00Z", "2026-11-22T14:00:00Z"],
      ]);
      const errors = (stdout: string) =>
        parseJsonOutput(stdout).actions.map((a) => `${a.kind} ${a.status}: ${a.error}`);
      const r1 = await t.run("2026-11-22T10:00:00Z", "");
      assert.equal(r1.code, 4, r1.stderr + r1.stdout);
      const invalidClient =
        "could not check for existing access: could not get an access token: POST /oauth2/v1/token: 401 invalid_client (The client_assertion signature is invalid.): check oauth.clientId, and that the service app's public keys hold the public half of oauth.privateKeyFile (and its key id)";
      assert.deepEqual(errors(r1.stdout), [
        `grant failed: ${invalidClient}`,
        `grant failed: ${invalidClient}`,
      ]);
      // One token request for the run: it is not asked again for each action.
      assert.deepEqual(t.newCalls(), ["POST /oauth2/v1/token"]);

      // The right key, but the app was granted one scope of the two.
      app.publicKey = keys.publicKey;
      app.scopes = ["okta.groups.manage"];
      const r2 = await t.run("2026-11-22T10:15:00Z", "");
      assert.equal(r2.code, 4, r2.stderr + r2.stdout);
      assert.equal(
        errors(r2.stdout)[0],
        "grant failed: could not check for existing access: could not get an access token: POST /oauth2/v1/token: 400 invalid_scope (The requested scope is invalid, unknown, malformed, or exceeds the scope granted by the resource owner.): grant the scopes okta.groups.manage and okta.users.read to the service app (its Okta API Scopes tab; only a super admin can)",
      );
      assert.deepEqual(t.newCalls(), ["POST /oauth2/v1/token"]);

      // A key file that holds the public key: exit 2 before any call, naming the file, not its content.
      const publicPem = keys.publicKey.export({ type: "spki", format: "pem" }).toString();
      await writeFile(keyFile, publicPem, { mode: 0o600 });
      const r3 = await t.run("2026-11-22T10:30:00Z", "");
      assert.equal(r3.code, 2, r3.stderr + r3.stdout);
      assert.match(
        r3.stdout + r3.stderr,
        new RegExp(
          `unusable secret: ${keyFile.replace(/[.]/g, "\\.")} holds a public key or a certificate, not the private key \\(targets\\.okta\\.oauth\\.privateKeyFile\\)`,
        ),
      );
      assert.deepEqual(t.newCalls(), []);
      await assertNoSecret(
        [...keyMaterial(keys.privatePem), ...keyMaterial(publicPem).slice(1)],
        [r1.stdout, r1.stderr, r2.stdout, r2.stderr, r3.stdout, r3.stderr],
      );
      assert.deepEqual(t.okta.members(PROD.id), []);
    } finally {
      await t.cleanup();
    }
  });
});

describe("okta target: the simulated day (test/day.ts)", () => {
  it("grants, shares alice's membership between two rules, follows the swap, expires the overdue 14:00 at 16:00, leaves dave alone; exclusive removes dave", async () => {
    const G = "00goncall000000000g1";
    const day = async (opts: Parameters<typeof simulateDay>[1]) => {
      const fixture = await dayFixture();
      try {
        return (await simulateDay(fixture, opts)).map(({ stderr: _s, ...r }) => r);
      } finally {
        await fixture.close();
      }
    };
    assert.deepEqual(await day({ only: ["00:00", "10:00", "12:00", "13:00", "13:15", "16:00", "20:15"] }), [
      {
        at: "00:00",
        code: 0,
        calls: [
          "GET /api/v1/users/alice%40example.com",
          "GET /api/v1/groups?q=oncall-prod",
          "GET /api/v1/users/00ualice000000000001/groups",
          `PUT /api/v1/groups/${G}/users/00ualice000000000001`,
        ],
        actions: [
          "grant primary alice@example.com applied",
          "wait primary bob@example.com skipped",
          "extend dba alice@example.com applied",
          "wait dba dave@example.com skipped",
        ],
      },
      {
        at: "10:00",
        code: 0,
        calls: [],
        actions: ["wait primary bob@example.com skipped", "wait dba dave@example.com skipped"],
      },
      {
        at: "12:00",
        code: 0,
        calls: [
          "GET /api/v1/users/bob%40example.com",
          "GET /api/v1/groups?q=oncall-prod",
          "GET /api/v1/users/00ubob00000000000002/groups",
          `PUT /api/v1/groups/${G}/users/00ubob00000000000002`,
        ],
        actions: ["grant primary bob@example.com applied", "wait dba dave@example.com skipped"],
      },
      {
        at: "13:00",
        code: 0,
        calls: [
          "GET /api/v1/users/carol%40example.com",
          "GET /api/v1/groups?q=oncall-prod",
          "GET /api/v1/users/00ucarol000000000003/groups",
          `PUT /api/v1/groups/${G}/users/00ucarol000000000003`,
        ],
        actions: [
          "shorten primary bob@example.com applied",
          "grant primary carol@example.com applied",
          "wait dba dave@example.com skipped",
        ],
      },
      {
        at: "13:15",
        code: 0,
        calls: [`DELETE /api/v1/groups/${G}/users/00ubob00000000000002`],
        actions: ["expire primary bob@example.com applied", "wait dba dave@example.com skipped"],
      },
      {
        at: "16:00",
        code: 0,
        calls: [
          `DELETE /api/v1/groups/${G}/users/00ualice000000000001`,
          "GET /api/v1/users/dave%40example.com",
          "GET /api/v1/groups?q=oncall-prod",
          "GET /api/v1/users/00udave0000000000004/groups",
        ],
        actions: ["expire dba alice@example.com applied", "skip dba dave@example.com skipped"],
      },
      {
        at: "20:15",
        code: 0,
        calls: [],
        actions: [],
      },
    ]);
    // Exclusive: dave, a member from before, is removed at once (nobody has him on call), granted
    // for his shift and expired after it like anyone else.
    assert.deepEqual(await day({ exclusive: true, only: ["00:00", "16:00", "20:15"] }), [
      {
        at: "00:00",
        code: 0,
        calls: [
          "GET /api/v1/groups?q=oncall-prod",
          `GET /api/v1/groups/${G}/users?limit=200`,
          "GET /api/v1/users/alice%40example.com",
          `PUT /api/v1/groups/${G}/users/00ualice000000000001`,
          "GET /api/v1/users/dave%40example.com",
          `DELETE /api/v1/groups/${G}/users/00udave0000000000004`,
        ],
        actions: [
          "grant primary alice@example.com applied",
          "wait primary bob@example.com skipped",
          "revoke primary dave@example.com applied",
          "extend dba alice@example.com applied",
          "wait dba dave@example.com skipped",
        ],
      },
      {
        at: "16:00",
        code: 0,
        calls: [
          "GET /api/v1/groups?q=oncall-prod",
          `GET /api/v1/groups/${G}/users?limit=200`,
          "GET /api/v1/users/carol%40example.com",
          `PUT /api/v1/groups/${G}/users/00ucarol000000000003`,
          `DELETE /api/v1/groups/${G}/users/00ualice000000000001`,
          "GET /api/v1/users/dave%40example.com",
          `PUT /api/v1/groups/${G}/users/00udave0000000000004`,
        ],
        actions: [
          "grant primary carol@example.com applied",
          "expire dba alice@example.com applied",
          "grant dba dave@example.com applied",
        ],
      },
      {
        at: "20:15",
        code: 0,
        calls: [
          "GET /api/v1/groups?q=oncall-prod",
          `GET /api/v1/groups/${G}/users?limit=200`,
          `DELETE /api/v1/groups/${G}/users/00udave0000000000004`,
        ],
        actions: ["expire dba dave@example.com applied"],
      },
    ]);
  });
});
