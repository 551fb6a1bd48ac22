import { readFile } from "node:fs/promises";
import path from "node:path";
import { parse as parseYaml, YAMLParseError } from "yaml";
import type { z } from "zod";
import { ConfigError } from "../errors.js";
import { DEFAULT_HTTP, type HttpSettings } from "../infra/http.js";
import { isPlainEmail, normalizeEmail } from "../plan/identity.js";
import { configSchema, SECRET_KEYS, type RawConfig, type RawRule } from "./schema.js";
import { parseDuration, type ParsedDuration } from "./time.js";

export type SecretRef = { tokenEnv: string; tokenFile: string | null };

export type SourceConfig =
  | { name: string; type: "pagerduty"; secret: SecretRef; baseUrl: string }
  | { name: string; type: "file"; path: string };

export type TargetConfig = { name: string; concurrency: number; timeoutMs: number } & (
  | { type: "strongdm"; command: string; secret: SecretRef; grantArgs: string[] | null }
  | { type: "command"; grant: string[]; revoke: string[] | null; secret: SecretRef | null; env: string[] }
);

export type RuleConfig = {
  name: string;
  source: string;
  schedules: string[];
  escalationLevels: number[] | null;
  target: string;
  resources: string[];
  leadMs: number;
  graceMs: number;
  maxDurationMs: number | null;
  revoke: boolean;
};

export type Config = {
  file: string;
  window: ParsedDuration;
  state: string;
  audit: string | null;
  maxChanges: number | null;
  concurrency: number;
  http: HttpSettings;
  identities: Map<string, string>;
  sources: Map<string, SourceConfig>;
  targets: Map<string, TargetConfig>;
  rules: RuleConfig[];
};

export const DEFAULT_TOKEN_ENV: Record<string, string> = {
  pagerduty: "PAGERDUTY_TOKEN",
  strongdm: "SDM_ADMIN_TOKEN",
};

/** Finds the config file: `-c`, then `$SHIFTGRANT_CONFIG`, then `./shiftgrant.yaml`. */
export function configPath(flag: string | undefined, env: NodeJS.ProcessEnv, cwd: string): string {
  return path.resolve(cwd, flag ?? env.SHIFTGRANT_CONFIG ?? "shiftgrant.yaml");
}

/** Read → parse → validate (every problem at once) → normalize. Throws ConfigError. */
export async function loadConfig(file: string): Promise<Config> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT"
        ? "no such file (pass -c FILE or set SHIFTGRANT_CONFIG)"
        : `cannot read it (${code ?? "error"})`;
    throw new ConfigError([`${file}: ${why}`]);
  }
  return parseConfig(text, file);
}

export function parseConfig(text: string, file: string): Config {
  let doc: unknown;
  try {
    doc = parseYaml(text, { prettyErrors: true, uniqueKeys: true });
  } catch (err) {
    const msg = err instanceof YAMLParseError ? err.message.split("\n")[0] : String(err);
    throw new ConfigError([`not valid YAML or JSON: ${msg}`], file);
  }
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) {
    throw new ConfigError(["the config must be a mapping with version, sources, targets and rules"], file);
  }
  const parsed = configSchema.safeParse(doc);
  if (!parsed.success) {
    throw new ConfigError(dedupe(parsed.error.issues.map((i) => formatIssue(i, doc))), file);
  }
  const problems: string[] = [];
  const config = normalize(parsed.data, file, problems);
  if (problems.length > 0) throw new ConfigError(problems, file);
  return config;
}

function normalize(raw: RawConfig, file: string, problems: string[]): Config {
  const dir = path.dirname(file);
  const ms = (v: string | undefined, fallback: number): number => {
    if (v === undefined) return fallback;
    const d = parseDuration(v);
    return typeof d === "string" ? fallback : d.ms;
  };

  const sources = new Map<string, SourceConfig>();
  for (const [name, s] of Object.entries(raw.sources)) {
    const at = `sources.${name}`;
    checkName(name, at, problems);
    if (s.type === "file") {
      sources.set(name, { name, type: "file", path: path.resolve(dir, s.path) });
    } else {
      const baseUrl = s.baseUrl ?? "https://api.pagerduty.com";
      checkBaseUrl(baseUrl, `${at}.baseUrl`, problems);
      sources.set(name, {
        name,
        type: s.type,
        secret: secretRef(s, s.type, at, dir, problems),
        baseUrl: baseUrl.replace(/\/+$/, ""),
      });
    }
  }

  const targets = new Map<string, TargetConfig>();
  for (const [name, t] of Object.entries(raw.targets)) {
    const at = `targets.${name}`;
    checkName(name, at, problems);
    const common = { name, concurrency: t.concurrency ?? 4, timeoutMs: ms(t.timeout, 60_000) };
    if (t.type === "strongdm") {
      targets.set(name, {
        ...common,
        type: "strongdm",
        command: t.command ?? "sdm",
        secret: secretRef(t, "strongdm", at, dir, problems),
        grantArgs: t.grantArgs ?? null,
      });
    } else {
      const hasSecret = t.tokenEnv !== undefined || t.tokenFile !== undefined;
      targets.set(name, {
        ...common,
        type: "command",
        grant: resolveExecutable(t.grant, dir),
        revoke: t.revoke ? resolveExecutable(t.revoke, dir) : null,
        secret: hasSecret ? secretRef(t, "command", at, dir, problems) : null,
        env: t.env ?? [],
      });
      checkTemplate(t.grant, `${at}.grant`, problems);
      if (t.revoke) checkTemplate(t.revoke, `${at}.revoke`, problems);
    }
    if (t.type === "strongdm" && t.grantArgs) checkTemplate(t.grantArgs, `${at}.grantArgs`, problems);
  }

  const seen = new Set<string>();
  const rules = raw.rules.map((r, i) =>
    normalizeRule(r, `rules[${i}]`, { sources, targets, seen, problems, ms }),
  );

  const identities = new Map<string, string>();
  for (const [from, to] of Object.entries(raw.identities ?? {})) {
    const key = normalizeEmail(from);
    const value = normalizeEmail(to);
    if (!isPlainEmail(value)) problems.push(`identities."${from}": "${to}" is not a plain email address`);
    identities.set(key, value);
  }

  return {
    file,
    window: (raw.window ? parseDuration(raw.window) : parseDuration("24h")) as ParsedDuration,
    state: path.resolve(dir, raw.state ?? "shiftgrant-state.json"),
    audit: raw.audit ? path.resolve(dir, raw.audit) : null,
    maxChanges: raw.maxChanges ?? null,
    concurrency: raw.concurrency ?? 4,
    http: {
      timeoutMs: ms(raw.http?.timeout, DEFAULT_HTTP.timeoutMs),
      retries: raw.http?.retries ?? DEFAULT_HTTP.retries,
      backoffMs: ms(raw.http?.backoff, DEFAULT_HTTP.backoffMs),
      maxRetryWaitMs: ms(raw.http?.maxRetryWait, DEFAULT_HTTP.maxRetryWaitMs),
    },
    identities,
    sources,
    targets,
    rules,
  };
}

function normalizeRule(
  r: RawRule,
  at: string,
  ctx: {
    sources: Map<string, SourceConfig>;
    targets: Map<string, TargetConfig>;
    seen: Set<string>;
    problems: string[];
    ms: (v: string | undefined, fallback: number) => number;
  },
): RuleConfig {
  const { problems } = ctx;
  if (ctx.seen.has(r.name)) problems.push(`${at}.name: another rule is already named "${r.name}"`);
  ctx.seen.add(r.name);
  const source = ctx.sources.get(r.source);
  if (!source)
    problems.push(`${at}.source: unknown source "${r.source}"${suggest(r.source, [...ctx.sources.keys()])}`);
  if (!ctx.targets.has(r.target)) {
    problems.push(`${at}.target: unknown target "${r.target}"${suggest(r.target, [...ctx.targets.keys()])}`);
  }
  if (!r.schedules) problems.push(`${at}.schedules: list the schedules whose on-call people get access`);
  if (r.escalationLevels && source && source.type !== "pagerduty") {
    problems.push(
      `${at}.escalationLevels: only pagerduty sources have escalation levels (source "${r.source}" is ${source.type})`,
    );
  }
  r.resources.forEach((res, j) => {
    if (res.startsWith("-") || /[\u0000-\u001f\u007f]/.test(res)) {
      problems.push(`${at}.resources[${j}]: "${res}" must not start with "-" or contain control characters`);
    }
  });
  return {
    name: r.name,
    source: r.source,
    schedules: r.schedules ?? [],
    escalationLevels: r.escalationLevels ?? null,
    target: r.target,
    resources: [...new Set(r.resources)],
    leadMs: ctx.ms(r.lead, 0),
    graceMs: ctx.ms(r.grace, 0),
    maxDurationMs: r.maxDuration ? ctx.ms(r.maxDuration, 0) : null,
    revoke: r.revoke ?? false,
  };
}

function secretRef(
  s: { tokenEnv?: string | undefined; tokenFile?: string | undefined },
  type: string,
  at: string,
  dir: string,
  problems: string[],
): SecretRef {
  if (s.tokenEnv !== undefined && s.tokenFile !== undefined) {
    problems.push(`${at}: set tokenEnv or tokenFile, not both`);
  }
  const tokenEnv = s.tokenEnv ?? DEFAULT_TOKEN_ENV[type] ?? "";
  if (s.tokenFile === undefined && !tokenEnv)
    problems.push(`${at}: set tokenEnv (or tokenFile) for the token`);
  return { tokenEnv, tokenFile: s.tokenFile !== undefined ? path.resolve(dir, s.tokenFile) : null };
}

function checkBaseUrl(value: string, at: string, problems: string[]): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    problems.push(`${at}: "${value}" is not a URL`);
    return;
  }
  const local = url.hostname === "127.0.0.1" || url.hostname === "localhost" || url.hostname === "[::1]";
  if (url.protocol === "https:") return;
  if (url.protocol === "http:" && local) return;
  problems.push(
    `${at}: "${value}" must use https:// (plain http is allowed only for 127.0.0.1 and localhost)`,
  );
}

const PLACEHOLDERS = new Set(["identity", "resource", "start", "end", "duration", "rule", "reason"]);

function checkTemplate(argv: string[], at: string, problems: string[]): void {
  argv.forEach((arg, i) => {
    for (const m of arg.matchAll(/\{([^{}]*)\}/g)) {
      if (!PLACEHOLDERS.has(m[1] as string)) {
        problems.push(
          `${at}[${i}]: unknown placeholder {${m[1]}} (use ${[...PLACEHOLDERS].map((p) => `{${p}}`).join(" ")})`,
        );
      }
    }
  });
}

/** `./grant.sh` in a config means the file beside the config, wherever cron starts from. */
function resolveExecutable(argv: string[], dir: string): string[] {
  const [exe, ...rest] = argv as [string, ...string[]];
  return [exe.startsWith("./") || exe.startsWith("../") ? path.resolve(dir, exe) : exe, ...rest];
}

function checkName(name: string, at: string, problems: string[]): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) {
    problems.push(`${at}: names use letters, digits, '.', '_' and '-', and start with a letter or digit`);
  }
}

// --- turning zod issues into messages that name the path and say what to do ---

const KNOWN_KEYS = [
  "$schema",
  "version",
  "window",
  "state",
  "audit",
  "maxChanges",
  "concurrency",
  "http",
  "identities",
  "sources",
  "targets",
  "rules",
  "type",
  "tokenEnv",
  "tokenFile",
  "baseUrl",
  "path",
  "command",
  "grantArgs",
  "grant",
  "revoke",
  "env",
  "timeout",
  "retries",
  "backoff",
  "maxRetryWait",
  "name",
  "source",
  "schedules",
  "escalationLevels",
  "target",
  "resources",
  "lead",
  "grace",
  "maxDuration",
];

export function formatPath(p: readonly PropertyKey[]): string {
  let out = "";
  for (const seg of p) {
    if (typeof seg === "number") out += `[${seg}]`;
    else {
      const s = String(seg);
      const plain = /^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(s);
      out += plain ? (out ? `.${s}` : s) : `${out ? "." : ""}"${s}"`;
    }
  }
  return out;
}

function valueAt(doc: unknown, p: readonly PropertyKey[]): unknown {
  let v: unknown = doc;
  for (const seg of p) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[seg];
  }
  return v;
}

function formatIssue(issue: z.core.$ZodIssue, doc: unknown): string {
  const at = formatPath(issue.path);
  const prefix = at ? `${at}: ` : "";
  switch (issue.code) {
    case "unrecognized_keys":
      return issue.keys
        .map((k) => {
          const where = formatPath([...issue.path, k]);
          if (SECRET_KEYS.has(k)) {
            return `${where}: secrets are never written in the config; put the token in an environment variable and set tokenEnv: NAME, or in a file and set tokenFile: /path/to/file`;
          }
          return `${where}: unknown key${suggest(k, KNOWN_KEYS)}`;
        })
        .join("\n");
    case "invalid_union": {
      const disc = (issue as { discriminator?: string }).discriminator;
      const options = (issue as { options?: unknown[] }).options;
      if (disc && options) {
        const got = valueAt(doc, issue.path);
        const list = options.map(String).join(", ");
        return got === undefined
          ? `${prefix}missing; one of ${list}`
          : `${prefix}unknown type ${JSON.stringify(got)}; one of ${list}`;
      }
      return `${prefix}${issue.message}`;
    }
    case "invalid_type": {
      const got = valueAt(doc, issue.path);
      if (got === undefined) return `${prefix}missing (required)`;
      return `${prefix}expected ${issue.expected === "int" ? "a whole number" : issue.expected}, got ${JSON.stringify(got)}`;
    }
    case "too_small": {
      const min = (issue as { minimum?: number | bigint }).minimum;
      if (issue.origin === "array")
        return `${prefix}${issue.message.startsWith("Too small") ? "must not be empty" : issue.message}`;
      if (issue.origin === "string") return `${prefix}must not be empty`;
      return `${prefix}must be at least ${String(min)}${(issue as { inclusive?: boolean }).inclusive === false ? " (exclusive)" : ""}`;
    }
    case "too_big":
      return `${prefix}must be at most ${String((issue as { maximum?: number | bigint }).maximum)}`;
    case "invalid_value":
      return `${prefix}${issue.message.startsWith("Invalid input") ? `expected ${issue.values.map((v) => JSON.stringify(v)).join(" or ")}` : issue.message}`;
    default:
      return `${prefix}${issue.message}`;
  }
}

function dedupe(lines: string[]): string[] {
  return [...new Set(lines.flatMap((l) => l.split("\n")))];
}

/** ` (did you mean "x"?)` for a close match, else "". */
export function suggest(word: string, candidates: string[]): string {
  let best: string | null = null;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== null && bestD <= Math.max(1, Math.floor(word.length / 3))
    ? ` (did you mean "${best}"?)`
    : "";
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] as number;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j] as number;
      prev[j] = Math.min(
        (prev[j] as number) + 1,
        (prev[j - 1] as number) + 1,
        diag + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      diag = tmp;
    }
  }
  return prev[b.length] as number;
}
