// Writes the files generated from the program's own definitions (see scripts/generated.ts): the
// JSON Schema editors use to complete and check configs, and the type names and token variables
// --help shows. Run `npm run schema` after changing a config schema or a registry; test/schema.test.ts
// fails while a committed file is out of date.
import { writeFileSync } from "node:fs";
import path from "node:path";
import { generatedFiles, ROOT } from "./generated.js";

for (const file of await generatedFiles()) {
  writeFileSync(path.join(ROOT, file.path), file.text);
  console.log(`wrote ${file.path}`);
}
