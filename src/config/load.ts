import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import path from "node:path";
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type YAMLError } from "yaml";
import type { z } from "zod";
import { ConfigError } from "../errors.js";
import { DEFAULT_TOKEN_ENV, TARGETS_LISTING_MEMBERS } from "./defaults.js";
import { DEFAULT_HTTP, DEFAULT_MAX_RESPONSE_BYTES, type HttpSettings } from "../infra/http.js";
import { isPlainEmail, normalizeEmail } from "../core/identity.js";
import {
  configSchema,
  ruleSchema,
  SECRET_KEYS,
  sourceSchema,
  targetSchema,
  type RawConfig,
  type RawRule,
  type RawSource,
  type RawTarget,
} from "./schema.js";
import { parseByteSize, parseDuration, type ParsedDuration } from "../core/time.js";
import { MAX_WINDOW_MS } from "./window.js";

export type SecretRef = { tokenEnv: string; tokenFile: string | null };

export type SourceConfig =
  | { name: string; type: "pagerduty" | "opsgenie" | "incidentio"; secret: SecretRef; baseUrl: string }
  | { name: string; type: "file"; path: string };

/** A source read over HTTP with a token. */
export type ApiSourceConfig = Extract<SourceConfig, { baseUrl: string }>;

export type TargetConfig = {
  name: string;
  concurrency: number;
  timeoutMs: number;
  /** This target's own map (source email -> identity), applied after the top-level one. */
  identities: Map<string, string>;
  /** Resources whose whole membership shiftgrant owns. */
  exclusive: string[];
} & (
  | { type: "strongdm"; command: string; secret: SecretRef; grantArgs: string[] | null }
  | {
      type: "command";
      grant: string[];
      revoke: string[] | null;
      secret: SecretRef | null;
      env: string[];
      /** The command ends each grant at {end} by itself; if not, shiftgrant expires it with `revoke`. */
      expires: boolean;
    }
  | { type: "teleport"; command: string; args: string[]; env: string[] }
  | {
      type: "http";
      url: string;
      secret: SecretRef | null;
      headersFromEnv: Record<string, string>;
      revoke: boolean;
      /** The receiver ends each grant at its end by itself; if not, shiftgrant expires it with DELETE. */
      expires: boolean;
    }
);

export type RuleConfig = {
  name: string;
  source: string;
  schedules: string[];
  /** The incident mode: acknowledgers of open incidents on these services, instead of schedules. */
  incidents?: { services: string[] } | null;
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

const DEFAULT_BASE_URL = {
  pagerduty: "https://api.pagerduty.com",
  opsgenie: "https://api.opsgenie.com",
  incidentio: "https://api.incident.io",
};

export { DEFAULT_TOKEN_ENV };

/**
 * Finds the config file: `-c`, then `$SHIFTGRANT_CONFIG`, then `./shiftgrant.yaml`. An empty value
 * counts as unset (cron lines often export `SHIFTGRANT_CONFIG=` with nothing after it).
 */
export function configPath(flag: string | undefined, env: NodeJS.ProcessEnv, cwd: string): string {
  const chosen = [flag, env.SHIFTGRANT_CONFIG].find((v) => v !== undefined && v.trim() !== "");
  return path.resolve(cwd, chosen ?? "shiftgrant.yaml");
}

/**
 * How much of a config a command needs. `full` (sync, validate, oncall): every section. `sources`
 * (schedules, which helps to write the rest): only the sources and their HTTP settings are read and
 * checked, so that a config with no targets or rules yet, or half-written ones, can be used.
 */
export type ConfigScope = "full" | "sources";

export type ParseOptions = {
  scope?: ConfigScope;
  /** What `~/` at the start of a path stands for (default: the user's home directory). */
  home?: string;
};

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
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT"
        ? "no such file; pass the config with -c FILE or set SHIFTGRANT_CONFIG (the default is ./shiftgrant.yaml)"
        : code === "EISDIR"
          ? "is a directory, not a config file; pass the file with -c FILE"
          : code === "EACCES"
            ? "permission denied; the user running shiftgrant cannot read it"
            : `cannot read it (${code ?? String(err)})`;
    throw new ConfigError([`${file}: ${why}`]);
  }
  return parseConfig(text, file, opts);
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
  if (problems.length > 0) throw new ConfigError(dedupe(problems), file);
  return config;
}

function parseText(text: string, file: string): Record<string, unknown> {
  // NOTE: the YAML library's own duplicate-key check compares each key with every earlier key of its
  // mapping (20,000 identities took half a minute); duplicateKeys() does it in one pass.
  const lines = new LineCounter();
  const yaml = parseDocument(text, { prettyErrors: true, uniqueKeys: false, lineCounter: lines });
  const found: { offset: number; problem: string }[] = yaml.errors.map((e) => ({
    offset: e.pos[0],
    problem: yamlProblem(e),
  }));
  for (const d of duplicateKeys(yaml.contents)) {
    const { line, col } = lines.linePos(d.offset);
    found.push({
      offset: d.offset,
      problem: `${formatPath(d.path)}: duplicate key (line ${line}, column ${col}); a key may appear only once in a mapping`,
    });
  }
  if (found.length > 0) {
    throw new ConfigError(dedupe(found.sort((a, b) => a.offset - b.offset).map((f) => f.problem)), file);
  }
  let doc: unknown;
  try {
    doc = yaml.toJS();
  } catch (err) {
    throw new ConfigError(
      [`not valid YAML or JSON: ${err instanceof Error ? err.message : String(err)}`],
      file,
    );
  }
  if (doc === null || doc === undefined) {
    throw new ConfigError(["the file is empty; a config needs version: 1, sources, targets and rules"], file);
  }
  if (!isMapping(doc)) {
    throw new ConfigError(
      [
        `the config must be a mapping (key: value) with version, sources, targets and rules, not ${describe(doc)}`,
      ],
      file,
    );
  }
  return doc;
}

function yamlProblem(err: YAMLError): string {
  const pos = err.linePos?.[0];
  const where = pos ? `line ${pos.line}, column ${pos.col}: ` : "";
  const msg = (err.message.split("\n")[0] ?? "").replace(/ at line \d+, column \d+:?$/, "");
  return `${where}not valid YAML or JSON: ${msg}`;
}

/**
 * Every key written a second time in its mapping, with its path and where it is written. Keys are
 * compared as the YAML library would (scalars by value, so `1` and `"1"` differ); aliases are not
 * followed, so their targets are checked once, where they are written.
 */
function duplicateKeys(root: unknown): { path: (string | number)[]; offset: number }[] {
  const out: { path: (string | number)[]; offset: number }[] = [];
  const walk = (node: unknown, at: (string | number)[]): void => {
    if (isMap(node)) {
      const seen = new Set<unknown>();
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? pair.key : null;
        const name = key ? String(key.value) : String(pair.key);
        if (key) {
          if (seen.has(key.value)) out.push({ path: [...at, name], offset: key.range?.[0] ?? 0 });
          else seen.add(key.value);
        }
        walk(pair.value, [...at, name]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => walk(item, [...at, i]));
    }
  };
  walk(root, []);
  return out;
}

/**
 * A raw config in which only the valid parts are kept: a source or target whose required fields are
 * valid (its invalid optional fields dropped), and of each rule the fields that are valid (rules keep
 * their index: `undefined` for one that is not even a mapping).
 */
type Salvaged = Omit<RawConfig, "rules"> & { rules: (Partial<RawRule> | undefined)[] };

function ok<T>(schema: z.ZodType<T>, v: unknown): T | undefined {
  const r = schema.safeParse(v);
  return r.success ? r.data : undefined;
}

/** The fields of a mapping that are valid on their own; unknown keys are left out. */
function validFields(shape: Record<string, z.ZodType>, v: unknown): Record<string, unknown> | undefined {
  if (!isMapping(v)) return undefined;
  const out: Record<string, unknown> = {};
  for (const [k, schema] of Object.entries(shape)) {
    if (!(k in v)) continue;
    const r = schema.safeParse(v[k]);
    if (r.success) out[k] = r.data;
  }
  return out;
}

/** A source or target, without its invalid optional fields; undefined if its type or a required field is bad. */
function salvageMember<T>(
  union: z.ZodType<T> & { options: readonly z.ZodObject[] },
  v: unknown,
): T | undefined {
  const whole = ok(union, v);
  if (whole !== undefined || !isMapping(v)) return whole;
  const option = union.options.find((o) => (defOf(o.shape.type).values ?? []).includes(v.type));
  return option ? ok(union, validFields(option.shape, v)) : undefined;
}

/** Keeps every part of a config that is valid on its own, so that it can be checked further. */
function salvage(doc: Record<string, unknown>): Salvaged {
  const shape = configSchema.shape;
  const members = <T>(union: z.ZodType<T> & { options: readonly z.ZodObject[] }, v: unknown) => {
    const out: Record<string, T> = {};
    if (!isMapping(v)) return out;
    for (const [k, x] of Object.entries(v)) {
      const m = salvageMember(union, x);
      if (m !== undefined) out[k] = m;
    }
    return out;
  };
  const identities: Record<string, string> = {};
  if (isMapping(doc.identities)) {
    for (const [k, v] of Object.entries(doc.identities)) if (typeof v === "string") identities[k] = v;
  }
  return {
    version: 1,
    window: ok(shape.window, doc.window),
    state: ok(shape.state, doc.state),
    audit: ok(shape.audit, doc.audit),
    maxChanges: ok(shape.maxChanges, doc.maxChanges),
    concurrency: ok(shape.concurrency, doc.concurrency),
    http: ok(shape.http, doc.http),
    identities,
    sources: members<RawSource>(sourceSchema, doc.sources),
    targets: members<RawTarget>(targetSchema, doc.targets),
    rules: Array.isArray(doc.rules)
      ? doc.rules.map((r) => validFields(ruleSchema.shape, r) as Partial<RawRule> | undefined)
      : [],
  };
}

function pickKeys(doc: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(doc).filter(([k]) => keys.includes(k)));
}

/** Turns a path written in the config into an absolute one. */
type ResolvePath = (p: string, at: string) => string;

/**
 * Paths in a config are relative to the config file, so that cron's working directory does not
 * matter; `~/` at the start stands for the home directory, so that a config that ships inside a
 * package (the demo) can keep its ledger outside it.
 */
function pathResolver(dir: string, home: string | undefined, problems: string[]): ResolvePath {
  return (p, at) => {
    if (p !== "~" && !p.startsWith("~/")) return path.resolve(dir, p);
    let base = home;
    if (base === undefined) {
      try {
        base = homedir();
      } catch {
        base = "";
      }
    }
    if (!base) {
      problems.push(
        `${at}: ${JSON.stringify(p)} starts with ~ but there is no home directory (set HOME or write an absolute path)`,
      );
      return path.resolve(dir, p);
    }
    return path.join(base, p.slice(1));
  };
}

function normalize(
  raw: Salvaged,
  doc: Record<string, unknown>,
  file: string,
  problems: string[],
  resolvePath: ResolvePath,
): Config {
  const ms = (v: string | undefined, fallback: number): number => {
    if (v === undefined) return fallback;
    const d = parseDuration(v);
    return typeof d === "string" ? fallback : d.ms;
  };

  const bytes = (v: string | number | undefined): number => {
    const n = v === undefined ? DEFAULT_MAX_RESPONSE_BYTES : parseByteSize(v);
    return typeof n === "string" ? DEFAULT_MAX_RESPONSE_BYTES : n;
  };

  const sources = new Map<string, SourceConfig>();
  for (const [name, s] of Object.entries(raw.sources)) {
    const at = formatPath(["sources", name]);
    checkName(name, at, problems);
    if (s.type === "file") {
      sources.set(name, { name, type: "file", path: resolvePath(s.path, `${at}.path`) });
    } else {
      const baseUrl = s.baseUrl ?? DEFAULT_BASE_URL[s.type];
      checkBaseUrl(baseUrl, `${at}.baseUrl`, problems);
      sources.set(name, {
        name,
        type: s.type,
        secret: secretRef(s, s.type, at, resolvePath, problems),
        baseUrl: baseUrl.replace(/\/+$/, ""),
      });
    }
  }

  const targets = new Map<string, TargetConfig>();
  for (const [name, t] of Object.entries(raw.targets)) {
    const at = formatPath(["targets", name]);
    checkName(name, at, problems);
    const common = {
      name,
      concurrency: t.concurrency ?? 4,
      timeoutMs: ms(t.timeout, 60_000),
      ...targetMemberships(t, at, problems),
    };
    if (t.type === "strongdm") {
      targets.set(name, {
        ...common,
        type: "strongdm",
        command: resolveExecutable(t.command ?? "sdm", `${at}.command`, resolvePath),
        secret: secretRef(t, "strongdm", at, resolvePath, problems),
        grantArgs: t.grantArgs ?? null,
      });
      if (t.grantArgs) checkTemplate(t.grantArgs, `${at}.grantArgs`, problems);
    } else if (t.type === "teleport") {
      targets.set(name, {
        ...common,
        type: "teleport",
        command: resolveExecutable(t.command ?? "tctl", `${at}.command`, resolvePath),
        args: t.args ?? [],
        env: t.env ?? [],
      });
    } else if (t.type === "http") {
      checkBaseUrl(t.url, `${at}.url`, problems);
      const hasSecret = t.tokenEnv !== undefined || t.tokenFile !== undefined;
      targets.set(name, {
        ...common,
        type: "http",
        url: t.url,
        secret: hasSecret ? secretRef(t, "http", at, resolvePath, problems) : null,
        headersFromEnv: t.headersFromEnv ?? {},
        revoke: t.revoke ?? false,
        expires: t.expires ?? true,
      });
      if (t.expires === false && !t.revoke) {
        problems.push(
          `${at}.expires: false means shiftgrant ends each grant with DELETE url/{key}, so the receiver must take it: set revoke: true`,
        );
      }
    } else {
      const hasSecret = t.tokenEnv !== undefined || t.tokenFile !== undefined;
      targets.set(name, {
        ...common,
        type: "command",
        grant: resolveArgv(t.grant, `${at}.grant[0]`, resolvePath),
        revoke: t.revoke ? resolveArgv(t.revoke, `${at}.revoke[0]`, resolvePath) : null,
        secret: hasSecret ? secretRef(t, "command", at, resolvePath, problems) : null,
        env: t.env ?? [],
        expires: t.expires ?? true,
      });
      if (t.expires === false && !t.revoke) {
        problems.push(
          `${at}.expires: false means shiftgrant ends each grant with the revoke command: add revoke: [...] (e.g. ["/usr/local/bin/revoke", "{identity}", "{resource}"])`,
        );
      }
      checkTemplate(t.grant, `${at}.grant`, problems, true);
      if (t.revoke) checkTemplate(t.revoke, `${at}.revoke`, problems, true);
    }
  }

  // References are checked against every name the config defines, even one whose definition has a
  // problem of its own (that problem is already reported).
  const defined = {
    sources: isMapping(doc.sources) ? Object.keys(doc.sources) : null,
    targets: isMapping(doc.targets) ? Object.keys(doc.targets) : null,
  };
  const seen = new Set<string>();
  const rules: RuleConfig[] = [];
  raw.rules.forEach((r, i) => {
    if (!r) return;
    // A rule's schedules may be invalid (reported already) rather than missing.
    const schedulesGiven = valueAt(doc, ["rules", i, "schedules"]) !== undefined;
    const incidentsGiven = valueAt(doc, ["rules", i, "incidents"]) !== undefined;
    rules.push(
      normalizeRule(r, `rules[${i}]`, {
        sources,
        defined,
        seen,
        problems,
        ms,
        schedulesGiven,
        incidentsGiven,
      }),
    );
  });

  const window = parseDuration(raw.window ?? "24h") as ParsedDuration;
  if (window.ms > MAX_WINDOW_MS) {
    problems.push(
      `window: "${raw.window}" is longer than 90 days, the most PagerDuty renders; use 90d or less`,
    );
  }

  const identities = new Map<string, string>();
  const firstSpelling = new Map<string, string>();
  for (const [from, to] of Object.entries(raw.identities ?? {})) {
    const at = formatPath(["identities", from]);
    const key = normalizeEmail(from);
    const value = normalizeEmail(to);
    if (!isPlainEmail(value)) {
      problems.push(
        `${at}: ${JSON.stringify(to)} is not a plain email address (letters, digits and . _ % + - ' before a single @, then a dotted domain); targets only accept plain emails`,
      );
    }
    const earlier = firstSpelling.get(key);
    if (earlier !== undefined && identities.get(key) !== value) {
      problems.push(
        `${at}: the same email as ${JSON.stringify(earlier)} (emails are compared trimmed and lower-cased), mapped to another identity; keep one`,
      );
    }
    if (earlier === undefined) firstSpelling.set(key, from);
    identities.set(key, value);
  }

  return {
    file,
    window,
    state: resolvePath(raw.state ?? "shiftgrant-state.json", "state"),
    audit: raw.audit ? resolvePath(raw.audit, "audit") : null,
    maxChanges: raw.maxChanges ?? null,
    concurrency: raw.concurrency ?? 4,
    http: {
      timeoutMs: ms(raw.http?.timeout, DEFAULT_HTTP.timeoutMs),
      retries: raw.http?.retries ?? DEFAULT_HTTP.retries,
      backoffMs: ms(raw.http?.backoff, DEFAULT_HTTP.backoffMs),
      maxRetryWaitMs: ms(raw.http?.maxRetryWait, DEFAULT_HTTP.maxRetryWaitMs),
      maxResponseBytes: bytes(raw.http?.maxResponseBytes),
    },
    identities,
    sources,
    targets,
    rules,
  };
}

/**
 * A target's own identity map and its exclusive resources. The map's values are checked against the
 * target's identity kind when the plan is made, not here (a GitHub login is no email).
 */
function targetMemberships(
  t: RawTarget,
  at: string,
  problems: string[],
): { identities: Map<string, string>; exclusive: string[] } {
  const identities = new Map<string, string>();
  for (const [from, to] of Object.entries(t.identities ?? {})) {
    identities.set(normalizeEmail(from), to.trim());
  }
  if (t.exclusive && !TARGETS_LISTING_MEMBERS.includes(t.type)) {
    problems.push(
      `${at}.exclusive: a ${t.type} target cannot list a resource's members, so shiftgrant cannot own its membership; remove exclusive (it needs a target that lists members${TARGETS_LISTING_MEMBERS.length > 0 ? `: ${TARGETS_LISTING_MEMBERS.join(", ")}` : ""})`,
    );
  }
  return { identities, exclusive: [...new Set(t.exclusive ?? [])] };
}

function normalizeRule(
  r: Partial<RawRule>,
  at: string,
  ctx: {
    sources: Map<string, SourceConfig>;
    defined: { sources: string[] | null; targets: string[] | null };
    seen: Set<string>;
    problems: string[];
    ms: (v: string | undefined, fallback: number) => number;
    schedulesGiven: boolean;
    incidentsGiven: boolean;
  },
): RuleConfig {
  const { problems, defined } = ctx;
  if (r.name !== undefined) {
    if (ctx.seen.has(r.name)) {
      problems.push(`${at}.name: another rule is already named "${r.name}"; rule names must be unique`);
    }
    ctx.seen.add(r.name);
  }
  if (r.source !== undefined && defined.sources && !defined.sources.includes(r.source)) {
    problems.push(`${at}.source: unknown source "${r.source}"${known(r.source, defined.sources, "sources")}`);
  }
  if (r.target !== undefined && defined.targets && !defined.targets.includes(r.target)) {
    problems.push(`${at}.target: unknown target "${r.target}"${known(r.target, defined.targets, "targets")}`);
  }
  const source = r.source === undefined ? undefined : ctx.sources.get(r.source);
  if (ctx.schedulesGiven && r.incidents) {
    problems.push(`${at}: give schedules or incidents, not both (a rule follows a rota or incidents)`);
  } else if (!ctx.schedulesGiven && !ctx.incidentsGiven) {
    problems.push(
      `${at}.schedules: list the schedules whose on-call people get access (or incidents: { services: [...] })`,
    );
  }
  if (r.incidents && source && source.type !== "pagerduty") {
    problems.push(
      `${at}.incidents: only pagerduty sources have incidents (source "${r.source}" is ${source.type})`,
    );
  }
  if (r.incidents && r.escalationLevels) {
    problems.push(`${at}.escalationLevels: applies to schedules, not incidents; remove it`);
  }
  if (r.escalationLevels && source && source.type !== "pagerduty") {
    problems.push(
      `${at}.escalationLevels: only pagerduty sources have escalation levels (source "${r.source}" is ${source.type}); remove it`,
    );
  }
  (r.resources ?? []).forEach((res, j) => {
    if (res.startsWith("-") || /[\u0000-\u001f\u007f]/.test(res)) {
      problems.push(
        `${at}.resources[${j}]: ${JSON.stringify(res)} must not start with "-" (a target's CLI would read it as a flag) or contain control characters`,
      );
    }
  });
  return {
    name: r.name ?? "",
    source: r.source ?? "",
    schedules: r.schedules ?? [],
    incidents: r.incidents ? { services: [...new Set(r.incidents.services)] } : null,
    escalationLevels: r.escalationLevels ?? null,
    target: r.target ?? "",
    resources: [...new Set(r.resources ?? [])],
    leadMs: ctx.ms(r.lead, 0),
    graceMs: ctx.ms(r.grace, 0),
    // In the incident mode access lasts until maxDuration after now (4h unless said), extended by
    // later runs while the incident stays open.
    maxDurationMs: r.maxDuration ? ctx.ms(r.maxDuration, 0) : r.incidents ? 4 * 3_600_000 : null,
    revoke: r.revoke ?? false,
  };
}

/** ` (did you mean "x"?)` for a close match, else the names defined. */
function known(word: string, names: string[], what: string): string {
  const close = suggest(word, names);
  if (close) return close;
  return names.length > 0 ? ` (${what} defined: ${names.join(", ")})` : ` (no ${what} are defined)`;
}

function secretRef(
  s: { tokenEnv?: string | undefined; tokenFile?: string | undefined },
  type: string,
  at: string,
  resolvePath: ResolvePath,
  problems: string[],
): SecretRef {
  if (s.tokenEnv !== undefined && s.tokenFile !== undefined) {
    problems.push(`${at}: set tokenEnv or tokenFile, not both`);
  }
  const tokenEnv = s.tokenEnv ?? DEFAULT_TOKEN_ENV[type] ?? "";
  if (s.tokenFile === undefined && !tokenEnv)
    problems.push(`${at}: set tokenEnv (or tokenFile) for the token`);
  return {
    tokenEnv,
    tokenFile: s.tokenFile !== undefined ? resolvePath(s.tokenFile, `${at}.tokenFile`) : null,
  };
}

function checkBaseUrl(value: string, at: string, problems: string[]): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    problems.push(`${at}: "${value}" is not a URL (e.g. "https://api.pagerduty.com")`);
    return;
  }
  const local = url.hostname === "127.0.0.1" || url.hostname === "localhost" || url.hostname === "[::1]";
  if (url.username || url.password) {
    problems.push(
      `${at}: must not contain a user name or password; the token comes from tokenEnv or tokenFile`,
    );
    return;
  }
  if (url.protocol === "https:") return;
  if (url.protocol === "http:" && local) return;
  problems.push(
    `${at}: "${value}" must use https:// (plain http is allowed only for 127.0.0.1 and localhost)`,
  );
}

const PLACEHOLDERS = new Set(["identity", "resource", "start", "end", "duration", "rule", "reason"]);

function checkTemplate(argv: string[], at: string, problems: string[], withExecutable = false): void {
  argv.forEach((arg, i) => {
    if (withExecutable && i === 0 && /\{[^{}]*\}/.test(arg)) {
      problems.push(`${at}[0]: the executable must be fixed, not a placeholder (${JSON.stringify(arg)})`);
      return;
    }
    for (const m of arg.matchAll(/\{([^{}]*)\}/g)) {
      if (!PLACEHOLDERS.has(m[1] as string)) {
        problems.push(
          `${at}[${i}]: unknown placeholder {${m[1]}} (use ${[...PLACEHOLDERS].map((p) => `{${p}}`).join(" ")})`,
        );
      }
    }
  });
}

/**
 * `./grant.sh` (or any relative path with a `/`) in a config means the file beside the config,
 * wherever cron starts from; `~/bin/grant` is in the home directory. A bare name (`sdm`) is looked
 * up on PATH.
 */
function resolveExecutable(exe: string, at: string, resolvePath: ResolvePath): string {
  return exe.includes("/") && !path.isAbsolute(exe) ? resolvePath(exe, at) : exe;
}

function resolveArgv(argv: string[], at: string, resolvePath: ResolvePath): string[] {
  const [exe, ...rest] = argv as [string, ...string[]];
  return [resolveExecutable(exe, at, resolvePath), ...rest];
}

function checkName(name: string, at: string, problems: string[]): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) {
    problems.push(`${at}: names use letters, digits, '.', '_' and '-', and start with a letter or digit`);
  }
}

// --- turning zod issues into messages that name the path and say what to do ---

export function formatPath(p: readonly PropertyKey[]): string {
  let out = "";
  for (const seg of p) {
    if (typeof seg === "number") out += `[${seg}]`;
    else {
      const s = String(seg);
      const plain = /^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(s);
      out += plain ? (out ? `.${s}` : s) : `${out ? "." : ""}${JSON.stringify(s)}`;
    }
  }
  return out;
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function valueAt(doc: unknown, p: readonly PropertyKey[]): unknown {
  let v: unknown = doc;
  for (const seg of p) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[seg];
  }
  return v;
}

/** A value as a message shows it. */
function describe(v: unknown): string {
  if (v === null) return "an empty value";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  if (typeof v === "string") return JSON.stringify(v);
  // Only scalars are left (a number, a boolean, undefined): objects were described above.
  // eslint-disable-next-line @typescript-eslint/no-base-to-string
  return String(v);
}

const TYPE_NOUNS: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
  array: "a list",
  object: "a mapping (key: value)",
  record: "a mapping (key: value)",
};

/** One issue per unknown key, sorted by where each is in the file, so that problems read top to bottom. */
function inDocumentOrder(issues: readonly z.core.$ZodIssue[], doc: unknown): z.core.$ZodIssue[] {
  const split = issues.flatMap((i): z.core.$ZodIssue[] =>
    i.code === "unrecognized_keys" ? i.keys.map((k) => ({ ...i, keys: [k] })) : [i],
  );
  const where = (i: z.core.$ZodIssue) =>
    docOrder(doc, i.code === "unrecognized_keys" ? [...i.path, ...i.keys] : i.path);
  return split
    .map((issue) => ({ issue, at: where(issue) }))
    .sort((a, b) => compareOrder(a.at, b.at))
    .map((x) => x.issue);
}

/** The position of each step of a path: the key's index in its mapping, or the list index. */
function docOrder(doc: unknown, p: readonly PropertyKey[]): number[] {
  const out: number[] = [];
  let v: unknown = doc;
  for (const seg of p) {
    if (Array.isArray(v)) {
      out.push(Number(seg));
      v = v[Number(seg)];
    } else if (isMapping(v)) {
      const i = Object.keys(v).indexOf(String(seg));
      out.push(i < 0 ? Number.MAX_SAFE_INTEGER : i);
      v = v[String(seg)];
    } else break;
  }
  return out;
}

function compareOrder(a: number[], b: number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  }
  return a.length - b.length;
}

function formatIssue(issue: z.core.$ZodIssue, doc: unknown): string[] {
  const at = formatPath(issue.path);
  const prefix = at ? `${at}: ` : "";
  const custom = !issue.message.startsWith("Invalid input") && !issue.message.startsWith("Too ");
  switch (issue.code) {
    case "unrecognized_keys": {
      const allowed = keysAt(issue.path, doc);
      return issue.keys.map((k) => {
        const where = formatPath([...issue.path, k]);
        if (SECRET_KEYS.has(k)) {
          return `${where}: secrets are never written in the config; put the token in an environment variable and set tokenEnv: NAME, or in a file and set tokenFile: /path/to/file`;
        }
        const hint =
          suggest(k, allowed) || (allowed.length > 0 ? ` (expected one of: ${allowed.join(", ")})` : "");
        return `${where}: unknown key${hint}`;
      });
    }
    case "invalid_union": {
      const disc = (issue as { discriminator?: string }).discriminator;
      const options = (issue as { options?: unknown[] }).options?.map(String);
      if (disc && options) {
        const got = valueAt(doc, issue.path);
        const section = String(issue.path[0]);
        const kind = section === "sources" ? "source " : section === "targets" ? "target " : "";
        const list = options.join(", ");
        if (got === undefined) return [`${prefix}missing; set it to one of: ${list}`];
        const close = typeof got === "string" ? suggest(got, options) : "";
        return [`${prefix}unknown ${kind}type ${JSON.stringify(got)}${close}; use one of: ${list}`];
      }
      return [`${prefix}${issue.message}`];
    }
    case "invalid_type": {
      const got = valueAt(doc, issue.path);
      if (got === undefined) return [`${prefix}missing (required)`];
      if (custom) return [`${prefix}${issue.message}`];
      return [`${prefix}${typeProblem(issue.expected, got)}`];
    }
    case "too_small": {
      const min = (issue as { minimum?: number | bigint }).minimum;
      if (custom) return [`${prefix}${issue.message}`];
      if (issue.origin === "array") return [`${prefix}must not be empty`];
      if (issue.origin === "string") return [`${prefix}must not be empty`];
      const exclusive = (issue as { inclusive?: boolean }).inclusive === false;
      return [`${prefix}must be ${exclusive ? "more than" : "at least"} ${String(min)}`];
    }
    case "too_big":
      return [`${prefix}must be at most ${String((issue as { maximum?: number | bigint }).maximum)}`];
    case "invalid_value":
      return [
        `${prefix}${custom ? issue.message : `expected ${issue.values.map((v) => JSON.stringify(v)).join(" or ")}`}`,
      ];
    default:
      return [`${prefix}${issue.message}`];
  }
}

/** `expected a list, got "prod-db" (write ["prod-db"] for a list of one)`, and the like. */
function typeProblem(expected: string, got: unknown): string {
  const noun = TYPE_NOUNS[expected] ?? expected;
  let fix = "";
  if (typeof got === "string") {
    const t = got.trim();
    if ((expected === "number" || expected === "int") && /^-?\d+(\.\d+)?$/.test(t)) {
      fix = ` (write ${t} without quotes)`;
    } else if (expected === "boolean" && /^(true|false)$/i.test(t)) {
      fix = ` (write ${t.toLowerCase()} without quotes)`;
    } else if (expected === "array") {
      fix = ` (write [${JSON.stringify(got)}] for a list of one)`;
    }
  }
  return `expected ${noun}, got ${describe(got)}${fix}`;
}

type Def = {
  type: string;
  shape?: Record<string, unknown>;
  innerType?: unknown;
  valueType?: unknown;
  element?: unknown;
  options?: unknown[];
  values?: unknown[];
};

function defOf(schema: unknown): Def {
  return (schema as { _zod: { def: Def } })._zod.def;
}

/** The object schemas a value may match: optional unwrapped, a `type` union narrowed by the value's type. */
function objectDefs(d: Def, value: unknown): Def[] {
  if (d.type === "optional" && d.innerType) return objectDefs(defOf(d.innerType), value);
  if (d.type === "union" && d.options) {
    const all = d.options.map(defOf);
    const type = isMapping(value) ? value.type : undefined;
    const match = all.filter((o) => {
      const lit = o.shape?.type;
      return lit !== undefined && (defOf(lit).values ?? []).includes(type);
    });
    return (match.length > 0 ? match : all).flatMap((o) => objectDefs(o, value));
  }
  return [d];
}

function childDef(d: Def, seg: PropertyKey): Def | undefined {
  const child =
    d.type === "object"
      ? d.shape?.[String(seg)]
      : d.type === "record"
        ? d.valueType
        : d.type === "array"
          ? d.element
          : undefined;
  return child === undefined ? undefined : defOf(child);
}

/** The keys the schema allows in the mapping at `p` (for "unknown key" hints). */
function keysAt(p: readonly PropertyKey[], doc: unknown): string[] {
  let defs = objectDefs(defOf(configSchema), doc);
  p.forEach((seg, i) => {
    const value = valueAt(doc, p.slice(0, i + 1));
    defs = defs.flatMap((d) => {
      const child = childDef(d, seg);
      return child ? objectDefs(child, value) : [];
    });
  });
  return [...new Set(defs.flatMap((d) => (d.type === "object" ? Object.keys(d.shape ?? {}) : [])))];
}

function dedupe(lines: string[]): string[] {
  return [...new Set(lines)];
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
