import { loadConfig } from "../config/load.js";
import { resolveSecrets } from "../config/secrets.js";
import type { ExitCode } from "../errors.js";
import type { CommandDeps } from "./context.js";

export type ValidateOptions = { config: string; online: boolean };

/**
 * Offline checks: the schema, references between sections, durations, and that every secret the
 * config names is present. Any problem is a ConfigError (exit 2) listing all of them.
 */
export async function runValidate(opts: ValidateOptions, deps: CommandDeps): Promise<ExitCode> {
  const config = await loadConfig(opts.config);
  await resolveSecrets(config, deps.env, deps.redactor);
  const lines = [
    `config ${config.file} is valid:`,
    `  ${config.sources.size} source(s): ${[...config.sources.values()].map((s) => `${s.name} (${s.type})`).join(", ")}`,
    `  ${config.targets.size} target(s): ${[...config.targets.values()].map((t) => `${t.name} (${t.type})`).join(", ")}`,
    `  ${config.rules.length} rule(s): ${config.rules.map((r) => r.name).join(", ")}`,
    `  every secret it names is set`,
  ];
  deps.stdout.write(`${lines.join("\n")}\n`);
  return 0;
}
