import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULT_HTTP } from "../../infra/http.js";
import { githubWait } from "./client.js";
import { githubSchema, normalizeGithub } from "./config.js";
import { nextLink } from "./index.js";

const ctx = (problems: string[]) => ({
  name: "gh",
  at: "targets.gh",
  problems,
  resolvePath: (p: string) => `/etc/shiftgrant/${p}`,
});

describe("github config", () => {
  it("a token from GITHUB_TOKEN by default, api.github.com by default; an App's key file is its secret", () => {
    const problems: string[] = [];
    assert.deepEqual(normalizeGithub(githubSchema.parse({ type: "github", org: "acme" }), ctx(problems)), {
      name: "gh",
      type: "github",
      concurrency: 1,
      timeoutMs: 60_000,
      identities: new Map(),
      exclusive: [],
      org: "acme",
      baseUrl: "https://api.github.com",
      auth: { kind: "token" },
      saml: false,
      secret: { tokenEnv: "GITHUB_TOKEN", tokenFile: null },
    });
    const app = normalizeGithub(
      githubSchema.parse({
        type: "github",
        org: "acme",
        baseUrl: "https://github.example.com/api/v3/",
        app: { appId: 123456, installationId: "7654321", privateKeyFile: "app.pem" },
        saml: true,
      }),
      ctx(problems),
    );
    assert.equal(app.baseUrl, "https://github.example.com/api/v3");
    assert.deepEqual(app.auth, { kind: "app", appId: "123456", installationId: "7654321" });
    assert.equal(app.saml, true);
    assert.deepEqual(app.secret, {
      tokenEnv: "",
      tokenFile: "/etc/shiftgrant/app.pem",
      privateKey: { key: "app.privateKeyFile" },
    });
    assert.deepEqual(problems, []);
  });

  it("refuses an App and a token together, plain http off this machine, a bad org, ids that are not numbers, a literal token", () => {
    const problems: string[] = [];
    normalizeGithub(
      githubSchema.parse({
        type: "github",
        org: "acme",
        baseUrl: "http://github.example.com/api/v3",
        tokenEnv: "GH",
        app: { appId: 1, installationId: 2, privateKeyFile: "k.pem" },
      }),
      ctx(problems),
    );
    assert.deepEqual(problems, [
      'targets.gh.baseUrl: "http://github.example.com/api/v3" must use https:// (plain http is allowed only for 127.0.0.1 and localhost)',
      "targets.gh: set app (a GitHub App) or tokenEnv/tokenFile (a token), not both",
    ]);
    for (const bad of [
      { type: "github", org: "-acme" },
      { type: "github", org: "ac--me" },
      { type: "github", org: "acme", app: { appId: "Iv1.abc", installationId: 2, privateKeyFile: "k.pem" } },
      { type: "github", org: "acme", app: { appId: 1, installationId: 2 } },
      { type: "github", org: "acme", token: "ghp_x" },
    ])
      assert.equal(githubSchema.safeParse(bad).success, false, JSON.stringify(bad));
  });
});

describe("github rate limits: how long an answer asks to wait", () => {
  const h = (o: Record<string, string>) => new Headers(o);
  const now = 1_800_000_000_000;
  const wait = (status: number, headers: Record<string, string>, body = "", tries = 1) =>
    githubWait(status, h(headers), body, tries, DEFAULT_HTTP, now, () => 0.5);
  const secondary =
    '{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}';

  it("the primary limit: until x-ratelimit-reset; a secondary one: retry-after, else a minute, doubled on each retry", () => {
    assert.deepEqual(
      wait(403, { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(now / 1000 + 42) }),
      {
        ms: 42_000,
        why: "rate limit spent until x-ratelimit-reset",
      },
    );
    assert.deepEqual(
      wait(429, { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(now / 1000 - 5) }),
      {
        ms: 1000,
        why: "rate limit spent until x-ratelimit-reset",
      },
    );
    assert.deepEqual(wait(403, { "retry-after": "17", "x-ratelimit-remaining": "4000" }, secondary), {
      ms: 17_000,
      why: "secondary rate limit (retry-after)",
    });
    assert.deepEqual(wait(403, { "x-ratelimit-remaining": "4000" }, secondary), {
      ms: 60_000,
      why: "secondary rate limit",
    });
    assert.deepEqual(wait(403, {}, secondary, 2), { ms: 120_000, why: "secondary rate limit" });
    assert.deepEqual(wait(429, {}), { ms: 60_000, why: "secondary rate limit" });
  });

  it("a 403 that is no rate limit, and a 4xx, are final; a 5xx backs off as every request does", () => {
    assert.equal(
      wait(403, { "x-ratelimit-remaining": "4999" }, '{"message":"Resource not accessible by integration"}'),
      null,
    );
    assert.equal(wait(404, {}), null);
    assert.equal(wait(422, {}), null);
    assert.deepEqual(wait(502, {}, "", 2), { ms: 1000, why: "server error" });
  });
});

describe("github paging", () => {
  it("follows rel=next on the API's origin only", () => {
    const origin = "https://api.github.com";
    const link = `<${origin}/organizations/1/team/2/members?per_page=100&page=2>; rel="next", <${origin}/organizations/1/team/2/members?per_page=100&page=5>; rel="last"`;
    assert.equal(
      nextLink(link, origin)?.toString(),
      `${origin}/organizations/1/team/2/members?per_page=100&page=2`,
    );
    assert.equal(nextLink(`<${origin}/x?page=1>; rel="prev"`, origin), null);
    assert.equal(nextLink(undefined, origin), null);
    assert.throws(
      () => nextLink('<https://elsewhere.example.com/x?page=2>; rel="next"', origin),
      /the next page is on https:\/\/elsewhere\.example\.com, not https:\/\/api\.github\.com; not followed/,
    );
  });
});
