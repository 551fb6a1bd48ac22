import assert from "node:assert/strict";
import { it } from "node:test";
import { httpSchema, normalizeHttp } from "./config.js";

it("http config: no token and no revoke unless asked; the URL must be https", () => {
  const problems: string[] = [];
  const ctx = { name: "api", at: "targets.api", problems, resolvePath: (p: string) => p };
  assert.deepEqual(
    normalizeHttp(httpSchema.parse({ type: "http", url: "https://access.example.com/g" }), ctx),
    {
      name: "api",
      type: "http",
      concurrency: 4,
      timeoutMs: 60_000,
      url: "https://access.example.com/g",
      secret: null,
      headersFromEnv: {},
      revoke: false,
    },
  );
  assert.deepEqual(problems, []);
  normalizeHttp(httpSchema.parse({ type: "http", url: "http://access.example.com/g" }), ctx);
  assert.deepEqual(problems, [
    'targets.api.url: "http://access.example.com/g" must use https:// (plain http is allowed only for 127.0.0.1 and localhost)',
  ]);
});
