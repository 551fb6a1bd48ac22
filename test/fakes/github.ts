import { createPublicKey, randomBytes, verify, type KeyObject } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createFakeShell, type RecordedRequest } from "./shell.js";

/**
 * A strict, stateful fake of the parts of GitHub's REST API (and the one GraphQL query) the `github`
 * target uses:
 * - auth: a token (`token X` or `Bearer X`), or a GitHub App: `POST /app/installations/{id}/access_tokens`
 *   with the App's JWT (RS256 signature checked with the App's public key, `iss` = the App id, at
 *   most 10 minutes long), answered with an installation token that is then the credential;
 * - `GET /orgs/{org}`, organisation membership (`204`/`404`), team memberships (GET/PUT/DELETE, with
 *   `{"state":"active"}`), team members paged by `per_page`/`page` with a `Link` header;
 * - `POST /graphql`: the organisation's SAML-linked identities, paged by cursor;
 * - every answer carries `x-ratelimit-*` headers; faults: the primary limit spent (403,
 *   `x-ratelimit-remaining: 0`), a secondary limit (403 with or without `retry-after`), a 5xx;
 * - a team an identity provider manages refuses membership changes (403, GitHub's message).
 * Errors carry GitHub's body `{message, documentation_url, status}`. A request it does not model (a
 * route, a parameter, a missing `X-GitHub-Api-Version` or `User-Agent`, a PUT that would send an
 * invitation) fails the test at close().
 */
export type FakeGithubTeam = {
  slug: string;
  /** Logins in the team (active). */
  members?: string[];
  /** Linked to an identity provider group: membership changes are refused. */
  idpManaged?: boolean;
};

export type GithubFault =
  | { kind: "primary"; resetInSeconds: number }
  | { kind: "secondary"; retryAfter?: number }
  | { kind: "status"; status: number };

export type FakeGithub = {
  url: string;
  requests: RecordedRequest[];
  /** "METHOD /path?query" of every request, in order, with the JSON body of a PUT or POST. */
  calls(): string[];
  /** The logins in a team now. */
  members(slug: string): string[];
  addTeamMember(slug: string, login: string): void;
  /** The claims of each App JWT exchanged for an installation token. */
  jwts: Record<string, unknown>[];
  /** The installation tokens handed out so far. */
  issuedTokens(): string[];
  fault: (path: string | RegExp, ...faults: GithubFault[]) => void;
  unexpected: string[];
  allow: (...matches: (string | RegExp)[]) => void;
  close(): Promise<void>;
};

export async function startFakeGithub(opts: {
  org: string;
  /** Organisation members (logins). */
  orgMembers: string[];
  teams: FakeGithubTeam[];
  /** Accepted as is (`token X` / `Bearer X`). */
  token?: string;
  /**
   * The token of a user outside the organisation: accepted, but GitHub then hides the private
   * members (a membership check is redirected, 302, to the public membership).
   */
  outsiderToken?: string;
  /** A GitHub App: its id, installation id and public key (PEM). */
  app?: { appId: string; installationId: string; publicKeyPem: string };
  /** nameId (email) -> login; absent: the organisation has no SAML. */
  saml?: Record<string, string>;
  /** Items per page at most, whatever `per_page` asks (so that paging shows with few items). */
  pageSize?: number;
}): Promise<FakeGithub> {
  const shell = createFakeShell<GithubFault>({});
  const calls: string[] = [];
  const jwts: Record<string, unknown>[] = [];
  const teams = new Map(opts.teams.map((t) => [t.slug, { ...t, set: new Set(t.members ?? []) }]));
  const orgMembers = new Set(opts.orgMembers.map((l) => l.toLowerCase()));
  const installationTokens = new Set<string>();
  const appKey: KeyObject | null = opts.app ? createPublicKey(opts.app.publicKeyPem) : null;
  const pageSize = opts.pageSize ?? 100;
  let remaining = 5000;
  let origin = "";

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    const rec = shell.record(req);
    req.on("end", () => handle(req, res, rec, Buffer.concat(chunks).toString("utf8")));
  };

  const handle = (req: IncomingMessage, res: ServerResponse, rec: RecordedRequest, body: string) => {
    const q = [...rec.query.entries()].map(([k, v]) => `${k}=${v}`).join("&");
    // A GraphQL call is shown by its variables (the query is checked below).
    const shown = rec.path === "/graphql" ? graphqlVariables(body) : body;
    calls.push(`${rec.method} ${rec.path}${q ? `?${q}` : ""}${shown ? ` ${shown}` : ""}`);
    const now = Math.floor(Date.now() / 1000);
    const graphql = rec.path === "/graphql";
    remaining = Math.max(0, remaining - 1);
    const rateHeaders = {
      "x-ratelimit-limit": "5000",
      "x-ratelimit-remaining": String(remaining),
      "x-ratelimit-used": String(5000 - remaining),
      "x-ratelimit-reset": String(now + 3600),
      "x-ratelimit-resource": graphql ? "graphql" : "core",
    };
    const send = (status: number, doc: unknown, extra: Record<string, string> = {}) => {
      const text = doc === undefined ? "" : JSON.stringify(doc);
      res.writeHead(status, {
        ...rateHeaders,
        "x-github-api-version-selected": "2022-11-28",
        ...(text ? { "content-type": "application/json; charset=utf-8" } : {}),
        "content-length": String(Buffer.byteLength(text)),
        ...extra,
      });
      res.end(text);
    };
    const error = (status: number, message: string, extra: Record<string, string> = {}) =>
      send(
        status,
        { message, documentation_url: "https://docs.github.com/rest", status: String(status) },
        extra,
      );
    const unexpected = (why: string) => {
      shell.unexpected.push(`${rec.method} ${rec.path}${q ? `?${q}` : ""}: ${why}`);
      error(400, `fake: ${why}`);
    };
    const onlyParams = (...names: string[]) => {
      const extra = [...rec.query.keys()].filter((k) => !names.includes(k));
      if (extra.length > 0) {
        unexpected(`parameter(s) not modelled: ${extra.join(", ")}`);
        return false;
      }
      return true;
    };

    if (!req.headers["user-agent"]) return unexpected("no User-Agent (GitHub refuses such requests)");
    if (req.headers["x-github-api-version"] !== "2022-11-28")
      return unexpected("X-GitHub-Api-Version is not 2022-11-28");

    const fault = shell.takeFault(rec.path);
    if (fault?.kind === "primary") {
      res.writeHead(403, {
        "content-type": "application/json; charset=utf-8",
        "x-ratelimit-limit": "5000",
        "x-ratelimit-remaining": "0",
        "x-ratelimit-used": "5000",
        "x-ratelimit-reset": String(now + fault.resetInSeconds),
        "x-ratelimit-resource": "core",
      });
      return res.end(
        JSON.stringify({
          message: "API rate limit exceeded for installation ID 7654321.",
          documentation_url:
            "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-the-primary-rate-limit",
          status: "403",
        }),
      );
    }
    if (fault?.kind === "secondary") {
      return error(
        403,
        "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID FAKE:0001.",
        fault.retryAfter === undefined ? {} : { "retry-after": String(fault.retryAfter) },
      );
    }
    if (fault?.kind === "status") return error(fault.status, "Server Error");

    // The App's token exchange: authenticated by the App's JWT only.
    const exchange = /^\/app\/installations\/([^/]+)\/access_tokens$/.exec(rec.path);
    const auth = String(req.headers.authorization ?? "");
    if (exchange && rec.method === "POST") {
      if (!opts.app || !appKey) return unexpected("no App is installed in this fake");
      const claims = verifyJwt(auth.replace(/^bearer /i, ""), appKey);
      if (typeof claims === "string") return error(401, `A JSON web token could not be decoded (${claims})`);
      if (String(claims.iss) !== opts.app.appId)
        return error(401, "'Issuer' claim ('iss') must be an Integer");
      const iat = Number(claims.iat);
      const exp = Number(claims.exp);
      if (!(exp > now && iat <= now + 60 && exp - iat <= 600))
        return error(401, "'Expiration time' claim ('exp') is too far in the future");
      if (exchange[1] !== opts.app.installationId) return error(404, "Not Found");
      jwts.push(claims);
      const token = `ghs_${randomBytes(18).toString("base64url")}`;
      installationTokens.add(token);
      return send(201, {
        token,
        expires_at: new Date((now + 3600) * 1000).toISOString().replace(/\.\d+Z$/, "Z"),
        permissions: { members: "write" },
        repository_selection: "all",
      });
    }
    const presented = /^(?:token|bearer) (.+)$/i.exec(auth)?.[1] ?? "";
    const outsider = presented !== "" && presented === opts.outsiderToken;
    if (!(presented && (presented === opts.token || installationTokens.has(presented) || outsider)))
      return error(401, "Bad credentials");

    const seg = rec.path.split("/").slice(1).map(decodeURIComponent);
    const m = rec.method;
    if (seg[0] === "orgs" && seg[1]?.toLowerCase() !== opts.org.toLowerCase()) return error(404, "Not Found");

    // GET /orgs/{org}
    if (m === "GET" && seg[0] === "orgs" && seg.length === 2) {
      if (!onlyParams()) return;
      return send(200, {
        login: opts.org,
        id: 1001,
        url: `${origin}/orgs/${opts.org}`,
        type: "Organization",
      });
    }
    // GET /orgs/{org}/members/{username}
    if (m === "GET" && seg[0] === "orgs" && seg[2] === "members" && seg.length === 4) {
      if (!onlyParams()) return;
      if (outsider)
        return send(302, undefined, {
          location: `${origin}/orgs/${opts.org}/public_members/${seg[3] ?? ""}`,
        });
      return orgMembers.has((seg[3] ?? "").toLowerCase()) ? send(204, undefined) : error(404, "Not Found");
    }
    const team = seg[0] === "orgs" && seg[2] === "teams" ? teams.get(seg[3] ?? "") : undefined;
    if (seg[0] === "orgs" && seg[2] === "teams" && !team) return error(404, "Not Found");
    // /orgs/{org}/teams/{slug}/memberships/{username}
    if (team && seg[4] === "memberships" && seg.length === 6) {
      if (!onlyParams()) return;
      const login = (seg[5] ?? "").toLowerCase();
      const doc = () => ({
        url: `${origin}/organizations/1001/team/${team.slug}/memberships/${login}`,
        role: "member",
        state: "active",
      });
      if (m === "GET") return team.set.has(login) ? send(200, doc()) : error(404, "Not Found");
      if (m === "PUT" || m === "DELETE") {
        if (team.idpManaged)
          return error(
            403,
            `You cannot create or update members for an external group backed team since they are managed by an identity provider`,
          );
        if (m === "PUT") {
          let role: unknown;
          try {
            role = (JSON.parse(body) as { role?: unknown }).role;
          } catch {
            return error(400, "Problems parsing JSON");
          }
          if (role !== "member" && role !== "maintainer") return error(422, "Validation Failed");
          // GitHub would invite someone outside the organisation: shiftgrant must never cause that.
          if (!orgMembers.has(login))
            return unexpected(`would send ${login} an invitation (not an org member)`);
          team.set.add(login);
          return send(200, doc());
        }
        if (!team.set.delete(login)) return error(404, "Not Found");
        return send(204, undefined);
      }
    }
    // GET /orgs/{org}/teams/{slug}/members
    if (team && m === "GET" && seg[4] === "members" && seg.length === 5) {
      if (!onlyParams("per_page", "page")) return;
      const per = Math.min(Number(rec.query.get("per_page") ?? 30), pageSize);
      const pageNo = Number(rec.query.get("page") ?? "1");
      const all = [...team.set].sort();
      const items = all.slice((pageNo - 1) * per, pageNo * per);
      const last = Math.max(1, Math.ceil(all.length / per));
      const link = (p: number, rel: string) => {
        const u = new URL(`${origin}${rec.path}`);
        u.searchParams.set("per_page", String(rec.query.get("per_page") ?? 30));
        u.searchParams.set("page", String(p));
        return `<${u.toString()}>; rel="${rel}"`;
      };
      const links = [
        ...(pageNo > 1 ? [link(pageNo - 1, "prev"), link(1, "first")] : []),
        ...(pageNo < last ? [link(pageNo + 1, "next"), link(last, "last")] : []),
      ];
      return send(
        200,
        items.map((login, i) => ({ login, id: 5000 + i, type: "User", site_admin: false })),
        links.length > 0 ? { link: links.join(", ") } : {},
      );
    }
    // POST /graphql: the SAML identities query
    if (graphql && m === "POST") {
      let doc: { query?: unknown; variables?: { org?: unknown; after?: unknown } };
      try {
        doc = JSON.parse(body) as typeof doc;
      } catch {
        return error(400, "Problems parsing JSON");
      }
      const query = typeof doc.query === "string" ? doc.query.replace(/\s+/g, " ") : "";
      if (
        !/organization\(login: \$org\) \{ samlIdentityProvider \{ externalIdentities\(first: 100, after: \$after\)/.test(
          query,
        )
      )
        return unexpected(`query not modelled: ${query}`);
      if (doc.variables?.org !== opts.org) return unexpected("variables.org is not the organisation");
      if (!opts.saml) return send(200, { data: { organization: { samlIdentityProvider: null } } });
      const all = Object.entries(opts.saml).sort(([a], [b]) => a.localeCompare(b));
      const from =
        typeof doc.variables.after === "string"
          ? Number(Buffer.from(doc.variables.after, "base64").toString())
          : 0;
      const items = all.slice(from, from + Math.min(100, pageSize));
      const end = from + items.length;
      return send(200, {
        data: {
          organization: {
            samlIdentityProvider: {
              externalIdentities: {
                nodes: items.map(([nameId, login]) => ({ samlIdentity: { nameId }, user: { login } })),
                pageInfo: {
                  hasNextPage: end < all.length,
                  endCursor: items.length > 0 ? Buffer.from(String(end)).toString("base64") : null,
                },
              },
            },
          },
        },
      });
    }
    return unexpected("no such route in the fake");
  };

  origin = await shell.listen(onRequest);
  return {
    url: origin,
    requests: shell.requests,
    calls: () => [...calls],
    members: (slug) => [...(teams.get(slug)?.set ?? [])].sort(),
    addTeamMember: (slug, login) => {
      teams.get(slug)?.set.add(login.toLowerCase());
    },
    jwts,
    issuedTokens: () => [...installationTokens],
    fault: shell.fault,
    unexpected: shell.unexpected,
    allow: shell.allow,
    close: shell.close,
  };
}

function graphqlVariables(body: string): string {
  try {
    return JSON.stringify((JSON.parse(body) as { variables?: unknown }).variables ?? null);
  } catch {
    return body;
  }
}

/** The claims of an RS256 JWT whose signature the key verifies, or why not. */
function verifyJwt(jwt: string, key: KeyObject): Record<string, unknown> | string {
  const parts = jwt.split(".");
  if (parts.length !== 3) return "not a JWT";
  const [h = "", p = "", s = ""] = parts;
  let header: { alg?: unknown };
  let claims: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(h, "base64url").toString()) as { alg?: unknown };
    claims = JSON.parse(Buffer.from(p, "base64url").toString()) as Record<string, unknown>;
  } catch {
    return "not JSON";
  }
  if (header.alg !== "RS256") return `alg ${String(header.alg)}, not RS256`;
  const ok = verify("RSA-SHA256", Buffer.from(`${h}.${p}`), key, Buffer.from(s, "base64url"));
  return ok ? claims : "bad signature";
}
