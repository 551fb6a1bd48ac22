import type { z } from "zod";
import type { NormalizeContext } from "../core/fields.js";
import { sourceRegistry, type SourceDefinition, type SourceFeatures } from "./define.js";
import { fileSource } from "./file/index.js";
import { incidentioSource } from "./incidentio/index.js";
import { opsgenieSource } from "./opsgenie/index.js";
import { pagerdutySource } from "./pagerduty/index.js";
import type { Source, SourceDeps } from "./types.js";

/**
 * Every source type, one line each, in the order the config schema, `init` and `--help` list them.
 * A type's folder declares all the rest (see define.ts); a test checks this map against the folders.
 */
export const SOURCES = sourceRegistry({
  pagerduty: pagerdutySource,
  opsgenie: opsgenieSource,
  incidentio: incidentioSource,
  file: fileSource,
});

type Definitions = typeof SOURCES;
export type SourceType = keyof Definitions;
type ConfigOf<K extends SourceType> = ReturnType<Definitions[K]["normalize"]>;
type RawOf<K extends SourceType> = z.output<Definitions[K]["schema"]>;

/** A source as the config resolves it: one of the registered types' own configs. */
export type SourceConfig = { [K in SourceType]: ConfigOf<K> }[SourceType];
/** A source as written in the config, once its schema accepts it. */
export type RawSource = { [K in SourceType]: RawOf<K> }[SourceType];

// Written per type so that a definition's functions are called with that same type's config: the
// compiler checks the pairing, and no cast is needed.
const BY_TYPE: { [K in SourceType]: SourceDefinition<K, Definitions[K]["schema"], ConfigOf<K>> } = SOURCES;

function normalizeAs<K extends SourceType>(type: K, raw: RawOf<K>, ctx: NormalizeContext): ConfigOf<K> {
  return BY_TYPE[type].normalize(raw, ctx);
}

function createAs<K extends SourceType>(type: K, config: ConfigOf<K>, deps: SourceDeps): Source {
  return BY_TYPE[type].create(config, deps);
}

function accessFilesAs<K extends SourceType>(type: K, config: ConfigOf<K>): { role: string; path: string }[] {
  return BY_TYPE[type].accessFiles?.(config) ?? [];
}

/** Normalises a source the schema accepted: its defaults, paths and checks (problems go to ctx). */
export function normalizeSource(raw: RawSource, ctx: NormalizeContext): SourceConfig {
  return normalizeAs(raw.type, raw, ctx);
}

export function createSource(config: SourceConfig, deps: SourceDeps): Source {
  return createAs(config.type, config, deps);
}

/** Files whose content decides who gets access through this source (a rota). */
export function sourceAccessFiles(config: SourceConfig): { role: string; path: string }[] {
  return accessFilesAs(config.type, config);
}

/** The source types that can serve a rule asking for this feature. */
export function sourceTypesWith(feature: keyof SourceFeatures): string[] {
  return Object.values(SOURCES)
    .filter((d) => d.features[feature])
    .map((d) => d.type);
}
