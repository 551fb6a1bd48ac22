import { z } from "zod";
import { duration } from "../core/fields.js";
import { parseByteSize } from "../core/time.js";
import type { SourceSchema } from "../sources/define.js";
import { SOURCES, sourceTypesWith } from "../sources/index.js";
import type { ChannelSchema } from "../notify/define.js";
import { eventTypes } from "../notify/define.js";
import { CHANNELS } from "../notify/index.js";
import type { TargetSchema } from "../targets/define.js";
import { TARGETS } from "../targets/index.js";

/**
 * The config as written (YAML or JSON). This one definition validates configs and generates the JSON
 * Schema shipped for editors (`schema/shiftgrant.schema.json`). Unknown keys are errors everywhere: a
 * typo must not silently disable a rule. Each source and target type's keys are declared in its own
 * folder and collected here from the registries. Cross-references (a rule's source and target) are
 * checked after this, in rules.ts, where every problem is gathered with the others.
 */

/** One schema per registered type, in the registry's order, as the discriminated union takes them. */
function unionOf<D extends { schema: SourceSchema | TargetSchema | ChannelSchema }>(
  definitions: readonly D[],
): z.ZodDiscriminatedUnion<[D["schema"], ...D["schema"][]], "type"> {
  const [first, ...rest] = definitions;
  if (!first) throw new Error("a registry lists no types");
  return z.discriminatedUnion("type", [first.schema, ...rest.map((d) => d.schema)]);
}

export const sourceSchema = unionOf(Object.values(SOURCES));
export const targetSchema = unionOf(Object.values(TARGETS));
export const channelSchema = unionOf(Object.values(CHANNELS));

export const notifySchema = z.strictObject({
  channels: z.record(z.string(), channelSchema).meta({
    description: "Where notifications go, by name: each a type (slack, webhook) and that type's keys.",
  }),
  events: eventTypes.optional().meta({
    description:
      "The events every channel receives unless it lists its own: granted, ended, failed, summary (default: all four).",
  }),
});

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

/** "pagerduty sources" today: the types whose definitions declare the feature. */
const onlyFor = (feature: "incidents" | "escalationLevels") =>
  `Only for ${sourceTypesWith(feature).join(" and ")} sources`;

export const ruleSchema = z.strictObject({
  name: name.meta({ description: "The rule's name: in the plan, the ledger, the audit log and {rule}." }),
  source: z.string().min(1).meta({ description: "The source (a key of sources) that says who is on call." }),
  schedules: z
    .array(z.string().min(1))
    .min(1, "list at least one schedule id or name")
    .optional()
    .meta({ description: "Schedule ids, or exact names (case-insensitive)." }),
  incidents: z
    .strictObject({
      services: z
        .array(z.string().min(1))
        .min(1, "list at least one service id")
        .meta({ description: "Service ids (PSVC123) whose open incidents count." }),
    })
    .optional()
    .meta({
      description: `${onlyFor("incidents")}, instead of schedules: whoever acknowledged an open incident on these services gets access.`,
    }),
  escalationLevels: z
    .array(z.number().int().min(1))
    .min(1)
    .optional()
    .meta({ description: `${onlyFor("escalationLevels")}: keep the people on call at these levels.` }),
  target: z.string().min(1).meta({ description: "The target (a key of targets) that grants access." }),
  resources: z
    .array(z.string().min(1))
    .min(1, "list at least one resource")
    .meta({ description: "What the on-call people get access to, as the target names it ({resource})." }),
  lead: duration.optional().meta({ description: "The grant starts this long before the shift (default 0)." }),
  grace: duration.optional().meta({ description: "The grant ends this long after the shift (default 0)." }),
  maxDuration: duration.optional().meta({
    description: "Longest single grant; later runs extend it (default: none; 4h for an incidents rule).",
  }),
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
  $schema: z
    .string()
    .optional()
    .meta({ description: "The JSON Schema this file follows, for editors; shiftgrant ignores it." }),
  version: z
    .literal(1, {
      error: (issue) =>
        issue.input === undefined
          ? 'missing: add "version: 1" at the top of the file'
          : `expected 1, got ${JSON.stringify(issue.input)}: this shiftgrant reads version 1 configs`,
    })
    .meta({ description: "The config format: 1." }),
  window: duration.optional().meta({ description: "Default look-ahead for sync and oncall (default 24h)." }),
  state: z.string().min(1).optional().meta({
    description:
      "Ledger of issued grants, relative to the config file (default shiftgrant-state.json beside it); its lock is <state>.lock.",
  }),
  audit: z.string().min(1).optional().meta({
    description: "Append-only audit log (JSON lines), relative to the config file (default: none).",
  }),
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
  http: httpSchema
    .optional()
    .meta({ description: "How every HTTP source (and the http target) sends requests." }),
  identities: z.record(z.string(), z.string()).optional().meta({
    description:
      "Source email -> identity in the access tool; both plain emails, keys compared case-insensitively.",
  }),
  sources: z
    .record(z.string(), sourceSchema)
    .meta({ description: "Where on-call data comes from, by name: each a type and that type's keys." }),
  targets: z
    .record(z.string(), targetSchema)
    .meta({ description: "The access tools that grant access, by name: each a type and that type's keys." }),
  rules: z
    .array(ruleSchema)
    .min(1, "list at least one rule")
    .meta({ description: "Who gets what: a source's schedules (or incidents), a target and its resources." }),
  notify: notifySchema.optional().meta({
    description: "Notifications of what a run did (off unless set): channels, and which events go where.",
  }),
});

export type RawConfig = z.infer<typeof configSchema>;
export type RawRule = z.infer<typeof ruleSchema>;

/** Keys that look like a secret written into the config. */
export const SECRET_KEYS = new Set(["token", "apiKey", "apikey", "api_key", "password", "secret", "key"]);
