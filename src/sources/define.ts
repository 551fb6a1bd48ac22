import type { z } from "zod";
import type { NormalizeContext } from "../core/fields.js";
import type { Source, SourceDeps } from "./types.js";

/** A source's config schema: a strict object whose `type` is the source type's name. */
export type SourceSchema = z.ZodObject<{ type: z.ZodLiteral<string> }, z.core.$strict>;

/** What a rule may ask of a source beyond schedules; the config refuses a rule that asks for more. */
export type SourceFeatures = {
  /** `incidents:` rules: whoever acknowledged an open incident (the source has fetchAcknowledgements). */
  incidents: boolean;
  /** `escalationLevels:` in a rule: its shifts carry a level. */
  escalationLevels: boolean;
};

/** A source's part of the config `shiftgrant init` writes: its YAML lines, token variables, rule lines. */
export type SourceStarter = {
  /** The source's name in the starter config. */
  name: string;
  /** Its keys, indented as under `sources.NAME:`. */
  yaml: string[];
  /** The environment variables it needs. */
  env: string[];
  /** The rule's lines that name what to read (schedules), indented as in a rule. */
  schedules: string[];
};

/**
 * Everything shiftgrant knows about one source type, declared by the type's folder: the config it
 * accepts, how that config is normalised (defaults, paths, checks), how a source is made from it, and
 * what `init` and `--help` say about it. `create` receives exactly what `normalize` returned.
 */
export type SourceDefinition<T extends string, S extends SourceSchema, C> = {
  type: T;
  schema: S;
  /** The variable the token is read from unless `tokenEnv` or `tokenFile` says; null: it has none. */
  tokenEnv: string | null;
  features: SourceFeatures;
  normalize(raw: z.output<S>, ctx: NormalizeContext): C;
  create(config: C, deps: SourceDeps): Source;
  /**
   * Files whose content decides who gets access (a rota): whoever can write them can grant
   * themselves access, so their permissions are checked. `role` names it in a warning.
   */
  accessFiles?(config: C): { role: string; path: string }[];
  starter: SourceStarter;
};

type TypeOf<S extends SourceSchema> = z.output<S>["type"];

/**
 * Pairs a source type's schema with its normalisation and factory, so that their types agree. The
 * resolved config's type is what `normalize` returns; a factory written for a wider config (the HTTP
 * sources' ApiSourceConfig) is passed as an arrow, so that it does not widen that type.
 */
export function defineSource<S extends SourceSchema, C extends { name: string; type: TypeOf<S> }>(
  def: Omit<SourceDefinition<TypeOf<S>, S, C>, "type">,
): SourceDefinition<TypeOf<S>, S, C> {
  return { type: def.schema.shape.type.value, ...def };
}

/** The registry's shape: each key is the type of the definition it names. */
export function sourceRegistry<R extends { [K in keyof R]: { type: K } }>(definitions: R): R {
  return definitions;
}
