import {
  cannotShorten,
  childEnv,
  toResult,
  findExecutable,
  SELF_ENDING_GRANTS,
  type Target,
  type TargetCapabilities,
  type TargetCall,
  type TargetDeps,
} from "../types.js";
import { defineTarget } from "../define.js";
import { fillTemplate } from "../template.js";
import {
  normalizeStrongdm,
  STRONGDM_TOKEN_ENV,
  strongdmSchema,
  strongdmStarter,
  type StrongdmConfig,
} from "./config.js";

export const strongdmTarget = defineTarget({
  schema: strongdmSchema,
  tokenEnv: STRONGDM_TOKEN_ENV,
  listsMembers: false,
  capabilities: () => STRONGDM_CAPABILITIES,
  normalize: normalizeStrongdm,
  create: createStrongdmTarget,
  starter: strongdmStarter,
});

/** `sdm admin users grant-temporary --from START --until END RESOURCE IDENTITY` (docs/contract.md, the exact calls). */
export const DEFAULT_GRANT_ARGS = [
  "admin",
  "users",
  "grant-temporary",
  "--from",
  "{start}",
  "--until",
  "{end}",
  "{resource}",
  "{identity}",
];

export const STRONGDM_CAPABILITIES: TargetCapabilities = SELF_ENDING_GRANTS;

/**
 * strongDM: temporary grants through the `sdm` CLI, authenticated by SDM_ADMIN_TOKEN in the child's
 * environment (never in argv). strongDM expires grants itself and its grants cannot be edited, so an
 * extension is a new grant from the held end, and there is no revoke.
 */
export function createStrongdmTarget(config: StrongdmConfig, deps: TargetDeps): Target {
  const args = config.grantArgs ?? DEFAULT_GRANT_ARGS;
  const env = { ...childEnv(deps.env), ...(deps.token ? { SDM_ADMIN_TOKEN: deps.token } : {}) };
  const grant = async (call: TargetCall) =>
    toResult(
      await deps.exec([config.command, ...fillTemplate(args, call)], { env, timeoutMs: config.timeoutMs }),
    );
  return {
    capabilities: STRONGDM_CAPABILITIES,
    grant,
    extend: grant,
    shorten: cannotShorten,
    revoke: async () => ({
      status: "failed",
      error: "strongdm grants cannot be revoked by shiftgrant; they expire at their end",
    }),
    async check() {
      const found = await findExecutable(config.command, env);
      if (!found)
        return {
          ok: false,
          detail: `${config.command} is not found (set command: to its full path, or fix PATH)`,
        };
      if (!deps.token) return { ok: false, detail: "no admin token" };
      const res = await deps.exec([config.command, "--version"], { env, timeoutMs: config.timeoutMs });
      return res.ok
        ? {
            ok: true,
            detail: `${found} runs (${res.stdout.split("\n")[0] || "no version printed"}); the admin token is set`,
          }
        : { ok: false, detail: `${found} --version failed: ${res.error}` };
    },
  };
}
