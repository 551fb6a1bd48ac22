// Writes schema/shiftgrant.schema.json from the zod definition the validator uses, so that editors
// complete and check exactly what shiftgrant accepts. Run `npm run schema` after changing
// src/config/schema.ts; test/schema.test.ts fails while the committed file is out of date.
import { writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { configJsonSchema } from "../src/config/json-schema.js";

const out = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "schema", "shiftgrant.schema.json");
writeFileSync(out, configJsonSchema());
console.log(`wrote ${path.relative(process.cwd(), out)}`);
