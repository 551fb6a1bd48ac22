// Writes docs/configuration.md from schema/shiftgrant.schema.json (run `npm run schema` first when a
// zod schema changed), and the capability table in docs/targets.md from the targets' declarations.
// test/docs.test.ts fails while either committed text is out of date.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { withCapabilityTable } from "./capabilities-doc.js";
import type { JsonSchema } from "./config-doc.js";
import { renderConfigurationDoc } from "./config-doc.js";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");
const schema = JSON.parse(
  readFileSync(path.join(root, "schema", "shiftgrant.schema.json"), "utf8"),
) as JsonSchema;
const out = path.join(root, "docs", "configuration.md");
writeFileSync(out, renderConfigurationDoc(schema));
console.log(`wrote ${path.relative(process.cwd(), out)}`);
const targets = path.join(root, "docs", "targets.md");
writeFileSync(targets, withCapabilityTable(readFileSync(targets, "utf8")));
console.log(`wrote the capability table in ${path.relative(process.cwd(), targets)}`);
