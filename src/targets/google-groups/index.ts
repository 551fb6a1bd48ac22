import { defineTarget } from "../define.js";
import type {
  AccessCheck,
  ActionResult,
  GrantRef,
  Target,
  TargetCall,
  TargetCapabilities,
  TargetDeps,
} from "../types.js";
import { createGroupsApi, credentialsFileProblem, statusOf, type GroupsApi, type Membership } from "./api.js";
import {
  googleGroupsSchema,
  googleGroupsStarter,
  normalizeGoogleGroups,
  type GoogleGroupsConfig,
} from "./config.js";
import { onceEach } from "../../core/once.js";

export const googleGroupsTarget = defineTarget({
  schema: googleGroupsSchema,
  tokenEnv: null,
  listsMembers: true,
  capabilities: () => GOOGLE_GROUPS_CAPABILITIES,
  normalize: normalizeGoogleGroups,
  create: createGoogleGroupsTarget,
  // A key file named but unusable is found before any call; with none named, gcloud's file or the
  // metadata server are found (or not) at the first call.
  credentialProblems: async (config, env) => {
    const problem = await credentialsFileProblem(env.GOOGLE_APPLICATION_CREDENTIALS);
    return problem ? [`missing credential: ${problem} (targets.${config.name})`] : [];
  },
  starter: googleGroupsStarter,
});

/**
 * Google Group memberships with an expiry (Cloud Identity's `expiryDetail` on the MEMBER role):
 * Google removes the member at the grant's end, so the access ends even if shiftgrant never runs
 * again. Google cannot add a member later, so nothing is granted before its start. One membership
 * per person and group carries the latest end of every grant behind it. Calls:
 *
 *   GET    v1/groups:lookup?groupKey.id=GROUP                           once per group and run
 *   GET    v1/groups/{g}/memberships:lookup?memberKey.id=EMAIL          404: not a member
 *   GET    v1/groups/{g}/memberships/{m}                                its roles and expiry
 *   POST   v1/groups/{g}/memberships                                    grant, with the expiry
 *   POST   v1/groups/{g}/memberships/{m}:modifyMembershipRoles          extend, shorten
 *   DELETE v1/groups/{g}/memberships/{m}                                revoke (404: gone already)
 *   GET    v1/groups/{g}/memberships?view=FULL                          an exclusive group's members
 */
export const GOOGLE_GROUPS_CAPABILITIES: TargetCapabilities = {
  futureStart: false,
  revoke: true,
  extendInPlace: true,
  shortenInPlace: true,
  expires: true,
  memberships: true,
  listsMembers: true,
  identity: "email",
};

type Found<T> = { ok: true; value: T } | { ok: false; error: string };

/** What shiftgrant needs to know of a membership: its name and the MEMBER role's expiry, if any. */
type Known = { name: string; expiry: string | null; roles: string[] };

const PREEXISTING_NOTE = "already has this access outside shiftgrant; left alone";

export function createGoogleGroupsTarget(config: GoogleGroupsConfig, deps: TargetDeps): Target {
  const api: GroupsApi = createGroupsApi({
    baseUrl: config.baseUrl,
    timeoutMs: config.timeoutMs,
    env: deps.env,
    sleep: deps.sleep ?? ((ms) => new Promise<void>((r) => setTimeout(r, ms))),
  });

  // Per run (a target is made for one run): each group is looked up once; memberships read by a
  // check or a listing are reused by the grant or revoke that follows.
  const known = new Map<string, Known>();
  /** Groups listed in this run (exclusive): every membership, owners' too, by member email. */
  const listed = new Map<string, Map<string, Known>>();
  const keyOf = (group: string, identity: string) => `${group} ${identity.toLowerCase()}`;

  const findGroup = onceEach(
    (resource: string): Promise<Found<string>> =>
      api.lookupGroup(resource).then(
        (name): Found<string> => ({ ok: true, value: name }),
        (err: unknown): Found<string> => ({
          ok: false,
          error:
            statusOf(err) === 404
              ? `no Google group has the email ${resource}: check the group's email`
              : `groups:lookup ${resource}: ${api.describe(err)}`,
        }),
      ),
    { key: (resource: string) => resource.toLowerCase() },
  );

  /** The membership as Google has it now, or null. */
  const read = async (group: string, identity: string): Promise<Known | null> => {
    const name = await api.lookupMembership(group, identity);
    if (!name) return null;
    const k = asKnown(await api.getMembership(name));
    if (!k) throw new Error(`${name}: Google's answer is not a membership`);
    known.set(keyOf(group, identity), k);
    return k;
  };

  const ref = (group: string, membership: string): GrantRef => ({ group, membership });

  /**
   * Moves an expiring membership's end to `end`; where `keepLater`, an end already later stays (a
   * membership found with no record of it: another grant may have set that end).
   */
  const moveExpiry = async (
    group: string,
    k: Known,
    end: string,
    keepLater: boolean,
  ): Promise<ActionResult> => {
    if (k.expiry === null) return { status: "applied", preexisting: true, output: PREEXISTING_NOTE };
    if (keepLater && Date.parse(k.expiry) >= Date.parse(end))
      return {
        status: "applied",
        ref: ref(group, k.name),
        output: `the membership already lasts until ${k.expiry}`,
      };
    const was = k.expiry;
    await api.setExpiry(k.name, end);
    k.expiry = end;
    return { status: "applied", ref: ref(group, k.name), output: `expiry ${was} -> ${end}` };
  };

  const create = async (group: string, c: TargetCall, end: string): Promise<ActionResult> => {
    let op;
    try {
      op = await api.create(group, c.identity, end);
    } catch (err) {
      const status = statusOf(err);
      // A member since the check (or a create whose answer was lost and was retried): read it back.
      if (status === 409) {
        const k = await read(group, c.identity);
        if (!k)
          return {
            status: "failed",
            error: `${c.identity}: Google says the membership exists but cannot find it; the next run tries again`,
          };
        return moveExpiry(group, k, end, true);
      }
      if (status === 404)
        return {
          status: "skipped",
          reason: `Google knows no user or group with the email ${c.identity}: add the account, or map this email to it (identities:)`,
        };
      throw err;
    }
    if (op.done && op.error)
      return {
        status: "failed",
        error: `Google did not add the membership: ${op.error.message ?? `error ${op.error.code}`}`,
      };
    const name = op.done ? asKnown(op.response)?.name : undefined;
    if (name) {
      const made = { name, expiry: end, roles: ["MEMBER"] };
      known.set(keyOf(group, c.identity), made);
      listed.get(group)?.set(c.identity.toLowerCase(), made);
      return { status: "applied", ref: ref(group, name), output: `${name} until ${end}` };
    }
    // An operation Google has not finished (v1 offers no way to poll it): the membership is there
    // once it is found.
    const k = await read(group, c.identity);
    if (k)
      return {
        status: "applied",
        ref: ref(group, k.name),
        output: `${k.name} until ${k.expiry ?? "no expiry"}`,
      };
    return {
      status: "failed",
      error: `Google has not finished adding ${c.identity}; the next run checks again`,
    };
  };

  const guarded = async (what: string, fn: () => Promise<ActionResult>): Promise<ActionResult> => {
    try {
      return await fn();
    } catch (err) {
      return { status: "failed", error: `${what}: ${api.describe(err)}` };
    }
  };

  /**
   * Extend and shorten: the held membership's expiry moves, in one call where the ledger kept its
   * name. One that has gone meanwhile is added again by an extend; a shorten has nothing left to do.
   */
  const changeEnd = (c: TargetCall, kind: "extend" | "shorten") =>
    guarded(c.resource, async () => {
      const end = iso(c.end);
      const held = [c.ref, ...(c.grants ?? []).map((g) => g.ref)].find((r) => r?.membership && r.group);
      if (held?.membership && held.group) {
        try {
          await api.setExpiry(held.membership, end);
          return { status: "applied", ref: ref(held.group, held.membership), output: `expiry -> ${end}` };
        } catch (err) {
          if (statusOf(err) !== 404) throw err;
        }
      }
      const group = await findGroup(c.resource);
      if (!group.ok) return { status: "failed", error: group.error };
      const gone = (): Promise<ActionResult> | ActionResult =>
        kind === "extend"
          ? create(group.value, c, end)
          : { status: "applied", output: "not a member any more: nothing to shorten" };
      // No name kept, or the membership it names has gone (404): as Google has it now.
      const k = known.get(keyOf(group.value, c.identity)) ?? (await read(group.value, c.identity));
      if (!k) return gone();
      // Changed outside shiftgrant to have no end: it is no longer shiftgrant's to end.
      if (k.expiry === null)
        return { status: "applied", output: "the membership has no expiry now; left alone" };
      return moveExpiry(group.value, k, end, false);
    });

  return {
    capabilities: GOOGLE_GROUPS_CAPABILITIES,
    grant: (c) =>
      guarded(c.resource, async () => {
        const group = await findGroup(c.resource);
        if (!group.ok) return { status: "failed", error: group.error };
        const end = iso(c.end);
        const k = known.get(keyOf(group.value, c.identity));
        if (k) return moveExpiry(group.value, k, end, true);
        return create(group.value, c, end);
      }),
    extend: (c) => changeEnd(c, "extend"),
    shorten: (c) => changeEnd(c, "shorten"),
    revoke: (c) =>
      guarded(c.resource, async () => {
        let name = (c.grants ?? []).map((g) => g.ref?.membership).find((m) => m !== undefined);
        if (!name) {
          const group = await findGroup(c.resource);
          if (!group.ok) return { status: "failed", error: group.error };
          name =
            known.get(keyOf(group.value, c.identity))?.name ??
            (await api.lookupMembership(group.value, c.identity)) ??
            undefined;
          if (!name) return { status: "applied", output: "404: not a member already" };
        }
        const removed = await api.remove(name);
        // What this run knows of the group no longer has this membership.
        for (const [key, k] of known) if (k.name === name) known.delete(key);
        for (const all of listed.values()) for (const [id, k] of all) if (k.name === name) all.delete(id);
        return removed ? { status: "applied" } : { status: "applied", output: "404: not a member already" };
      }),
    async hasAccess(identity: string, resource: string): Promise<AccessCheck> {
      const group = await findGroup(resource);
      if (!group.ok) return { status: "failed", error: group.error };
      try {
        // A group listed in this run needs no lookup: what the listing has not, is not there.
        const all = listed.get(group.value);
        const k = all ? (all.get(identity.toLowerCase()) ?? null) : await read(group.value, identity);
        if (k) known.set(keyOf(group.value, identity), k);
        // Only a membership with no end is the person's own access; one with an expiry is a grant
        // (shiftgrant's, from a ledger that was lost) and is continued, not left alone.
        return k && k.expiry === null ? { status: "member" } : { status: "absent" };
      } catch (err) {
        return { status: "failed", error: api.describe(err) };
      }
    },
    async listMembers(resource: string) {
      const group = await findGroup(resource);
      if (!group.ok) return { status: "failed", error: group.error };
      try {
        const identities: string[] = [];
        const all = new Map<string, Known>();
        for (const m of await api.list(group.value)) {
          const k = asKnown(m);
          const id = m.preferredMemberKey?.id;
          if (k && id) all.set(id.toLowerCase(), k);
          // Owners and managers run the group (shiftgrant's own service account among them): never
          // members that a rota decides.
          if (!k || !id || k.roles.some((r) => r !== "MEMBER")) continue;
          known.set(keyOf(group.value, id), k);
          identities.push(id.toLowerCase());
        }
        listed.set(group.value, all);
        return { status: "listed", identities };
      } catch (err) {
        return { status: "failed", error: api.describe(err) };
      }
    },
    // A token proves the credentials; it changes nothing.
    async check() {
      try {
        const who = await api.whoAmI();
        return { ok: true, detail: `${who}: credentials accepted; Cloud Identity at ${config.baseUrl}` };
      } catch (err) {
        return { ok: false, detail: api.describe(err) };
      }
    },
  };
}

/** Google takes RFC 3339 times; whole seconds are all shiftgrant's ends carry. */
function iso(t: TargetCall["end"]): string {
  return t.toUTC().toISO({ suppressMilliseconds: true }) ?? t.toUTC().toString();
}

function asKnown(m: Membership | { [key: string]: unknown } | null | undefined): Known | null {
  if (!m || typeof m !== "object") return null;
  const o = m as Membership;
  if (typeof o.name !== "string") return null;
  const roles = (o.roles ?? []).map((r) => r.name ?? "");
  const member = (o.roles ?? []).find((r) => r.name === "MEMBER");
  const expiry = member?.expiryDetail?.expireTime;
  return { name: o.name, expiry: typeof expiry === "string" && expiry ? expiry : null, roles };
}
