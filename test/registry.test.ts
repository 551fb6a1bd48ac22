import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import path from "node:path";
import { it } from "node:test";
import { SOURCES } from "../src/sources/index.js";
import { TARGETS } from "../src/targets/index.js";
import { sourceSchema, targetSchema } from "../src/config/schema.js";
import { ROOT } from "./helpers.js";

// Each adapter is a folder, registered in one explicit map, and accepted by the config schema:
// the three must agree, so that adding a folder without registering it (or the reverse) fails here.
const folders = (dir: string) =>
  readdirSync(path.join(ROOT, "src", dir), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();

const schemaTypes = (union: { options: readonly { shape: { type: { value: unknown } } }[] }) =>
  union.options.map((o) => String(o.shape.type.value)).sort();

it("the source registry, the source folders and the config schema agree", () => {
  assert.deepEqual(Object.keys(SOURCES).sort(), folders("sources"));
  assert.deepEqual(schemaTypes(sourceSchema as never), folders("sources"));
});

it("the target registry, the target folders and the config schema agree", () => {
  assert.deepEqual(Object.keys(TARGETS).sort(), folders("targets"));
  assert.deepEqual(schemaTypes(targetSchema as never), folders("targets"));
});
