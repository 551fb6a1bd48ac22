import assert from "node:assert/strict";
import { it } from "node:test";
import { normalizeTeleport, teleportSchema } from "./config.js";

it("teleport config: tctl on PATH, no arguments or variables, and no token of its own", () => {
  const problems: string[] = [];
  const ctx = { name: "tp", at: "targets.tp", problems, resolvePath: (p: string) => `/etc/sg/${p}` };
  assert.deepEqual(normalizeTeleport(teleportSchema.parse({ type: "teleport", concurrency: 2 }), ctx), {
    name: "tp",
    type: "teleport",
    concurrency: 2,
    timeoutMs: 60_000,
    command: "tctl",
    args: [],
    env: [],
    identities: new Map(),
    exclusive: [],
  });
  assert.deepEqual(problems, []);
});
