import assert from "node:assert/strict";
import { it } from "node:test";
import { nextLink } from "../../infra/link.js";
import { normalizeOkta, oktaSchema } from "./config.js";

it("okta config: the token from OKTA_API_TOKEN by default; orgUrl https, or http only on this machine", () => {
  const problems: string[] = [];
  const ctx = { name: "okta", at: "targets.okta", problems, resolvePath: (p: string) => `/etc/${p}` };
  assert.deepEqual(
    normalizeOkta(oktaSchema.parse({ type: "okta", orgUrl: "https://example.okta.com/" }), ctx),
    {
      name: "okta",
      type: "okta",
      concurrency: 4,
      timeoutMs: 60_000,
      orgUrl: "https://example.okta.com",
      auth: { kind: "ssws" },
      secret: { tokenEnv: "OKTA_API_TOKEN", tokenFile: null },
      identities: new Map(),
      exclusive: [],
    },
  );
  const fromFile = normalizeOkta(
    oktaSchema.parse({ type: "okta", orgUrl: "http://127.0.0.1:8080", tokenFile: "okta-token" }),
    ctx,
  );
  assert.deepEqual(fromFile.secret, { tokenEnv: "OKTA_API_TOKEN", tokenFile: "/etc/okta-token" });
  assert.deepEqual(problems, []);
  normalizeOkta(oktaSchema.parse({ type: "okta", orgUrl: "http://example.okta.com" }), ctx);
  assert.deepEqual(problems, [
    'targets.okta.orgUrl: "http://example.okta.com" must use https:// (plain http is allowed only for 127.0.0.1 and localhost)',
  ]);
  assert.equal(
    oktaSchema.safeParse({ type: "okta", orgUrl: "https://x.okta.com", token: "t" }).success,
    false,
  );
});

it("okta config: oauth signs in as a service app with its key file (relative to the config), instead of a token", () => {
  const problems: string[] = [];
  const ctx = { name: "okta", at: "targets.okta", problems, resolvePath: (p: string) => `/etc/${p}` };
  const oauth = { clientId: "0oa1", privateKeyFile: "okta.pem", keyId: "k1" };
  const c = normalizeOkta(oktaSchema.parse({ type: "okta", orgUrl: "https://x.okta.com", oauth }), ctx);
  assert.deepEqual(
    [c.auth, c.secret],
    [
      { kind: "oauth", clientId: "0oa1", keyId: "k1" },
      { tokenEnv: "", tokenFile: "/etc/okta.pem", privateKey: { key: "oauth.privateKeyFile" } },
    ],
  );
  assert.deepEqual(problems, []);
  normalizeOkta(oktaSchema.parse({ type: "okta", orgUrl: "https://x.okta.com", oauth, tokenEnv: "T" }), ctx);
  assert.deepEqual(problems, [
    "targets.okta: set oauth or tokenEnv, not both (oauth signs in as the service app; no API token is used)",
  ]);
  // Unknown keys and a missing key file are the schema's errors.
  for (const bad of [{ ...oauth, clientSecret: "x" }, { clientId: "0oa1" }])
    assert.equal(
      oktaSchema.safeParse({ type: "okta", orgUrl: "https://x.okta.com", oauth: bad }).success,
      false,
    );
});

it("okta paging: the rel=next link, from separate or joined link headers, only on the org's origin", () => {
  const origin = "https://example.okta.com";
  const self = `<${origin}/api/v1/groups/00g/users?limit=200>; rel="self"`;
  const next = `<${origin}/api/v1/groups/00g/users?limit=200&after=00u2>; rel="next"`;
  assert.equal(
    nextLink(`${self}, ${next}`, origin)?.toString(),
    `${origin}/api/v1/groups/00g/users?limit=200&after=00u2`,
  );
  assert.equal(nextLink(self, origin), null);
  assert.equal(nextLink(undefined, origin), null);
  assert.throws(
    () => nextLink(`<https://elsewhere.example.com/api/v1/users?after=x>; rel="next"`, origin),
    /the next page is on https:\/\/elsewhere\.example\.com, not https:\/\/example\.okta\.com; not followed/,
  );
});
