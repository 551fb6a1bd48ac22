import type { Octokit } from "@octokit/rest";
import { DEFAULT_HTTP } from "../../infra/http.js";
import { defineTarget } from "../define.js";
import {
  cannotShorten,
  type AccessCheck,
  type ActionResult,
  type Target,
  type TargetCall,
  type TargetCapabilities,
  type TargetDeps,
} from "../types.js";
import { createOctokit } from "./client.js";
import {
  GITHUB_TOKEN_ENV,
  githubSchema,
  githubStarter,
  normalizeGithub,
  type GithubConfig,
} from "./config.js";
import {
  linkedLogins,
  SAML_QUERY,
  samlPageSchema,
  teamMembershipSchema,
  teamMembersSchema,
} from "./schema.js";
import { onceEach } from "../../core/once.js";
import { nextLink } from "../../infra/link.js";

export const githubTarget = defineTarget({
  schema: githubSchema,
  tokenEnv: GITHUB_TOKEN_ENV,
  listsMembers: true,
  capabilities: () => GITHUB_CAPABILITIES,
  normalize: normalizeGithub,
  create: createGithubTarget,
  starter: githubStarter,
});

/**
 * GitHub team memberships. A membership has no end in GitHub, so shiftgrant ends it (`expire`), adds
 * nothing before a shift starts, and an extension makes no call. Calls (ORG from the config, SLUG the
 * resource, LOGIN the identity):
 *
 *   GET    /orgs/ORG/members/LOGIN                 is LOGIN in the organisation? (404: skip, never invite)
 *   GET    /orgs/ORG/teams/SLUG/memberships/LOGIN  is LOGIN in the team already? (200 active: yes)
 *   PUT    /orgs/ORG/teams/SLUG/memberships/LOGIN  {"role":"member"}: grant
 *   DELETE /orgs/ORG/teams/SLUG/memberships/LOGIN  revoke, expire (404: already gone)
 *   GET    /orgs/ORG/teams/SLUG/members?per_page=100   the members of an exclusive team (Link paging)
 *   POST   /graphql                                 with saml: the SAML-linked identities, once a run
 */
export const GITHUB_CAPABILITIES: TargetCapabilities = {
  futureStart: false,
  revoke: true,
  extendInPlace: false,
  shortenInPlace: false,
  expires: false,
  memberships: true,
  listsMembers: true,
  identity: "github-login",
};

type Found<T> = { ok: true; value: T } | { ok: false; error: string };

export function createGithubTarget(config: GithubConfig, deps: TargetDeps): Target {
  const { org } = config;
  const credential = config.auth.kind === "app" ? "the App installation's token" : "the token";
  // A dry run reads the members of exclusive teams and linked identities with the credential only
  // where it is set; without one, GitHub's 401 must not read as a token refused.
  const who = { credential, missing: deps.token === null };
  let client: Promise<Octokit> | null = null;
  const octokit = () =>
    (client ??= createOctokit(config, {
      secret: deps.token,
      limits: deps.httpSettings ?? DEFAULT_HTTP,
      sleep: deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms))),
      log: deps.log,
    }));

  // Per run (a target is made for one run): each login's organisation membership is asked once; a
  // team GitHub refused to change is not asked again.
  const refused = new Map<string, string>();
  let linked: Promise<Found<Map<string, string>>> | null = null;

  const isOrgMember = onceEach((login: string): Promise<Found<boolean>> =>
    (async (): Promise<Found<boolean>> => {
      try {
        const res = await (
          await octokit()
        ).request("GET /orgs/{org}/members/{username}", {
          org,
          username: login,
        });
        // Octokit's types know only the 302; a member is a 204.
        if (Number(res.status) === 204) return { ok: true, value: true };
        // NOTE: GitHub answers 302 (to the public membership) when the credential may not see the
        // organisation's private members: that says nothing about the login.
        return {
          ok: false,
          error: `GET /orgs/${org}/members/${login}: ${res.status}: ${credential} may not see ${org}'s members; use a GitHub App installed on ${org}, or a token of one of its owners`,
        };
      } catch (err) {
        if (statusOf(err) === 404) return { ok: true, value: false };
        return { ok: false, error: describe(err, who) };
      }
    })(),
  );

  const membershipRoute = "/orgs/{org}/teams/{team_slug}/memberships/{username}" as const;

  /** A 403 on a team's membership: an identity provider manages the team, or the credential lacks the right. */
  const refuse = (slug: string, err: unknown): string => {
    const message = githubMessage(err);
    const reason = /external group|externally managed|identity provider|team sync|synchroni[sz]/i.test(
      message,
    )
      ? `GitHub refuses changes to team ${slug}: an identity provider manages its members (403 ${message}); change the group in the identity provider, or name a team GitHub manages`
      : `GitHub refuses changes to team ${slug} (403 ${message}): ${credential} needs the Organization permission Members: read and write (a classic token: admin:org, of an owner or the team's maintainer)`;
    refused.set(slug, reason);
    return reason;
  };
  const refusedBefore = (slug: string): ActionResult | null => {
    const reason = refused.get(slug);
    return reason
      ? { status: "failed", error: `${reason} (refused earlier in this run; not asked again)` }
      : null;
  };

  const notInOrg = (login: string): ActionResult => ({
    status: "skipped",
    reason: `${login} is not a member of ${org}; shiftgrant never sends invitations (invite them to ${org} in GitHub, or correct the identity)`,
  });

  return {
    capabilities: GITHUB_CAPABILITIES,
    async grant(c: TargetCall): Promise<ActionResult> {
      const before = refusedBefore(c.resource);
      if (before) return before;
      const member = await isOrgMember(c.identity);
      if (!member.ok) return { status: "failed", error: member.error };
      if (!member.value) return notInOrg(c.identity);
      try {
        const res = await (
          await octokit()
        ).request(`PUT ${membershipRoute}`, {
          org,
          team_slug: c.resource,
          username: c.identity,
          role: "member",
        });
        const state = teamMembershipSchema.safeParse(res.data);
        return { status: "applied", output: `team membership ${state.success ? state.data.state : "set"}` };
      } catch (err) {
        if (statusOf(err) === 403) return { status: "failed", error: refuse(c.resource, err) };
        return { status: "failed", error: describe(err, who, c.resource) };
      }
    },
    // The membership has no end in GitHub: it simply stays, and the ledger records the later end.
    extend: async () => ({ status: "applied" }),
    shorten: cannotShorten,
    async revoke(c: TargetCall): Promise<ActionResult> {
      const before = refusedBefore(c.resource);
      if (before) return before;
      try {
        await (
          await octokit()
        ).request(`DELETE ${membershipRoute}`, {
          org,
          team_slug: c.resource,
          username: c.identity,
        });
        return { status: "applied" };
      } catch (err) {
        // Not in the team (any more): what the revoke was for is done.
        if (statusOf(err) === 404) return { status: "applied", output: "404: not in the team already" };
        if (statusOf(err) === 403) return { status: "failed", error: refuse(c.resource, err) };
        return { status: "failed", error: describe(err, who, c.resource) };
      }
    },
    /**
     * Before the first grant: the organisation first (someone outside it has no access, and the grant
     * then skips them), then the team. A `pending` membership (an invitation not accepted) is no
     * access: it is treated as absent.
     */
    async hasAccess(identity: string, resource: string): Promise<AccessCheck> {
      // A team GitHub refused to change in this run is not asked: the grant fails with that reason.
      if (refused.has(resource)) return { status: "absent" };
      const member = await isOrgMember(identity);
      if (!member.ok) return { status: "failed", error: member.error };
      if (!member.value) return { status: "absent" };
      try {
        const res = await (
          await octokit()
        ).request(`GET ${membershipRoute}`, {
          org,
          team_slug: resource,
          username: identity,
        });
        const m = teamMembershipSchema.safeParse(res.data);
        if (!m.success)
          return {
            status: "failed",
            error: `GET /orgs/${org}/teams/${resource}/memberships/${identity}: not a team membership`,
          };
        return m.data.state === "active" ? { status: "member" } : { status: "absent" };
      } catch (err) {
        if (statusOf(err) === 404) return { status: "absent" };
        return { status: "failed", error: describe(err, who, resource) };
      }
    },
    async listMembers(resource: string) {
      try {
        const gh = await octokit();
        const logins: string[] = [];
        let res: { data: unknown; headers: { link?: string } } = await gh.request(
          "GET /orgs/{org}/teams/{team_slug}/members",
          {
            org,
            team_slug: resource,
            per_page: 100,
          },
        );
        for (let pages = 1; ; pages++) {
          const page = teamMembersSchema.safeParse(res.data);
          if (!page.success)
            return {
              status: "failed" as const,
              error: `GET /orgs/${org}/teams/${resource}/members: not a list of users`,
            };
          logins.push(...page.data.map((u) => u.login.toLowerCase()));
          const next = nextLink(res.headers.link, new URL(config.baseUrl).origin);
          if (!next) break;
          if (pages >= 1000)
            return {
              status: "failed" as const,
              error: `GET /orgs/${org}/teams/${resource}/members: more than 1000 pages; stopped`,
            };
          res = await gh.request({ method: "GET", url: next.toString() });
        }
        return { status: "listed" as const, identities: logins };
      } catch (err) {
        return { status: "failed" as const, error: describe(err, who, resource) };
      }
    },
    async linkIdentities(emails: string[]) {
      if (!config.saml) return { status: "linked" as const, identities: new Map<string, string>() };
      linked ??= readSamlIdentities();
      const all = await linked;
      if (!all.ok) return { status: "failed" as const, error: all.error };
      const identities = new Map<string, string>();
      for (const e of emails) {
        const login = all.value.get(e.toLowerCase());
        if (login) identities.set(e, login);
      }
      return { status: "linked" as const, identities };
    },
    // Reading the organisation proves the URL, the credential (for an App: the token exchange) and
    // the organisation's name; with saml, reading the SAML identities proves the right to. Nothing
    // changes.
    async check() {
      try {
        await (await octokit()).request("GET /orgs/{org}", { org });
      } catch (err) {
        return { ok: false, detail: describe(err, who) };
      }
      const detail = `${org} on ${config.baseUrl} answers and takes ${credential}`;
      if (!config.saml) return { ok: true, detail };
      linked ??= readSamlIdentities();
      const saml = await linked;
      return saml.ok
        ? { ok: true, detail: `${detail}; ${saml.value.size} SAML-linked identities` }
        : { ok: false, detail: saml.error };
    },
  };

  /** Every SAML-linked identity of the organisation (nameId -> login), one paged query. */
  async function readSamlIdentities(): Promise<Found<Map<string, string>>> {
    const out = new Map<string, string>();
    let after: string | null = null;
    try {
      const gh = await octokit();
      for (let pages = 0; pages < 1000; pages++) {
        const data: unknown = await gh.graphql(SAML_QUERY, { org, after });
        const page = samlPageSchema.safeParse(data);
        if (!page.success)
          return { ok: false, error: `POST /graphql: the answer is not ${org}'s SAML identities` };
        const idp = page.data.organization?.samlIdentityProvider;
        if (!idp)
          return {
            ok: false,
            error: `${org} has no SAML single sign-on of its own (none, or set on its enterprise): map these emails to GitHub logins in identities:`,
          };
        for (const [k, v] of linkedLogins(page.data)) out.set(k, v);
        if (!idp.externalIdentities.pageInfo.hasNextPage) return { ok: true, value: out };
        after = idp.externalIdentities.pageInfo.endCursor;
      }
      return { ok: false, error: `POST /graphql: more than 1000 pages of SAML identities; stopped` };
    } catch (err) {
      return { ok: false, error: describe(err, who) };
    }
  }
}

function statusOf(err: unknown): number | null {
  const s = (err as { status?: unknown } | null)?.status;
  return typeof s === "number" ? s : null;
}

/** GitHub's own message of a failed request (`{message, documentation_url}`), or the error's. */
function githubMessage(err: unknown): string {
  const data = (err as { response?: { data?: unknown } } | null)?.response?.data;
  if (data && typeof data === "object" && typeof (data as { message?: unknown }).message === "string")
    return (data as { message: string }).message;
  if (typeof data === "string" && data) return data;
  return err instanceof Error ? err.message : String(err);
}

/**
 * A failed request as one line: the method and path, GitHub's status and message, and what to check.
 * Octokit's own message adds a documentation link and, for GraphQL, the query: neither is needed.
 */
function describe(err: unknown, who: { credential: string; missing: boolean }, team?: string): string {
  const { credential } = who;
  if (!(err instanceof Error)) return String(err);
  const gql = (err as { errors?: unknown }).errors;
  if (Array.isArray(gql)) {
    const first = gql[0] as { type?: unknown; message?: unknown } | undefined;
    const type = typeof first?.type === "string" ? `${first.type}: ` : "";
    return `POST /graphql: ${type}${typeof first?.message === "string" ? first.message : err.message}`;
  }
  const req = (err as { request?: { method?: unknown; url?: unknown } }).request;
  const where =
    typeof req?.method === "string" && typeof req.url === "string"
      ? `${req.method} ${new URL(req.url).pathname}: `
      : "";
  const status = statusOf(err);
  // A request the fetch gave up on (its retries, a timeout) carries our own message, which names it.
  if ((err as { response?: unknown }).response === undefined)
    return err.message.startsWith(where) ? err.message : `${where}${err.message}`;
  const hint =
    status === 401
      ? who.missing
        ? " (no credential was read: set the token, or the App's key file, where shiftgrant runs)"
        : ` (GitHub does not take ${credential}: check it)`
      : status === 404 && team
        ? ` (no team ${team} in the organisation, or ${credential} may not see it: check the resource, a team slug)`
        : status === 403
          ? ` (${credential} lacks a permission: Members: read and write)`
          : "";
  return `${where}${status ?? ""} ${githubMessage(err)}${hint}`;
}
