import { DateTime } from "luxon";
import { formatUtc } from "../../core/time.js";
import {
  cannotShorten,
  childEnv,
  findExecutable,
  toResult,
  type ActionResult,
  type Target,
  type TargetCapabilities,
  type TargetCall,
  type TargetDeps,
} from "../types.js";
import { defineTarget } from "../define.js";
import { normalizeTeleport, teleportSchema, teleportStarter, type TeleportConfig } from "./config.js";
import { lockTtl, parseMembers, parseRequests } from "./schema.js";

export const teleportTarget = defineTarget({
  schema: teleportSchema,
  tokenEnv: null,
  // Access lists can (`tctl acl users ls`); access requests have no membership to list.
  listsMembers: true,
  capabilities: (config) => capabilitiesOf(config),
  normalize: normalizeTeleport,
  create: createTeleportTarget,
  starter: teleportStarter,
});

/**
 * Access lists: the access list (RESOURCE) grants its roles to members when they sign in. `acl users
 * add` is an upsert, so an extension is the same call with a later expiry, and a cut to an earlier
 * end (a shift handed over) the same call with the earlier expiry; `acl users rm` revokes. A
 * membership cannot start in the future, so the plan waits (`wait`) until the shift begins.
 *
 *   tctl [args...] acl users add LIST IDENTITY END REASON
 *   tctl [args...] acl users rm LIST IDENTITY
 *   tctl [args...] acl users ls LIST --format=json        (the members of an exclusive list)
 */
export const TELEPORT_CAPABILITIES: TargetCapabilities = {
  futureStart: false,
  revoke: true,
  extendInPlace: true,
  shortenInPlace: true,
  expires: true,
  memberships: true,
  listsMembers: true,
  identity: "email",
};

/**
 * Access requests: people file their own (`tsh request create --roles ...`); shiftgrant approves the
 * pending ones of whoever is on call now, for roles among the rule's resources. An approved request
 * gives access until its own access expiry, which is not the shift's end: so shiftgrant ends it
 * itself, with a lock on the request when the shift ends (`expire`). Each request is its own grant;
 * an extension makes no call.
 *
 *   tctl [args...] requests ls --format=json                  (every run, dry runs too)
 *   tctl [args...] requests approve ID --reason REASON
 *   tctl [args...] lock --access-request=ID --message=MESSAGE --ttl=TTL
 */
export const TELEPORT_REQUEST_CAPABILITIES: TargetCapabilities = {
  futureStart: false,
  revoke: true,
  extendInPlace: false,
  shortenInPlace: false,
  expires: false,
  memberships: true,
  listsMembers: false,
  identity: "teleport-user",
  approvesRequests: true,
};

function capabilitiesOf(config: TeleportConfig): TargetCapabilities {
  return config.mode === "access-requests" ? TELEPORT_REQUEST_CAPABILITIES : TELEPORT_CAPABILITIES;
}

export function createTeleportTarget(config: TeleportConfig, deps: TargetDeps): Target {
  const env = childEnv(deps.env, config.env);
  const now = deps.now ?? (() => DateTime.utc());
  const tctl = (argv: string[]) =>
    deps.exec([config.command, ...config.args, ...argv], { env, timeoutMs: config.timeoutMs });
  const run = async (argv: string[]): Promise<ActionResult> => toResult(await tctl(argv));
  const check: Target["check"] = async () => {
    if (!(await findExecutable(config.command, env))) {
      return {
        ok: false,
        detail: `${config.command} is not found (set command: to its full path, or fix PATH)`,
      };
    }
    // `tctl status` authenticates against the cluster and changes nothing.
    const res = await tctl(["status"]);
    return res.ok
      ? { ok: true, detail: `${config.command} status answers (${res.stdout.split("\n")[0] || "no output"})` }
      : { ok: false, detail: res.error };
  };

  if (config.mode === "access-requests") {
    return {
      capabilities: TELEPORT_REQUEST_CAPABILITIES,
      async grant(call) {
        const id = call.ref?.request;
        if (!id)
          return { status: "failed", error: "no access request to approve (a grant here approves one)" };
        return run(["requests", "approve", id, "--reason", call.reason]);
      },
      // An approved request needs nothing more while it is wanted: the plan records extensions alone.
      extend: async () => ({
        status: "failed",
        error: "an approved access request is extended in the ledger alone; the plan makes no call for it",
      }),
      shorten: cannotShorten,
      revoke: (call) => lockRequests(call),
      check,
      async listRequests() {
        const res = await tctl(["requests", "ls", "--format=json"]);
        if (!res.ok) return { status: "failed", error: res.error };
        const parsed = parseRequests(res.stdout);
        return parsed.ok
          ? { status: "listed", requests: parsed.value }
          : { status: "failed", error: parsed.error };
      },
    };
  }

  const add = (call: TargetCall) =>
    run(["acl", "users", "add", call.resource, call.identity, formatUtc(call.end), call.reason]);
  return {
    capabilities: TELEPORT_CAPABILITIES,
    grant: add,
    extend: add,
    shorten: add,
    revoke: (call) => run(["acl", "users", "rm", call.resource, call.identity]),
    check,
    async listMembers(list) {
      const parsed = await members(list);
      return parsed.ok
        ? { status: "listed", identities: parsed.value.map((m) => m.name) }
        : { status: "failed", error: parsed.error };
    },
    // A member without an end was put there by someone else, for good: an `add` with the shift's
    // end would give that membership an end, so it is left alone. A member with an end (shiftgrant's
    // own after a lost ledger, or someone's temporary one) is granted as usual: the upsert moves it.
    async hasAccess(identity, list) {
      const parsed = await members(list);
      if (!parsed.ok) return { status: "failed", error: parsed.error };
      const m = parsed.value.find((x) => x.name === identity);
      return m && m.expires === null ? { status: "member" } : { status: "absent" };
    },
  };

  async function members(list: string) {
    const res = await tctl(["acl", "users", "ls", list, "--format=json"]);
    if (!res.ok) return { ok: false as const, error: res.error };
    return parseMembers(res.stdout);
  }

  /**
   * Ends the access of the requests a grant approved: a lock on each, for the time its access has
   * left (a lock is what Teleport offers to end a request's access early; the request itself stays
   * APPROVED until its access expiry, so the lock must last that long).
   */
  async function lockRequests(call: TargetCall): Promise<ActionResult> {
    const requests = new Map<string, string | undefined>();
    for (const g of call.grants ?? []) {
      const id = g.ref?.request;
      if (id) requests.set(id, g.ref?.expires ?? requests.get(id));
    }
    if (requests.size === 0) {
      return {
        status: "failed",
        error: `the ledger names no access request for ${call.identity} (${call.resource}): find it with tctl requests ls and lock it by hand (tctl lock --access-request=ID)`,
      };
    }
    const outputs: string[] = [];
    for (const [id, expires] of requests) {
      const until = expires ? DateTime.fromISO(expires, { zone: "utc" }) : null;
      // Without a known access expiry (a ledger edited by hand), two weeks: longer than any request's;
      // a lock on a request whose access has ended holds nothing back.
      const left = until?.isValid ? until.toMillis() - now().toMillis() : 14 * 24 * 3_600_000;
      const res = await run([
        "lock",
        `--access-request=${id}`,
        `--message=shiftgrant: on-call access of ${call.identity} ended (${call.reason}; rule ${call.rule})`,
        `--ttl=${lockTtl(left)}`,
      ]);
      if (res.status !== "applied") return res;
      if (res.output) outputs.push(res.output);
    }
    return { status: "applied", ...(outputs.length > 0 ? { output: outputs.join("\n") } : {}) };
  }
}
