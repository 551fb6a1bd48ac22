import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { isDeepStrictEqual } from "node:util";
import { parse } from "yaml";
import { configJsonSchema } from "../src/config/json-schema.js";
import type { NormalizeContext } from "../src/core/fields.js";
import type { HttpClient } from "../src/infra/http.js";
import { sourceSchema, targetSchema } from "../src/config/schema.js";
import type { SourceSchema } from "../src/sources/define.js";
import { createSource, normalizeSource, SOURCES } from "../src/sources/index.js";
import type { TargetSchema } from "../src/targets/define.js";
import { capabilitiesOf, createTarget, normalizeTarget, TARGETS } from "../src/targets/index.js";
import { ROOT } from "./helpers.js";

// Each adapter is a folder that declares everything about its type, registered by one line in its
// kind's registry, and accepted by the config schema: folders, registries, schema and the adapters'
// READMEs must agree, so that adding a folder without registering it (or the reverse), or a key
// without saying what it is for, fails here.
const folders = (dir: string) =>
  readdirSync(path.join(ROOT, "src", dir), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();

const schemaTypes = (union: Union) => union.options.map((o) => String(o.shape.type.value));

/** The fenced YAML blocks of a markdown file. */
const yamlBlocks = (markdown: string) =>
  [...markdown.matchAll(/^```yaml\n([\s\S]*?)^```$/gm)].map((m) => m[1] as string);

type Registry = Readonly<
  Record<string, { type: string; tokenEnv: string | null; schema: SourceSchema | TargetSchema }>
>;
type Union = { options: readonly { shape: { type: { value: unknown } } }[] };

/** Nothing may be sent while an adapter is only made. */
const http: HttpClient = {
  request: () => Promise.reject(new Error("no request is made here")),
  stats: { requests: new Map(), retries: 0, throttled: 0 },
};

/**
 * Normalises an entry of the kind's section and makes the adapter from it, as a run would (nothing is
 * called); returns what the made adapter can do that its definition declares: for a source,
 * `incidents` (it can read acknowledgements); for a target, `listsMembers`.
 */
type Make = (entry: unknown, ctx: NormalizeContext) => Record<string, boolean>;

const makeSource: Make = (entry, ctx) => {
  const source = createSource(normalizeSource(sourceSchema.parse(entry), ctx), {
    http,
    token: "t",
    concurrency: 1,
    log: { error() {}, warn() {}, info() {}, debug() {} } as never,
  });
  return { incidents: typeof source.fetchAcknowledgements === "function" };
};

const makeTarget: Make = (entry, ctx) => {
  const config = normalizeTarget(targetSchema.parse(entry), ctx);
  const target = createTarget(config, {
    exec: () => Promise.reject(new Error("nothing is run here")),
    env: {},
    token: "t",
    http,
  });
  // The plan reads a target's capabilities from its config, without making it: both must agree.
  assert.deepEqual(target.capabilities, capabilitiesOf(config));
  return { listsMembers: target.capabilities.listsMembers };
};

const kinds: readonly {
  kind: "sources" | "targets";
  registry: Registry;
  union: Union;
  make: Make;
  /** What the type's definition declares, as `make` returns it. */
  declared: (type: string) => Record<string, boolean>;
  /**
   * A config of the type may do less than its definition declares (a teleport target lists members
   * on access lists, not in its access-requests mode): then some README example must do all of it.
   */
  mayNarrow: boolean;
}[] = [
  {
    kind: "sources",
    registry: SOURCES,
    union: sourceSchema,
    make: makeSource,
    declared: (type) => ({
      incidents: Object.values(SOURCES).some((d) => d.type === type && d.features.incidents),
    }),
    mayNarrow: false,
  },
  {
    kind: "targets",
    registry: TARGETS,
    union: targetSchema,
    make: makeTarget,
    declared: (type) => ({
      listsMembers: Object.values(TARGETS).some((d) => d.type === type && d.listsMembers),
    }),
    mayNarrow: true,
  },
];

for (const { kind, registry, union, make, declared, mayNarrow } of kinds) {
  describe(`the ${kind}`, () => {
    it("registry, folders and config schema name the same types", () => {
      assert.deepEqual(Object.keys(registry).sort(), folders(kind));
      assert.deepEqual(schemaTypes(union).sort(), folders(kind));
    });

    it("schema lists them in the registry's order", () => {
      assert.deepEqual(schemaTypes(union), Object.keys(registry));
    });

    for (const [key, definition] of Object.entries(registry)) {
      it(`${key}: registered under its own type, with its config, its code and a README`, () => {
        assert.equal(definition.type, key);
        assert.equal(String(definition.schema.shape.type.value), key);
        for (const file of ["config.ts", "index.ts", "README.md"]) {
          assert.ok(
            existsSync(path.join(ROOT, "src", kind, key, file)),
            `src/${kind}/${key}/${file} is missing`,
          );
        }
      });

      it(`${key}: its README's ${kind} examples are accepted by its schema`, () => {
        const readme = readFileSync(path.join(ROOT, "src", kind, key, "README.md"), "utf8");
        assert.match(readme, new RegExp(`^# ${key} ${kind.slice(0, -1)}$`, "m"));
        const examples = yamlBlocks(readme)
          .map((text) => parse(text) as Record<string, unknown>)
          .filter((doc) => doc[kind] !== undefined);
        assert.ok(examples.length > 0, `the README shows no ${kind}: example`);
        const made: Record<string, boolean>[] = [];
        for (const doc of examples) {
          for (const [name, entry] of Object.entries(doc[kind] as Record<string, unknown>)) {
            const parsed = definition.schema.safeParse(entry);
            assert.ok(parsed.success, `${kind}.${name}: ${JSON.stringify(parsed.error?.issues)}`);
            // It normalises without a problem, and what it makes has what its definition declares.
            const problems: string[] = [];
            const ctx = {
              name,
              at: `${kind}.${name}`,
              problems,
              resolvePath: (p: string) => path.resolve("/etc", p),
            };
            const can = make(entry, ctx);
            made.push(can);
            if (mayNarrow) {
              for (const [what, yes] of Object.entries(can))
                assert.ok(!yes || declared(key)[what], `${name}: ${what}`);
            } else assert.deepEqual(can, declared(key));
            assert.deepEqual(problems, []);
          }
        }
        // Whatever the definition declares, some example config of the type does.
        assert.ok(
          made.some((can) => isDeepStrictEqual(can, declared(key))),
          `no example does all ${key} declares`,
        );
      });

      const tokenEnv = definition.tokenEnv;
      if (tokenEnv !== null) {
        it(`${key}: its README names its default token variable`, () => {
          const readme = readFileSync(path.join(ROOT, "src", kind, key, "README.md"), "utf8");
          assert.ok(readme.includes(tokenEnv), tokenEnv);
        });
      }
    }
  });
}

// The config reference is generated from these descriptions: a key without one would be a hole in it.
it("every key of the config, the adapters' included, has a description", () => {
  const missing: string[] = [];
  const walk = (node: unknown, at: string): void => {
    if (Array.isArray(node)) return node.forEach((n) => walk(n, at));
    if (node === null || typeof node !== "object") return;
    const n = node as Record<string, unknown>;
    const type = (n.properties as { type?: { const?: unknown } } | undefined)?.type?.const;
    const here = typeof type === "string" ? `${at}(${type})` : at;
    for (const [key, child] of Object.entries((n.properties as Record<string, unknown> | undefined) ?? {})) {
      const desc = (child as { description?: unknown }).description;
      const where = here ? `${here}.${key}` : key;
      if (typeof desc !== "string" || desc.trim() === "") missing.push(where);
      walk(child, where);
    }
    for (const k of ["items", "additionalProperties", "oneOf", "anyOf", "allOf"]) walk(n[k], here);
  };
  walk(JSON.parse(configJsonSchema()), "");
  assert.deepEqual(missing, []);
});
