import { z } from "zod";
import { parseByteSize, parseDuration } from "../core/time.js";

/**
 * The config as written (YAML or JSON). This one definition validates configs and generates the JSON
 * Schema shipped for editors (`schema/shiftgrant.schema.json`). Unknown keys are errors everywhere: a
 * typo must not silently disable a rule. Cross-references (a rule's source and target) are checked
 * after this, in load.ts, where every problem is gathered with the others.
 */

const duration = z
  .string({
    // A number (`lead: 15`) gets the same advice as the string "15": say which unit.
    error: (issue) => {
      const why = parseDuration(issue.input);
      return typeof why === "string" ? why : 'expected a duration like "15m", "12h", "7d" or "PT12H"';
    },
  })
  .superRefine((v, ctx) => {
    const d = parseDuration(v);
    if (typeof d === "string") ctx.addIssue({ code: "custom", message: d });
  })
  .meta({ description: 'A duration: "90s", "30m", "12h", "7d", or ISO 8601 ("PT12H", "P7D").' });

const byteSize = z
  .union([z.number(), z.string()], {
    error: 'expected a size like "50MB", "512KB" or a number of bytes',
  })
  .superRefine((v, ctx) => {
    const n = parseByteSize(v);
    if (typeof n === "string") ctx.addIssue({ code: "custom", message: n });
  });

const name = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_.-]*$/,
    "names use letters, digits, '.', '_' and '-', and start with a letter or digit",
  );

const envName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "expected the name of an environment variable, like PAGERDUTY_TOKEN");

const secretRef = {
  tokenEnv: envName
    .optional()
    .meta({ description: "Name of the environment variable that holds the token." }),
  tokenFile: z
    .string()
    .min(1)
    .optional()
    .meta({ description: "File that holds the token (e.g. a mounted secret)." }),
};

const baseUrl = z.string().meta({
  description:
    "API base URL. https only; plain http is allowed for 127.0.0.1 and localhost (tests, local proxies).",
});

export const pagerdutySourceSchema = z.strictObject({
  type: z.literal("pagerduty"),
  ...secretRef,
  baseUrl: baseUrl
    .optional()
    .meta({ description: "https://api.pagerduty.com (default) or https://api.eu.pagerduty.com" }),
});

export const fileSourceSchema = z.strictObject({
  type: z.literal("file"),
  path: z.string().min(1).meta({ description: "The rota file, relative to the config file." }),
});

export const opsgenieSourceSchema = z.strictObject({
  type: z.literal("opsgenie"),
  ...secretRef,
  baseUrl: baseUrl
    .optional()
    .meta({ description: "https://api.opsgenie.com (default) or https://api.eu.opsgenie.com" }),
});

export const incidentioSourceSchema = z.strictObject({
  type: z.literal("incidentio"),
  ...secretRef,
  baseUrl: baseUrl.optional().meta({ description: "https://api.incident.io (default)" }),
});

export const sourceSchema = z.discriminatedUnion("type", [
  pagerdutySourceSchema,
  opsgenieSourceSchema,
  incidentioSourceSchema,
  fileSourceSchema,
]);

const argvTemplate = z
  .array(z.string(), {
    // A command line written as one string is the usual mistake: show it split into an argv.
    error: (issue) =>
      typeof issue.input === "string"
        ? `expected an argv list, not one string: write ${JSON.stringify(issue.input.split(/\s+/).filter(Boolean))} (one item per argument; no shell runs it)`
        : 'expected an argv list, e.g. ["/usr/local/bin/grant", "{identity}", "{resource}"]',
  })
  .min(1, "the argv list needs at least the executable");

const targetCommon = {
  concurrency: z
    .number()
    .int()
    .min(1)
    .max(64)
    .optional()
    .meta({ description: "Calls in flight at once (default 4)." }),
  timeout: duration.optional().meta({ description: "Time allowed for one call (default 60s)." }),
};

/**
 * Keys about identities and memberships that every target takes (`identities`, `exclusive`), and
 * `expires` for the targets where the config says whether the tool ends a grant by itself.
 */
const targetIdentities = {
  identities: z.record(z.string(), z.string()).optional().meta({
    description:
      "Source email -> identity in this target only; applied after the top-level identities, and wins over them.",
  }),
  exclusive: z.array(z.string().min(1)).optional().meta({
    description:
      "Resources whose whole membership shiftgrant owns: each run removes every member not on call. Only on targets that can list members.",
  }),
};

const targetExpires = {
  expires: z.boolean().optional().meta({
    description:
      "The command or receiver ends each grant at {end} by itself (default true). With false, shiftgrant ends it with the revoke call once its end has passed.",
  }),
};

export const strongdmTargetSchema = z.strictObject({
  type: z.literal("strongdm"),
  command: z.string().min(1).optional().meta({ description: 'The sdm executable (default "sdm").' }),
  ...secretRef,
  grantArgs: argvTemplate.optional().meta({
    description:
      "Arguments after the executable, to match another sdm version: {identity} {resource} {start} {end} {duration} {rule} {reason}.",
  }),
  ...targetCommon,
  ...targetIdentities,
});

export const commandTargetSchema = z.strictObject({
  type: z.literal("command"),
  grant: argvTemplate.meta({
    description: "argv run for a grant: {identity} {resource} {start} {end} {duration} {rule} {reason}.",
  }),
  revoke: argvTemplate.optional().meta({ description: "argv run for a revoke (same placeholders)." }),
  ...secretRef,
  env: z
    .array(envName)
    .optional()
    .meta({ description: "Names of extra environment variables passed to the command." }),
  ...targetCommon,
  ...targetExpires,
  ...targetIdentities,
});

export const teleportTargetSchema = z.strictObject({
  type: z.literal("teleport"),
  command: z.string().min(1).optional().meta({ description: 'The tctl executable (default "tctl").' }),
  args: z.array(z.string()).optional().meta({
    description:
      'Arguments before the subcommand, e.g. ["--auth-server", "proxy.example.com:443", "-i", "/opt/machine-id/identity"].',
  }),
  env: z
    .array(envName)
    .optional()
    .meta({ description: "Names of extra environment variables passed to tctl." }),
  ...targetCommon,
  ...targetIdentities,
});

export const httpTargetSchema = z.strictObject({
  type: z.literal("http"),
  url: z.string().meta({
    description:
      "POST here to grant; DELETE url/{key} to revoke. https (http only for 127.0.0.1 and localhost).",
  }),
  ...secretRef,
  headersFromEnv: z.record(z.string(), envName).optional().meta({
    description: "Extra request headers, each read from an environment variable: { X-Org-Id: ORG_ID }.",
  }),
  revoke: z
    .boolean()
    .optional()
    .meta({ description: "The endpoint takes DELETE url/{key} to revoke (default false)." }),
  ...targetCommon,
  ...targetExpires,
  ...targetIdentities,
});

export const targetSchema = z.discriminatedUnion("type", [
  strongdmTargetSchema,
  commandTargetSchema,
  teleportTargetSchema,
  httpTargetSchema,
]);

export const ruleSchema = z.strictObject({
  name,
  source: z.string().min(1),
  schedules: z
    .array(z.string().min(1))
    .min(1, "list at least one schedule id or name")
    .optional()
    .meta({ description: "Schedule ids, or exact names (case-insensitive)." }),
  incidents: z
    .strictObject({
      services: z.array(z.string().min(1)).min(1, "list at least one service id"),
    })
    .optional()
    .meta({
      description:
        "PagerDuty only, instead of schedules: whoever acknowledged an open incident on these services gets access.",
    }),
  escalationLevels: z
    .array(z.number().int().min(1))
    .min(1)
    .optional()
    .meta({ description: "PagerDuty only: keep these levels." }),
  target: z.string().min(1),
  resources: z.array(z.string().min(1)).min(1, "list at least one resource"),
  lead: duration.optional().meta({ description: "The grant starts this long before the shift (default 0)." }),
  grace: duration.optional().meta({ description: "The grant ends this long after the shift (default 0)." }),
  maxDuration: duration.optional().meta({ description: "Longest single grant; later runs extend." }),
  revoke: z
    .boolean()
    .optional()
    .meta({ description: "Revoke grants whose shift disappeared (default false)." }),
});

export const httpSchema = z.strictObject({
  timeout: duration.optional().meta({ description: "Time allowed for one request attempt (default 30s)." }),
  retries: z
    .number()
    .int()
    .min(0)
    .max(10)
    .optional()
    .meta({ description: "Retries on 408/429/5xx/network errors (default 4)." }),
  backoff: duration.optional().meta({ description: "Base of the exponential backoff (default 1s)." }),
  maxRetryWait: duration
    .optional()
    .meta({ description: "Longest single wait before a retry (default 60s)." }),
  maxResponseBytes: byteSize.optional().meta({
    description:
      'Largest response body read, e.g. "50MB" (the default), "512KB", or a number of bytes; a larger one fails the request.',
  }),
});

export const configSchema = z.strictObject({
  $schema: z.string().optional(),
  version: z.literal(1, {
    error: (issue) =>
      issue.input === undefined
        ? 'missing: add "version: 1" at the top of the file'
        : `expected 1, got ${JSON.stringify(issue.input)}: this shiftgrant reads version 1 configs`,
  }),
  window: duration.optional().meta({ description: "Default look-ahead for sync and oncall (default 24h)." }),
  state: z
    .string()
    .min(1)
    .optional()
    .meta({ description: "Ledger of issued grants (default ./shiftgrant-state.json)." }),
  audit: z.string().min(1).optional().meta({ description: "Append-only audit log (JSON lines)." }),
  maxChanges: z
    .number()
    .int()
    .min(0)
    .optional()
    .meta({ description: "Apply nothing if grants + extends + revokes exceed this." }),
  concurrency: z
    .number()
    .int()
    .min(1)
    .max(32)
    .optional()
    .meta({ description: "Parallel requests per source (default 4)." }),
  http: httpSchema.optional(),
  identities: z
    .record(z.string(), z.string())
    .optional()
    .meta({ description: "Source email -> identity in the access tool." }),
  sources: z.record(z.string(), sourceSchema),
  targets: z.record(z.string(), targetSchema),
  rules: z.array(ruleSchema).min(1, "list at least one rule"),
});

export type RawConfig = z.infer<typeof configSchema>;
export type RawSource = z.infer<typeof sourceSchema>;
export type RawTarget = z.infer<typeof targetSchema>;
export type RawRule = z.infer<typeof ruleSchema>;

/** Keys that look like a secret written into the config. */
export const SECRET_KEYS = new Set(["token", "apiKey", "apikey", "api_key", "password", "secret", "key"]);
