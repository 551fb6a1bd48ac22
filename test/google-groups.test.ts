import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, it } from "node:test";
import { simulateDay } from "./day.js";
import { dayFixture } from "./days/google-groups.js";
import { fakeServiceAccount, serviceAccountKeyJson, startFakeGoogle } from "./fakes/google.js";
import { assertNoSecret, makeTempDir, parseJsonOutput, writeYaml } from "./helpers.js";
import { runMain } from "./harness.js";
import { callsSince } from "./target-helpers.js";

// The google-groups target through the CLI against the fake Cloud Identity and token endpoint, with
// a rota file as the source. The fake enforces each membership's expiry against its clock, which
// each run sets to the run's time: Google, not shiftgrant, ends the grants.

const PROD = { email: "oncall-prod@example.com", id: "03prod00000001" };
const PARTNER = { email: "shared@partner.example.net", id: "03ext000000009", foreign: true };
const USERS = ["alice@example.com", "bob@example.com", "carol@example.com", "dave@example.com"];
// Erin is on the rota but has no Google account.
const ROTA = [...USERS, "erin@example.com"];
const G = "/v1/groups/03prod00000001";

// Every schedule the rule reads has a shift long past, so that each exists in the file.
const rota = (shifts: [string, string, string][]) =>
  `shifts:\n${[...ROTA.map((u): [string, string, string] => [u, "2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z"]), ...shifts].map(([email, start, end]) => `  - { schedule: ${email.split("@")[0]}, email: ${email}, start: ${start}, end: ${end} }`).join("\n")}\n`;

async function setup(opts: { premium?: boolean; resources?: string[]; key?: string } = {}) {
  const google = await startFakeGoogle({
    groups: [PROD, PARTNER],
    users: USERS,
    pageSize: 2,
    ...(opts.premium === undefined ? {} : { premium: opts.premium }),
  });
  const { dir, cleanup } = await makeTempDir();
  const keyFile = path.join(dir, "sa.json");
  await writeFile(keyFile, opts.key ?? serviceAccountKeyJson(google.tokenUri), { mode: 0o600 });
  const config = await writeYaml(
    path.join(dir, "shiftgrant.yaml"),
    `
version: 1
state: state.json
audit: audit.jsonl
sources: { rota: { type: file, path: rota.yaml } }
targets:
  google: { type: google-groups, baseUrl: ${google.url}, concurrency: 1 }
rules:
  - { name: oncall, source: rota, schedules: [alice, bob, carol, dave, erin], target: google, resources: [${(opts.resources ?? [PROD.email]).join(", ")}], grace: 15m, revoke: true }
`,
  );
  return {
    google,
    dir,
    keyFile,
    config,
    shifts: (s: [string, string, string][]) => writeFile(path.join(dir, "rota.yaml"), rota(s)),
    run: (now: string, args: string[] = []) => {
      google.setNow(now);
      return runMain(["sync", "-c", config, "--output", "json", ...args], {
        cwd: dir,
        env: { GOOGLE_APPLICATION_CREDENTIALS: keyFile },
        now,
      });
    },
    newCalls: callsSince(() => google.calls()),
    secrets: () => [fakeServiceAccount().privateKeyPem.split("\n")[1] ?? "", ...google.issued],
    files: () => ["state.json", "audit.jsonl", "state.json.journal"].map((f) => path.join(dir, f)),
    cleanup: async () => {
      try {
        await google.close();
      } finally {
        await cleanup();
      }
    },
  };
}

const actions = (stdout: string) =>
  parseJsonOutput(stdout).actions.map(
    (a) =>
      `${a.kind} ${a.identity} ${a.status}${a.error ? `: ${a.error}` : ""}${a.kind === "skip" ? ` (${a.reason})` : ""}`,
  );
const createBody = (who: string, end: string) =>
  JSON.stringify({
    preferredMemberKey: { id: who },
    roles: [{ name: "MEMBER", expiryDetail: { expireTime: end } }],
  });
const modifyBody = (end: string) =>
  JSON.stringify({
    updateRolesParams: [
      {
        fieldMask: "expiry_detail.expire_time",
        membershipRole: { name: "MEMBER", expiryDetail: { expireTime: end } },
      },
    ],
  });

describe("google-groups target: memberships that Google ends at their expiry", () => {
  it("grants with the expiry at the shift's end plus grace, extends with one modify, leaves a member without expiry alone, and Google removes the member at the end", async () => {
    const t = await setup();
    try {
      t.google.addMember(PROD.email, "dave@example.com");
      await t.shifts([
        ["alice@example.com", "2026-11-22T09:00:00Z", "2026-11-22T17:00:00Z"],
        ["bob@example.com", "2026-11-22T12:00:00Z", "2026-11-22T20:00:00Z"],
        ["dave@example.com", "2026-11-22T08:00:00Z", "2026-11-22T18:00:00Z"],
      ]);
      const r1 = await t.run("2026-11-22T09:00:00Z");
      assert.equal(r1.code, 0, r1.stderr);
      assert.deepEqual(actions(r1.stdout), [
        "grant alice@example.com applied",
        "wait bob@example.com skipped",
        "skip dave@example.com skipped (on call: dave (rota) (already has this access outside shiftgrant; left alone))",
      ]);
      // The JWT is exchanged at the key file's token_uri (the fake), and its token signs every call.
      assert.deepEqual(t.newCalls(), [
        "POST /token",
        "GET /v1/groups:lookup?groupKey.id=oncall-prod@example.com",
        `GET ${G}/memberships:lookup?memberKey.id=alice@example.com`,
        `POST ${G}/memberships ${createBody("alice@example.com", "2026-11-22T17:15:00Z")}`,
        `GET ${G}/memberships:lookup?memberKey.id=dave@example.com`,
        `GET ${G}/memberships/m0001`,
      ]);
      assert.deepEqual(t.google.members(PROD.email), [
        "dave@example.com",
        "alice@example.com until 2026-11-22T17:15:00Z",
      ]);
      assert.equal(
        t.google.requests
          .filter((r) => r.path !== "/token")
          .every((r) => r.headers.authorization === `Bearer ${t.google.issued[0]}`),
        true,
      );

      // Alice's shift grows to 19:00: the membership's expiry moves, in one modify of the membership
      // the ledger names.
      await t.shifts([
        ["alice@example.com", "2026-11-22T09:00:00Z", "2026-11-22T19:00:00Z"],
        ["bob@example.com", "2026-11-22T12:00:00Z", "2026-11-22T20:00:00Z"],
        ["dave@example.com", "2026-11-22T08:00:00Z", "2026-11-22T18:00:00Z"],
      ]);
      const r2 = await t.run("2026-11-22T10:00:00Z");
      assert.equal(r2.code, 0, r2.stderr);
      assert.deepEqual(actions(r2.stdout), [
        "unchanged alice@example.com skipped",
        "extend alice@example.com applied",
        "wait bob@example.com skipped",
        "unchanged dave@example.com skipped",
      ]);
      assert.deepEqual(t.newCalls(), [
        "POST /token",
        `POST ${G}/memberships/m0002:modifyMembershipRoles ${modifyBody("2026-11-22T19:15:00Z")}`,
      ]);
      // Bob's shift is taken away: his grant is revoked (DELETE from the ledger's ref, no lookup).
      const r3 = await t.run("2026-11-22T12:00:00Z");
      assert.equal(r3.code, 0, r3.stderr);
      await t.shifts([
        ["alice@example.com", "2026-11-22T09:00:00Z", "2026-11-22T19:00:00Z"],
        ["dave@example.com", "2026-11-22T08:00:00Z", "2026-11-22T18:00:00Z"],
      ]);
      const r4 = await t.run("2026-11-22T12:30:00Z");
      assert.equal(r4.code, 0, r4.stderr);
      assert.deepEqual(actions(r4.stdout), [
        "unchanged alice@example.com skipped",
        "unchanged alice@example.com skipped",
        "revoke bob@example.com applied",
        "unchanged dave@example.com skipped",
      ]);
      assert.deepEqual(t.newCalls(), [
        "POST /token",
        "GET /v1/groups:lookup?groupKey.id=oncall-prod@example.com",
        `GET ${G}/memberships:lookup?memberKey.id=bob@example.com`,
        `POST ${G}/memberships ${createBody("bob@example.com", "2026-11-22T20:15:00Z")}`,
        "POST /token",
        `DELETE ${G}/memberships/m0003`,
      ]);
      // After 19:15 Google has removed alice: no run needs to call anything.
      const r5 = await t.run("2026-11-22T19:30:00Z");
      assert.equal(r5.code, 0, r5.stderr);
      assert.deepEqual(t.newCalls(), []);
      assert.deepEqual(t.google.members(PROD.email), ["dave@example.com"]);
      await assertNoSecret(
        t.secrets(),
        [r1.stdout, r1.stderr, r2.stdout, r2.stderr, r4.stdout, r4.stderr],
        t.files(),
      );
    } finally {
      await t.cleanup();
    }
  });

  it("what Google refuses fails the action, exit 4, with Google's words and what to do; an unknown email is a skip; a duplicate is read back and its expiry moved; an unfinished Operation is read back; a 503 is retried through the run's sleep", async () => {
    const t = await setup({ resources: [PROD.email, PARTNER.email] });
    try {
      await t.shifts([
        ["alice@example.com", "2026-11-22T09:00:00Z", "2026-11-22T17:00:00Z"],
        ["bob@example.com", "2026-11-22T09:00:00Z", "2026-11-22T17:00:00Z"],
        ["erin@example.com", "2026-11-22T09:00:00Z", "2026-11-22T17:00:00Z"],
      ]);
      // The first lookup of alice meets a 503 and is retried after the run's sleep; then someone else
      // adds her (until 12:00) between the check and the create: 409, read back, and her expiry moved
      // to the grant's end. Bob's create answers an Operation not done yet: his membership is read back.
      t.google.fault(
        `${G}/memberships`,
        {
          kind: "conflict",
          roles: [{ name: "MEMBER", expiryDetail: { expireTime: "2026-11-22T12:00:00Z" } }],
        },
        { kind: "pending" },
      );
      t.google.fault(`${G}/memberships:lookup`, { kind: "unavailable" });
      const res = await t.run("2026-11-22T09:00:00Z");
      assert.equal(res.code, 4, res.stderr);
      const doc = parseJsonOutput(res.stdout);
      // The partner's group is outside the customer: Google answers 403 to its lookup.
      const refused = (who: string) =>
        `grant ${who} failed: could not check for existing access: groups:lookup ${PARTNER.email}: 403 PERMISSION_DENIED: Error(2028): Permission denied for resource groups (or it may not exist). (the service account must be an owner or manager of this group, or hold the Groups Admin role; a group outside the customer cannot be managed)`;
      assert.deepEqual(actions(res.stdout), [
        "grant alice@example.com applied",
        "grant bob@example.com applied",
        "skip erin@example.com skipped (on call: erin (rota) (Google knows no user or group with the email erin@example.com: add the account, or map this email to it (identities:)))",
        refused("alice@example.com"),
        refused("bob@example.com"),
        refused("erin@example.com"),
      ]);
      assert.equal(doc.exitCode, 4);
      assert.equal(res.sleeps.length, 1);
      assert.deepEqual(t.newCalls(), [
        "POST /token",
        "GET /v1/groups:lookup?groupKey.id=oncall-prod@example.com",
        `GET ${G}/memberships:lookup?memberKey.id=alice@example.com`,
        `GET ${G}/memberships:lookup?memberKey.id=alice@example.com`,
        `POST ${G}/memberships ${createBody("alice@example.com", "2026-11-22T17:15:00Z")}`,
        `GET ${G}/memberships:lookup?memberKey.id=alice@example.com`,
        `GET ${G}/memberships/m0001`,
        `POST ${G}/memberships/m0001:modifyMembershipRoles ${modifyBody("2026-11-22T17:15:00Z")}`,
        `GET ${G}/memberships:lookup?memberKey.id=bob@example.com`,
        `POST ${G}/memberships ${createBody("bob@example.com", "2026-11-22T17:15:00Z")}`,
        `GET ${G}/memberships:lookup?memberKey.id=bob@example.com`,
        `GET ${G}/memberships/m0002`,
        `GET ${G}/memberships:lookup?memberKey.id=erin@example.com`,
        `POST ${G}/memberships ${createBody("erin@example.com", "2026-11-22T17:15:00Z")}`,
        `GET /v1/groups:lookup?groupKey.id=${PARTNER.email}`,
      ]);
      assert.deepEqual(t.google.members(PROD.email), [
        "alice@example.com until 2026-11-22T17:15:00Z",
        "bob@example.com until 2026-11-22T17:15:00Z",
      ]);
    } finally {
      await t.cleanup();
    }
  });
});

describe("google-groups: credentials, editions and validate --online", () => {
  it("an edition without membership expiry: the grant fails with Google's refusal and the editions that have it, exit 4", async () => {
    const t = await setup({ premium: false });
    try {
      await t.shifts([["alice@example.com", "2026-11-22T09:00:00Z", "2026-11-22T17:00:00Z"]]);
      const res = await t.run("2026-11-22T09:00:00Z");
      assert.equal(res.code, 4, res.stderr);
      assert.deepEqual(actions(res.stdout), [
        `grant alice@example.com failed: ${PROD.email}: 400 FAILED_PRECONDITION: Precondition check failed: membership expiry is not available for this customer. (expiring memberships need Google Workspace Enterprise Standard or Plus, Enterprise for Education, or Cloud Identity Premium)`,
      ]);
      assert.deepEqual(t.google.members(PROD.email), []);
    } finally {
      await t.cleanup();
    }
  });

  it("a key the token endpoint refuses: every action fails, exit 4, nothing leaked; validate --online says so, exit 2; with the right key it passes", async () => {
    const other = generateKeyPairSync("rsa", { modulusLength: 2048 })
      .privateKey.export({ type: "pkcs8", format: "pem" })
      .toString();
    const t = await setup();
    try {
      await writeFile(t.keyFile, serviceAccountKeyJson(t.google.tokenUri, other));
      await t.shifts([["alice@example.com", "2026-11-22T09:00:00Z", "2026-11-22T17:00:00Z"]]);
      const res = await t.run("2026-11-22T09:00:00Z");
      assert.equal(res.code, 4, res.stderr);
      assert.match(
        actions(res.stdout)[0] ?? "",
        /^grant alice@example\.com failed: could not check for existing access: groups:lookup oncall-prod@example\.com: the token endpoint refused the credentials \(400 invalid_grant: Invalid JWT Signature\.\): check that the service account key in GOOGLE_APPLICATION_CREDENTIALS is current/,
      );
      assert.deepEqual(
        t.newCalls().every((c) => c === "POST /token"),
        true,
      );
      await assertNoSecret([other.split("\n")[1] ?? "", ...t.secrets()], [res.stdout, res.stderr], t.files());

      const validate = () =>
        runMain(["validate", "--online", "-c", t.config], {
          cwd: t.dir,
          env: { GOOGLE_APPLICATION_CREDENTIALS: t.keyFile },
        });
      const bad = await validate();
      assert.equal(bad.code, 2, bad.stderr);
      assert.match(
        bad.stdout,
        /FAIL.*google.*the token endpoint refused the credentials \(400 invalid_grant: Invalid JWT Signature\.\)/,
      );
      await assertNoSecret([other.split("\n")[1] ?? ""], [bad.stdout, bad.stderr]);
      await writeFile(t.keyFile, serviceAccountKeyJson(t.google.tokenUri));
      const good = await validate();
      assert.equal(good.code, 0, good.stdout + good.stderr);
      assert.match(
        good.stdout,
        /ok.*google.*shiftgrant@example-project\.iam\.gserviceaccount\.com: credentials accepted/,
      );
      await assertNoSecret(t.secrets(), [good.stdout, good.stderr]);

      // A key file that is not there, or is no Google credentials file: a missing credential, exit 2,
      // before any call (and in the JSON error document).
      const before = t.google.calls().length;
      const notJson = path.join(t.dir, "notes.txt");
      await writeFile(notJson, "not a key");
      for (const [file, why] of [
        [path.join(t.dir, "nope.json"), "which does not exist"],
        [notJson, "which is not JSON"],
        ["", "is set but empty"],
      ] as const) {
        const missing = await runMain(["sync", "-c", t.config, "--output", "json"], {
          cwd: t.dir,
          env: { GOOGLE_APPLICATION_CREDENTIALS: file },
          now: "2026-11-22T09:00:00Z",
        });
        assert.equal(missing.code, 2, missing.stderr);
        const err = (JSON.parse(missing.stdout) as { error: { kind: string; message: string } }).error;
        assert.equal(err.kind, "secret");
        assert.match(
          err.message,
          new RegExp(`^missing credential: GOOGLE_APPLICATION_CREDENTIALS .*${why}.*\\(targets\\.google\\)$`),
        );
      }
      assert.equal(t.google.calls().length, before);
    } finally {
      await t.cleanup();
    }
  });
});

describe("google-groups: the simulated day", () => {
  it("grants with expiries, one membership for two rules (its expiry the later end), the swap cut in place, dave left alone, the ledger lost; exclusive removes who is not on call, page by page", async () => {
    const f = await dayFixture();
    try {
      // Google ends each membership itself: no run after 13:00 removes anyone; at 16:00 nothing is
      // overdue (alice's membership ended at 14:00 in Google); at 18:00 the ledger is gone and carol's
      // membership, found with an expiry as late as wanted, is taken over without a call.
      const day = await simulateDay(f, {
        only: ["00:00", "12:00", "13:00", "16:00", "18:00"],
        deleteLedgerAt: "18:00",
      });
      assert.deepEqual(
        day.map((r) => [r.at, r.code, ...r.actions, ...r.calls]),
        [
          [
            "00:00",
            0,
            "grant primary alice@example.com applied",
            "wait primary bob@example.com skipped",
            "extend dba alice@example.com applied",
            "wait dba dave@example.com skipped",
            "POST /token",
            "GET /v1/groups:lookup?groupKey.id=oncall-prod@example.com",
            "GET …/memberships:lookup?memberKey.id=alice@example.com",
            "POST …/memberships alice@example.com expires 12:15",
            "POST …/memberships/m0003:modifyMembershipRoles expires 14:00",
          ],
          [
            "12:00",
            0,
            "grant primary bob@example.com applied",
            "wait dba dave@example.com skipped",
            "POST /token",
            "GET /v1/groups:lookup?groupKey.id=oncall-prod@example.com",
            "GET …/memberships:lookup?memberKey.id=bob@example.com",
            "POST …/memberships bob@example.com expires 00:15",
          ],
          [
            "13:00",
            0,
            "shorten primary bob@example.com applied",
            "grant primary carol@example.com applied",
            "wait dba dave@example.com skipped",
            "POST /token",
            "POST …/memberships/m0004:modifyMembershipRoles expires 13:15",
            "GET /v1/groups:lookup?groupKey.id=oncall-prod@example.com",
            "GET …/memberships:lookup?memberKey.id=carol@example.com",
            "POST …/memberships carol@example.com expires 00:15",
          ],
          [
            "16:00",
            0,
            "skip dba dave@example.com skipped",
            "POST /token",
            "GET /v1/groups:lookup?groupKey.id=oncall-prod@example.com",
            "GET …/memberships:lookup?memberKey.id=dave@example.com",
            "GET …/memberships/m0002",
          ],
          [
            "18:00",
            0,
            "grant primary carol@example.com applied",
            "skip dba dave@example.com skipped",
            "POST /token",
            "GET /v1/groups:lookup?groupKey.id=oncall-prod@example.com",
            "GET …/memberships:lookup?memberKey.id=carol@example.com",
            "GET …/memberships/m0005",
            "GET …/memberships:lookup?memberKey.id=dave@example.com",
            "GET …/memberships/m0002",
          ],
        ],
      );
    } finally {
      await f.close();
    }
    // Exclusive: each run lists the group (one membership a page), removes dave at 00:00 (not on
    // call; his membership from before is not spared) and bob at 16:00 (his shift was handed to
    // carol, and the 13:00 run that would have cut it did not run here); the service account, the
    // group's owner, is never listed as a member. The listing answers the pre-existing checks.
    const g = await dayFixture();
    try {
      const day = await simulateDay(g, { exclusive: true, only: ["00:00", "12:00", "16:00", "20:15"] });
      assert.deepEqual(
        day.map((r) => [r.at, r.code, ...r.actions, ...r.calls]),
        [
          [
            "00:00",
            0,
            "grant primary alice@example.com applied",
            "wait primary bob@example.com skipped",
            "revoke primary dave@example.com applied",
            "extend dba alice@example.com applied",
            "wait dba dave@example.com skipped",
            "POST /token",
            "GET /v1/groups:lookup?groupKey.id=oncall-prod@example.com",
            "GET …/memberships?view=FULL&pageSize=500",
            "GET …/memberships?view=FULL&pageSize=500&pageToken=MQ",
            "POST …/memberships alice@example.com expires 12:15",
            "POST …/memberships/m0003:modifyMembershipRoles expires 14:00",
            "DELETE …/memberships/m0002",
          ],
          [
            "12:00",
            0,
            "grant primary bob@example.com applied",
            "wait dba dave@example.com skipped",
            "POST /token",
            "GET /v1/groups:lookup?groupKey.id=oncall-prod@example.com",
            "GET …/memberships?view=FULL&pageSize=500",
            "GET …/memberships?view=FULL&pageSize=500&pageToken=MQ",
            "POST …/memberships bob@example.com expires 00:15",
          ],
          [
            "16:00",
            0,
            "revoke primary bob@example.com applied",
            "grant primary carol@example.com applied",
            "grant dba dave@example.com applied",
            "POST /token",
            "GET /v1/groups:lookup?groupKey.id=oncall-prod@example.com",
            "GET …/memberships?view=FULL&pageSize=500",
            "GET …/memberships?view=FULL&pageSize=500&pageToken=MQ",
            "DELETE …/memberships/m0004",
            "POST …/memberships carol@example.com expires 00:15",
            "POST …/memberships dave@example.com expires 20:00",
          ],
          [
            "20:15",
            0,
            "POST /token",
            "GET /v1/groups:lookup?groupKey.id=oncall-prod@example.com",
            "GET …/memberships?view=FULL&pageSize=500",
            "GET …/memberships?view=FULL&pageSize=500&pageToken=MQ",
          ],
        ],
      );
    } finally {
      await g.close();
    }
  });
});
