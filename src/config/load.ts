import path from "node:path";
import { ConfigError } from "../errors.js";
import { formatIssue, inDocumentOrder } from "./issues.js";
import { normalize, pathResolver } from "./normalize.js";
import { parseText, readConfigText } from "./read.js";
import { salvage, type Salvaged } from "./salvage.js";
import { configSchema } from "./schema.js";
import type { Config, ParseOptions } from "./types.js";

export { configPath } from "./read.js";
export { formatPath } from "./document.js";
export { suggest } from "./suggest.js";
export type {
  ApiSourceConfig,
  Config,
  ConfigScope,
  ParseOptions,
  RuleConfig,
  SecretRef,
  SourceConfig,
  TargetConfig,
} from "./types.js";

/** The top-level keys read in the `sources` scope. */
const SOURCE_SCOPE_KEYS = ["$schema", "version", "concurrency", "http", "sources"] as const;
const sourceScopeSchema = configSchema.pick({
  $schema: true,
  version: true,
  concurrency: true,
  http: true,
  sources: true,
});

/** Read → parse → validate (every problem at once) → normalize. Throws ConfigError. */
export async function loadConfig(file: string, opts: ParseOptions = {}): Promise<Config> {
  return parseConfig(await readConfigText(file), file, opts);
}

/**
 * Parses and validates a config's text. Every problem is reported at once: the schema's, and those
 * found by checking references and values on every part that is valid on its own, so that one typo
 * does not hide the next.
 */
export function parseConfig(text: string, file: string, opts: ParseOptions = {}): Config {
  const whole = parseText(text, file);
  const sourcesOnly = opts.scope === "sources";
  const doc = sourcesOnly ? pickKeys(whole, SOURCE_SCOPE_KEYS) : whole;
  const parsed = (sourcesOnly ? sourceScopeSchema : configSchema).safeParse(doc);
  const problems = parsed.success
    ? []
    : inDocumentOrder(parsed.error.issues, doc).flatMap((i) => formatIssue(i, doc));
  const raw: Salvaged = parsed.success ? { targets: {}, rules: [], ...parsed.data } : salvage(doc);
  const config = normalize(raw, doc, file, problems, pathResolver(path.dirname(file), opts.home, problems));
  if (problems.length > 0) throw new ConfigError([...new Set(problems)], file);
  return config;
}

function pickKeys(doc: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(doc).filter(([k]) => keys.includes(k)));
}
