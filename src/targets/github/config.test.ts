import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULT_HTTP } from "../../infra/http.js";
import { githubFetch, githubWait } from "./client.js";
import { githubSchema, normalizeGithub } from "./config.js";
import { nextLink } from "../../infra/link.js";

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

describe("github fetch: one request's attempts and waits", () => {
  const limits = { ...DEFAULT_HTTP, retries: 2, maxRetryWaitMs: 60_000 };
  /** A stand-in network answering from a list, recording each request. */
  const network = (answers: (() => Response)[]) => {
    const seen: string[] = [];
    const f = (async (input: string | URL | Request, init?: RequestInit) => {
      const h = new Headers(init?.headers);
      seen.push(
        `${init?.method ?? "GET"} ${input instanceof Request ? input.url : input.toString()} ${h.get("x-github-api-version")} ${init?.redirect}`,
      );
      const next = answers.shift();
      if (!next) throw new Error("no more answers");
      return next();
    }) as typeof fetch;
    return { f, seen };
  };
  const json =
    (status: number, body: unknown, headers: Record<string, string> = {}) =>
    () =>
      new Response(JSON.stringify(body), {
        status,
        headers: { "content-type": "application/json", ...headers },
      });
  const run = async (answers: (() => Response)[], url = "https://api.github.com/orgs/acme") => {
    const sleeps: number[] = [];
    const net = network(answers);
    const gf = githubFetch(5000, {
      secret: null,
      limits,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      random: () => 0.5,
      fetch: net.f,
    });
    const out = await gf(url, { method: "GET" }).then(
      async (r) => `${r.status} ${await r.text()}`,
      (e: unknown) => `threw: ${(e as Error).message}`,
    );
    return { out, sleeps, seen: net.seen, gf, net };
  };
  const reset = (inSeconds: number) => String(Math.floor(Date.now() / 1000) + inSeconds);

  it("waits out a secondary limit, sends the API version, never follows a redirect", async () => {
    const r = await run([
      json(403, { message: "You have exceeded a secondary rate limit." }),
      json(200, { login: "acme" }),
    ]);
    assert.equal(r.out, '200 {"login":"acme"}');
    assert.deepEqual(r.sleeps, [60_000]);
    assert.deepEqual(r.seen, [
      "GET https://api.github.com/orgs/acme 2022-11-28 manual",
      "GET https://api.github.com/orgs/acme 2022-11-28 manual",
    ]);
  });

  it("a reset further away than the longest wait fails at once, saying so; retries run out with the last answer", async () => {
    const spent = await run([
      json(
        403,
        { message: "API rate limit exceeded for installation ID 1." },
        {
          "x-ratelimit-remaining": "0",
          "x-ratelimit-reset": reset(3600),
        },
      ),
    ]);
    assert.match(
      spent.out,
      /^threw: GET \/orgs\/acme: 403 API rate limit exceeded for installation ID 1\.; GitHub asks to wait 3[56]\d\ds \(rate limit spent until x-ratelimit-reset\), longer than the 60s a wait may take \(http\.maxRetryWaitMs\); the next run tries again$/,
    );
    assert.deepEqual(spent.sleeps, []);
    const down = await run([
      json(502, { message: "Server Error" }),
      json(502, {}),
      json(503, { message: "Unavailable" }),
    ]);
    assert.equal(down.out, "threw: GET /orgs/acme: 503 Unavailable after 3 tries");
    assert.deepEqual(down.sleeps, [500, 1000]);
  });

  it("spreads requests over what is left of a nearly spent budget, per resource", async () => {
    const answers = [
      json(
        200,
        {},
        { "x-ratelimit-remaining": "2", "x-ratelimit-reset": reset(30), "x-ratelimit-resource": "core" },
      ),
    ];
    const r = await run(answers);
    assert.deepEqual(r.sleeps, []);
    answers.push(json(200, {}), json(200, {}));
    // The next REST request waits about half of the 30 s left; a GraphQL one has its own budget.
    await r.gf("https://api.github.com/orgs/acme/teams", { method: "GET" });
    await r.gf("https://api.github.com/graphql", { method: "POST" });
    assert.equal(r.sleeps.length, 1, String(r.sleeps));
    const [paced = 0] = r.sleeps;
    assert.ok(paced > 13_000 && paced <= 15_000, `paced ${paced} ms`);
    assert.equal(r.seen.length, 3);
  });
});
