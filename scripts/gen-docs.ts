// Writes docs/configuration.md from schema/shiftgrant.schema.json (run `npm run schema` first when a
// zod schema changed). test/docs.test.ts fails while the committed file is out of date.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { JsonSchema } from "./config-doc.js";
import { renderConfigurationDoc } from "./config-doc.js";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");
const schema = JSON.parse(
  readFileSync(path.join(root, "schema", "shiftgrant.schema.json"), "utf8"),
) as JsonSchema;
const out = path.join(root, "docs", "configuration.md");
writeFileSync(out, renderConfigurationDoc(schema));
console.log(`wrote ${path.relative(process.cwd(), out)}`);
