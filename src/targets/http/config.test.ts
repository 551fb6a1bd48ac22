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
      expires: true,
      identities: new Map(),
      exclusive: [],
    },
  );
  assert.deepEqual(problems, []);
  normalizeHttp(httpSchema.parse({ type: "http", url: "http://access.example.com/g" }), ctx);
  assert.deepEqual(problems, [
    'targets.api.url: "http://access.example.com/g" must use https:// (plain http is allowed only for 127.0.0.1 and localhost)',
  ]);
});

it("http config: expires: false needs revoke: true, the DELETE that then ends each grant", () => {
  const problems: string[] = [];
  const ctx = { name: "api", at: "targets.api", problems, resolvePath: (p: string) => p };
  const url = "https://access.example.com/g";
  const c = normalizeHttp(httpSchema.parse({ type: "http", url, revoke: true, expires: false }), ctx);
  assert.equal(c.expires, false);
  assert.deepEqual(problems, []);
  normalizeHttp(httpSchema.parse({ type: "http", url, expires: false }), ctx);
  assert.deepEqual(problems, [
    "targets.api.expires: false means shiftgrant ends each grant with DELETE url/{key}, so the receiver must take it: set revoke: true",
  ]);
});
