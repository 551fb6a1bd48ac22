import type { TargetConfig } from "../config/load.js";
import { commandCapabilities, createCommandTarget } from "./command/index.js";
import { createHttpTarget, httpCapabilities } from "./http/index.js";
import { createStrongdmTarget, STRONGDM_CAPABILITIES } from "./strongdm/index.js";
import { createTeleportTarget, TELEPORT_CAPABILITIES } from "./teleport/index.js";
import type { Target, TargetCapabilities, TargetDeps } from "./types.js";

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

/** What a configured target can do, without building it (the plan and `grants` need only this). */
export function capabilitiesOf(config: TargetConfig): TargetCapabilities {
  switch (config.type) {
    case "command":
      return commandCapabilities(config);
    case "http":
      return httpCapabilities(config);
    case "strongdm":
      return STRONGDM_CAPABILITIES;
    case "teleport":
      return TELEPORT_CAPABILITIES;
  }
}
