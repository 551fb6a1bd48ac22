import assert from "node:assert/strict";
import { chmod, mkdir } from "node:fs/promises";
import path from "node:path";
import { describe, it } from "node:test";
import { makeFakeCli, makeTempDir, writeYaml } from "./helpers.js";
import { runMain } from "./harness.js";

// A config that other users can change is a way to grant oneself access: sync warns in its log and
// validate in its report, and both go on.

const NOW = "2026-11-22T10:00:00Z";

async function withConfig(
  body: (env: {
    dir: string;
    config: string;
    bin: string;
    calls: () => Promise<string[][]>;
  }) => Promise<void>,
): Promise<void> {
  const { dir, cleanup } = await makeTempDir("shiftgrant-perm-");
  try {
    const bin = path.join(dir, "bin");
    await mkdir(bin);
    const grant = await makeFakeCli(bin, "grant-cmd");
    await writeYaml(
      path.join(dir, "rota.yaml"),
      `
shifts:
  - { schedule: primary, email: alice@example.com, start: 2026-11-22T09:00:00Z, end: 2026-11-22T14:00:00Z }
`,
    );
    const config = await writeYaml(
      path.join(dir, "shiftgrant.yaml"),
      `
version: 1
state: state.json
sources:
  rota: { type: file, path: rota.yaml }
targets:
  cmd: { type: command, grant: ["grant-cmd", "{identity}", "{resource}"] }
rules:
  - { name: prod, source: rota, schedules: [primary], target: cmd, resources: [db] }
`,
    );
    await chmod(config, 0o666);
    await body({ dir, config, bin, calls: async () => (await grant.calls()).map((c) => c.argv) });
  } finally {
    await cleanup();
  }
}

describe("files that others can change", { concurrency: true }, () => {
  it("validate prints a warning line for a config writable by group and others, and exits 0", () =>
    withConfig(async ({ config }) => {
      const res = await runMain(["validate", "-c", config]);
      assert.equal(res.code, 0, res.stderr);
      assert.equal(
        res.stdout,
        [
          `config ${config} is valid:`,
          "  1 source(s): rota (file)",
          "  1 target(s): cmd (command)",
          "  1 rule(s): prod",
          "  every secret it names is set",
          `warning: the config ${config} is writable by group and others (mode 0666): whoever can change it decides who gets access; fix: chmod go-w ${config}`,
          "",
        ].join("\n"),
      );
    }));

  it("sync logs the same warning and goes on with the run", () =>
    withConfig(async ({ config, bin, calls }) => {
      const res = await runMain(["sync", "-c", config, "--output", "json"], {
        binDir: bin,
        now: NOW,
      });
      assert.equal(res.code, 0, res.stderr);
      const warnings = res.stderr
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((l) => l.level === "warn");
      assert.deepEqual(
        warnings.map(({ timestamp: _t, runId: _r, ...rest }) => rest),
        [
          {
            level: "warn",
            message: "a file that decides access is open to other users",
            role: "the config",
            path: config,
            mode: "0666",
            problem: "writable by group and others",
            risk: "whoever can change it decides who gets access",
            fix: `chmod go-w ${config}`,
          },
        ],
      );
      assert.deepEqual(await calls(), [["alice@example.com", "db"]]);
    }));
});
