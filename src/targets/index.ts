import type { z } from "zod";
import type { NormalizeContext } from "../core/fields.js";
import { aponoTarget } from "./apono/index.js";
import { awsIdentityCenterTarget } from "./aws-identity-center/index.js";
import { commandTarget } from "./command/index.js";
import { targetRegistry, type TargetDefinition } from "./define.js";
import { githubTarget } from "./github/index.js";
import { googleGroupsTarget } from "./google-groups/index.js";
import { httpTarget } from "./http/index.js";
import { oktaTarget } from "./okta/index.js";
import { strongdmTarget } from "./strongdm/index.js";
import { teleportTarget } from "./teleport/index.js";
import type { Target, TargetCapabilities, TargetDeps } from "./types.js";

/**
 * Every target type, one line each, in the order the config schema, `init` and `--help` list them.
 * A type's folder declares all the rest (see define.ts); a test checks this map against the folders.
 */
export const TARGETS = targetRegistry({
  strongdm: strongdmTarget,
  teleport: teleportTarget,
  command: commandTarget,
  http: httpTarget,
  okta: oktaTarget,
  github: githubTarget,
  "aws-identity-center": awsIdentityCenterTarget,
  "google-groups": googleGroupsTarget,
  apono: aponoTarget,
});

type Definitions = typeof TARGETS;
export type TargetType = keyof Definitions;
type ConfigOf<K extends TargetType> = ReturnType<Definitions[K]["normalize"]>;
type RawOf<K extends TargetType> = z.output<Definitions[K]["schema"]>;

/** A target as the config resolves it: one of the registered types' own configs. */
export type TargetConfig = { [K in TargetType]: ConfigOf<K> }[TargetType];
/** A target as written in the config, once its schema accepts it. */
export type RawTarget = { [K in TargetType]: RawOf<K> }[TargetType];

// Written per type so that a definition's functions are called with that same type's config: the
// compiler checks the pairing, and no cast is needed.
const BY_TYPE: { [K in TargetType]: TargetDefinition<K, Definitions[K]["schema"], ConfigOf<K>> } = TARGETS;

function normalizeAs<K extends TargetType>(type: K, raw: RawOf<K>, ctx: NormalizeContext): ConfigOf<K> {
  return BY_TYPE[type].normalize(raw, ctx);
}

function createAs<K extends TargetType>(type: K, config: ConfigOf<K>, deps: TargetDeps): Target {
  return BY_TYPE[type].create(config, deps);
}

function capabilitiesAs<K extends TargetType>(type: K, config: ConfigOf<K>): TargetCapabilities {
  return BY_TYPE[type].capabilities(config);
}

function warningsAs<K extends TargetType>(type: K, config: ConfigOf<K>): string[] {
  return BY_TYPE[type].warnings?.(config) ?? [];
}

/** Normalises a target the schema accepted: its defaults, paths and checks (problems go to ctx). */
export function normalizeTarget(raw: RawTarget, ctx: NormalizeContext): TargetConfig {
  return normalizeAs(raw.type, raw, ctx);
}

export function createTarget(config: TargetConfig, deps: TargetDeps): Target {
  return createAs(config.type, config, deps);
}

function credentialProblemsAs<K extends TargetType>(
  type: K,
  config: ConfigOf<K>,
  env: NodeJS.ProcessEnv,
): Promise<string[]> {
  return BY_TYPE[type].credentialProblems?.(config, env) ?? Promise.resolve([]);
}

/** What makes a target's outside credentials unusable before any call (its definition says; exit 2). */
export function targetCredentialProblems(config: TargetConfig, env: NodeJS.ProcessEnv): Promise<string[]> {
  return credentialProblemsAs(config.type, config, env);
}

/** What `validate` warns about in a target's accepted config (e.g. source text inside a shell's code). */
export function targetWarnings(config: TargetConfig): string[] {
  return warningsAs(config.type, config);
}

function resourceProblemAs<K extends TargetType>(
  type: K,
  config: ConfigOf<K>,
  resource: string,
): string | null {
  return BY_TYPE[type].resourceProblem?.(config, resource) ?? null;
}

/** Why a rule cannot name this resource on the target (a type whose config lists its resources), or null. */
export function targetResourceProblem(config: TargetConfig, resource: string): string | null {
  return resourceProblemAs(config.type, config, resource);
}

/** What a configured target can do, without building it (the plan and `grants` need only this). */
export function capabilitiesOf(config: TargetConfig): TargetCapabilities {
  return capabilitiesAs(config.type, config);
}

/** The target types that can list a resource's members, and so take `exclusive` resources. */
export function targetTypesListingMembers(): TargetType[] {
  return Object.values(TARGETS)
    .filter((d) => d.listsMembers)
    .map((d) => d.type);
}
