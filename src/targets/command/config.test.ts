import assert from "node:assert/strict";
import path from "node:path";
import { describe, it } from "node:test";
import { commandTarget } from "./index.js";
import { commandSchema, normalizeCommand } from "./config.js";

const normalize = (raw: unknown, problems: string[] = []) =>
  normalizeCommand(commandSchema.parse(raw), {
    name: "script",
    at: "targets.script",
    problems,
    resolvePath: (p) => path.resolve("/etc/shiftgrant", p),
  });

describe("command config", () => {
  it("resolves ./ executables beside the config; no token unless one is named", () => {
    const problems: string[] = [];
    assert.deepEqual(normalize({ type: "command", grant: ["./grant.sh", "{identity}"] }, problems), {
      name: "script",
      type: "command",
      concurrency: 4,
      timeoutMs: 60_000,
      grant: ["/etc/shiftgrant/grant.sh", "{identity}"],
      revoke: null,
      secret: null,
      env: [],
      expires: true,
      identities: new Map(),
      exclusive: [],
    });
    assert.deepEqual(problems, []);
    assert.deepEqual(normalize({ type: "command", grant: ["g"], tokenEnv: "ACCESS_TOKEN" }).secret, {
      tokenEnv: "ACCESS_TOKEN",
      tokenFile: null,
    });
  });

  it("expires: false needs a revoke command, which then ends each grant", () => {
    const problems: string[] = [];
    const c = normalize(
      { type: "command", grant: ["g"], revoke: ["r", "{identity}"], expires: false },
      problems,
    );
    assert.equal(c.expires, false);
    assert.deepEqual(problems, []);
    normalize({ type: "command", grant: ["g"], expires: false }, problems);
    assert.deepEqual(problems, [
      'targets.script.expires: false means shiftgrant ends each grant with the revoke command: add revoke: [...] (e.g. ["/usr/local/bin/revoke", "{identity}", "{resource}"])',
    ]);
  });

  it("refuses a placeholder as the executable", () => {
    const problems: string[] = [];
    normalize({ type: "command", grant: ["{identity}"], revoke: ["r", "{nope}"] }, problems);
    assert.deepEqual(problems, [
      'targets.script.grant[0]: the executable must be fixed, not a placeholder ("{identity}")',
      "targets.script.revoke[1]: unknown placeholder {nope} (use {identity} {resource} {start} {end} {duration} {rule} {reason})",
    ]);
  });

  it("warns about source text inside a shell's code, in grant and revoke", () => {
    const config = normalize({
      type: "command",
      grant: ["sh", "-c", "grant {reason}"],
      revoke: ["sh", "-c", "revoke '{identity}'"],
    });
    const warnings = commandTarget.warnings?.(config) ?? [];
    assert.equal(warnings.length, 2);
    assert.match(warnings[0] as string, /^targets\.script\.grant: \{reason\} inside the code that sh runs/);
    assert.match(
      warnings[1] as string,
      /^targets\.script\.revoke: \{identity\} inside the code that sh runs/,
    );
  });
});
