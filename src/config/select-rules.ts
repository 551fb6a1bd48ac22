import { UsageError } from "../errors.js";
import type { Config, RuleConfig } from "./types.js";

/**
 * The rules a run works on: all of them, or those named with `--rule` (in config order). A name
 * that matches no rule is a usage error that lists the rules there are, rather than a run that
 * silently does nothing.
 */
export function selectRules(config: Config, names: string[]): RuleConfig[] {
  if (names.length === 0) return config.rules;
  const unknown = names.filter((n) => !config.rules.some((r) => r.name === n));
  if (unknown.length > 0) {
    throw new UsageError(
      `--rule: no rule named ${unknown.map((n) => `"${n}"`).join(", ")} (rules: ${config.rules.map((r) => r.name).join(", ")})`,
    );
  }
  return config.rules.filter((r) => names.includes(r.name));
}
