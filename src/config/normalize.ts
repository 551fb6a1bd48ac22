import { homedir } from "node:os";
import path from "node:path";
import { durationMs, type NormalizeContext, type ResolvePath } from "../core/fields.js";
import { isPlainEmail, normalizeEmail } from "../core/identity.js";
import { parseByteSize, parseDuration, type ParsedDuration } from "../core/time.js";
import { DEFAULT_HTTP, DEFAULT_MAX_RESPONSE_BYTES } from "../infra/http.js";
import { normalizeChannel, type ChannelConfig } from "../notify/index.js";
import { normalizeSource, type SourceConfig } from "../sources/index.js";
import { normalizeTarget, type TargetConfig } from "../targets/index.js";
import { formatPath, isMapping, valueAt } from "./document.js";
import { RULE_CHECKS, TARGET_CHECKS, type RuleCheckContext } from "./rules.js";
import type { RawRule } from "./schema.js";
import type { Salvaged } from "./salvage.js";
import { known } from "./suggest.js";
import type { Config, RuleConfig } from "./types.js";
import { MAX_WINDOW_MS } from "./window.js";

/**
 * Paths in a config are relative to the config file, so that cron's working directory does not
 * matter; `~/` at the start stands for the home directory, so that a config that ships inside a
 * package (the demo) can keep its ledger outside it.
 */
export function pathResolver(dir: string, home: string | undefined, problems: string[]): ResolvePath {
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

/**
 * The config every command reads: defaults applied, paths absolute, each source and target
 * normalised by its own type's definition, and the rules checked against them. Problems are added
 * to `problems`; the result is only used when there are none.
 */
export function normalize(
  raw: Salvaged,
  doc: Record<string, unknown>,
  file: string,
  problems: string[],
  resolvePath: ResolvePath,
): Config {
  const context = (section: "sources" | "targets" | "notify.channels", name: string): NormalizeContext => {
    const at =
      section === "notify.channels" ? formatPath(["notify", "channels", name]) : formatPath([section, name]);
    checkName(name, at, problems);
    return { name, at, problems, resolvePath };
  };

  const sources = new Map<string, SourceConfig>();
  for (const [name, s] of Object.entries(raw.sources)) {
    sources.set(name, normalizeSource(s, context("sources", name)));
  }
  const targets = new Map<string, TargetConfig>();
  for (const [name, t] of Object.entries(raw.targets)) {
    const ctx = context("targets", name);
    for (const check of TARGET_CHECKS) problems.push(...check(t, { at: ctx.at }));
    targets.set(name, normalizeTarget(t, ctx));
  }

  // References are checked against every name the config defines, even one whose definition has a
  // problem of its own (that problem is already reported).
  const defined = {
    sources: isMapping(doc.sources) ? Object.keys(doc.sources) : null,
    targets: isMapping(doc.targets) ? Object.keys(doc.targets) : null,
  };
  const rules: RuleConfig[] = [];
  raw.rules.forEach((r, index) => {
    if (!r) return;
    const ctx: RuleCheckContext = {
      at: `rules[${index}]`,
      index,
      rules: raw.rules,
      sources,
      targets,
      defined,
      // A rule's schedules may be invalid (reported already) rather than missing.
      written: {
        schedules: valueAt(doc, ["rules", index, "schedules"]) !== undefined,
        incidents: valueAt(doc, ["rules", index, "incidents"]) !== undefined,
      },
    };
    for (const check of RULE_CHECKS) problems.push(...check(r, ctx));
    rules.push(normalizeRule(r));
  });

  const window = parseDuration(raw.window ?? "24h") as ParsedDuration;
  if (window.ms > MAX_WINDOW_MS) {
    problems.push(
      `window: "${raw.window}" is longer than 90 days, the most PagerDuty renders; use 90d or less`,
    );
  }

  const identities = normalizeIdentities(raw.identities ?? {}, problems);
  const channels = new Map<string, ChannelConfig>();
  for (const [name, c] of Object.entries(raw.notify?.channels ?? {})) {
    const ctx = context("notify.channels", name);
    const channel = normalizeChannel(c, ctx);
    const events = channel.events ?? (raw.notify?.events ? new Set(raw.notify.events) : null);
    for (const r of channel.rules ?? []) {
      if (!raw.rules.some((x) => x?.name === r))
        problems.push(
          `${ctx.at}.rules: unknown rule "${r}"${known(
            r,
            raw.rules.flatMap((x) => (x?.name ? [x.name] : [])),
            "rules",
          )}`,
        );
    }
    channels.set(name, { ...channel, events });
  }

  return {
    file,
    window,
    state: resolvePath(raw.state ?? "shiftgrant-state.json", "state"),
    audit: raw.audit ? resolvePath(raw.audit, "audit") : null,
    maxChanges: raw.maxChanges ?? null,
    concurrency: raw.concurrency ?? 4,
    http: {
      timeoutMs: durationMs(raw.http?.timeout, DEFAULT_HTTP.timeoutMs),
      retries: raw.http?.retries ?? DEFAULT_HTTP.retries,
      backoffMs: durationMs(raw.http?.backoff, DEFAULT_HTTP.backoffMs),
      maxRetryWaitMs: durationMs(raw.http?.maxRetryWait, DEFAULT_HTTP.maxRetryWaitMs),
      maxResponseBytes: byteSize(raw.http?.maxResponseBytes),
    },
    identities,
    sources,
    targets,
    rules,
    channels,
  };
}

function normalizeRule(r: Partial<RawRule>): RuleConfig {
  return {
    name: r.name ?? "",
    source: r.source ?? "",
    schedules: r.schedules ?? [],
    incidents: r.incidents ? { services: [...new Set(r.incidents.services)] } : null,
    escalationLevels: r.escalationLevels ?? null,
    target: r.target ?? "",
    resources: [...new Set(r.resources ?? [])],
    leadMs: durationMs(r.lead, 0),
    graceMs: durationMs(r.grace, 0),
    // In the incident mode access lasts until maxDuration after now (4h unless said), extended by
    // later runs while the incident stays open.
    maxDurationMs: r.maxDuration ? durationMs(r.maxDuration, 0) : r.incidents ? 4 * 3_600_000 : null,
    revoke: r.revoke ?? false,
  };
}

/**
 * Source emails to target identities, keyed as emails are compared (trimmed, lower-cased). Both
 * sides must be plain emails; two spellings of one email must not map to two identities.
 */
function normalizeIdentities(raw: Record<string, string>, problems: string[]): Map<string, string> {
  const identities = new Map<string, string>();
  const firstSpelling = new Map<string, string>();
  for (const [from, to] of Object.entries(raw)) {
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
  return identities;
}

function byteSize(v: string | number | undefined): number {
  const n = v === undefined ? DEFAULT_MAX_RESPONSE_BYTES : parseByteSize(v);
  return typeof n === "string" ? DEFAULT_MAX_RESPONSE_BYTES : n;
}

/** Source and target names appear in logs, the ledger and file names: a plain alphabet only. */
function checkName(name: string, at: string, problems: string[]): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) {
    problems.push(`${at}: names use letters, digits, '.', '_' and '-', and start with a letter or digit`);
  }
}
