import type { ApiSourceConfig, SourceConfig } from "../config/load.js";
import { createFileSource } from "./file/index.js";
import { createIncidentioSource } from "./incidentio/index.js";
import { createOpsgenieSource } from "./opsgenie/index.js";
import { createPagerdutySource } from "./pagerduty/index.js";
import type { Source, SourceDeps } from "./types.js";

/** Every source type, in one explicit map; a test checks it against the folders. */
export const SOURCE_TYPES = {
  pagerduty: (c: SourceConfig, d: SourceDeps) => createPagerdutySource(c as ApiSourceConfig, d),
  opsgenie: (c: SourceConfig, d: SourceDeps) => createOpsgenieSource(c as ApiSourceConfig, d),
  incidentio: (c: SourceConfig, d: SourceDeps) => createIncidentioSource(c as ApiSourceConfig, d),
  file: (c: SourceConfig) => {
    const f = c as Extract<SourceConfig, { type: "file" }>;
    return createFileSource({ path: f.path, name: f.name });
  },
} satisfies Record<SourceConfig["type"], (c: SourceConfig, d: SourceDeps) => Source>;

export function createSource(config: SourceConfig, deps: SourceDeps): Source {
  return SOURCE_TYPES[config.type](config, deps);
}
