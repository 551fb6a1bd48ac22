import { z } from "zod";
import { duration, durationMs, type NormalizeContext } from "../core/fields.js";
import { NOTIFY_EVENT_TYPES, type NotifyEvent, type NotifyEventType } from "./event.js";
import type { Channel, ChannelDeps } from "./types.js";

/** A channel's config schema: a strict object whose `type` is the channel type's name. */
export type ChannelSchema = z.ZodObject<{ type: z.ZodLiteral<string> }, z.core.$strict>;

/** What every channel's resolved config holds, whatever its type. */
export type ChannelCommon = {
  name: string;
  /** The event types it receives; null: `notify.events`, else all four (the config fills it in). */
  events: ReadonlySet<NotifyEventType> | null;
  /** Only events of these rules (a summary always); null: every rule. */
  rules: readonly string[] | null;
  /** A message that could not be delivered makes the run exit 4. */
  required: boolean;
  timeoutMs: number;
};

export const DEFAULT_CHANNEL_TIMEOUT_MS = 30_000;

export type ChannelDefinition<T extends string, S extends ChannelSchema, C> = {
  type: T;
  schema: S;
  /** The variable the token is read from unless `tokenEnv` or `tokenFile` says; null: none by default. */
  tokenEnv: string | null;
  normalize(raw: z.output<S>, ctx: NormalizeContext): C;
  create(config: C, deps: ChannelDeps): Channel;
};

type TypeOf<S extends ChannelSchema> = z.output<S>["type"];

export function defineChannel<S extends ChannelSchema, C extends ChannelCommon & { type: TypeOf<S> }>(
  def: Omit<ChannelDefinition<TypeOf<S>, S, C>, "type">,
): ChannelDefinition<TypeOf<S>, S, C> {
  return { type: def.schema.shape.type.value, ...def };
}

export function channelRegistry<R extends { [K in keyof R]: { type: K } }>(definitions: R): R {
  return definitions;
}

const eventType = z.enum(NOTIFY_EVENT_TYPES as [NotifyEventType, ...NotifyEventType[]], {
  error: `expected one of: ${NOTIFY_EVENT_TYPES.join(", ")}`,
});

/** The keys every channel has, after its own. */
export const eventTypes = z.array(eventType).min(1);

export const channelFields = {
  events: eventTypes.optional().meta({
    description:
      "Which events it receives: granted, ended, failed, summary (default: notify.events, else all four).",
  }),
  rules: z
    .array(z.string().min(1))
    .min(1)
    .optional()
    .meta({ description: "Only the events of these rules (summaries always); default: every rule." }),
  required: z.boolean().optional().meta({
    description:
      "A message that cannot be delivered makes the run exit 4 (default false: it is logged and counted, and the exit code is unchanged).",
  }),
  timeout: duration.optional().meta({ description: "Time allowed for one request (default 30s)." }),
};

export function normalizeChannelFields(
  raw: {
    events?: NotifyEventType[] | undefined;
    rules?: string[] | undefined;
    required?: boolean | undefined;
    timeout?: string | undefined;
  },
  ctx: NormalizeContext,
): ChannelCommon {
  return {
    name: ctx.name,
    events: raw.events ? new Set(raw.events) : null,
    rules: raw.rules ? [...new Set(raw.rules)] : null,
    required: raw.required ?? false,
    timeoutMs: durationMs(raw.timeout, DEFAULT_CHANNEL_TIMEOUT_MS),
  };
}

const ALL_EVENTS: ReadonlySet<NotifyEventType> = new Set(NOTIFY_EVENT_TYPES);

/** Whether a channel receives an event: its type is listed, and it is of one of its rules. */
export function routes(c: ChannelCommon, e: NotifyEvent): boolean {
  if (!(c.events ?? ALL_EVENTS).has(e.type)) return false;
  return c.rules === null || e.rule === undefined || c.rules.includes(e.rule);
}
