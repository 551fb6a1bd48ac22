import { HttpError, type HttpResponse } from "../../infra/http.js";
import { defineTarget } from "../define.js";
import {
  cannotShorten,
  type AccessCheck,
  type ActionResult,
  type GrantRef,
  type Target,
  type TargetCall,
  type TargetCapabilities,
  type TargetDeps,
} from "../types.js";
import {
  normalizeOkta,
  OKTA_SCOPES,
  OKTA_TOKEN_ENV,
  oktaSchema,
  oktaStarter,
  type OktaConfig,
} from "./config.js";
import { createOktaOAuth } from "./oauth.js";
import { onceEach } from "../../core/once.js";
import { nextLink } from "../../infra/link.js";

export const oktaTarget = defineTarget({
  schema: oktaSchema,
  tokenEnv: OKTA_TOKEN_ENV,
  listsMembers: true,
  capabilities: () => OKTA_CAPABILITIES,
  normalize: normalizeOkta,
  create: createOktaTarget,
  starter: oktaStarter,
});

/**
 * Okta group memberships. A membership has no end in Okta, so shiftgrant ends it (`expire`), adds
 * nothing before a shift starts, and an extension makes no call. Calls:
 *
 *   POST   /oauth2/v1/token                      a service app's token (oauth.ts), else SSWS
 *   GET    /api/v1/users/{login}                 then, on 404, ?search=profile.email eq "EMAIL"
 *   GET    /api/v1/groups?q=NAME                 (unless RESOURCE is a group id)
 *   GET    /api/v1/users/{uid}/groups            (a member already? not on exclusive groups)
 *   PUT    /api/v1/groups/{gid}/users/{uid}      grant
 *   DELETE /api/v1/groups/{gid}/users/{uid}      revoke, expire (404: already gone)
 *   GET    /api/v1/groups/{gid}/users?limit=200  the members of an exclusive group
 */
export const OKTA_CAPABILITIES: TargetCapabilities = {
  futureStart: false,
  revoke: true,
  extendInPlace: false,
  shortenInPlace: false,
  expires: false,
  memberships: true,
  listsMembers: true,
  identity: "email",
};

/** Okta's own group ids: `00g` and 17 letters or digits. A name never looks like one. */
const GROUP_ID = /^00g[A-Za-z0-9]{17}$/;

/**
 * A lookup's outcome. When it fails, `why` says how: Okta could not be asked (`unanswered`: an HTTP
 * failure), or it answered that the identity cannot be given the access there (`no-user`: no such
 * user, or several; the action is a skip), or that the group cannot be used (`bad-group`).
 */
type Found<T> =
  { ok: true; value: T } | { ok: false; error: string; why: "unanswered" | "no-user" | "bad-group" };
type OktaUser = { id: string; login: string };
type OktaGroup = { id: string; name: string };

export function createOktaTarget(config: OktaConfig, deps: TargetDeps): Target {
  const origin = new URL(config.orgUrl).origin;
  const headers: Record<string, string> = { Accept: "application/json" };
  const oauth =
    config.auth.kind === "oauth"
      ? createOktaOAuth({
          orgUrl: config.orgUrl,
          clientId: config.auth.clientId,
          keyId: config.auth.keyId,
          privateKey: deps.token ?? "",
          http: deps.http,
          timeoutMs: config.timeoutMs,
          ...(deps.redactor ? { redactor: deps.redactor } : {}),
        })
      : null;
  if (!oauth && deps.token) headers.Authorization = `SSWS ${deps.token}`;
  const url = (path: string, query: Record<string, string> = {}) => {
    const u = new URL(`${config.orgUrl}${path}`);
    for (const [k, v] of Object.entries(query)) u.searchParams.set(k, v);
    return u;
  };
  const call = async (method: string, u: URL): Promise<HttpResponse> => {
    const opts = { headers, anyBody: true, timeoutMs: config.timeoutMs };
    if (!oauth) return deps.http.request(method, u, opts);
    // A token Okta no longer takes (401) is replaced once, and the request made again.
    for (let refreshed = false; ; refreshed = true) {
      const token = await oauth.token();
      try {
        return await deps.http.request(method, u, {
          ...opts,
          fresh: () => ({ headers: oauth.authorize(token, method, u) }),
        });
      } catch (err) {
        if (refreshed || !(err instanceof HttpError && err.status === 401)) throw err;
        oauth.forget(token);
      }
    }
  };
  const describe = (err: unknown) => describeError(err, config.auth.kind);

  /** Every page of a list, following `link: <…>; rel="next"` (only on the org's own origin). */
  const list = async (first: URL): Promise<unknown[]> => {
    const items: unknown[] = [];
    let next: URL | null = first;
    for (let pages = 0; next; pages++) {
      if (pages >= 1000) throw new Error(`${first.pathname}: more than 1000 pages; stopped`);
      const res: HttpResponse = await call("GET", next);
      if (!Array.isArray(res.body)) throw new Error(`GET ${next.pathname}: the answer is not a list`);
      items.push(...(res.body as unknown[]));
      next = nextLink(res.headers.get("link"), origin);
    }
    return items;
  };

  // Per run (a target is made for one run): each user and group is looked up once.

  const findUser = onceEach((identity: string): Promise<Found<OktaUser>> => lookUpUser(identity), {
    key: (identity: string) => identity.toLowerCase(),
  });
  const lookUpUser = async (identity: string): Promise<Found<OktaUser>> => {
    try {
      const res = await call("GET", url(`/api/v1/users/${encodeURIComponent(identity)}`));
      const u = asUser(res.body);
      if (u) return { ok: true, value: u };
      return {
        ok: false,
        why: "unanswered",
        error: `GET /api/v1/users/${identity}: the answer is not an Okta user`,
      };
    } catch (err) {
      if (!(err instanceof HttpError && err.status === 404))
        return { ok: false, why: "unanswered", error: describe(err) };
    }
    try {
      const found = await list(url("/api/v1/users", { search: `profile.email eq "${identity}"` }));
      const matches = found.map(asUser).filter((u): u is OktaUser => u !== null);
      if (matches.length === 1 && matches[0]) return { ok: true, value: matches[0] };
      return {
        ok: false,
        why: "no-user",
        error:
          matches.length === 0
            ? `no Okta user has the login or email ${identity}: add the user in Okta, or map this email to the user's login (identities:)`
            : `${matches.length} Okta users have the email ${identity} (${matches.map((m) => m.login).join(", ")}): map it to one login (identities:)`,
      };
    } catch (err) {
      return { ok: false, why: "unanswered", error: describe(err) };
    }
  };

  const findGroup = onceEach((resource: string): Promise<Found<OktaGroup>> => lookUpGroup(resource));
  const lookUpGroup = async (resource: string): Promise<Found<OktaGroup>> => {
    if (GROUP_ID.test(resource)) return { ok: true, value: { id: resource, name: resource } };
    let found: unknown[];
    try {
      // `q` matches names by prefix: the exact name is picked here.
      found = await list(url("/api/v1/groups", { q: resource }));
    } catch (err) {
      return { ok: false, why: "unanswered", error: describe(err) };
    }
    const exact = found
      .map(asGroup)
      .filter((g): g is OktaGroup & { type: string } => g !== null)
      .filter((g) => g.name.toLowerCase() === resource.toLowerCase());
    const okta = exact.filter((g) => g.type === "OKTA_GROUP");
    if (okta.length === 1 && okta[0]) return { ok: true, value: { id: okta[0].id, name: okta[0].name } };
    if (okta.length > 1)
      return {
        ok: false,
        why: "bad-group",
        error: `${okta.length} Okta groups are named ${resource} (${okta.map((g) => g.id).join(", ")}): use the group's id as the resource`,
      };
    const other = exact[0];
    if (other)
      return {
        ok: false,
        why: "bad-group",
        error: `Okta group ${other.name} (${other.id}) is of type ${other.type}: only OKTA_GROUP memberships can be changed in Okta; manage it in its source, or use an OKTA_GROUP`,
      };
    return {
      ok: false,
      why: "bad-group",
      error: `no Okta group is named ${resource}: check the name, or use the group's id`,
    };
  };

  /** The user and group of a call: from the ref the grant kept, else looked up. */
  const resolve = async (
    identity: string,
    resource: string,
    refs: (GrantRef | undefined)[] = [],
  ): Promise<Found<{ userId: string; groupId: string }>> => {
    const ref = refs.find((r) => r?.userId && r.groupId);
    if (ref?.userId && ref.groupId) return { ok: true, value: { userId: ref.userId, groupId: ref.groupId } };
    const user = await findUser(identity);
    if (!user.ok) return user;
    const group = await findGroup(resource);
    if (!group.ok) return group;
    return { ok: true, value: { userId: user.value.id, groupId: group.value.id } };
  };

  const membership = (ids: { userId: string; groupId: string }) =>
    url(`/api/v1/groups/${encodeURIComponent(ids.groupId)}/users/${encodeURIComponent(ids.userId)}`);

  return {
    capabilities: OKTA_CAPABILITIES,
    async grant(c: TargetCall): Promise<ActionResult> {
      const ids = await resolve(c.identity, c.resource);
      if (!ids.ok)
        return ids.why === "no-user"
          ? { status: "skipped", reason: ids.error }
          : { status: "failed", error: ids.error };
      try {
        await call("PUT", membership(ids.value));
        return { status: "applied", ref: { userId: ids.value.userId, groupId: ids.value.groupId } };
      } catch (err) {
        return { status: "failed", error: describe(err) };
      }
    },
    // The membership has no end in Okta: it simply stays, and the ledger records the later end.
    extend: async () => ({ status: "applied" }),
    shorten: cannotShorten,
    async revoke(c: TargetCall): Promise<ActionResult> {
      const ids = await resolve(
        c.identity,
        c.resource,
        (c.grants ?? []).map((g) => g.ref),
      );
      // No such user in Okta (any more): no membership to remove.
      if (!ids.ok && ids.why === "no-user")
        return { status: "applied", output: `nothing to remove: ${ids.error}` };
      if (!ids.ok) return { status: "failed", error: ids.error };
      try {
        await call("DELETE", membership(ids.value));
        return { status: "applied" };
      } catch (err) {
        // Not a member (any more): what the revoke was for is done.
        if (err instanceof HttpError && err.status === 404)
          return { status: "applied", output: "404: not a member already" };
        return { status: "failed", error: describe(err) };
      }
    },
    async hasAccess(identity: string, resource: string): Promise<AccessCheck> {
      const ids = await resolve(identity, resource);
      // No such user, or a group that cannot be used: no access to leave alone; the grant that
      // follows finds the same (looked up once) and says why it skips or fails.
      if (!ids.ok && ids.why !== "unanswered") return { status: "absent" };
      if (!ids.ok) return { status: "failed", error: ids.error };
      try {
        const of = await list(url(`/api/v1/users/${encodeURIComponent(ids.value.userId)}/groups`));
        return of.some((g) => asGroup(g)?.id === ids.value.groupId)
          ? { status: "member" }
          : { status: "absent" };
      } catch (err) {
        return { status: "failed", error: describe(err) };
      }
    },
    async listMembers(resource: string) {
      const group = await findGroup(resource);
      if (!group.ok) return { status: "failed", error: group.error };
      try {
        const members = await list(
          url(`/api/v1/groups/${encodeURIComponent(group.value.id)}/users`, { limit: "200" }),
        );
        const logins = members.map(asUser).filter((u): u is OktaUser => u !== null);
        return { status: "listed", identities: logins.map((u) => u.login.toLowerCase()) };
      } catch (err) {
        return { status: "failed", error: describe(err) };
      }
    },
    // Listing one group proves the org answers and takes the credentials, and changes nothing.
    async check() {
      try {
        await call("GET", url("/api/v1/groups", { limit: "1" }));
        return {
          ok: true,
          detail: `${config.orgUrl} answers and takes the ${config.auth.kind === "oauth" ? "service app's token" : "API token"}`,
        };
      } catch (err) {
        return { ok: false, detail: describe(err) };
      }
    },
  };
}

function asUser(v: unknown): OktaUser | null {
  if (!v || typeof v !== "object") return null;
  const o = v as { id?: unknown; profile?: { login?: unknown } };
  return typeof o.id === "string" && typeof o.profile?.login === "string"
    ? { id: o.id, login: o.profile.login }
    : null;
}

function asGroup(v: unknown): (OktaGroup & { type: string }) | null {
  if (!v || typeof v !== "object") return null;
  const o = v as { id?: unknown; type?: unknown; profile?: { name?: unknown } };
  return typeof o.id === "string" && typeof o.profile?.name === "string"
    ? { id: o.id, name: o.profile.name, type: typeof o.type === "string" ? o.type : "unknown" }
    : null;
}

/**
 * The HTTP failure with Okta's error code and summary (the code is what Okta's docs list), and what
 * to change: the token, or the permissions of its admin (an API token acts as the admin who made it;
 * a service app as the admin role assigned to it).
 */
function describeError(err: unknown, auth: "ssws" | "oauth"): string {
  if (!(err instanceof Error)) return String(err);
  if (err instanceof HttpError && err.body && typeof err.body === "object") {
    const b = err.body as { errorCode?: unknown; errorSummary?: unknown };
    if (typeof b.errorCode === "string") {
      const summary = typeof b.errorSummary === "string" ? ` ${b.errorSummary}` : "";
      const hint =
        err.status === 401
          ? auth === "oauth"
            ? " (Okta refused the service app's access token twice; check the app is active)"
            : " (check the API token)"
          : err.status === 403
            ? auth === "oauth"
              ? ` (the service app needs an admin role over this group that may manage its members and read users: Group Admin on it, or a custom role with okta.groups.members.manage and okta.users.read; and the scopes ${OKTA_SCOPES.join(" and ")})`
              : " (the token's admin needs a role over this group that may manage its members and read users: Group Admin on it, or a custom role with okta.groups.members.manage and okta.users.read)"
            : "";
      return `${err.message} ${b.errorCode}${summary}${hint}`;
    }
  }
  return err.message;
}
