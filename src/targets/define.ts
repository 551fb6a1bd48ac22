import path from "node:path";
import { z } from "zod";
import { duration, durationMs, type NormalizeContext, type ResolvePath } from "../core/fields.js";
import { normalizeEmail } from "../core/identity.js";
import type { Target, TargetCapabilities, TargetDeps } from "./types.js";

/** A target's config schema: a strict object whose `type` is the target type's name. */
export type TargetSchema = z.ZodObject<{ type: z.ZodLiteral<string> }, z.core.$strict>;

/** A target's part of the config `shiftgrant init` writes: its YAML lines, token variables, rule lines. */
export type TargetStarter = {
  /** The target's name in the starter config. */
  name: string;
  /** Its keys, indented as under `targets.NAME:`. */
  yaml: string[];
  /** The environment variables it needs. */
  env: string[];
  /** The rule's `resources:` line, indented as in a rule. */
  resources: string[];
};

/** What every target's resolved config holds, whatever its type. */
export type TargetCommon = {
  name: string;
  concurrency: number;
  timeoutMs: number;
  /** This target's own map (source email -> identity), applied after the top-level one. */
  identities: Map<string, string>;
  /** Resources whose whole membership shiftgrant owns. */
  exclusive: string[];
};

/**
 * Everything shiftgrant knows about one target type, declared by the type's folder: the config it
 * accepts, how that config is normalised (defaults, paths, checks), how a target is made from it, and
 * what `init` and `--help` say about it. `create` receives exactly what `normalize` returned.
 */
export type TargetDefinition<T extends string, S extends TargetSchema, C> = {
  type: T;
  schema: S;
  /** The variable the token is read from unless `tokenEnv` or `tokenFile` says; null: none by default. */
  tokenEnv: string | null;
  /**
   * It can list a resource's members, so the config accepts `exclusive` resources on it. Its
   * capabilities' `listsMembers` says the same (a test checks it).
   */
  listsMembers: boolean;
  /** What a configured target of this type can do, without building it (the plan needs only this). */
  capabilities(config: C): TargetCapabilities;
  normalize(raw: z.output<S>, ctx: NormalizeContext): C;
  create(config: C, deps: TargetDeps): Target;
  /** What `validate` warns about in a config it accepts (a risky but valid setting). */
  warnings?(config: C): string[];
  /**
   * Why a rule cannot name `resource` on this target, for a type whose config lists its resources
   * or whose resources have a syntax of their own (null: it can). A config error, found before any
   * run.
   */
  resourceProblem?(config: C, resource: string): string | null;
  /**
   * Keys someone may write here that the type refuses for a reason of its own (credentials that
   * must come from elsewhere): key -> what to do instead. The schema refuses them as unknown keys;
   * this says why.
   */
  refusedKeys?: Readonly<Record<string, string>>;
  /**
   * For a type whose credentials come from outside the config (a vendor's default chain): what makes
   * them unusable before any call (a credentials file named but missing), reported with the missing
   * secrets (exit 2). Never includes a credential's content.
   */
  credentialProblems?(config: C, env: NodeJS.ProcessEnv): Promise<string[]>;
  starter: TargetStarter;
};

type TypeOf<S extends TargetSchema> = z.output<S>["type"];

/** Pairs a target type's schema with its normalisation and factory, so that their types agree. */
export function defineTarget<S extends TargetSchema, C extends TargetCommon & { type: TypeOf<S> }>(
  def: Omit<TargetDefinition<TypeOf<S>, S, C>, "type">,
): TargetDefinition<TypeOf<S>, S, C> {
  return { type: def.schema.shape.type.value, ...def };
}

/** The registry's shape: each key is the type of the definition it names. */
export function targetRegistry<R extends { [K in keyof R]: { type: K } }>(definitions: R): R {
  return definitions;
}

export const DEFAULT_TARGET_CONCURRENCY = 4;
export const DEFAULT_TARGET_TIMEOUT_MS = 60_000;

/** The keys every target has, after its own. */
export const targetFields = {
  concurrency: z
    .number()
    .int()
    .min(1)
    .max(64)
    .optional()
    .meta({ description: `Calls in flight at once (default ${DEFAULT_TARGET_CONCURRENCY}).` }),
  timeout: duration.optional().meta({ description: "Time allowed for one call (default 60s)." }),
  identities: z.record(z.string(), z.string()).optional().meta({
    description:
      "Source email -> identity in this target only; applied after the top-level identities, and wins over them.",
  }),
  exclusive: z.array(z.string().min(1)).optional().meta({
    description:
      "Resources whose whole membership shiftgrant owns: each run removes every member not on call. Only on targets that can list members.",
  }),
};

/**
 * The keys of targetFields, resolved. A target's own identity map is keyed as emails are compared;
 * its values are checked against the target's identity kind when the plan is made, not here (a
 * GitHub login is no email). Whether the type takes `exclusive` is a config rule (rules.ts).
 */
export function normalizeTargetFields(
  raw: {
    concurrency?: number | undefined;
    timeout?: string | undefined;
    identities?: Record<string, string> | undefined;
    exclusive?: string[] | undefined;
  },
  ctx: NormalizeContext,
): TargetCommon {
  const identities = new Map<string, string>();
  for (const [from, to] of Object.entries(raw.identities ?? {})) {
    identities.set(normalizeEmail(from), to.trim());
  }
  return {
    name: ctx.name,
    concurrency: raw.concurrency ?? DEFAULT_TARGET_CONCURRENCY,
    timeoutMs: durationMs(raw.timeout, DEFAULT_TARGET_TIMEOUT_MS),
    identities,
    exclusive: [...new Set(raw.exclusive ?? [])],
  };
}

/** An argv list, as the `command` target's `grant` and strongDM's `grantArgs` are written. */
export const argvTemplate = z
  .array(z.string(), {
    // A command line written as one string is the usual mistake: show it split into an argv.
    error: (issue) =>
      typeof issue.input === "string"
        ? `expected an argv list, not one string: write ${JSON.stringify(issue.input.split(/\s+/).filter(Boolean))} (one item per argument; no shell runs it)`
        : 'expected an argv list, e.g. ["/usr/local/bin/grant", "{identity}", "{resource}"]',
  })
  .min(1, "the argv list needs at least the executable");

/**
 * `./grant.sh` (or any relative path with a `/`) in a config means the file beside the config,
 * wherever cron starts from; `~/bin/grant` is in the home directory. A bare name (`sdm`) is looked
 * up on PATH.
 */
export function resolveExecutable(exe: string, at: string, resolvePath: ResolvePath): string {
  return exe.includes("/") && !path.isAbsolute(exe) ? resolvePath(exe, at) : exe;
}

/** An argv list with its executable resolved as resolveExecutable does. */
export function resolveArgv(argv: string[], at: string, resolvePath: ResolvePath): string[] {
  const [exe, ...rest] = argv as [string, ...string[]];
  return [resolveExecutable(exe, at, resolvePath), ...rest];
}
