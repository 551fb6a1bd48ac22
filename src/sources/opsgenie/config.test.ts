import assert from "node:assert/strict";
import { it } from "node:test";
import { normalizeOpsgenie, opsgenieSchema } from "./config.js";

it("opsgenie config: defaults to OPSGENIE_API_KEY and the US API; the EU API is a baseUrl", () => {
  const problems: string[] = [];
  const ctx = { name: "og", at: "sources.og", problems, resolvePath: (p: string) => p };
  assert.deepEqual(normalizeOpsgenie(opsgenieSchema.parse({ type: "opsgenie" }), ctx), {
    name: "og",
    type: "opsgenie",
    secret: { tokenEnv: "OPSGENIE_API_KEY", tokenFile: null },
    baseUrl: "https://api.opsgenie.com",
  });
  const eu = normalizeOpsgenie(
    opsgenieSchema.parse({ type: "opsgenie", baseUrl: "https://api.eu.opsgenie.com" }),
    ctx,
  );
  assert.equal(eu.baseUrl, "https://api.eu.opsgenie.com");
  assert.deepEqual(problems, []);
});
