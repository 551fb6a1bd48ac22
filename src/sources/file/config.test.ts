import assert from "node:assert/strict";
import path from "node:path";
import { it } from "node:test";
import { fileSource } from "./index.js";
import { fileSchema, normalizeFile } from "./config.js";

it("file config: the rota is beside the config, has no token, and is a file whose permissions matter", () => {
  const problems: string[] = [];
  const ctx = {
    name: "rota",
    at: "sources.rota",
    problems,
    resolvePath: (p: string) => path.resolve("/etc/sg", p),
  };
  const config = normalizeFile(fileSchema.parse({ type: "file", path: "rota.yaml" }), ctx);
  assert.deepEqual(config, { name: "rota", type: "file", path: "/etc/sg/rota.yaml" });
  assert.deepEqual(problems, []);
  assert.equal(fileSource.tokenEnv, null);
  assert.deepEqual(fileSource.accessFiles?.(config), [{ role: "the rota", path: "/etc/sg/rota.yaml" }]);
});
