import {
  cannotShorten,
  childEnv,
  findExecutable,
  toResult,
  type ActionResult,
  type Target,
  type TargetCall,
  type TargetCapabilities,
  type TargetDeps,
} from "../types.js";
import { defineTarget } from "../define.js";
import { fillTemplate } from "../template.js";
import { commandSchema, commandStarter, normalizeCommand, type CommandConfig } from "./config.js";
import { inlineCodeWarnings } from "./shell.js";

export const commandTarget = defineTarget({
  schema: commandSchema,
  tokenEnv: null,
  listsMembers: false,
  capabilities: commandCapabilities,
  normalize: normalizeCommand,
  create: createCommandTarget,
  // Templates that hand source-controlled text to a shell as code (see inlineCodeWarnings).
  warnings: (config) => [
    ...inlineCodeWarnings(config.grant, `targets.${config.name}.grant`),
    ...(config.revoke ? inlineCodeWarnings(config.revoke, `targets.${config.name}.revoke`) : []),
  ],
  starter: commandStarter,
});

/**
 * With `expires: false` the command cannot end a grant by itself: shiftgrant runs `revoke` at the
 * end, grants nothing before its start, and treats the access as one membership per resource and
 * identity, whatever the number of rules behind it.
 */
export function commandCapabilities(config: CommandConfig): TargetCapabilities {
  return {
    futureStart: config.expires,
    revoke: config.revoke !== null,
    extendInPlace: false,
    shortenInPlace: false,
    expires: config.expires,
    memberships: !config.expires,
    listsMembers: false,
    identity: "email",
  };
}

/**
 * Any command: the `grant` argv (and `revoke`, if given) with placeholders filled in, run without a
 * shell. The child sees PATH, HOME, the token variable (if the target names one) and the variables
 * listed in `env`, nothing else.
 */
export function createCommandTarget(config: CommandConfig, deps: TargetDeps): Target {
  const env = childEnv(deps.env, config.env);
  if (config.secret && deps.token) env[config.secret.tokenEnv || "SHIFTGRANT_TOKEN"] = deps.token;
  const run = async (argv: readonly string[], call: TargetCall): Promise<ActionResult> => {
    return toResult(await deps.exec(fillTemplate(argv, call), { env, timeoutMs: config.timeoutMs }));
  };
  const revoke = config.revoke;
  return {
    capabilities: commandCapabilities(config),
    grant: (call) => run(config.grant, call),
    extend: (call) => run(config.grant, call),
    shorten: cannotShorten,
    revoke: (call) =>
      revoke
        ? run(revoke, call)
        : Promise.resolve({ status: "failed", error: `target ${config.name} has no revoke command` }),
    // The commands themselves are never run by a check (they would grant): they must only be there.
    async check() {
      const missing: string[] = [];
      for (const argv of [config.grant, ...(revoke ? [revoke] : [])]) {
        if (!(await findExecutable(argv[0] as string, env))) missing.push(argv[0] as string);
      }
      return missing.length === 0
        ? {
            ok: true,
            detail: `${[config.grant[0], revoke?.[0]].filter(Boolean).join(" and ")} found and executable`,
          }
        : { ok: false, detail: `not found or not executable: ${missing.join(", ")}` };
    },
  };
}
