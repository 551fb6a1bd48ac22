import {
  createHash,
  createPublicKey,
  randomBytes,
  verify,
  type JsonWebKey,
  type KeyObject,
} from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createFakeShell, type RecordedRequest } from "./shell.js";

/**
 * A strict, stateful fake of the parts of Okta's Management API the `okta` target uses: users (by
 * id, login or a `search` on `profile.email`), groups (`q` is a prefix match that does not page, as
 * Okta's is), group memberships (PUT/DELETE, OKTA_GROUP only), and list pages of `pageSize` with one
 * `link` header per relation (absolute URLs, `after` a cursor). Every answer carries Okta's
 * `X-Rate-Limit-*` headers; errors carry Okta's error body. A request it does not model (a route,
 * a query parameter, a missing `Accept: application/json`) fails the test at close().
 */
export type FakeOktaUser = { id: string; login: string; email: string };
export type FakeOktaGroup = { id: string; name: string; type: "OKTA_GROUP" | "APP_GROUP" | "BUILT_IN" };

export type OktaFault =
  | { kind: "rateLimit" }
  | { kind: "error"; status: number }
  /** Every access token issued so far stops working (as one does at its end): this request gets a 401. */
  | { kind: "tokensExpire" };

/** One service app, as the fake's authorization server knows it. */
export type FakeOktaApp = {
  clientId: string;
  /** The public half of the key the app signs its assertions with. */
  publicKey: KeyObject;
  /** The `kid` the app's key is registered under, if any: an assertion naming another is refused. */
  kid?: string;
  /** "Require DPoP header in token requests" (Okta's default for new service apps). */
  dpop: boolean;
  /** The scopes granted to the app. */
  scopes: string[];
  /** Seconds each token lives (Okta: 3600). */
  expiresIn?: number;
};

export type FakeOkta = {
  url: string;
  requests: RecordedRequest[];
  /** "METHOD /path?query" of every request, in order (the query decoded). */
  calls(): string[];
  /** The logins in a group now. */
  members(groupId: string): string[];
  /** Makes a user a member of a group, as an admin would in Okta's console. */
  join(groupId: string, userId: string): void;
  /**
   * Answers the next request whose path matches with a 429 E0000047 (X-Rate-Limit-Reset now + 3 s),
   * or with `status` and Okta's error body for it.
   */
  fault: (path: string | RegExp, ...faults: OktaFault[]) => void;
  /** Access tokens issued so far, in order (a test checks none of them leaked). */
  issued: string[];

  unexpected: string[];
  allow: (...matches: (string | RegExp)[]) => void;
  close(): Promise<void>;
};

export async function startFakeOkta(opts: {
  token: string;
  users: FakeOktaUser[];
  groups: FakeOktaGroup[];
  /** Group id -> member user ids. */
  memberships?: Record<string, string[]>;
  /** Items per page at most, whatever `limit` asks (so that paging shows with few items). */
  pageSize?: number;
  /** A service app: API calls then take its access tokens instead of the SSWS token. */
  oauth?: FakeOktaApp;
}): Promise<FakeOkta> {
  const shell = createFakeShell<OktaFault>({});
  const members = new Map<string, Set<string>>(
    opts.groups.map((g) => [g.id, new Set(opts.memberships?.[g.id] ?? [])]),
  );
  const pageSize = opts.pageSize ?? 200;
  let remaining = 600;
  let origin = "";
  /** Access tokens Okta takes now: the DPoP key each is bound to (null: a Bearer token), its scopes. */
  const tokens = new Map<string, { jwk: string | null; scopes: string[] }>();
  const issued: string[] = [];
  /** Every `jti` seen, of assertions and proofs alike: Okta takes each once. */
  const seenJti = new Set<string>();
  const nonce = `fake-nonce-${randomBytes(6).toString("hex")}`;

  const userDoc = (u: FakeOktaUser) => ({
    id: u.id,
    status: "ACTIVE",
    profile: { login: u.login, email: u.email, firstName: u.login.split("@")[0], lastName: "Example" },
    _links: { self: { href: `${origin}/api/v1/users/${u.id}` } },
  });
  const groupDoc = (g: FakeOktaGroup) => ({
    id: g.id,
    type: g.type,
    objectClass: ["okta:user_group"],
    profile: { name: g.name, description: null },
    _links: { self: { href: `${origin}/api/v1/groups/${g.id}` } },
  });

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const rec = shell.record(req);
    const now = Math.floor(Date.now() / 1000);
    remaining = Math.max(0, remaining - 1);
    const rateHeaders = {
      "x-rate-limit-limit": "600",
      "x-rate-limit-remaining": String(remaining),
      "x-rate-limit-reset": String(now + 60),
    };
    const send = (status: number, body: unknown, extra: Record<string, string | string[]> = {}) => {
      const text = body === undefined ? "" : JSON.stringify(body);
      res.writeHead(status, {
        ...rateHeaders,
        ...(text ? { "content-type": "application/json" } : {}),
        "content-length": String(Buffer.byteLength(text)),
        ...extra,
      });
      res.end(text);
    };
    const error = (status: number, code: string, summary: string) =>
      send(status, {
        errorCode: code,
        errorSummary: summary,
        errorLink: code,
        errorId: "oaeFake",
        errorCauses: [],
      });
    const unexpected = (why: string) => {
      shell.unexpected.push(`${rec.method} ${rec.path}?${rec.query.toString()}: ${why}`);
      error(400, "E0000001", `Api validation failed: ${why}`);
    };
    const onlyParams = (...names: string[]) => {
      const extra = [...rec.query.keys()].filter((k) => !names.includes(k));
      if (extra.length > 0) {
        unexpected(`parameter(s) not modelled: ${extra.join(", ")}`);
        return false;
      }
      return true;
    };
    const page = <T>(items: T[], doc: (t: T) => unknown) => {
      const limit = Math.min(Number(rec.query.get("limit") ?? pageSize), pageSize);
      const from = Number(rec.query.get("after") ?? "0");
      const self = new URL(`${origin}${rec.path}`);
      rec.query.forEach((v, k) => self.searchParams.set(k, v));
      const links = [`<${self.toString()}>; rel="self"`];
      if (from + limit < items.length) {
        const next = new URL(self);
        next.searchParams.set("after", String(from + limit));
        links.push(`<${next.toString()}>; rel="next"`);
      }
      send(200, items.slice(from, from + limit).map(doc), { link: links });
    };

    const oauthError = (
      status: number,
      code: string,
      description: string,
      extra: Record<string, string> = {},
    ) => send(status, { error: code, error_description: description }, extra);

    if (req.headers.accept !== "application/json") return unexpected("Accept is not application/json");
    const issueToken = (text: string) => {
      const app = opts.oauth;
      if (!app) return unexpected("no service app in this fake");
      if (req.headers["content-type"] !== "application/x-www-form-urlencoded")
        return unexpected("the token request is not a form");
      const form = new URLSearchParams(text);
      const keys = [...form.keys()].sort().join(",");
      if (keys !== "client_assertion,client_assertion_type,grant_type,scope")
        return unexpected(`token request fields: ${keys}`);
      if (form.get("grant_type") !== "client_credentials") return unexpected("grant_type");
      if (form.get("client_assertion_type") !== "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
        return oauthError(400, "invalid_request", "The client_assertion_type is invalid.");
      const jwt = readJws(form.get("client_assertion") ?? "");
      if (!jwt) return oauthError(401, "invalid_client", "The parsing of the client_assertion failed.");
      if (jwt.header.kid !== undefined && jwt.header.kid !== app.kid)
        return oauthError(401, "invalid_client", "The client_assertion JWT kid is invalid.");
      if (!jwt.verify(app.publicKey))
        return oauthError(401, "invalid_client", "The client_assertion signature is invalid.");
      const c = jwt.claims;
      const nowS = Math.floor(Date.now() / 1000);
      if (c.iss !== app.clientId)
        return oauthError(
          401,
          "invalid_client",
          "The issuer claim for client_assertion is not a valid client_id.",
        );
      if (c.sub !== app.clientId)
        return oauthError(
          401,
          "invalid_client",
          "The subject claim for client_assertion is not a valid client_id.",
        );
      if (c.aud !== `${origin}/oauth2/v1/token`)
        return oauthError(
          401,
          "invalid_client",
          "The audience claim for client_assertion must be the endpoint invoked for the request.",
        );
      if (typeof c.exp !== "number" || c.exp <= nowS)
        return oauthError(401, "invalid_client", "The client_assertion token is expired.");
      if (c.exp > nowS + 3600)
        return oauthError(
          401,
          "invalid_client",
          "The client_assertion token has an expiration too far into the future.",
        );
      if (typeof c.jti !== "string" || seenJti.has(c.jti))
        return oauthError(401, "invalid_client", "The client_assertion token has already been used.");
      seenJti.add(c.jti);
      const scopes = (form.get("scope") ?? "").split(" ").filter(Boolean);
      if (scopes.length === 0) return oauthError(400, "invalid_scope", "No scopes were requested.");
      if (scopes.some((x) => !app.scopes.includes(x)))
        return oauthError(
          400,
          "invalid_scope",
          "The requested scope is invalid, unknown, malformed, or exceeds the scope granted by the resource owner.",
        );
      let jwk: string | null = null;
      if (app.dpop) {
        const header = req.headers.dpop;
        if (typeof header !== "string")
          return oauthError(400, "invalid_dpop_proof", "The DPoP proof JWT header is missing.");
        const p = checkProof(header, "POST", `${origin}/oauth2/v1/token`, null);
        if (typeof p === "string") return unexpected(`token request: ${p}`);
        if (p.nonce !== nonce)
          return oauthError(400, "use_dpop_nonce", "Authorization server requires nonce in DPoP proof.", {
            "dpop-nonce": nonce,
          });
        jwk = p.jwk;
      }
      const value = `fake-at-${randomBytes(24).toString("base64url")}`;
      tokens.set(value, { jwk, scopes });
      issued.push(value);
      return send(200, {
        token_type: app.dpop ? "DPoP" : "Bearer",
        expires_in: app.expiresIn ?? 3600,
        access_token: value,
        scope: scopes.join(" "),
      });
    };

    /**
     * A DPoP proof as Okta checks it: `typ`, a public `jwk` that verifies it, `htm`, `htu` (the
     * path decoded), a recent `iat`, an unused `jti`, and `ath` for an access token.
     */
    const checkProof = (
      proof: string,
      htm: string,
      htu: string,
      accessToken: string | null,
    ): { jwk: string; nonce: unknown } | string => {
      const jwt = readJws(proof);
      if (!jwt) return "the DPoP proof is not a JWT";
      if (jwt.header.typ !== "dpop+jwt") return "typ is not dpop+jwt";
      const jwk = jwt.header.jwk as JsonWebKey | undefined;
      if (!jwk || typeof jwk !== "object" || "d" in jwk) return "no public jwk in the proof";
      if (!jwt.verify(createPublicKey({ key: jwk, format: "jwk" })))
        return "the proof's signature is invalid";
      const c = jwt.claims;
      if (c.htm !== htm) return `htm ${String(c.htm)}, not ${htm}`;
      if (c.htu !== htu) return `htu ${String(c.htu)}, not ${htu}`;
      if (typeof c.iat !== "number" || Math.abs(c.iat - Date.now() / 1000) > 300) return "iat is not recent";
      if (typeof c.jti !== "string" || seenJti.has(c.jti))
        return "jti reused: the DPoP proof has already been used";
      seenJti.add(c.jti);
      if (accessToken !== null) {
        const ath = createHash("sha256").update(accessToken).digest("base64url");
        if (c.ath !== ath) return "'ath' claim in the DPoP proof does not match the presented access_token";
      }
      return {
        jwk: JSON.stringify({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y, n: jwk.n, e: jwk.e }),
        nonce: c.nonce,
      };
    };

    if (rec.method === "POST" && rec.path === "/oauth2/v1/token") {
      let text = "";
      req.setEncoding("utf8");
      req.on("data", (chunk: string) => (text += chunk));
      req.on("end", () => {
        const fault = shell.takeFault(rec.path);
        if (fault?.kind === "error")
          return oauthError(fault.status, "server_error", "The server encountered an internal error.");
        issueToken(text);
      });
      return;
    }
    const fault = shell.takeFault(rec.path);
    if (fault?.kind === "tokensExpire") tokens.clear();
    if (opts.oauth) {
      const m = /^(Bearer|DPoP) (.+)$/.exec(req.headers.authorization ?? "");
      const t = m ? tokens.get(m[2] ?? "") : undefined;
      if (!m || !t) return error(401, "E0000011", "Invalid token provided");
      if (t.jwk !== null) {
        if (m[1] !== "DPoP") return unexpected("a DPoP-bound token sent as Bearer");
        const header = req.headers.dpop;
        if (typeof header !== "string") return unexpected("a DPoP token without a DPoP proof");
        const htu = `${origin}${rec.path.split("/").map(decodeURIComponent).join("/")}`;
        const p = checkProof(header, rec.method, htu, m[2] ?? "");
        if (typeof p === "string") return unexpected(p);
        if (p.jwk !== t.jwk) return unexpected("the access_token is not bound to the provided DPoP proof");
      } else if (m[1] !== "Bearer" || req.headers.dpop !== undefined) {
        return unexpected("a Bearer token sent with DPoP");
      }
      const write = rec.method !== "GET";
      const need = write
        ? ["okta.groups.manage"]
        : rec.path.startsWith("/api/v1/groups")
          ? ["okta.groups.read", "okta.groups.manage"]
          : ["okta.users.read", "okta.users.manage"];
      if (!need.some((x) => t.scopes.includes(x)))
        return send(
          403,
          {
            errorCode: "E0000006",
            errorSummary: "You do not have permission to perform the requested action",
            errorLink: "E0000006",
            errorId: "oaeFake",
            errorCauses: [],
          },
          {
            "www-authenticate": `Bearer realm="IdpMyAccountAPI", error="insufficient_scope", scope="${need[0]}"`,
          },
        );
    } else if (req.headers.authorization !== `SSWS ${opts.token}`) {
      return error(401, "E0000011", "Invalid token provided");
    }
    if (fault?.kind === "error") {
      const [code, summary] =
        fault.status === 403
          ? ["E0000006", "You do not have permission to perform the requested action"]
          : ["E0000009", "Internal Server Error"];
      return error(fault.status, code, summary);
    }
    if (fault?.kind === "rateLimit") {
      res.writeHead(429, {
        "content-type": "application/json",
        "x-rate-limit-limit": "600",
        "x-rate-limit-remaining": "0",
        "x-rate-limit-reset": String(now + 3),
      });
      return res.end(
        JSON.stringify({
          errorCode: "E0000047",
          errorSummary: "API call exceeded rate limit due to too many requests.",
          errorLink: "E0000047",
          errorId: "oaeFake",
          errorCauses: [],
        }),
      );
    }

    const user = (idOrLogin: string) =>
      opts.users.find((u) => u.id === idOrLogin || u.login.toLowerCase() === idOrLogin.toLowerCase());
    const group = (id: string) => opts.groups.find((g) => g.id === id);
    const seg = rec.path.split("/").slice(1).map(decodeURIComponent);
    const m = rec.method;

    // /api/v1/users
    if (m === "GET" && rec.path === "/api/v1/users") {
      if (!onlyParams("search", "limit", "after")) return;
      const q = /^profile\.email eq "([^"]*)"$/.exec(rec.query.get("search") ?? "");
      if (!q) return unexpected('only search=profile.email eq "…" is modelled');
      const email = (q[1] ?? "").toLowerCase();
      return page(
        opts.users.filter((u) => u.email.toLowerCase() === email),
        userDoc,
      );
    }
    if (seg.length === 4 && seg[2] === "users" && m === "GET") {
      if (!onlyParams()) return;
      const u = user(seg[3] ?? "");
      if (!u) return error(404, "E0000007", `Not found: Resource not found: ${seg[3]} (User)`);
      return send(200, userDoc(u));
    }
    if (seg.length === 5 && seg[2] === "users" && seg[4] === "groups" && m === "GET") {
      if (!onlyParams("limit", "after")) return;
      const u = opts.users.find((x) => x.id === seg[3]);
      if (!u) return error(404, "E0000007", `Not found: Resource not found: ${seg[3]} (User)`);
      return page(
        opts.groups.filter((g) => members.get(g.id)?.has(u.id)),
        groupDoc,
      );
    }
    // /api/v1/groups
    if (m === "GET" && rec.path === "/api/v1/groups") {
      if (!onlyParams("q", "limit")) return;
      const q = rec.query.get("q");
      // Okta: a query is a prefix match on the name and is not paged.
      if (q === null)
        return send(200, opts.groups.slice(0, Number(rec.query.get("limit") ?? 200)).map(groupDoc));
      if (rec.query.has("limit")) return unexpected("q with limit is not modelled");
      return send(
        200,
        opts.groups.filter((g) => g.name.toLowerCase().startsWith(q.toLowerCase())).map(groupDoc),
      );
    }
    if (seg.length === 5 && seg[2] === "groups" && seg[4] === "users" && m === "GET") {
      if (!onlyParams("limit", "after")) return;
      const g = group(seg[3] ?? "");
      if (!g) return error(404, "E0000007", `Not found: Resource not found: ${seg[3]} (UserGroup)`);
      const ids = members.get(g.id) ?? new Set<string>();
      return page(
        opts.users.filter((u) => ids.has(u.id)),
        userDoc,
      );
    }
    if (seg.length === 6 && seg[2] === "groups" && seg[4] === "users" && (m === "PUT" || m === "DELETE")) {
      if (!onlyParams()) return;
      const g = group(seg[3] ?? "");
      const u = opts.users.find((x) => x.id === seg[5]);
      if (!g || !u) return error(404, "E0000007", `Not found: Resource not found: ${seg[3]} (UserGroup)`);
      if (g.type !== "OKTA_GROUP")
        return error(403, "E0000006", "You do not have permission to perform the requested action");
      const set = members.get(g.id) ?? new Set<string>();
      members.set(g.id, set);
      if (m === "PUT") {
        set.add(u.id);
        return send(204, undefined);
      }
      if (!set.delete(u.id)) return error(404, "E0000007", `Not found: Resource not found: ${u.id} (User)`);
      return send(204, undefined);
    }
    return unexpected("no such route in the fake");
  };

  origin = await shell.listen(onRequest);
  return {
    url: origin,
    requests: shell.requests,
    calls: () =>
      shell.requests.map((r) => {
        const q = [...r.query.entries()].map(([k, v]) => `${k}=${v}`).join("&");
        return `${r.method} ${r.path}${q ? `?${q}` : ""}`;
      }),
    members: (groupId) => opts.users.filter((u) => members.get(groupId)?.has(u.id)).map((u) => u.login),
    join: (groupId, userId) => members.get(groupId)?.add(userId),
    fault: shell.fault,
    issued,
    unexpected: shell.unexpected,
    allow: shell.allow,
    close: shell.close,
  };
}

/** A compact JWS, read: its header and claims, and a check of its signature (RS256, ES256). */
function readJws(jws: string): {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
  verify(key: KeyObject): boolean;
} | null {
  const parts = jws.split(".");
  if (parts.length !== 3) return null;
  const [h, c, sig] = parts as [string, string, string];
  try {
    const header = JSON.parse(Buffer.from(h, "base64url").toString("utf8")) as Record<string, unknown>;
    const claims = JSON.parse(Buffer.from(c, "base64url").toString("utf8")) as Record<string, unknown>;
    return {
      header,
      claims,
      verify: (key) => {
        const input = Buffer.from(`${h}.${c}`);
        const signature = Buffer.from(sig, "base64url");
        if (header.alg === "RS256" && key.asymmetricKeyType === "rsa")
          return verify("sha256", input, key, signature);
        if (header.alg === "ES256" && key.asymmetricKeyType === "ec")
          return verify("sha256", input, { key, dsaEncoding: "ieee-p1363" }, signature);
        return false;
      },
    };
  } catch {
    return null;
  }
}
