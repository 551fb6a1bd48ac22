import type { TargetConfig } from "../config/load.js";
import { createCommandTarget } from "./command/index.js";
import { createHttpTarget } from "./http/index.js";
import { createStrongdmTarget } from "./strongdm/index.js";
import { createTeleportTarget } from "./teleport/index.js";
import type { Target, TargetDeps } from "./types.js";

/** Every target type, in one explicit map; a test checks it against the folders. */
export const TARGET_TYPES = {
  strongdm: (c: TargetConfig, d: TargetDeps) =>
    createStrongdmTarget(c as Extract<TargetConfig, { type: "strongdm" }>, d),
  command: (c: TargetConfig, d: TargetDeps) =>
    createCommandTarget(c as Extract<TargetConfig, { type: "command" }>, d),
  teleport: (c: TargetConfig, d: TargetDeps) =>
    createTeleportTarget(c as Extract<TargetConfig, { type: "teleport" }>, d),
  http: (c: TargetConfig, d: TargetDeps) => createHttpTarget(c as Extract<TargetConfig, { type: "http" }>, d),
} satisfies Record<TargetConfig["type"], (c: TargetConfig, d: TargetDeps) => Target>;

export function createTarget(config: TargetConfig, deps: TargetDeps): Target {
  return TARGET_TYPES[config.type](config, deps);
}
