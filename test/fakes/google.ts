import { generateKeyPairSync, verify, type KeyObject } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createFakeShell, type RecordedRequest } from "./shell.js";

/**
 * A strict, stateful fake of the Cloud Identity Groups API v1 (the parts the `google-groups` target
 * uses) and of Google's OAuth token endpoint for service accounts:
 *
 * - `POST /token`: the JWT bearer grant; the assertion's RS256 signature is checked against the
 *   service account's public key, and its `iss`, `aud`, `scope` and `exp`; a bad one gets Google's
 *   `400 {"error":"invalid_grant","error_description":"Invalid JWT Signature."}`. The token it issues
 *   is the only one the API takes (else 401 UNAUTHENTICATED).
 * - groups:lookup (403 PERMISSION_DENIED for a group outside the customer, as Google answers for a
 *   group it will not show), memberships:lookup (404 NOT_FOUND: not a member), get, create (an
 *   Operation, `done: true`; 409 ALREADY_EXISTS with Google's "Error(4003)" text for a duplicate; 404
 *   for an email the directory does not know), modifyMembershipRoles (the MEMBER role's expiry
 *   only), delete (an Operation; 404 when gone), list (`pageSize` capped at `pageSize`, opaque
 *   `nextPageToken`, `view` BASIC without roles' expiry or FULL).
 * - modifyMembershipRoles takes one `updateRolesParams` whose `fieldMask` is the one field the API
 *   reference allows, `expiry_detail.expire_time` (as gcloud and Google's docs send it).
 * - Expiry is enforced against the fake's clock (`setNow`): a membership whose MEMBER expiry has
 *   passed is gone. An expiry must be in the future and only on MEMBER; `premium: false` refuses
 *   expiries as an edition without the feature would (modelled: 400 FAILED_PRECONDITION).
 * Errors carry Google's body, `{"error": {"code", "message", "status"}}`. Anything else fails the test
 * at close().
 */

export type FakeServiceAccount = {
  email: string;
  keyId: string;
  privateKeyPem: string;
  publicKey: KeyObject;
};

let cached: FakeServiceAccount | null = null;
/** One RSA key per test process (generating one costs tens of milliseconds). */
export function fakeServiceAccount(): FakeServiceAccount {
  if (!cached) {
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    cached = {
      email: "shiftgrant@example-project.iam.gserviceaccount.com",
      keyId: "0123456789abcdef0123456789abcdef01234567",
      privateKeyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
      publicKey,
    };
  }
  return cached;
}

/** A service account key file as Google's console downloads it, its `token_uri` at the fake. */
export function serviceAccountKeyJson(
  tokenUri: string,
  privateKeyPem = fakeServiceAccount().privateKeyPem,
): string {
  const sa = fakeServiceAccount();
  return JSON.stringify({
    type: "service_account",
    project_id: "example-project",
    private_key_id: sa.keyId,
    private_key: privateKeyPem,
    client_email: sa.email,
    client_id: "100000000000000000001",
    auth_uri: "https://accounts.google.com/o/oauth2/auth",
    token_uri: tokenUri,
    auth_provider_x509_cert_url: "https://www.googleapis.com/oauth2/v1/certs",
    universe_domain: "googleapis.com",
  });
}

export type FakeGroup = { email: string; id: string; foreign?: boolean };
export type Role = { name: string; expiryDetail?: { expireTime: string } };
type Stored = { id: string; member: string; roles: Role[]; createTime: string };

/**
 * `unavailable`: 503 UNAVAILABLE. `pending`: a create answers an Operation not done yet (the
 * membership is made). `conflict`: someone else adds the member (with `roles`) just before a create.
 */
export type GoogleFault = { kind: "unavailable" } | { kind: "pending" } | { kind: "conflict"; roles: Role[] };

export type FakeGoogle = {
  url: string;
  tokenUri: string;
  requests: RecordedRequest[];
  /** "METHOD /path?query" (decoded) and the JSON body where there is one, in order. */
  calls(): string[];
  setNow(iso: string): void;
  /** The group's members now: `email` or `email until EXPIRY` (its MEMBER role's). */
  members(groupEmail: string): string[];
  addMember(groupEmail: string, member: string, roles?: Role[]): void;
  /** The access tokens issued (to check that none is printed). */
  issued: string[];
  fault(path: string | RegExp, ...faults: GoogleFault[]): void;
  unexpected: string[];
  allow(...m: (string | RegExp)[]): void;
  close(): Promise<void>;
};

const GOOGLE_TOKEN_AUD = "https://oauth2.googleapis.com/token";
const SCOPE = "https://www.googleapis.com/auth/cloud-identity.groups";

export async function startFakeGoogle(opts: {
  groups: FakeGroup[];
  /** The directory: users (and groups) an email may name. */
  users: string[];
  /** Items per list page at most, whatever `pageSize` asks. */
  pageSize?: number;
  /** The customer's edition has membership expiry (Enterprise, Cloud Identity Premium). Default true. */
  premium?: boolean;
}): Promise<FakeGoogle> {
  const shell = createFakeShell<GoogleFault>({});
  const sa = fakeServiceAccount();
  const memberships = new Map<string, Stored[]>(opts.groups.map((g) => [g.id, []]));
  const issued: string[] = [];
  const calls: string[] = [];
  let now = Date.parse("2026-11-22T00:00:00Z");
  let seq = 0;
  let base = "";

  const expiryOf = (m: Stored) => m.roles.find((r) => r.name === "MEMBER")?.expiryDetail?.expireTime;
  const purge = () => {
    for (const [g, list] of memberships)
      memberships.set(
        g,
        list.filter((m) => {
          const e = expiryOf(m);
          return e === undefined || Date.parse(e) > now;
        }),
      );
  };
  const doc = (groupId: string, m: Stored, full = true) => ({
    name: `groups/${groupId}/memberships/${m.id}`,
    preferredMemberKey: { id: m.member },
    roles: m.roles.map((r) => (full ? r : { name: r.name })),
    ...(full ? { createTime: m.createTime, updateTime: m.createTime, deliverySetting: "ALL_MAIL" } : {}),
    type: m.member.endsWith(".iam.gserviceaccount.com") ? "SERVICE_ACCOUNT" : "USER",
  });

  const addMember = (groupEmail: string, member: string, roles: Role[] = [{ name: "MEMBER" }]) => {
    const g = opts.groups.find((x) => x.email === groupEmail);
    if (!g) throw new Error(`no group ${groupEmail}`);
    memberships.get(g.id)?.push({
      id: `m${String(++seq).padStart(4, "0")}`,
      member,
      roles,
      createTime: new Date(now).toISOString(),
    });
  };

  const readBody = (req: IncomingMessage) =>
    new Promise<string>((resolve, reject) => {
      let b = "";
      req.setEncoding("utf8");
      req.on("data", (c: string) => (b += c));
      req.on("end", () => resolve(b));
      req.on("error", reject);
    });

  const onRequest = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req);
    const rec = shell.record(req);
    const query = [...rec.query.entries()].map(([k, v]) => `${k}=${v}`).join("&");
    calls.push(
      `${rec.method} ${decodeURIComponent(rec.path)}${query ? `?${query}` : ""}${rec.path === "/token" ? "" : body ? ` ${body}` : ""}`,
    );
    const send = (status: number, payload: unknown) => {
      const text = JSON.stringify(payload);
      res.writeHead(status, {
        "content-type": "application/json; charset=UTF-8",
        "content-length": String(Buffer.byteLength(text)),
      });
      res.end(text);
    };
    // Google's error body; a refusal about a resource also names it in a ResourceInfo detail.
    const error = (code: number, status: string, message: string) =>
      send(code, {
        error: {
          code,
          message,
          status,
          ...(code === 403 || code === 409
            ? {
                details: [
                  {
                    "@type": "type.googleapis.com/google.rpc.ResourceInfo",
                    description: message,
                    owner: "domain:cloudidentity.googleapis.com",
                    resourceType: `cloudidentity.googleapis.com/${code === 403 ? "Group" : "Membership"}`,
                  },
                ],
              }
            : {}),
        },
      });
    const unexpected = (why: string) => {
      shell.unexpected.push(`${rec.method} ${rec.path}?${rec.query.toString()}: ${why}`);
      error(400, "INVALID_ARGUMENT", `Invalid request: ${why}`);
    };
    const onlyParams = (...names: string[]) => {
      const extra = [...rec.query.keys()].filter((k) => !names.includes(k));
      if (extra.length > 0) unexpected(`parameter(s) not modelled: ${extra.join(", ")}`);
      return extra.length === 0;
    };

    if (rec.method === "POST" && rec.path === "/token") return token(body, send);

    if (!issued.some((t) => req.headers.authorization === `Bearer ${t}`))
      return error(
        401,
        "UNAUTHENTICATED",
        "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
      );
    const fault = shell.takeFault(rec.path);
    if (fault?.kind === "unavailable")
      return error(503, "UNAVAILABLE", "The service is currently unavailable.");
    purge();

    const group = (id: string) => opts.groups.find((g) => g.id === id && !g.foreign);
    const p = rec.path;
    let m: RegExpExecArray | null;

    if (rec.method === "GET" && p === "/v1/groups:lookup") {
      if (!onlyParams("groupKey.id")) return;
      const g = opts.groups.find(
        (x) => x.email.toLowerCase() === (rec.query.get("groupKey.id") ?? "").toLowerCase(),
      );
      if (!g || g.foreign)
        return error(
          403,
          "PERMISSION_DENIED",
          "Error(2028): Permission denied for resource groups (or it may not exist).",
        );
      return send(200, { name: `groups/${g.id}` });
    }
    if ((m = /^\/v1\/groups\/([^/]+)\/memberships:lookup$/.exec(p)) && rec.method === "GET") {
      if (!onlyParams("memberKey.id")) return;
      const g = group(m[1] ?? "");
      if (!g)
        return error(
          403,
          "PERMISSION_DENIED",
          "Error(2028): Permission denied for resource groups (or it may not exist).",
        );
      const id = (rec.query.get("memberKey.id") ?? "").toLowerCase();
      const found = memberships.get(g.id)?.find((x) => x.member.toLowerCase() === id);
      if (!found) return error(404, "NOT_FOUND", "Error(4006): Membership does not exist.");
      return send(200, { name: `groups/${g.id}/memberships/${found.id}` });
    }
    if ((m = /^\/v1\/groups\/([^/]+)\/memberships$/.exec(p))) {
      const g = group(m[1] ?? "");
      if (!g)
        return error(
          403,
          "PERMISSION_DENIED",
          "Error(2028): Permission denied for resource groups (or it may not exist).",
        );
      const list = memberships.get(g.id) ?? [];
      if (rec.method === "GET") {
        if (!onlyParams("view", "pageSize", "pageToken")) return;
        const view = rec.query.get("view") ?? "BASIC";
        const max = view === "FULL" ? 500 : 1000;
        const asked = Number(rec.query.get("pageSize") ?? (view === "FULL" ? 50 : 200));
        if (!(asked >= 1 && asked <= max))
          return error(
            400,
            "INVALID_ARGUMENT",
            `Request contains an invalid argument: page_size must be at most ${max}.`,
          );
        const size = Math.min(asked, opts.pageSize ?? max);
        const from = rec.query.has("pageToken")
          ? Number(Buffer.from(rec.query.get("pageToken") ?? "", "base64url").toString())
          : 0;
        if (!Number.isInteger(from) || from < 0)
          return error(400, "INVALID_ARGUMENT", "Request contains an invalid argument: page_token.");
        const page = list.slice(from, from + size);
        return send(200, {
          memberships: page.map((x) => doc(g.id, x, view === "FULL")),
          ...(from + size < list.length
            ? { nextPageToken: Buffer.from(String(from + size)).toString("base64url") }
            : {}),
        });
      }
      if (rec.method === "POST") {
        if (!onlyParams()) return;
        const b = parseJson(body) as { preferredMemberKey?: { id?: string }; roles?: Role[] } | null;
        const id = b?.preferredMemberKey?.id;
        if (!id)
          return error(
            400,
            "INVALID_ARGUMENT",
            "Request contains an invalid argument: preferred_member_key.",
          );
        const roles = b?.roles ?? [{ name: "MEMBER" }];
        const bad = checkRoles(roles);
        if (bad) return error(bad.code, bad.status, bad.message);
        if (fault?.kind === "conflict")
          list.push({
            id: `m${String(++seq).padStart(4, "0")}`,
            member: id,
            roles: fault.roles,
            createTime: new Date(now).toISOString(),
          });
        if (!opts.users.some((u) => u.toLowerCase() === id.toLowerCase()))
          return error(404, "NOT_FOUND", `Error(2003): Member ${id} not found.`);
        if (list.some((x) => x.member.toLowerCase() === id.toLowerCase()))
          return error(
            409,
            "ALREADY_EXISTS",
            `Error(4003): Cannot create membership '${id}' in 'groups/${g.id}' because it already exists.`,
          );
        const stored: Stored = {
          id: `m${String(++seq).padStart(4, "0")}`,
          member: id,
          roles,
          createTime: new Date(now).toISOString(),
        };
        list.push(stored);
        if (fault?.kind === "pending") return send(200, { done: false });
        return send(200, {
          done: true,
          response: {
            "@type": "type.googleapis.com/google.apps.cloudidentity.groups.v1.Membership",
            ...doc(g.id, stored, false),
          },
        });
      }
    }
    if ((m = /^\/v1\/groups\/([^/]+)\/memberships\/([^/:]+)(:modifyMembershipRoles)?$/.exec(p))) {
      const g = group(m[1] ?? "");
      if (!g)
        return error(
          403,
          "PERMISSION_DENIED",
          "Error(2028): Permission denied for resource groups (or it may not exist).",
        );
      const list = memberships.get(g.id) ?? [];
      const found = list.find((x) => x.id === m?.[2]);
      if (!onlyParams()) return;
      if (!found) return error(404, "NOT_FOUND", `Error(2003): Membership ${m[2]} not found.`);
      if (m[3] && rec.method === "POST") {
        const b = parseJson(body) as {
          updateRolesParams?: { fieldMask?: string; membershipRole?: Role }[];
          addRoles?: unknown;
          removeRoles?: unknown;
        } | null;
        const params = b?.updateRolesParams;
        if (!params || params.length !== 1 || b?.addRoles || b?.removeRoles)
          return unexpected("only one updateRolesParams is modelled");
        const [u] = params;
        if (!u || u.fieldMask !== "expiry_detail.expire_time")
          return error(400, "INVALID_ARGUMENT", "Request contains an invalid argument: field_mask.");
        const role = u.membershipRole;
        if (!role)
          return error(400, "INVALID_ARGUMENT", "Request contains an invalid argument: membership_role.");
        const bad = checkRoles([role]);
        if (bad) return error(bad.code, bad.status, bad.message);
        const held = found.roles.find((r) => r.name === role.name);
        if (!held)
          return error(
            400,
            "INVALID_ARGUMENT",
            `Error(4005): The member does not have the role ${role.name}.`,
          );
        if (role.expiryDetail) held.expiryDetail = role.expiryDetail;
        else delete held.expiryDetail;
        return send(200, { membership: doc(g.id, found) });
      }
      if (rec.method === "GET" && !m[3]) return send(200, doc(g.id, found));
      if (rec.method === "DELETE" && !m[3]) {
        list.splice(list.indexOf(found), 1);
        return send(200, { done: true, response: { "@type": "type.googleapis.com/google.protobuf.Empty" } });
      }
    }
    unexpected("route not modelled");
  };

  function checkRoles(roles: Role[]): { code: number; status: string; message: string } | null {
    for (const r of roles) {
      if (!["OWNER", "MANAGER", "MEMBER"].includes(r.name))
        return {
          code: 400,
          status: "INVALID_ARGUMENT",
          message: `Request contains an invalid argument: role ${r.name}.`,
        };
      if (!r.expiryDetail) continue;
      if (r.name !== "MEMBER")
        return {
          code: 400,
          status: "INVALID_ARGUMENT",
          message: "Request contains an invalid argument: expiry_detail may only be set on the MEMBER role.",
        };
      if (opts.premium === false)
        return {
          code: 400,
          status: "FAILED_PRECONDITION",
          message: "Precondition check failed: membership expiry is not available for this customer.",
        };
      const t = Date.parse(r.expiryDetail.expireTime);
      if (!Number.isFinite(t) || t <= now)
        return {
          code: 400,
          status: "INVALID_ARGUMENT",
          message: "Request contains an invalid argument: expire_time must be in the future.",
        };
    }
    return null;
  }

  function token(body: string, send: (status: number, payload: unknown) => void) {
    const form = new URLSearchParams(body);
    const refuse = (description: string) =>
      send(400, { error: "invalid_grant", error_description: description });
    if (form.get("grant_type") !== "urn:ietf:params:oauth:grant-type:jwt-bearer")
      return send(400, { error: "unsupported_grant_type", error_description: "Invalid grant_type." });
    const parts = (form.get("assertion") ?? "").split(".");
    if (parts.length !== 3)
      return refuse("Invalid JWT: Token must be a short-lived token and in a reasonable timeframe.");
    const [h, c, s] = parts as [string, string, string];
    const ok = verify("RSA-SHA256", Buffer.from(`${h}.${c}`), sa.publicKey, Buffer.from(s, "base64url"));
    if (!ok) return refuse("Invalid JWT Signature.");
    const claims = parseJson(Buffer.from(c, "base64url").toString()) as {
      iss?: string;
      aud?: string;
      scope?: string;
      exp?: number;
      iat?: number;
    } | null;
    if (
      claims?.iss !== sa.email ||
      claims.aud !== GOOGLE_TOKEN_AUD ||
      !(claims.scope ?? "").split(" ").includes(SCOPE)
    )
      return refuse(
        "Invalid JWT: the claims do not name this service account, Google's token endpoint and the groups scope.",
      );
    if (typeof claims.exp !== "number" || typeof claims.iat !== "number" || claims.exp - claims.iat > 3600)
      return refuse(
        "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.",
      );
    const t = `ya29.fake-access-token-${issued.length + 1}-DO-NOT-PRINT`;
    issued.push(t);
    send(200, { access_token: t, expires_in: 3599, token_type: "Bearer" });
  }

  base = await shell.listen((req, res) => {
    onRequest(req, res).catch((err: unknown) => {
      shell.unexpected.push(`fake failed: ${String(err)}`);
      res.destroy();
    });
  });
  return {
    url: base,
    tokenUri: `${base}/token`,
    requests: shell.requests,
    calls: () => [...calls],
    setNow: (iso: string) => {
      now = Date.parse(iso);
      purge();
    },
    members: (groupEmail: string) => {
      purge();
      const g = opts.groups.find((x) => x.email === groupEmail);
      return (memberships.get(g?.id ?? "") ?? []).map((m) => {
        const e = expiryOf(m);
        return e ? `${m.member} until ${e}` : m.member;
      });
    },
    addMember,
    issued,
    fault: shell.fault,
    unexpected: shell.unexpected,
    allow: shell.allow,
    close: shell.close,
  };
}

function parseJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return null;
  }
}
