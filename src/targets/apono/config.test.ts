import assert from "node:assert/strict";
import { it } from "node:test";
import { aponoResourceProblem, aponoSchema, normalizeApono } from "./config.js";

const ctx = (problems: string[]) => ({
  name: "apono",
  at: "targets.apono",
  problems,
  resolvePath: (p: string) => `/etc/${p}`,
});
const DB = { integrationId: "int-1", resourceIds: ["r1", "r1", "r2"], permissions: ["ReadOnly"] };

it("apono config: api.apono.io and APONO_TOKEN by default; the resource map kept, its ids once each", () => {
  const problems: string[] = [];
  const c = normalizeApono(aponoSchema.parse({ type: "apono", resources: { db: DB } }), ctx(problems));
  assert.deepEqual(c, {
    name: "apono",
    type: "apono",
    concurrency: 4,
    timeoutMs: 60_000,
    identities: new Map(),
    exclusive: [],
    baseUrl: "https://api.apono.io",
    secret: { tokenEnv: "APONO_TOKEN", tokenFile: null },
    resources: new Map([
      ["db", { integrationId: "int-1", resourceIds: ["r1", "r2"], permissions: ["ReadOnly"] }],
    ]),
  });
  assert.deepEqual(problems, []);
  assert.equal(aponoResourceProblem(c, "db"), null);
  assert.equal(
    aponoResourceProblem(c, "prod-mysql"),
    'target "apono" (apono) has no resource "prod-mysql"; add it under targets.apono.resources with its integrationId, resourceIds and permissions (known: db)',
  );
  const local = normalizeApono(
    aponoSchema.parse({
      type: "apono",
      baseUrl: "http://127.0.0.1:8080/",
      tokenFile: "t",
      resources: { db: DB },
    }),
    ctx(problems),
  );
  assert.equal(local.baseUrl, "http://127.0.0.1:8080");
  assert.deepEqual(local.secret, { tokenEnv: "APONO_TOKEN", tokenFile: "/etc/t" });
  normalizeApono(
    aponoSchema.parse({ type: "apono", baseUrl: "http://api.apono.io", resources: { db: DB } }),
    ctx(problems),
  );
  assert.deepEqual(problems, [
    'targets.apono.baseUrl: "http://api.apono.io" must use https:// (plain http is allowed only for 127.0.0.1 and localhost)',
  ]);
});

it("apono config: refuses an empty map, an entry without ids or permissions, an id that reads as a flag, a literal token", () => {
  const issues = (raw: unknown) => {
    const r = aponoSchema.safeParse(raw);
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
  };
  assert.deepEqual(issues({ type: "apono", resources: {} }), [
    "resources: map at least one resource name to its Apono ids",
  ]);
  assert.deepEqual(
    issues({ type: "apono", resources: { db: { ...DB, resourceIds: [], permissions: [] } } }),
    [
      "resources.db.resourceIds: list at least one resource id",
      "resources.db.permissions: list at least one permission",
    ],
  );
  assert.deepEqual(issues({ type: "apono", resources: { db: { ...DB, integrationId: "--all" } } }), [
    "resources.db.integrationId: expected an Apono id (no spaces, not starting with -)",
  ]);
  assert.deepEqual(issues({ type: "apono", resources: { db: { ...DB, roles: ["x"] } } }).length, 1);
  assert.deepEqual(issues({ type: "apono", token: "t", resources: { db: DB } }).length, 1);
  assert.deepEqual(issues({ type: "apono" }).length, 1);
});
