import assert from "node:assert/strict";
import path from "node:path";
import { describe, it } from "node:test";
import { normalizeStrongdm, strongdmSchema } from "./config.js";

const normalize = (raw: unknown, problems: string[] = []) =>
  normalizeStrongdm(strongdmSchema.parse(raw), {
    name: "sdm",
    at: "targets.sdm",
    problems,
    resolvePath: (p) => path.resolve("/etc/shiftgrant", p),
  });

describe("strongdm config", () => {
  it("defaults: sdm on PATH, SDM_ADMIN_TOKEN, 4 calls at once, 60 s each, the default arguments", () => {
    const problems: string[] = [];
    assert.deepEqual(normalize({ type: "strongdm" }, problems), {
      name: "sdm",
      type: "strongdm",
      concurrency: 4,
      timeoutMs: 60_000,
      command: "sdm",
      secret: { tokenEnv: "SDM_ADMIN_TOKEN", tokenFile: null },
      grantArgs: null,
      identities: new Map(),
      exclusive: [],
    });
    assert.deepEqual(problems, []);
  });

  it("identities and exclusive, which every target takes: emails keyed as compared, resources once each", () => {
    const problems: string[] = [];
    const c = normalize(
      {
        type: "strongdm",
        identities: { " Alice@Example.com ": " alice@corp.example " },
        exclusive: ["db", "db", "cache"],
      },
      problems,
    );
    assert.deepEqual(c.identities, new Map([["alice@example.com", "alice@corp.example"]]));
    assert.deepEqual(c.exclusive, ["db", "cache"]);
    // Whether a strongdm target may own a resource's membership is a config rule (rules.ts).
    assert.deepEqual(problems, []);
  });

  it("a relative command is beside the config; grantArgs are checked for unknown placeholders", () => {
    const problems: string[] = [];
    const c = normalize(
      { type: "strongdm", command: "./bin/sdm", grantArgs: ["grant", "{who}", "{resource}"], timeout: "2m" },
      problems,
    );
    assert.equal(c.command, "/etc/shiftgrant/bin/sdm");
    assert.equal(c.timeoutMs, 120_000);
    assert.deepEqual(problems, [
      "targets.sdm.grantArgs[1]: unknown placeholder {who} (use {identity} {resource} {start} {end} {duration} {rule} {reason})",
    ]);
  });
});
