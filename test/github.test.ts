import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { simulateDay, type DayFixture } from "./day.js";
import { dayFixture } from "./days/github.js";
import { startFakeGithub, type FakeGithubTeam } from "./fakes/github.js";
import { assertNoSecret, makeTempDir, parseJsonOutput, writeYaml } from "./helpers.js";
import { runMain } from "./harness.js";
import { actionLines, callsSince, personalRota } from "./target-helpers.js";

// The github target through the CLI against a fake GitHub (the official Octokit talks to it), with a
// rota file as the source and the clock moved between runs as cron would move it. Each test asserts
// the exact requests of each run.

const TOKEN = "ghp_test-token-DO-NOT-PRINT-0123456789";
const OUTSIDER_TOKEN = "ghp_outsider-token-NOT-AN-OWNER-55555";
const ORG = "acme";
// An App's key as GitHub hands it out: PKCS#1 PEM (1024 bits: GitHub's are 2048, but the fake does
// not mind and a test need not spend the CPU). Made once, for the tests that use an App.
let appKey: { privateKey: string; publicKey: string } | null = null;
const APP_ID = "123456";
const INSTALLATION_ID = "7654321";
function appKeys() {
  appKey ??= generateKeyPairSync("rsa", {
    modulusLength: 1024,
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
  return appKey;
}

// Each person on a schedule of their own (shifts on one schedule may not overlap).
const rota = personalRota;

async function setup(
  fake: { orgMembers: string[]; teams: FakeGithubTeam[]; saml?: Record<string, string>; app?: boolean },
  target: string,
  rules: string,
  extra = "",
) {
  const gh = await startFakeGithub({
    org: ORG,
    token: TOKEN,
    outsiderToken: OUTSIDER_TOKEN,
    orgMembers: fake.orgMembers,
    teams: fake.teams,
    pageSize: 2,
    ...(fake.saml ? { saml: fake.saml } : {}),
    ...(fake.app
      ? { app: { appId: APP_ID, installationId: INSTALLATION_ID, publicKeyPem: appKeys().publicKey } }
      : {}),
  });
  const { dir, cleanup } = await makeTempDir();
  if (fake.app) await writeFile(path.join(dir, "app.pem"), appKeys().privateKey, { mode: 0o600 });
  const config = await writeYaml(
    path.join(dir, "shiftgrant.yaml"),
    `
version: 1
state: state.json
${extra}
sources: { rota: { type: file, path: rota.yaml } }
targets:
  gh: { type: github, org: ${ORG}, baseUrl: ${gh.url}, ${target} }
rules:
${rules}
`,
  );
  return {
    gh,
    dir,
    config,
    shifts: (s: [string, string, string][]) => writeFile(path.join(dir, "rota.yaml"), rota(s)),
    run: (now: string, token = TOKEN) =>
      runMain(["sync", "-c", config, "--output", "json"], { cwd: dir, env: { GITHUB_TOKEN: token }, now }),
    /** The requests made since the last call. */
    newCalls: callsSince(() => gh.calls()),
    cleanup: async () => {
      try {
        await gh.close();
      } finally {
        await cleanup();
      }
    },
  };
}

const actions = actionLines;

const rule = (schedules: string[], resources = ["oncall"], name = "oncall") =>
  `  - { name: ${name}, source: rota, schedules: [${schedules.join(", ")}], target: gh, resources: [${resources.join(", ")}] }`;

const PUT_MEMBER = '{"role":"member"}';
const team = (slug: string, login: string) => `/orgs/${ORG}/teams/${slug}/memberships/${login}`;

describe("github target: team memberships that shiftgrant ends", () => {
  it("a token: waits for the start, leaves a pre-existing member alone, skips a login outside the org, waits out both rate limits, extends without a call, expires after failing twice", async () => {
    const t = await setup(
      { orgMembers: ["alice-gh", "carol-gh"], teams: [{ slug: "oncall", members: ["carol-gh"] }] },
      "identities: { alice@example.com: Alice-GH, bob@example.com: bob-gh, carol@example.com: carol-gh }",
      rule(["alice", "bob", "carol"]),
      "http: { retries: 1 }",
    );
    try {
      await t.shifts([
        ["alice@example.com", "2026-11-22T10:00:00Z", "2026-11-22T14:00:00Z"],
        ["bob@example.com", "2026-11-22T10:00:00Z", "2026-11-22T14:00:00Z"],
        ["carol@example.com", "2026-11-22T08:00:00Z", "2026-11-22T20:00:00Z"],
      ]);
      // 09:00: alice and bob start at 10:00: nothing before the start. Carol is in the team already.
      const r1 = await t.run("2026-11-22T09:00:00Z");
      assert.equal(r1.code, 0, r1.stderr + r1.stdout);
      assert.deepEqual(actions(r1.stdout), [
        "wait alice-gh oncall skipped",
        "wait bob-gh oncall skipped",
        "skip carol-gh oncall skipped",
      ]);
      assert.equal(
        parseJsonOutput(r1.stdout).actions[2]?.reason,
        "on call: carol (rota) (already has this access outside shiftgrant; left alone)",
      );
      assert.deepEqual(t.newCalls(), [
        `GET /orgs/${ORG}/members/carol-gh`,
        `GET ${team("oncall", "carol-gh")}`,
      ]);

      // 10:00: alice (mapped as Alice-GH: logins are compared lower-cased) meets the primary limit
      // (spent for 30 s more) and then a secondary one (retry-after 7): both waited, through the
      // run's sleep. Bob is not in the organisation: skipped, never invited (exit 4).
      t.gh.fault(`/orgs/${ORG}/members/alice-gh`, { kind: "primary", resetInSeconds: 30 });
      t.gh.fault(team("oncall", "alice-gh"), { kind: "secondary", retryAfter: 7 });
      const r2 = await t.run("2026-11-22T10:00:00Z");
      assert.equal(r2.code, 4, r2.stderr + r2.stdout);
      assert.deepEqual(actions(r2.stdout), [
        "grant alice-gh oncall applied",
        "skip bob-gh oncall skipped",
        "unchanged carol-gh oncall skipped",
      ]);
      assert.equal(
        parseJsonOutput(r2.stdout).actions[1]?.reason,
        "on call: bob (rota) (bob-gh is not a member of acme; shiftgrant never sends invitations (invite them to acme in GitHub, or correct the identity))",
      );
      assert.deepEqual(t.newCalls(), [
        `GET /orgs/${ORG}/members/alice-gh`,
        `GET /orgs/${ORG}/members/alice-gh`,
        `GET ${team("oncall", "alice-gh")}`,
        `GET ${team("oncall", "alice-gh")}`,
        `PUT ${team("oncall", "alice-gh")} ${PUT_MEMBER}`,
        `GET /orgs/${ORG}/members/bob-gh`,
      ]);
      assert.equal(r2.sleeps.length, 2, String(r2.sleeps));
      const [primary = 0, secondary] = r2.sleeps;
      // The reset is 30 s ahead in whole seconds of the fake's clock; the run reads its own clock a
      // little later (more on a loaded machine): any wait far above a backoff's proves the reset used.
      assert.ok(primary > 20_000 && primary <= 30_000, `waited ${primary} ms for x-ratelimit-reset`);
      assert.equal(secondary, 7000);
      assert.deepEqual(t.gh.members("oncall"), ["alice-gh", "carol-gh"]);

      // 12:00: alice's shift grows to 16:00: no call, the membership stays. Bob is asked again (he
      // may have joined since): still outside.
      await t.shifts([
        ["alice@example.com", "2026-11-22T10:00:00Z", "2026-11-22T16:00:00Z"],
        ["bob@example.com", "2026-11-22T10:00:00Z", "2026-11-22T14:00:00Z"],
        ["carol@example.com", "2026-11-22T08:00:00Z", "2026-11-22T20:00:00Z"],
      ]);
      const r3 = await t.run("2026-11-22T12:00:00Z");
      assert.equal(r3.code, 4, r3.stderr + r3.stdout);
      assert.deepEqual(actions(r3.stdout), [
        "unchanged alice-gh oncall skipped",
        "extend alice-gh oncall applied",
        "skip bob-gh oncall skipped",
        "unchanged carol-gh oncall skipped",
      ]);
      assert.deepEqual(t.newCalls(), [`GET /orgs/${ORG}/members/bob-gh`]);

      // 16:15 and 16:30: alice's end has passed; GitHub answers 502 to both tries of each run: the
      // expire fails (exit 4) and stays due. 16:45: it succeeds.
      const fails = { kind: "status", status: 502 } as const;
      t.gh.fault(team("oncall", "alice-gh"), fails, fails, fails, fails);
      for (const at of ["2026-11-22T16:15:00Z", "2026-11-22T16:30:00Z"]) {
        const r = await t.run(at);
        assert.equal(r.code, 4, r.stderr + r.stdout);
        const doc = parseJsonOutput(r.stdout);
        assert.deepEqual(actions(r.stdout), [
          "expire alice-gh oncall failed",
          "unchanged carol-gh oncall skipped",
        ]);
        assert.equal(
          doc.actions[0]?.error,
          `DELETE ${team("oncall", "alice-gh")}: 502 Server Error after 2 tries`,
        );
        assert.deepEqual(t.newCalls(), [
          `DELETE ${team("oncall", "alice-gh")}`,
          `DELETE ${team("oncall", "alice-gh")}`,
        ]);
      }
      const r5 = await t.run("2026-11-22T16:45:00Z");
      assert.equal(r5.code, 0, r5.stderr + r5.stdout);
      assert.deepEqual(actions(r5.stdout), [
        "expire alice-gh oncall applied",
        "unchanged carol-gh oncall skipped",
      ]);
      assert.deepEqual(t.newCalls(), [`DELETE ${team("oncall", "alice-gh")}`]);

      // Carol, in the team before shiftgrant, is still there.
      assert.deepEqual(t.gh.members("oncall"), ["carol-gh"]);
      await assertNoSecret(
        [TOKEN],
        [r1.stdout, r1.stderr, r2.stdout, r2.stderr],
        [path.join(t.dir, "state.json")],
      );
    } finally {
      await t.cleanup();
    }
  });
});

describe("github target: App auth, SAML identities, exclusive teams, a team an identity provider manages", () => {
  it("a dry run reads the team and the SAML identities with the App; one run: one token exchange (RS256 JWT, iss = the App id), one paged SAML query, the exclusive team listed page by page and strangers removed, the IdP team refused once; then validate --online", async () => {
    const t = await setup(
      {
        app: true,
        orgMembers: ["alice-gh", "carol-gh", "dave-gh", "zed-gh"],
        teams: [
          { slug: "oncall", members: ["carol-gh", "dave-gh", "zed-gh"] },
          { slug: "platform", idpManaged: true },
        ],
        // nameIds are matched without case; x-gh is linked but never on call.
        saml: { "Alice@Example.com": "Alice-GH", "x@example.com": "x-gh", "zed@example.com": "zed-gh" },
      },
      "app: { appId: 123456, installationId: '7654321', privateKeyFile: app.pem }, saml: true, exclusive: [oncall], identities: { carol@example.com: Carol-GH }",
      [rule(["alice", "carol", "eve"]), rule(["alice", "carol"], ["platform"], "platform")].join("\n"),
    );
    try {
      await t.shifts([
        ["alice@example.com", "2026-11-22T08:00:00Z", "2026-11-22T20:00:00Z"],
        ["carol@example.com", "2026-11-22T08:00:00Z", "2026-11-22T20:00:00Z"],
        ["eve@example.com", "2026-11-22T08:00:00Z", "2026-11-22T20:00:00Z"],
      ]);
      // A dry run reads what the plan needs (the exclusive team, the SAML identities) with the App's
      // key, and changes nothing.
      const d = await runMain(["sync", "-c", t.config, "--dry-run", "--output", "json"], {
        cwd: t.dir,
        env: {},
        now: "2026-11-22T10:00:00Z",
      });
      assert.equal(d.code, 4, d.stderr + d.stdout);
      assert.deepEqual(actions(d.stdout), [
        "grant alice-gh oncall planned",
        "grant carol-gh oncall planned",
        "revoke dave-gh oncall planned",
        "skip eve@example.com oncall skipped",
        "revoke zed-gh oncall planned",
        "grant alice-gh platform planned",
        "grant carol-gh platform planned",
      ]);
      assert.deepEqual(t.newCalls(), [
        `POST /app/installations/${INSTALLATION_ID}/access_tokens`,
        `GET /orgs/${ORG}/teams/oncall/members?per_page=100`,
        `GET /orgs/${ORG}/teams/oncall/members?per_page=100&page=2`,
        `POST /graphql {"org":"${ORG}","after":null}`,
        `POST /graphql {"org":"${ORG}","after":"Mg=="}`,
      ]);
      const r = await t.run("2026-11-22T10:00:00Z", "");
      assert.equal(r.code, 4, r.stderr + r.stdout);
      const doc = parseJsonOutput(r.stdout);
      assert.deepEqual(actions(r.stdout), [
        "grant alice-gh oncall applied",
        "grant carol-gh oncall applied",
        "revoke dave-gh oncall applied",
        "skip eve@example.com oncall skipped",
        "revoke zed-gh oncall applied",
        "grant alice-gh platform failed",
        "grant carol-gh platform failed",
      ]);
      const idp =
        "GitHub refuses changes to team platform: an identity provider manages its members (403 You cannot create or update members for an external group backed team since they are managed by an identity provider); change the group in the identity provider, or name a team GitHub manages";
      assert.deepEqual(
        doc.actions.map((a) => a.error ?? a.reason),
        [
          "on call: alice (rota)",
          "on call: carol (rota) (no call: gh lists carol-gh as a member already; the resource is exclusive, so the ledger records the access as shiftgrant's)",
          "not on call; exclusive",
          'on call: eve (rota) ("eve@example.com" is not a GitHub login (map the email to one in identities:, or use saml: true); it is never passed to a target)',
          "not on call; exclusive",
          idp,
          `${idp} (refused earlier in this run; not asked again)`,
        ],
      );
      // Alice's login comes from SAML (nameId matched without case), carol's from identities (her
      // SAML identity is not asked). The App's token is fetched once and used for every call. On an
      // exclusive team nobody is checked first; carol, listed already, is taken over without a call.
      assert.deepEqual(t.newCalls(), [
        `POST /app/installations/${INSTALLATION_ID}/access_tokens`,
        `GET /orgs/${ORG}/teams/oncall/members?per_page=100`,
        `GET /orgs/${ORG}/teams/oncall/members?per_page=100&page=2`,
        `POST /graphql {"org":"${ORG}","after":null}`,
        `POST /graphql {"org":"${ORG}","after":"Mg=="}`,
        `GET /orgs/${ORG}/members/alice-gh`,
        `PUT ${team("oncall", "alice-gh")} ${PUT_MEMBER}`,
        `DELETE ${team("oncall", "dave-gh")}`,
        `DELETE ${team("oncall", "zed-gh")}`,
        `GET ${team("platform", "alice-gh")}`,
        `PUT ${team("platform", "alice-gh")} ${PUT_MEMBER}`,
      ]);
      assert.deepEqual(t.gh.members("oncall"), ["alice-gh", "carol-gh"]);
      assert.deepEqual(t.gh.members("platform"), []);
      const tokenCalls = t.gh.requests.filter((q) => q.path.startsWith("/orgs/"));
      assert.ok(tokenCalls.every((q) => /^token ghs_/.test(String(q.headers.authorization))));

      // validate --online: the token exchange, a read of the organisation and of its SAML identities.
      const v = await runMain(["validate", "-c", t.config, "--online"], { cwd: t.dir, env: {} });
      assert.equal(v.code, 0, v.stderr + v.stdout);
      assert.match(
        v.stdout,
        /acme on http:\/\/127\.0\.0\.1:\d+ answers and takes the App installation's token; 3 SAML-linked identities/,
      );
      assert.deepEqual(t.newCalls(), [
        `POST /app/installations/${INSTALLATION_ID}/access_tokens`,
        `GET /orgs/${ORG}`,
        `POST /graphql {"org":"${ORG}","after":null}`,
        `POST /graphql {"org":"${ORG}","after":"Mg=="}`,
      ]);
      // Each run signed one JWT: RS256 (the fake checks the signature), iss the App id, 10 minutes.
      assert.equal(t.gh.jwts.length, 3);
      for (const claims of t.gh.jwts) {
        assert.equal(claims.iss, 123456);
        assert.equal(Number(claims.exp) - Number(claims.iat), 600);
      }
      assert.equal(t.gh.issuedTokens().length, 3);
      await assertNoSecret(
        [
          appKeys().privateKey,
          ...appKeys()
            .privateKey.split("\n")
            .filter((l) => l.length > 40),
          ...t.gh.issuedTokens(),
        ],
        [d.stdout, d.stderr, r.stdout, r.stderr, v.stdout, v.stderr],
        [path.join(t.dir, "state.json")],
      );
    } finally {
      await t.cleanup();
    }
  });
});

describe("github target: credentials and identities GitHub cannot take", () => {
  it("a token GitHub refuses fails the actions (exit 4) and never appears; a mapped value that is no login is skipped; a key file that is no PEM key is exit 2 before any call; SAML asked of an org without it: the emails are skipped, exit 4", async () => {
    const t = await setup(
      { orgMembers: ["alice-gh"], teams: [{ slug: "oncall" }] },
      "identities: { alice@example.com: alice-gh, eve@example.com: '-eve-' }",
      rule(["alice", "eve"]),
    );
    const bad = "ghp_bad-token-NEVER-PRINTED-987654321";
    try {
      await t.shifts([
        ["alice@example.com", "2026-11-22T08:00:00Z", "2026-11-22T20:00:00Z"],
        ["eve@example.com", "2026-11-22T08:00:00Z", "2026-11-22T20:00:00Z"],
      ]);
      const r = await t.run("2026-11-22T10:00:00Z", bad);
      assert.equal(r.code, 4, r.stderr + r.stdout);
      const doc = parseJsonOutput(r.stdout);
      assert.deepEqual(actions(r.stdout), [
        "grant alice-gh oncall failed",
        "skip eve@example.com oncall skipped",
      ]);
      assert.deepEqual(
        doc.actions.map((a) => a.error ?? a.reason),
        [
          `could not check for existing access: GET /orgs/${ORG}/members/alice-gh: 401 Bad credentials (GitHub does not take the token: check it)`,
          'on call: eve (rota) ("eve@example.com" maps to "-eve-", which is not a GitHub login (map the email to one in identities:, or use saml: true); it is never passed to a target)',
        ],
      );
      assert.deepEqual(t.newCalls(), [`GET /orgs/${ORG}/members/alice-gh`]);
      await assertNoSecret([bad], [r.stdout, r.stderr], [path.join(t.dir, "state.json")]);

      // A token of someone outside the organisation: GitHub hides its private members (302).
      const o = await t.run("2026-11-22T10:00:00Z", OUTSIDER_TOKEN);
      assert.equal(o.code, 4, o.stderr + o.stdout);
      assert.equal(
        parseJsonOutput(o.stdout).actions[0]?.error,
        `could not check for existing access: GET /orgs/${ORG}/members/alice-gh: 302: the token may not see acme's members; use a GitHub App installed on acme, or a token of one of its owners`,
      );
      assert.deepEqual(t.newCalls(), [`GET /orgs/${ORG}/members/alice-gh`]);

      // An App whose key file holds something else: refused with the other secrets, before any call.
      await writeFile(path.join(t.dir, "not-a-key.pem"), "ghp_pasted-a-token-here\n", { mode: 0o600 });
      const config = await writeYaml(
        path.join(t.dir, "app.yaml"),
        (await readFile(t.config, "utf8")).replace(
          "identities:",
          "app: { appId: 1, installationId: 2, privateKeyFile: not-a-key.pem }, identities:",
        ),
      );
      const k = await runMain(["sync", "-c", config, "--output", "json"], {
        cwd: t.dir,
        env: {},
        now: "2026-11-22T10:00:00Z",
      });
      assert.equal(k.code, 2, k.stderr + k.stdout);
      assert.match(
        k.stderr,
        /unusable secret: \S+not-a-key\.pem is not a private key in PEM \(-----BEGIN PRIVATE KEY-----\) or JWK \(JSON\) form \(targets\.gh\.app\.privateKeyFile\)/,
      );
      assert.deepEqual(t.newCalls(), []);
      await assertNoSecret(["ghp_pasted-a-token-here"], [k.stdout, k.stderr]);

      // saml: true on an organisation without SAML of its own: the lookup fails, says so, and the
      // emails it was for are skipped (exit 4); the rest goes on.
      await t.shifts([
        ["alice@example.com", "2026-11-22T08:00:00Z", "2026-11-22T20:00:00Z"],
        ["frank@example.com", "2026-11-22T08:00:00Z", "2026-11-22T20:00:00Z"],
      ]);
      const samlConfig = await writeYaml(
        path.join(t.dir, "saml.yaml"),
        (await readFile(t.config, "utf8"))
          .replace("identities:", "saml: true, identities:")
          .replace("schedules: [alice, eve]", "schedules: [alice, frank]"),
      );
      const s = await runMain(["sync", "-c", samlConfig, "--output", "json"], {
        cwd: t.dir,
        env: { GITHUB_TOKEN: TOKEN },
        now: "2026-11-22T10:00:00Z",
      });
      assert.equal(s.code, 4, s.stderr + s.stdout);
      assert.deepEqual(actions(s.stdout), [
        "grant alice-gh oncall applied",
        "skip frank@example.com oncall skipped",
      ]);
      const warning = s.stderr.split("\n").find((l) => l.includes("could not look up the identities"));
      assert.deepEqual(
        (JSON.parse(warning ?? "{}") as { error?: string }).error,
        "acme has no SAML single sign-on of its own (none, or set on its enterprise): map these emails to GitHub logins in identities:",
      );
      assert.doesNotMatch(s.stderr, /"level":"error"/);
      assert.deepEqual(t.newCalls(), [
        `POST /graphql {"org":"${ORG}","after":null}`,
        `GET /orgs/${ORG}/members/alice-gh`,
        `GET ${team("oncall", "alice-gh")}`,
        `PUT ${team("oncall", "alice-gh")} ${PUT_MEMBER}`,
      ]);
    } finally {
      await t.cleanup();
    }
  });
});

describe("github target: the simulated day", () => {
  let fixture: DayFixture;
  before(async () => {
    fixture = await dayFixture();
  });
  after(() => fixture.close());

  it("grants at the start, shares one membership between two rules, follows a swap, expires the overdue grant at 16:00, leaves dave (a member from before) alone", async () => {
    const runs = await simulateDay(fixture, {
      only: ["00:00", "10:00", "12:00", "13:00", "13:15", "16:00", "20:15", "+00:15"],
    });
    const m = (login: string) => `/orgs/acme/teams/oncall/memberships/${login}`;
    const grant = (login: string) => [
      `GET /orgs/acme/members/${login}`,
      `GET ${m(login)}`,
      `PUT ${m(login)} ${PUT_MEMBER}`,
    ];
    assert.deepEqual(
      runs.map((r) => [r.at, r.code, r.calls]),
      [
        ["00:00", 0, grant("alice-gh")],
        ["10:00", 0, []],
        ["12:00", 0, grant("bob-gh")],
        ["13:00", 0, grant("carol-gh")],
        ["13:15", 0, [`DELETE ${m("bob-gh")}`]],
        ["16:00", 0, [`DELETE ${m("alice-gh")}`, "GET /orgs/acme/members/dave-gh", `GET ${m("dave-gh")}`]],
        ["20:15", 0, []],
        ["+00:15", 0, [`DELETE ${m("carol-gh")}`]],
      ],
    );
  });

  it("exclusive: dave, in the team before the day, is removed at the first run, and granted like anyone when on call", async () => {
    const runs = await simulateDay(fixture, { exclusive: true, only: ["00:00", "16:00", "20:15"] });
    const m = (login: string) => `/orgs/acme/teams/oncall/memberships/${login}`;
    const list = "GET /orgs/acme/teams/oncall/members?per_page=100";
    // No check for pre-existing access on an exclusive team: shiftgrant owns every membership.
    const grant = (login: string) => [`GET /orgs/acme/members/${login}`, `PUT ${m(login)} ${PUT_MEMBER}`];
    assert.deepEqual(
      runs.map((r) => [r.at, r.code, r.calls]),
      [
        ["00:00", 0, [list, ...grant("alice-gh"), `DELETE ${m("dave-gh")}`]],
        ["16:00", 0, [list, ...grant("carol-gh"), `DELETE ${m("alice-gh")}`, ...grant("dave-gh")]],
        ["20:15", 0, [list, `DELETE ${m("dave-gh")}`]],
      ],
    );
    assert.deepEqual(runs[0]?.actions, [
      "grant primary alice-gh applied",
      "wait primary bob-gh skipped",
      "revoke primary dave-gh applied",
      "extend dba alice-gh applied",
      "wait dba dave-gh skipped",
    ]);
  });
});
