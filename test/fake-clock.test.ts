import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { describe, it } from "node:test";
import { makeFakeCli, makeTempDir, parseJsonOutput, writeYaml, type CliResult } from "./helpers.js";
import { runMain } from "./harness.js";

// SHIFTGRANT_NOW fakes the clock for simulations: a real sync at a fake time would prune the ledger
// and grant for the wrong moment, so sync refuses it without --dry-run, unless the test-only switch
// SHIFTGRANT_TEST_ALLOW_FAKE_NOW=1 (which runCli sets for the throwaway ledgers of the tests) is on.

const NOW = "2026-11-22T10:00:00Z";
const ROTA = `
shifts:
  - { schedule: primary, email: alice@example.com, start: 2026-11-22T09:00:00Z, end: 2026-11-22T14:00:00Z }
`;

async function withEnv(
  body: (env: {
    state: string;
    run: (args: string[], env: Record<string, string>) => Promise<CliResult>;
    calls: () => Promise<string[][]>;
  }) => Promise<void>,
): Promise<void> {
  const { dir, cleanup } = await makeTempDir("shiftgrant-clock-");
  try {
    const bin = path.join(dir, "bin");
    await mkdir(bin);
    const grant = await makeFakeCli(bin, "grant-cmd");
    await writeYaml(path.join(dir, "rota.yaml"), ROTA);
    const config = await writeYaml(
      path.join(dir, "shiftgrant.yaml"),
      `
version: 1
state: state.json
sources:
  rota: { type: file, path: rota.yaml }
targets:
  cmd:
    type: command
    grant: ["grant-cmd", "{identity}", "{resource}", "{start}", "{end}"]
rules:
  - { name: prod, source: rota, schedules: [primary], target: cmd, resources: [db] }
`,
    );
    await body({
      state: path.join(dir, "state.json"),
      // Text logs: the refusals are read as people see them.
      run: (args, env) =>
        runMain([args[0] as string, "-c", config, ...args.slice(1), "--log-format", "text"], {
          binDir: bin,
          env,
        }),
      calls: async () => (await grant.calls()).map((c) => c.argv),
    });
  } finally {
    await cleanup();
  }
}

/** A usage error: exit 2, nothing on stdout, exactly this message on stderr. */
function assertRefused(res: CliResult, message: string): void {
  assert.equal(res.code, 2, res.stderr);
  assert.equal(res.stdout, "");
  assert.equal(res.stderr, `shiftgrant: error: ${message}\n`);
}

describe("SHIFTGRANT_NOW, the fake clock", { concurrency: true }, () => {
  it("a real sync with it is refused (exit 2): no call, no ledger, no lock", () =>
    withEnv(async (env) => {
      const res = await env.run(["sync"], { SHIFTGRANT_NOW: NOW, SHIFTGRANT_TEST_ALLOW_FAKE_NOW: "" });
      assertRefused(
        res,
        `SHIFTGRANT_NOW is set (${NOW}): it fakes the clock for simulations, and sync accepts it only with --dry-run; a real run at a fake time would damage the ledger. Unset SHIFTGRANT_NOW, or add --dry-run`,
      );
      assert.deepEqual(await env.calls(), []);
      assert.equal(existsSync(env.state), false);
      assert.equal(existsSync(`${env.state}.lock`), false);
    }));

  it("with --dry-run it is the time the plan is made for", () =>
    withEnv(async (env) => {
      const res = await env.run(["sync", "--dry-run", "--output", "json"], {
        SHIFTGRANT_NOW: NOW,
        SHIFTGRANT_TEST_ALLOW_FAKE_NOW: "",
      });
      assert.equal(res.code, 0, res.stderr);
      const doc = parseJsonOutput(res.stdout);
      assert.deepEqual(
        doc.actions.map((a) => [a.kind, a.identity, a.start, a.end, a.status]),
        [["grant", "alice@example.com", NOW, "2026-11-22T14:00:00Z", "planned"]],
      );
      assert.deepEqual(await env.calls(), []);
      assert.equal(existsSync(env.state), false);
    }));

  it("the test-only switch SHIFTGRANT_TEST_ALLOW_FAKE_NOW=1 lets a real sync run at the fake time", () =>
    withEnv(async (env) => {
      const res = await env.run(["sync"], { SHIFTGRANT_NOW: NOW, SHIFTGRANT_TEST_ALLOW_FAKE_NOW: "1" });
      assert.equal(res.code, 0, res.stderr);
      assert.deepEqual(await env.calls(), [["alice@example.com", "db", NOW, "2026-11-22T14:00:00Z"]]);
      assert.equal(existsSync(env.state), true);
    }));

  it("an empty SHIFTGRANT_NOW is unset: a real sync runs at the real time", () =>
    withEnv(async (env) => {
      const res = await env.run(["sync", "--output", "json"], {
        SHIFTGRANT_NOW: "",
        SHIFTGRANT_TEST_ALLOW_FAKE_NOW: "",
      });
      assert.equal(res.code, 0, res.stderr);
      const since = Date.parse(parseJsonOutput(res.stdout).window.since);
      assert.ok(Math.abs(since - Date.now()) < 3_600_000, `window.since ${since} is not now`);
    }));

  it("an invalid value is exit 2 for every command, never ignored", () =>
    withEnv(async (env) => {
      for (const [value, why] of [
        ["tomorrow", `"tomorrow" is not a time`],
        [
          "2026-11-22T10:00:00",
          `time "2026-11-22T10:00:00" has no offset: add "Z" for UTC or an offset like "+01:00"`,
        ],
        [
          "2026-13-01T00:00:00Z",
          `"2026-13-01T00:00:00Z" is not an ISO 8601 time (e.g. "2026-11-22T09:00:00Z")`,
        ],
      ] as const) {
        const message = `SHIFTGRANT_NOW: ${why}; it must be an ISO 8601 time with an offset, like "2026-11-22T09:00:00Z", or unset`;
        assertRefused(await env.run(["sync", "--dry-run"], { SHIFTGRANT_NOW: value }), message);
        assertRefused(await env.run(["oncall"], { SHIFTGRANT_NOW: value }), message);
      }
      assert.deepEqual(await env.calls(), []);
      assert.equal(existsSync(env.state), false);
    }));
});
