import { formatUtc } from "../../core/time.js";
import {
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

export const teleportTarget = defineTarget({
  schema: teleportSchema,
  tokenEnv: null,
  listsMembers: false,
  capabilities: () => TELEPORT_CAPABILITIES,
  normalize: normalizeTeleport,
  create: createTeleportTarget,
  starter: teleportStarter,
});

/**
 * Teleport: access-list membership with an expiry, through `tctl`. The access list (RESOURCE) grants
 * its roles to members when they sign in. `acl users add` is an upsert, so an extension is the same
 * call with a later expiry, and a cut to an earlier end (a shift handed over) the same call with the
 * earlier expiry; `acl users rm` revokes. A membership cannot start in the future, so the
 * plan waits (`wait`) until the shift begins.
 *
 *   tctl [args...] acl users add LIST IDENTITY END REASON
 *   tctl [args...] acl users rm LIST IDENTITY
 */
export const TELEPORT_CAPABILITIES: TargetCapabilities = {
  futureStart: false,
  revoke: true,
  extendInPlace: true,
  shortenInPlace: true,
  expires: true,
  memberships: false,
  listsMembers: false,
  identity: "email",
};

export function createTeleportTarget(config: TeleportConfig, deps: TargetDeps): Target {
  const env = childEnv(deps.env, config.env);
  const run = async (argv: string[]): Promise<ActionResult> =>
    toResult(
      await deps.exec([config.command, ...config.args, ...argv], { env, timeoutMs: config.timeoutMs }),
    );
  const add = (call: TargetCall) =>
    run(["acl", "users", "add", call.resource, call.identity, formatUtc(call.end), call.reason]);
  return {
    capabilities: TELEPORT_CAPABILITIES,
    grant: add,
    extend: add,
    shorten: add,
    revoke: (call) => run(["acl", "users", "rm", call.resource, call.identity]),
    // `tctl status` authenticates against the cluster and changes nothing.
    async check() {
      if (!(await findExecutable(config.command, env))) {
        return {
          ok: false,
          detail: `${config.command} is not found (set command: to its full path, or fix PATH)`,
        };
      }
      const res = await deps.exec([config.command, ...config.args, "status"], {
        env,
        timeoutMs: config.timeoutMs,
      });
      return res.ok
        ? {
            ok: true,
            detail: `${config.command} status answers (${res.stdout.split("\n")[0] || "no output"})`,
          }
        : { ok: false, detail: res.error };
    },
  };
}
