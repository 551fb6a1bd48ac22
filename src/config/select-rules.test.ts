import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { UsageError } from "../errors.js";
import { parseConfig } from "./load.js";
import { selectRules } from "./select-rules.js";

const config = parseConfig(
  `
version: 1
sources:
  rota: { type: file, path: rota.yaml }
targets:
  cmd: { type: command, grant: ["grant-cmd", "{identity}"] }
rules:
  - { name: dba, source: rota, schedules: [primary], target: cmd, resources: [db] }
  - { name: api, source: rota, schedules: [primary], target: cmd, resources: [api] }
  - { name: web, source: rota, schedules: [primary], target: cmd, resources: [web] }
`,
  "/etc/shiftgrant/shiftgrant.yaml",
);

describe("selectRules", () => {
  it("takes every rule when no --rule is given", () => {
    assert.deepEqual(
      selectRules(config, []).map((r) => r.name),
      ["dba", "api", "web"],
    );
  });

  it("takes the named rules in config order, not in the order of the flags", () => {
    assert.deepEqual(
      selectRules(config, ["web", "dba"]).map((r) => r.name),
      ["dba", "web"],
    );
  });

  it("refuses names that match no rule, naming them and the rules there are", () => {
    assert.throws(
      () => selectRules(config, ["dba", "nope", "gone"]),
      (e: unknown) =>
        e instanceof UsageError &&
        e.exitCode === 2 &&
        e.message === `--rule: no rule named "nope", "gone" (rules: dba, api, web)`,
    );
  });
});
