import type { z } from "zod";
import { describe, formatPath, isMapping, valueAt } from "./document.js";
import { TARGETS } from "../targets/index.js";
import { configSchema, SECRET_KEYS } from "./schema.js";
import { suggest } from "./suggest.js";

/**
 * Zod's issues as problems a person can act on: each names its path in the config and says what to
 * write instead (the expected type with a fix, the keys allowed here, a close match of a typo).
 */

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
export function inDocumentOrder(issues: readonly z.core.$ZodIssue[], doc: unknown): z.core.$ZodIssue[] {
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

export function formatIssue(issue: z.core.$ZodIssue, doc: unknown): string[] {
  const at = formatPath(issue.path);
  const prefix = at ? `${at}: ` : "";
  const custom = !issue.message.startsWith("Invalid input") && !issue.message.startsWith("Too ");
  switch (issue.code) {
    case "unrecognized_keys": {
      const allowed = keysAt(issue.path, doc);
      return issue.keys.map((k) => {
        const where = formatPath([...issue.path, k]);
        const refused = refusedKey(issue.path, k, doc);
        if (refused) return `${where}: ${refused}`;
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

export type Def = {
  type: string;
  shape?: Record<string, unknown>;
  innerType?: unknown;
  valueType?: unknown;
  element?: unknown;
  options?: unknown[];
  values?: unknown[];
};

export function defOf(schema: unknown): Def {
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

/** Why a target's type refuses key `k` of the target at `p`, where its definition says (credentials). */
function refusedKey(p: readonly PropertyKey[], k: string, doc: unknown): string | null {
  if (p.length !== 2 || p[0] !== "targets") return null;
  const type = valueAt(doc, [...p, "type"]);
  if (typeof type !== "string" || !Object.hasOwn(TARGETS, type)) return null;
  const def: { refusedKeys?: Readonly<Record<string, string>> } = TARGETS[type as keyof typeof TARGETS];
  return def.refusedKeys && Object.hasOwn(def.refusedKeys, k) ? (def.refusedKeys[k] ?? null) : null;
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
