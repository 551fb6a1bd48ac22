import assert from "node:assert/strict";
import { it } from "node:test";
import { incidentioSchema, normalizeIncidentio } from "./config.js";

it("incidentio config: defaults to INCIDENTIO_API_KEY and https://api.incident.io; a URL with a password is refused", () => {
  const problems: string[] = [];
  const ctx = { name: "inc", at: "sources.inc", problems, resolvePath: (p: string) => p };
  assert.deepEqual(normalizeIncidentio(incidentioSchema.parse({ type: "incidentio" }), ctx), {
    name: "inc",
    type: "incidentio",
    secret: { tokenEnv: "INCIDENTIO_API_KEY", tokenFile: null },
    baseUrl: "https://api.incident.io",
  });
  assert.deepEqual(problems, []);
  normalizeIncidentio(
    incidentioSchema.parse({ type: "incidentio", baseUrl: "https://u:p@api.incident.io" }),
    ctx,
  );
  assert.deepEqual(problems, [
    "sources.inc.baseUrl: must not contain a user name or password; the token comes from tokenEnv or tokenFile",
  ]);
});
