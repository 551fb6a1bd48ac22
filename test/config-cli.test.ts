import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { assertNoSecret, makeTempDir, ROOT, runCli, writeYaml, type CliResult } from "./helpers.js";
import { runMain } from "./harness.js";

// The built CLI, as cron runs it: config errors, missing secrets and bad flags all exit 2 with the
// problem on stderr and nothing on stdout (stdout is for the plan and the JSON document only).
// No test here reaches the network: every run stops before fetching, or uses the file source.

const PD_TOKEN = "pd-secret-token-7f3a91c2";
const SDM_TOKEN = "sdm-secret-token-c81d02e5";
const NOW = "2026-11-22T10:00:00Z";

const PD_CONFIG = `
version: 1
sources:
  pd:
    type: pagerduty
    baseUrl: http://127.0.0.1:9
targets:
  sdm:
    type: strongdm
rules:
  - name: dba
    source: pd
    schedules: [PABC123]
    target: sdm
    resources: [prod-db]
  - name: api
    source: pd
    schedules: [PAPI456]
    target: sdm
    resources: [prod-api]
`;

const FILE_CONFIG = `
version: 1
sources:
  rota: { type: file, path: rota.yaml }
targets:
  script: { type: command, grant: ["./grant.sh", "{identity}", "{resource}"] }
rules:
  - { name: oncall, source: rota, schedules: [primary], target: script, resources: [db] }
`;

const ROTA = `
shifts:
  - { schedule: primary, email: alice@example.com, start: 2026-11-22T09:00:00Z, end: 2026-11-23T09:00:00Z }
`;

/**
 * The CLI with text logs: these tests read each error line as people see it. (Where stderr is no
 * terminal, logs and errors are JSON lines by default; test/honest-output.test.ts checks those.)
 */
function runText(args: string[], opts?: Parameters<typeof runMain>[1]): Promise<CliResult> {
  return runMain([...args, "--log-format", "text"], opts);
}

/** A usage, config or secret error: exit 2, nothing on stdout, the message on stderr. */
function assertExit2(r: CliResult, ...expected: (string | RegExp)[]): void {
  assert.equal(r.code, 2, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  assert.equal(r.stdout, "", "nothing on stdout for an error");
  for (const e of expected) {
    if (typeof e === "string")
      assert.ok(r.stderr.includes(e), `stderr lacks ${JSON.stringify(e)}:\n${r.stderr}`);
    else assert.match(r.stderr, e);
  }
}

describe("the CLI on configs, secrets and flags", { concurrency: true }, () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let pdConfig: string;
  let fileConfig: string;
  const both = { PAGERDUTY_TOKEN: PD_TOKEN, SDM_ADMIN_TOKEN: SDM_TOKEN };

  before(async () => {
    ({ dir, cleanup } = await makeTempDir("shiftgrant-config-cli-"));
    pdConfig = await writeYaml(path.join(dir, "pd.yaml"), PD_CONFIG);
    fileConfig = await writeYaml(path.join(dir, "file.yaml"), FILE_CONFIG);
    await writeYaml(path.join(dir, "rota.yaml"), ROTA);
    await writeFile(path.join(dir, "pd-token"), `${PD_TOKEN}\n`);
    await mkdir(path.join(dir, "a-directory"));
  });
  after(() => cleanup());

  describe("validate", { concurrency: 3 }, () => {
    it("accepts a good config with its secrets set: exit 0, a summary on stdout", async () => {
      const r = await runMain(["validate", "-c", pdConfig], { env: both });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(
        r.stdout,
        [
          `config ${pdConfig} is valid:`,
          "  1 source(s): pd (pagerduty)",
          "  1 target(s): sdm (strongdm)",
          "  2 rule(s): dba, api",
          "  every secret it names is set",
          "",
        ].join("\n"),
      );
      await assertNoSecret([PD_TOKEN, SDM_TOKEN], [r.stdout, r.stderr]);
    });

    it("names a missing secret variable as a missing secret, not an invalid config, and never prints the secrets that are set", async () => {
      for (const command of ["validate", "sync"]) {
        const r = await runText([command, "-c", pdConfig], { env: { SDM_ADMIN_TOKEN: SDM_TOKEN } });
        assertExit2(r);
        assert.equal(
          r.stderr,
          "shiftgrant: error: missing secret: PAGERDUTY_TOKEN is not set (sources.pd.tokenEnv); set it where shiftgrant runs (e.g. in the crontab, or an env file it sources), or use tokenFile\n",
        );
        await assertNoSecret([SDM_TOKEN], [r.stdout, r.stderr]);
      }
    });

    it("lists every missing secret at once", async () => {
      const r = await runText(["validate", "-c", pdConfig], { env: {} });
      assertExit2(
        r,
        "shiftgrant: error: 2 secrets are missing or unusable:\n",
        "  - missing secret: PAGERDUTY_TOKEN is not set (sources.pd.tokenEnv); ",
        "  - missing secret: SDM_ADMIN_TOKEN is not set (targets.sdm.tokenEnv); ",
      );
    });

    it("refuses an empty (or blank) secret variable", async () => {
      const r = await runMain(["validate", "-c", pdConfig], {
        env: { PAGERDUTY_TOKEN: "  ", SDM_ADMIN_TOKEN: SDM_TOKEN },
      });
      assertExit2(r, "missing secret: PAGERDUTY_TOKEN is empty (sources.pd.tokenEnv)");
      await assertNoSecret([SDM_TOKEN], [r.stdout, r.stderr]);
    });

    it("refuses a tokenFile it cannot read, naming the file", async () => {
      const config = await writeYaml(
        path.join(dir, "token-file-missing.yaml"),
        PD_CONFIG.replace("type: pagerduty", "type: pagerduty\n    tokenFile: no-such-token"),
      );
      const r = await runMain(["validate", "-c", config], { env: { SDM_ADMIN_TOKEN: SDM_TOKEN } });
      assertExit2(
        r,
        `missing secret: cannot read ${path.join(dir, "no-such-token")} (no such file) (sources.pd.tokenFile)`,
      );
    });

    it("refuses a tokenFile that is a directory", async () => {
      const config = await writeYaml(
        path.join(dir, "token-file-dir.yaml"),
        PD_CONFIG.replace("type: pagerduty", "type: pagerduty\n    tokenFile: a-directory"),
      );
      const r = await runMain(["validate", "-c", config], { env: { SDM_ADMIN_TOKEN: SDM_TOKEN } });
      assertExit2(
        r,
        `unusable secret: ${path.join(dir, "a-directory")} is a directory, not a regular file (sources.pd.tokenFile)`,
      );
    });

    it("refuses an empty tokenFile", async () => {
      await writeFile(path.join(dir, "empty-token"), "\n");
      const config = await writeYaml(
        path.join(dir, "token-file-empty.yaml"),
        PD_CONFIG.replace("type: pagerduty", "type: pagerduty\n    tokenFile: empty-token"),
      );
      const r = await runMain(["validate", "-c", config], { env: { SDM_ADMIN_TOKEN: SDM_TOKEN } });
      assertExit2(r, `missing secret: ${path.join(dir, "empty-token")} is empty (sources.pd.tokenFile)`);
    });

    it("refuses a FIFO or a device as tokenFile at once, without reading it", async () => {
      const fifo = path.join(dir, "token-fifo");
      execFileSync("mkfifo", [fifo]);
      for (const [file, kind] of [
        [fifo, "a FIFO (named pipe)"],
        ["/dev/zero", "a character device"],
      ] as const) {
        const config = await writeYaml(
          path.join(dir, `token-file-${path.basename(file)}.yaml`),
          PD_CONFIG.replace("type: pagerduty", `type: pagerduty\n    tokenFile: ${file}`),
        );
        // Spawned: a hang (the FIFO has no writer) would block this process; the child is killed by
        // the timeout instead (exit null, not 2).
        const r = await runCli(["validate", "-c", config, "--log-format", "text"], {
          env: { SDM_ADMIN_TOKEN: SDM_TOKEN },
        });
        assertExit2(r);
        assert.equal(
          r.stderr,
          `shiftgrant: error: unusable secret: ${file} is ${kind}, not a regular file (sources.pd.tokenFile)\n`,
        );
      }
    });

    it("refuses a tokenFile over 64 KB", async () => {
      await writeFile(path.join(dir, "huge-token"), "x".repeat(64 * 1024 + 1));
      const config = await writeYaml(
        path.join(dir, "token-file-huge.yaml"),
        PD_CONFIG.replace("type: pagerduty", "type: pagerduty\n    tokenFile: huge-token"),
      );
      const r = await runMain(["validate", "-c", config], { env: { SDM_ADMIN_TOKEN: SDM_TOKEN } });
      assertExit2(
        r,
        `unusable secret: ${path.join(dir, "huge-token")} holds 65537 bytes, more than the 64 KB a token file may hold (sources.pd.tokenFile)`,
      );
    });

    it("refuses a token with a line break or a control character, naming where it came from, never the token", async () => {
      const bad = "pd-secret-part1";
      await writeFile(path.join(dir, "two-line-token"), `${bad}\n${bad}\n`);
      const fileConfig = await writeYaml(
        path.join(dir, "token-file-two-lines.yaml"),
        PD_CONFIG.replace("type: pagerduty", "type: pagerduty\n    tokenFile: two-line-token"),
      );
      const hint = "; a token is one line of printable characters (only one trailing newline is ignored)";
      const cases: [string[], Record<string, string>, string][] = [
        [
          ["validate", "-c", pdConfig],
          { PAGERDUTY_TOKEN: `${bad}\nX-Injected: 1`, SDM_ADMIN_TOKEN: SDM_TOKEN },
          `unusable secret: PAGERDUTY_TOKEN holds a line break (sources.pd.tokenEnv)${hint}`,
        ],
        [
          ["sync", "-c", pdConfig],
          { PAGERDUTY_TOKEN: `${bad}\u0007`, SDM_ADMIN_TOKEN: SDM_TOKEN },
          `unusable secret: PAGERDUTY_TOKEN holds a control character (U+0007) (sources.pd.tokenEnv)${hint}`,
        ],
        [
          ["validate", "-c", fileConfig],
          { SDM_ADMIN_TOKEN: SDM_TOKEN },
          `unusable secret: ${path.join(dir, "two-line-token")} holds a line break (sources.pd.tokenFile)${hint}`,
        ],
      ];
      for (const [args, env, message] of cases) {
        const r = await runText(args, { env });
        assertExit2(r);
        assert.equal(r.stderr, `shiftgrant: error: ${message}\n`);
        await assertNoSecret([bad, SDM_TOKEN], [r.stdout, r.stderr]);
      }
    });

    it("takes a token variable with one trailing newline (LF or CRLF)", async () => {
      const r = await runMain(["validate", "-c", pdConfig], {
        env: { PAGERDUTY_TOKEN: `${PD_TOKEN}\n`, SDM_ADMIN_TOKEN: `${SDM_TOKEN}\r\n` },
      });
      assert.equal(r.code, 0, r.stderr);
    });

    it("reads a good tokenFile (relative to the config) without printing it", async () => {
      const config = await writeYaml(
        path.join(dir, "token-file-good.yaml"),
        PD_CONFIG.replace("type: pagerduty", "type: pagerduty\n    tokenFile: pd-token"),
      );
      const r = await runMain(["validate", "-c", config], { env: { SDM_ADMIN_TOKEN: SDM_TOKEN } });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /is valid:/);
      await assertNoSecret([PD_TOKEN, SDM_TOKEN], [r.stdout, r.stderr]);
    });

    it("reports every problem of a config, one line each, and exits 2", async () => {
      const config = await writeYaml(
        path.join(dir, "three-problems.yaml"),
        PD_CONFIG.replace("version: 1", "version: 1\nwindw: 24h")
          .replace("target: sdm\n    resources: [prod-db]", "target: sdn\n    resources: [prod-db]")
          .replace("resources: [prod-api]", "resources: [prod-api]\n    lead: 15"),
      );
      const r = await runText(["validate", "-c", config], { env: both });
      assertExit2(r);
      assert.equal(
        r.stderr,
        [
          `shiftgrant: error: invalid config ${config}:`,
          `  - windw: unknown key (did you mean "window"?)`,
          `  - rules[1].lead: 15 has no unit: write e.g. "15m" or "15h"`,
          `  - rules[0].target: unknown target "sdn" (did you mean "sdm"?)`,
          "",
        ].join("\n"),
      );
    });

    it("says how to pass a config when there is none", async () => {
      const r = await runMain(["validate"], { env: both, cwd: dir });
      assertExit2(
        r,
        `${path.join(dir, "shiftgrant.yaml")}: no such file; pass the config with -c FILE or set SHIFTGRANT_CONFIG`,
      );
      const r2 = await runMain(["validate", "-c", "missing.yaml"], { env: both, cwd: dir });
      assertExit2(r2, `${path.join(dir, "missing.yaml")}: no such file; pass the config with -c FILE`);
    });

    it("reads $SHIFTGRANT_CONFIG when -c is absent, and -c wins over it", async () => {
      const r = await runMain(["validate"], { env: { ...both, SHIFTGRANT_CONFIG: pdConfig }, cwd: ROOT });
      assert.equal(r.code, 0, r.stderr);
      assert.ok(r.stdout.startsWith(`config ${pdConfig} is valid:`), r.stdout);

      const relative = await runMain(["validate"], {
        env: { ...both, SHIFTGRANT_CONFIG: "pd.yaml" },
        cwd: dir,
      });
      assert.equal(relative.code, 0, relative.stderr);

      const overridden = await runMain(["validate", "-c", fileConfig], {
        env: { ...both, SHIFTGRANT_CONFIG: pdConfig },
      });
      assert.equal(overridden.code, 0, overridden.stderr);
      assert.ok(overridden.stdout.startsWith(`config ${fileConfig} is valid:`), overridden.stdout);
    });

    it("accepts global options after the command name", async () => {
      const r = await runMain(["validate", "-c", fileConfig, "--log-level", "debug", "--log-format", "json"]);
      assert.equal(r.code, 0, r.stderr);
      const bad = await runMain(["validate", "-c", fileConfig, "--log-level", "loud"]);
      assertExit2(bad, "--log-level");
    });
  });

  describe("sync flags", { concurrency: 3 }, () => {
    const sync = (...args: string[]) =>
      runText(["sync", "-c", pdConfig, "--dry-run", ...args], { env: { ...both }, now: NOW });

    it("refuses --since that is not a time", async () => {
      assertExit2(
        await sync("--since", "yesterday"),
        `shiftgrant: error: --since: "yesterday" is not a time: use ISO 8601 with an offset, like "2026-11-22T09:00:00Z", or "now"`,
      );
    });

    it("refuses --since without an offset", async () => {
      assertExit2(
        await sync("--since", "2026-11-22T09:00:00"),
        `--since: time "2026-11-22T09:00:00" has no offset`,
      );
    });

    it("refuses a --window over 90 days", async () => {
      assertExit2(
        await sync("--window", "100d"),
        "shiftgrant: error: --window 100d is longer than 90 days, the most PagerDuty renders; use a window of 90d or less",
      );
    });

    it("refuses a --window without a unit", async () => {
      assertExit2(await sync("--window", "15"), `--window: "15" has no unit: write e.g. "15m" or "15h"`);
    });

    it("refuses --until before --since", async () => {
      assertExit2(
        await sync("--since", "2026-11-22T10:00:00Z", "--until", "2026-11-22T09:00:00Z"),
        "shiftgrant: error: the window is empty: --until (2026-11-22T09:00:00Z) must be after --since (2026-11-22T10:00:00Z)",
      );
    });

    it("refuses --until with --window", async () => {
      assertExit2(
        await sync("--until", "2026-11-23T09:00:00Z", "--window", "1h"),
        "shiftgrant: error: use --until or --window, not both",
      );
    });

    it("refuses --output xml, listing the choices", async () => {
      assertExit2(
        await sync("--output", "xml"),
        /^shiftgrant: error: option '--output <format>' argument 'xml' is invalid\. Allowed choices are text, json\.\n/,
      );
    });

    it("refuses an unknown flag, in the style of every other error", async () => {
      const r = await sync("--dry-runn");
      assertExit2(r);
      assert.equal(
        r.stderr,
        "shiftgrant: error: unknown option '--dry-runn'\n(Did you mean --dry-run?)\n(run with --help for usage)\n",
      );
    });

    it("refuses --max-changes that is not a number", async () => {
      assertExit2(
        await sync("--max-changes", "lots"),
        /^shiftgrant: error: option '--max-changes <n>' argument 'lots' is invalid\. expected a whole number, got "lots"\n/,
      );
    });

    it("refuses an unknown --rule, naming the rules there are", async () => {
      assertExit2(
        await sync("--rule", "nope", "--rule", "dba"),
        `shiftgrant: error: --rule: no rule named "nope" (rules: dba, api)`,
      );
    });

    it("refuses an invalid config before anything else", async () => {
      const config = await writeYaml(
        path.join(dir, "sync-bad.yaml"),
        PD_CONFIG.replace("target: sdm", "target: sdn"),
      );
      const r = await runText(["sync", "-c", config, "--dry-run"], { env: both });
      assertExit2(r, `rules[0].target: unknown target "sdn" (did you mean "sdm"?)`);
    });

    it("accepts global options after the command name (sync --log-level debug)", async () => {
      const r = await runMain(
        [
          "sync",
          "-c",
          fileConfig,
          "--dry-run",
          "--output",
          "json",
          "--log-level",
          "debug",
          "--log-format",
          "json",
        ],
        { now: NOW },
      );
      assert.equal(r.code, 0, r.stderr);
      const doc = JSON.parse(r.stdout) as { dryRun: boolean; window: { since: string } };
      assert.equal(doc.dryRun, true);
      assert.equal(doc.window.since, NOW);
      const levels = r.stderr
        .split("\n")
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as { level: string }).level);
      assert.ok(levels.includes("debug"), `no debug log line:\n${r.stderr}`);
    });
  });

  describe("global flags", { concurrency: 3 }, () => {
    it("--version prints the package.json version and exits 0", async () => {
      const pkg = JSON.parse(await readFile(path.join(ROOT, "package.json"), "utf8")) as { version: string };
      const r = await runMain(["--version"]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `${pkg.version}\n`);
      assert.equal(r.stderr, "");
    });

    it("--help prints the usage on stdout and exits 0", async () => {
      const r = await runMain(["--help"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^Usage: shiftgrant/);
      for (const command of ["sync", "validate"]) assert.match(r.stdout, new RegExp(`\\n  ${command} `));
      const sub = await runMain(["sync", "--help"]);
      assert.equal(sub.code, 0, sub.stderr);
      assert.match(sub.stdout, /--dry-run/);
    });

    it("refuses an unknown command", async () => {
      const r = await runMain(["synk"]);
      assertExit2(r, "unknown command 'synk'");
    });
  });
});
