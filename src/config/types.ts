import type { ParsedDuration } from "../core/time.js";
import type { HttpSettings } from "../infra/http.js";
import type { ChannelConfig } from "../notify/index.js";
import type { SourceConfig } from "../sources/index.js";
import type { TargetConfig } from "../targets/index.js";

export type { SecretRef } from "../core/fields.js";
export type { ChannelConfig, SourceConfig, TargetConfig };

/** A source read over HTTP with a token. */
export type ApiSourceConfig = Extract<SourceConfig, { baseUrl: string }>;

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

/** A config as every command reads it: defaults applied, paths absolute, references checked. */
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
  /** Notification channels by name, events filled in (empty: notifications are off). */
  channels: Map<string, ChannelConfig>;
};

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
