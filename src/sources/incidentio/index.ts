import type { ApiSourceConfig } from "../../config/load.js";
import type { Source, SourceDeps } from "../types.js";

// Being written in this session; replaced before it lands.
export function createIncidentioSource(_config: ApiSourceConfig, _deps: SourceDeps): Source {
  throw new Error("the incidentio source is not built yet");
}
