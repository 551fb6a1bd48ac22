import assert from "node:assert/strict";
import { it } from "node:test";
import { normalizeTeleport, teleportSchema } from "./config.js";

const context = () => {
  const problems: string[] = [];
  return {
    problems,
    ctx: { name: "tp", at: "targets.tp", problems, resolvePath: (p: string) => `/etc/sg/${p}` },
  };
};

it("teleport config: access lists, tctl on PATH, no arguments or variables, and no token of its own", () => {
  const { problems, ctx } = context();
  assert.deepEqual(normalizeTeleport(teleportSchema.parse({ type: "teleport", concurrency: 2 }), ctx), {
    name: "tp",
    type: "teleport",
    mode: "access-lists",
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

it("teleport config: access requests take no exclusive (there is no membership to own)", () => {
  const { problems, ctx } = context();
  const config = normalizeTeleport(
    teleportSchema.parse({ type: "teleport", mode: "access-requests", exclusive: ["db-admin"] }),
    ctx,
  );
  assert.equal(config.mode, "access-requests");
  assert.deepEqual(problems, [
    "targets.tp.exclusive: a teleport target with mode: access-requests approves the requests people file; there is no membership for shiftgrant to own. Remove exclusive, or use mode: access-lists",
  ]);
  assert.equal(teleportSchema.safeParse({ type: "teleport", mode: "requests" }).success, false);
});
