import assert from "node:assert/strict";
import { it } from "node:test";
import { googleGroupsSchema, normalizeGoogleGroups } from "./config.js";

it("google-groups config: Google's API by default; baseUrl https, or http only on this machine; no credential keys", () => {
  const problems: string[] = [];
  const ctx = { name: "google", at: "targets.google", problems, resolvePath: (p: string) => `/etc/${p}` };
  assert.deepEqual(normalizeGoogleGroups(googleGroupsSchema.parse({ type: "google-groups" }), ctx), {
    name: "google",
    type: "google-groups",
    concurrency: 4,
    timeoutMs: 60_000,
    baseUrl: "https://cloudidentity.googleapis.com",
    identities: new Map(),
    exclusive: [],
  });
  assert.equal(
    normalizeGoogleGroups(
      googleGroupsSchema.parse({ type: "google-groups", baseUrl: "http://127.0.0.1:8080/" }),
      ctx,
    ).baseUrl,
    "http://127.0.0.1:8080",
  );
  assert.deepEqual(problems, []);
  normalizeGoogleGroups(
    googleGroupsSchema.parse({ type: "google-groups", baseUrl: "http://proxy.example.com" }),
    ctx,
  );
  assert.deepEqual(problems, [
    'targets.google.baseUrl: "http://proxy.example.com" must use https:// (plain http is allowed only for 127.0.0.1 and localhost)',
  ]);
  // Credentials come from Application Default Credentials only: a key in the config is refused.
  for (const key of ["keyFile", "credentials", "tokenEnv"])
    assert.equal(googleGroupsSchema.safeParse({ type: "google-groups", [key]: "x" }).success, false, key);
});
