import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { Ajv2020 } from "ajv/dist/2020.js";
import { parse } from "yaml";
import { configJsonSchema } from "../src/config/json-schema.js";
import { parseConfig } from "../src/config/load.js";
import { defaultsModule } from "../scripts/generated.js";
import { ROOT } from "./helpers.js";

const SCHEMA_FILE = path.join(ROOT, "schema", "shiftgrant.schema.json");

function exampleConfigs(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.ya?ml$/.test(e.name) && /^# yaml-language-server: \$schema=/m.test(readFileSync(p, "utf8")))
        out.push(p);
    }
  };
  walk(path.join(ROOT, "examples"));
  return out.sort();
}

describe("the shipped JSON Schema", () => {
  const schema = JSON.parse(readFileSync(SCHEMA_FILE, "utf8")) as object;
  const validate = new Ajv2020({ allErrors: true, strict: false }).compile(schema);

  it("is the one generated from the validator's definition (run `npm run schema` if not)", () => {
    assert.equal(readFileSync(SCHEMA_FILE, "utf8"), configJsonSchema());
  });

  it("finds the example configs", () => {
    assert.ok(exampleConfigs().length >= 3, exampleConfigs().join(", "));
  });

  for (const file of exampleConfigs()) {
    const rel = path.relative(ROOT, file);
    it(`accepts ${rel}, which the validator accepts too, and points at the schema`, () => {
      const text = readFileSync(file, "utf8");
      assert.ok(validate(parse(text)), JSON.stringify(validate.errors));
      parseConfig(text, file);
      const ref = /^# yaml-language-server: \$schema=(\S+)/m.exec(text)?.[1] as string;
      assert.equal(path.resolve(path.dirname(file), ref), SCHEMA_FILE);
    });
  }

  it("rejects a typo in a rule", () => {
    const doc = parse(readFileSync(path.join(ROOT, "examples", "demo", "shiftgrant.yaml"), "utf8")) as {
      rules: Record<string, unknown>[];
    };
    (doc.rules[0] as Record<string, unknown>).resouces = ["x"];
    assert.equal(validate(doc), false);
    assert.ok(validate.errors?.some((e) => e.keyword === "additionalProperties"));
  });
});

// --help and init's choices read the type names and token variables from this module, which main.ts
// imports up front and which therefore cannot import the registries themselves.
it("src/config/defaults.ts is the one generated from the registries (run `npm run schema` if not)", async () => {
  assert.equal(readFileSync(path.join(ROOT, "src", "config", "defaults.ts"), "utf8"), await defaultsModule());
});
