import { readFile } from "node:fs/promises";
import { ConfigError } from "../errors.js";
import type { SecretSet } from "../infra/redact.js";
import type { Config, SecretRef } from "./load.js";

/** Secret values by owner: "sources.pd", "targets.sdm". They live in memory only. */
export type Secrets = Map<string, string>;

/**
 * Reads every secret the given sources and targets need, registering each with the redactor before
 * anything else can print it. All problems are reported at once (exit 2): a missing variable, an
 * unreadable file, an empty value.
 */
export async function resolveSecrets(
  config: Config,
  env: NodeJS.ProcessEnv,
  redactor: SecretSet,
  only?: { sources: Set<string>; targets: Set<string> },
): Promise<Secrets> {
  const wanted: [string, SecretRef][] = [];
  for (const s of config.sources.values()) {
    if (only && !only.sources.has(s.name)) continue;
    if (s.type !== "file") wanted.push([`sources.${s.name}`, s.secret]);
  }
  for (const t of config.targets.values()) {
    if (only && !only.targets.has(t.name)) continue;
    if ("secret" in t && t.secret) wanted.push([`targets.${t.name}`, t.secret]);
  }
  const secrets: Secrets = new Map();
  const problems: string[] = [];
  for (const [owner, ref] of wanted) {
    const got = await readSecret(ref, env);
    if ("problem" in got) problems.push(`${owner}: ${got.problem}`);
    else {
      redactor.add(got.value);
      secrets.set(owner, got.value);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems.map((p) => `missing secret: ${p}`));
  return secrets;
}

async function readSecret(
  ref: SecretRef,
  env: NodeJS.ProcessEnv,
): Promise<{ value: string } | { problem: string }> {
  if (ref.tokenFile) {
    let text: string;
    try {
      text = await readFile(ref.tokenFile, "utf8");
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return {
        problem: `cannot read tokenFile ${ref.tokenFile} (${READ_ERRORS[code ?? ""] ?? code ?? "error"})`,
      };
    }
    const value = text.trim();
    return value ? { value } : { problem: `tokenFile ${ref.tokenFile} is empty` };
  }
  const raw = env[ref.tokenEnv];
  if (raw === undefined) {
    return {
      problem: `environment variable ${ref.tokenEnv} is not set (set it where shiftgrant runs, e.g. in the crontab, or use tokenFile)`,
    };
  }
  const value = raw.trim();
  return value ? { value } : { problem: `environment variable ${ref.tokenEnv} is empty` };
}

const READ_ERRORS: Record<string, string> = {
  ENOENT: "no such file",
  EACCES: "permission denied",
  EISDIR: "it is a directory",
};
