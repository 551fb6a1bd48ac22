import type { z } from "zod";
import type { RawSource } from "../sources/index.js";
import type { RawChannel } from "../notify/index.js";
import type { RawTarget } from "../targets/index.js";
import { isMapping } from "./document.js";
import { defOf } from "./issues.js";
import {
  channelSchema,
  configSchema,
  ruleSchema,
  sourceSchema,
  targetSchema,
  type RawConfig,
  type RawRule,
} from "./schema.js";

/**
 * A raw config in which only the valid parts are kept: a source or target whose required fields are
 * valid (its invalid optional fields dropped), and of each rule the fields that are valid (rules keep
 * their index: `undefined` for one that is not even a mapping).
 */
export type Salvaged = Omit<RawConfig, "rules"> & { rules: (Partial<RawRule> | undefined)[] };

/**
 * Keeps every part of a config that is valid on its own, so that it can be checked further: one typo
 * must not hide the problems of everything around it.
 */
export function salvage(doc: Record<string, unknown>): Salvaged {
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
    notify: isMapping(doc.notify)
      ? {
          channels: members<RawChannel>(channelSchema, doc.notify.channels),
          events: ok(shape.notify.unwrap().shape.events, doc.notify.events),
        }
      : undefined,
    rules: Array.isArray(doc.rules)
      ? doc.rules.map((r) => validFields(ruleSchema.shape, r) as Partial<RawRule> | undefined)
      : [],
  };
}

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
