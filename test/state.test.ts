import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, it } from "node:test";
import { DateTime } from "luxon";
import { formatUtc } from "../src/core/time.js";
import { createLedgerWriter, readLedger, type LedgerGrant } from "../src/state/ledger.js";
import {
  assertNoSecret,
  makeFakeCli,
  makeTempDir,
  parseJsonOutput,
  runCli,
  until,
  writeYaml,
  type CliResult,
  type FakeCliBehaviour,
} from "./helpers.js";
import { runMain } from "./harness.js";

// Safe unattended re-runs (issue 3), through main() in-process (the crash test: the built CLI): a
// `file` source (a rota in a temp dir) and a `command` target whose grant and revoke commands are
// fake CLIs first on PATH. Every call is asserted as its exact argv; each run is given its clock.

const GRANT = ["grant-cmd", "{identity}", "{resource}", "{start}", "{end}"];
const REVOKE = ["revoke-cmd", "{identity}", "{resource}"];

type Setup = {
  /** The rules section, as YAML (a list). */
  rules: string;
  rota: string;
  /** Extra sources (YAML mapping entries, indented by 2) besides `rota: rota.yaml`. */
  sources?: string;
  /** Extra keys of the `cmd` target (indented by 4). */
  target?: string;
  /** Extra top-level keys. */
  top?: string;
  grantBehaviour?: FakeCliBehaviour;
};

type Env = Awaited<ReturnType<typeof setup>>;

async function setup(s: Setup) {
  const { dir, cleanup } = await makeTempDir("shiftgrant-state-");
  const bin = path.join(dir, "bin");
  await mkdir(bin);
  const grant = await makeFakeCli(bin, "grant-cmd", s.grantBehaviour ?? {});
  const revoke = await makeFakeCli(bin, "revoke-cmd");
  const config = path.join(dir, "shiftgrant.yaml");
  const state = path.join(dir, "state", "ledger.json");
  const audit = path.join(dir, "state", "audit.jsonl");
  await writeYaml(path.join(dir, "rota.yaml"), s.rota);
  await writeYaml(
    config,
    `
version: 1
state: state/ledger.json
audit: state/audit.jsonl
${s.top ?? ""}
sources:
  rota: { type: file, path: rota.yaml }
${s.sources ?? ""}
targets:
  cmd:
    type: command
    grant: ${JSON.stringify(GRANT)}
    revoke: ${JSON.stringify(REVOKE)}
${s.target ?? ""}
rules:
${s.rules}
`,
  );
  return {
    dir,
    bin,
    config,
    state,
    audit,
    grant,
    revoke,
    cleanup,
    async writeRota(text: string, file = "rota.yaml") {
      await writeYaml(path.join(dir, file), text);
    },
    run(now: string, args: string[] = [], env: Record<string, string> = {}): Promise<CliResult> {
      return runMain(["sync", "-c", config, "--output", "json", ...args], { binDir: bin, env, now });
    },
    /** Every call made since the last take, as `[command, ...argv]`, sorted (calls run concurrently). */
    async takeCalls(): Promise<string[][]> {
      const calls = [
        ...(await grant.calls()).map((c) => ["grant-cmd", ...c.argv]),
        ...(await revoke.calls()).map((c) => ["revoke-cmd", ...c.argv]),
      ];
      await grant.reset();
      await revoke.reset();
      return calls.sort((a, b) => a.join(" ").localeCompare(b.join(" ")));
    },
    async ledger(): Promise<{ version: number; grants: Record<string, string>[] }> {
      return JSON.parse(await readFile(state, "utf8")) as {
        version: number;
        grants: Record<string, string>[];
      };
    },
  };
}

/** `withEnv` runs a test body against a fresh setup and always removes its temp dir. */
async function withEnv(s: Setup, body: (env: Env) => Promise<void>): Promise<void> {
  const env = await setup(s);
  try {
    await body(env);
  } finally {
    await env.cleanup();
  }
}

/** The actions of a JSON report as `kind identity start end status` lines. */
function actionLines(stdout: string): string[] {
  return parseJsonOutput(stdout).actions.map(
    (a) => `${a.kind} ${a.rule} ${a.resource} ${a.identity} ${a.start} ${a.end} ${a.status}`,
  );
}

function ok(res: CliResult, code = 0): void {
  assert.equal(
    res.code,
    code,
    `exit ${res.code}, expected ${code}\nstdout:\n${res.stdout}\nstderr:\n${res.stderr}`,
  );
}

const ALICE_BOB = `
shifts:
  - { schedule: primary, email: alice@example.com, start: 2026-11-22T09:00:00Z, end: 2026-11-22T18:00:00Z }
  - { schedule: primary, email: bob@example.com, start: 2026-11-22T18:00:00Z, end: 2026-11-23T09:00:00Z }
`;

const RULE = (extra = "") => `
  - name: prod
    source: rota
    schedules: [primary]
    target: cmd
    resources: [db]
${extra}`;

const NOW = "2026-11-22T10:00:00Z";

describe("issue 3: safe unattended re-runs", { concurrency: true }, () => {
  describe("re-runs converge", { concurrency: true }, () => {
    it("re-running against an unchanged rota issues no call the second time (all unchanged)", () =>
      withEnv({ rules: RULE(), rota: ALICE_BOB }, async (env) => {
        ok(await env.run(NOW));
        assert.deepEqual(await env.takeCalls(), [
          ["grant-cmd", "alice@example.com", "db", "2026-11-22T10:00:00Z", "2026-11-22T18:00:00Z"],
          ["grant-cmd", "bob@example.com", "db", "2026-11-22T18:00:00Z", "2026-11-23T09:00:00Z"],
        ]);
        const again = await env.run("2026-11-22T10:15:00Z");
        ok(again);
        assert.deepEqual(await env.takeCalls(), []);
        assert.deepEqual(parseJsonOutput(again.stdout), {
          version: 1,
          exitCode: 0,
          dryRun: false,
          window: { since: "2026-11-22T10:15:00Z", until: "2026-11-23T10:15:00Z" },
          actions: [
            {
              kind: "unchanged",
              rule: "prod",
              target: "cmd",
              resource: "db",
              identity: "alice@example.com",
              start: "2026-11-22T10:00:00Z",
              end: "2026-11-22T18:00:00Z",
              reason: "on call: primary (rota)",
              status: "skipped",
            },
            {
              kind: "unchanged",
              rule: "prod",
              target: "cmd",
              resource: "db",
              identity: "bob@example.com",
              start: "2026-11-22T18:00:00Z",
              end: "2026-11-23T09:00:00Z",
              reason: "on call: primary (rota)",
              status: "skipped",
            },
          ],
          errors: [],
          summary: {
            grant: 0,
            extend: 0,
            shorten: 0,
            revoke: 0,
            expire: 0,
            unchanged: 2,
            wait: 0,
            skip: 0,
            failed: 0,
          },
        });
        // The ledger is versioned and holds each grant once, with the run that issued it.
        const ledger = await env.ledger();
        assert.equal(ledger.version, 1);
        assert.deepEqual(
          ledger.grants.map((g) => `${g.identity} ${g.start} ${g.end} ${g.rule} ${g.grantedAt}`),
          [
            "alice@example.com 2026-11-22T10:00:00Z 2026-11-22T18:00:00Z prod 2026-11-22T10:00:00Z",
            "bob@example.com 2026-11-22T18:00:00Z 2026-11-23T09:00:00Z prod 2026-11-22T10:00:00Z",
          ],
        );
      }));

    it("a shift that was extended issues exactly the continuation (extend from the held end)", () =>
      withEnv({ rules: RULE(), rota: ALICE_BOB }, async (env) => {
        ok(await env.run(NOW));
        await env.takeCalls();
        await env.writeRota(`
shifts:
  - { schedule: primary, email: alice@example.com, start: 2026-11-22T09:00:00Z, end: 2026-11-22T22:00:00Z }
  - { schedule: primary, email: bob@example.com, start: 2026-11-22T22:00:00Z, end: 2026-11-23T09:00:00Z }
`);
        const res = await env.run("2026-11-22T11:00:00Z");
        ok(res);
        assert.deepEqual(await env.takeCalls(), [
          ["grant-cmd", "alice@example.com", "db", "2026-11-22T18:00:00Z", "2026-11-22T22:00:00Z"],
        ]);
        assert.deepEqual(actionLines(res.stdout), [
          "unchanged prod db alice@example.com 2026-11-22T10:00:00Z 2026-11-22T18:00:00Z skipped",
          "extend prod db alice@example.com 2026-11-22T18:00:00Z 2026-11-22T22:00:00Z applied",
          "unchanged prod db bob@example.com 2026-11-22T18:00:00Z 2026-11-23T09:00:00Z skipped",
        ]);
      }));

    const SWAPPED = `
shifts:
  - { schedule: primary, email: alice@example.com, start: 2026-11-22T09:00:00Z, end: 2026-11-22T18:00:00Z }
  - { schedule: primary, email: carol@example.com, start: 2026-11-22T18:00:00Z, end: 2026-11-23T09:00:00Z }
`;

    it("a swapped shift with revoke: true issues exactly one revoke (the revoke argv) and the new person's grant", () =>
      withEnv({ rules: RULE("    revoke: true"), rota: ALICE_BOB }, async (env) => {
        ok(await env.run(NOW));
        await env.takeCalls();
        await env.writeRota(SWAPPED);
        const res = await env.run("2026-11-22T11:00:00Z");
        ok(res);
        assert.deepEqual(await env.takeCalls(), [
          ["grant-cmd", "carol@example.com", "db", "2026-11-22T18:00:00Z", "2026-11-23T09:00:00Z"],
          ["revoke-cmd", "bob@example.com", "db"],
        ]);
        assert.deepEqual(actionLines(res.stdout), [
          "unchanged prod db alice@example.com 2026-11-22T10:00:00Z 2026-11-22T18:00:00Z skipped",
          "revoke prod db bob@example.com 2026-11-22T18:00:00Z 2026-11-23T09:00:00Z applied",
          "grant prod db carol@example.com 2026-11-22T18:00:00Z 2026-11-23T09:00:00Z applied",
        ]);
        // The revoked grant left the ledger.
        assert.deepEqual(
          (await env.ledger()).grants.map((g) => g.identity),
          ["alice@example.com", "carol@example.com"],
        );
      }));

    it("an override that shortens a shift, with revoke: true: revoke, then a grant of what remains [now, new end]", () =>
      withEnv(
        {
          rules: RULE("    revoke: true\n    grace: 15m"),
          rota: `
shifts:
  - { schedule: primary, email: alice@example.com, start: 2026-11-22T09:00:00Z, end: 2026-11-22T17:00:00Z }
`,
        },
        async (env) => {
          ok(await env.run("2026-11-22T09:00:00Z"));
          assert.deepEqual(await env.takeCalls(), [
            ["grant-cmd", "alice@example.com", "db", "2026-11-22T09:00:00Z", "2026-11-22T17:15:00Z"],
          ]);
          // 10:00: bob takes over the rest of alice's 8-hour shift.
          await env.writeRota(`
shifts:
  - { schedule: primary, email: alice@example.com, start: 2026-11-22T09:00:00Z, end: 2026-11-22T10:00:00Z }
  - { schedule: primary, email: bob@example.com, start: 2026-11-22T10:00:00Z, end: 2026-11-22T17:00:00Z }
`);
          const res = await env.run("2026-11-22T10:00:00Z");
          ok(res);
          assert.deepEqual(await env.takeCalls(), [
            ["grant-cmd", "alice@example.com", "db", "2026-11-22T10:00:00Z", "2026-11-22T10:15:00Z"],
            ["grant-cmd", "bob@example.com", "db", "2026-11-22T10:00:00Z", "2026-11-22T17:15:00Z"],
            ["revoke-cmd", "alice@example.com", "db"],
          ]);
          assert.deepEqual(actionLines(res.stdout), [
            "revoke prod db alice@example.com 2026-11-22T09:00:00Z 2026-11-22T17:15:00Z applied",
            "grant prod db alice@example.com 2026-11-22T10:00:00Z 2026-11-22T10:15:00Z applied",
            "grant prod db bob@example.com 2026-11-22T10:00:00Z 2026-11-22T17:15:00Z applied",
          ]);
          assert.equal(
            parseJsonOutput(res.stdout).actions[0]?.reason,
            "no longer on call after 2026-11-22T10:15:00Z (cut: revoked, and what is still wanted is granted again)",
          );
          // The revoke and the grant replaced alice's entry.
          assert.deepEqual(
            (await env.ledger()).grants.map((g) => `${g.identity} ${g.start} ${g.end}`),
            [
              "alice@example.com 2026-11-22T10:00:00Z 2026-11-22T10:15:00Z",
              "bob@example.com 2026-11-22T10:00:00Z 2026-11-22T17:15:00Z",
            ],
          );
          ok(await env.run("2026-11-22T10:05:00Z"));
          assert.deepEqual(await env.takeCalls(), []);
        },
      ));

    it("a rota typo ending in 2062 is granted up to the window plus grace, and later runs extend it", () =>
      withEnv(
        {
          rules: RULE("    grace: 15m"),
          rota: `
shifts:
  - { schedule: primary, email: alice@example.com, start: 2026-11-22T09:00:00Z, end: 2062-11-22T09:00:00Z }
`,
        },
        async (env) => {
          ok(await env.run(NOW));
          assert.deepEqual(await env.takeCalls(), [
            ["grant-cmd", "alice@example.com", "db", "2026-11-22T10:00:00Z", "2026-11-23T10:15:00Z"],
          ]);
          // An hour later: the grant has most of its length left; no call.
          ok(await env.run("2026-11-22T11:00:00Z"));
          assert.deepEqual(await env.takeCalls(), []);
          // With less than a quarter left, one more window's worth from the held end.
          ok(await env.run("2026-11-23T05:00:00Z"));
          assert.deepEqual(await env.takeCalls(), [
            ["grant-cmd", "alice@example.com", "db", "2026-11-23T10:15:00Z", "2026-11-24T10:30:00Z"],
          ]);
        },
      ));

    it("a swapped shift without revoke: true issues the new grant and no revoke", () =>
      withEnv({ rules: RULE(), rota: ALICE_BOB }, async (env) => {
        ok(await env.run(NOW));
        await env.takeCalls();
        await env.writeRota(SWAPPED);
        const res = await env.run("2026-11-22T11:00:00Z");
        ok(res);
        assert.deepEqual(await env.takeCalls(), [
          ["grant-cmd", "carol@example.com", "db", "2026-11-22T18:00:00Z", "2026-11-23T09:00:00Z"],
        ]);
        assert.deepEqual(parseJsonOutput(res.stdout).summary, {
          grant: 1,
          extend: 0,
          shorten: 0,
          revoke: 0,
          expire: 0,
          unchanged: 1,
          wait: 0,
          skip: 0,
          failed: 0,
        });
      }));

    it("a failed action is not recorded (exit 4); the next run retries exactly it", () =>
      withEnv(
        { rules: RULE(), rota: ALICE_BOB, grantBehaviour: { failFor: ["bob@example.com"], failCode: 3 } },
        async (env) => {
          const first = await env.run(NOW);
          ok(first, 4);
          assert.deepEqual(await env.takeCalls(), [
            ["grant-cmd", "alice@example.com", "db", "2026-11-22T10:00:00Z", "2026-11-22T18:00:00Z"],
            ["grant-cmd", "bob@example.com", "db", "2026-11-22T18:00:00Z", "2026-11-23T09:00:00Z"],
          ]);
          const failed = parseJsonOutput(first.stdout).actions.find((a) => a.identity === "bob@example.com");
          assert.equal(failed?.status, "failed");
          assert.match(String(failed?.error), /grant-cmd exited with code 3/);
          assert.equal(parseJsonOutput(first.stdout).summary.failed, 1);
          assert.deepEqual(
            (await env.ledger()).grants.map((g) => g.identity),
            ["alice@example.com"],
          );

          await env.grant.setBehaviour({});
          const second = await env.run("2026-11-22T10:30:00Z");
          ok(second);
          assert.deepEqual(await env.takeCalls(), [
            ["grant-cmd", "bob@example.com", "db", "2026-11-22T18:00:00Z", "2026-11-23T09:00:00Z"],
          ]);
          assert.deepEqual(
            (await env.ledger()).grants.map((g) => g.identity),
            ["alice@example.com", "bob@example.com"],
          );
        },
      ));

    it(
      "maxDuration: a 48h shift with maxDuration 12h is granted as [start, start+12h]; the grant is extended " +
        "by the first run that sees it with at most a quarter of maxDuration (3h) left, from its end by up to 12h",
      () =>
        withEnv(
          {
            rules: RULE("    maxDuration: 12h"),
            rota: `
shifts:
  - { schedule: primary, email: alice@example.com, start: 2026-11-22T10:00:00Z, end: 2026-11-24T10:00:00Z }
`,
          },
          async (env) => {
            ok(await env.run("2026-11-22T10:00:00Z"));
            assert.deepEqual(await env.takeCalls(), [
              ["grant-cmd", "alice@example.com", "db", "2026-11-22T10:00:00Z", "2026-11-22T22:00:00Z"],
            ]);
            // More than 3h left: nothing to do.
            for (const now of ["2026-11-22T16:00:00Z", "2026-11-22T18:45:00Z"]) {
              const res = await env.run(now);
              ok(res);
              assert.deepEqual(await env.takeCalls(), [], now);
              assert.deepEqual(actionLines(res.stdout), [
                "unchanged prod db alice@example.com 2026-11-22T10:00:00Z 2026-11-22T22:00:00Z skipped",
              ]);
            }
            // Inside the last quarter: the continuation, one maxDuration long.
            const res = await env.run("2026-11-22T19:30:00Z");
            ok(res);
            assert.deepEqual(await env.takeCalls(), [
              ["grant-cmd", "alice@example.com", "db", "2026-11-22T22:00:00Z", "2026-11-23T10:00:00Z"],
            ]);
            assert.deepEqual(actionLines(res.stdout), [
              "unchanged prod db alice@example.com 2026-11-22T10:00:00Z 2026-11-22T22:00:00Z skipped",
              "extend prod db alice@example.com 2026-11-22T22:00:00Z 2026-11-23T10:00:00Z applied",
            ]);
            ok(await env.run("2026-11-22T21:00:00Z"));
            assert.deepEqual(await env.takeCalls(), []);
          },
        ),
    );
  });

  describe("a renamed target or rule", { concurrency: true }, () => {
    const rename = async (env: Env, from: string, to: string) => {
      const text = await readFile(env.config, "utf8");
      await writeFile(env.config, text.replace(from, to));
    };
    const warned = "the ledger holds grants of a target or rule the config no longer has";

    it("a renamed target: the grants are issued again under the new name, with a warning that says how to carry the ledger over", () =>
      withEnv({ rules: RULE(), rota: ALICE_BOB }, async (env) => {
        ok(await env.run(NOW));
        await env.takeCalls();
        await rename(env, "\n  cmd:\n", "\n  cmd-v2:\n");
        await rename(env, "target: cmd\n", "target: cmd-v2\n");
        const res = await env.run("2026-11-22T10:30:00Z");
        ok(res);
        assert.deepEqual(await env.takeCalls(), [
          ["grant-cmd", "alice@example.com", "db", "2026-11-22T10:30:00Z", "2026-11-22T18:00:00Z"],
          ["grant-cmd", "bob@example.com", "db", "2026-11-22T18:00:00Z", "2026-11-23T09:00:00Z"],
        ]);
        const doc = parseJsonOutput(res.stdout) as ReturnType<typeof parseJsonOutput> & {
          warnings?: string[];
        };
        assert.deepEqual(doc.warnings, [
          `the ledger ${env.state} holds 2 grants in force on target "cmd", which the config no longer has: ` +
            "they are never extended, cut or revoked, and if the target was renamed, this run grants the same access again under the new name. " +
            'To carry them over, stop scheduled runs, replace "target": "cmd" by the new name in the ledger, then run again.',
        ]);
        assert.ok(res.stderr.includes(warned), res.stderr);
        // The same run as text says it too.
        const text = await runMain(["sync", "-c", env.config, "--dry-run"], {
          binDir: env.bin,
          now: "2026-11-22T10:30:00Z",
        });
        ok(text);
        assert.match(text.stdout, /\nwarnings:\n {2}the ledger .* holds 2 grants in force on target "cmd"/);
      }));

    it("a renamed rule: its grants still count (no call), with a warning that no rule revokes them", () =>
      withEnv({ rules: RULE("    revoke: true"), rota: ALICE_BOB }, async (env) => {
        ok(await env.run(NOW));
        await env.takeCalls();
        await rename(env, "name: prod\n", "name: prod-v2\n");
        const res = await env.run("2026-11-22T10:30:00Z");
        ok(res);
        assert.deepEqual(await env.takeCalls(), []);
        const doc = parseJsonOutput(res.stdout) as ReturnType<typeof parseJsonOutput> & {
          warnings?: string[];
        };
        assert.deepEqual(doc.warnings, [
          `the ledger ${env.state} holds 2 grants in force of rule "prod", which the config no longer has: ` +
            "they still count as held access, but no rule revokes or cuts them. " +
            'If the rule was renamed, stop scheduled runs, replace "rule": "prod" by the new name in the ledger, then run again.',
        ]);
        assert.ok(res.stderr.includes(warned), res.stderr);
        // Carried over as the warning says: the next run is quiet.
        const ledger = await readFile(env.state, "utf8");
        await writeFile(env.state, ledger.replaceAll('"rule":"prod"', '"rule":"prod-v2"'));
        const after = await env.run("2026-11-22T10:45:00Z");
        ok(after);
        assert.equal((parseJsonOutput(after.stdout) as { warnings?: string[] }).warnings, undefined);
        assert.ok(!after.stderr.includes(warned), after.stderr);
      }));
  });

  describe("guards", { concurrency: true }, () => {
    const THREE = `
shifts:
  - { schedule: primary, email: alice@example.com, start: 2026-11-22T09:00:00Z, end: 2026-11-22T14:00:00Z }
  - { schedule: primary, email: bob@example.com, start: 2026-11-22T14:00:00Z, end: 2026-11-22T20:00:00Z }
  - { schedule: primary, email: carol@example.com, start: 2026-11-22T20:00:00Z, end: 2026-11-23T09:00:00Z }
`;

    it("--max-changes N: more changes than N exit 6 before any call, and the plan is still printed", () =>
      withEnv({ rules: RULE(), rota: THREE }, async (env) => {
        const res = await env.run(NOW, ["--max-changes", "2"]);
        ok(res, 6);
        assert.deepEqual(await env.takeCalls(), []);
        assert.equal(existsSync(env.state), false, "no ledger is written");
        const doc = parseJsonOutput(res.stdout) as ReturnType<typeof parseJsonOutput> & { stopped?: string };
        assert.equal(doc.stopped, "3 changes planned, more than --max-changes 2: nothing was applied");
        assert.deepEqual(
          doc.actions.map((a) => `${a.kind} ${a.identity}`),
          ["grant alice@example.com", "grant bob@example.com", "grant carol@example.com"],
        );
        assert.match(res.stderr, /too many changes; nothing applied/);

        // The text output shows the plan too.
        const text = await runMain(["sync", "-c", env.config, "--max-changes", "2"], {
          binDir: env.bin,
          now: NOW,
        });
        ok(text, 6);
        assert.match(text.stdout, /grant +carol@example\.com +db/);
        assert.match(
          text.stdout,
          /stopped: 3 changes planned, more than --max-changes 2: nothing was applied/,
        );
        assert.deepEqual(await env.takeCalls(), []);
      }));

    it("--max-changes N: a stopped run reports its actions as planned, not applied", () =>
      withEnv({ rules: RULE(), rota: THREE }, async (env) => {
        const res = await env.run(NOW, ["--max-changes", "2"]);
        ok(res, 6);
        assert.deepEqual(
          parseJsonOutput(res.stdout).actions.map((a) => a.status),
          ["planned", "planned", "planned"],
        );
      }));

    it("--max-changes N: exactly N changes are allowed; maxChanges in the config does the same", () =>
      withEnv({ rules: RULE(), rota: THREE, top: "maxChanges: 2" }, async (env) => {
        // The config's 2 trips...
        ok(await env.run(NOW), 6);
        assert.deepEqual(await env.takeCalls(), []);
        // ...the flag overrides it: exactly 3 changes pass.
        ok(await env.run(NOW, ["--max-changes", "3"]));
        assert.equal((await env.takeCalls()).length, 3);
        // Nothing left to change: 0 changes is within maxChanges 0.
        ok(await env.run(NOW, ["--max-changes", "0"]));
        assert.deepEqual(await env.takeCalls(), []);
      }));

    it("a failed source leaves its rule's held grants untouched (no revoke) while other rules proceed; exit 3", () =>
      withEnv(
        {
          rota: ALICE_BOB,
          sources: "  ops: { type: file, path: ops.yaml }",
          rules: `
  - name: prod
    source: rota
    schedules: [primary]
    target: cmd
    resources: [db]
    revoke: true
  - name: ops
    source: ops
    schedules: [ops]
    target: cmd
    resources: [k8s]
    revoke: true
`,
        },
        async (env) => {
          await env.writeRota(
            `
shifts:
  - { schedule: ops, email: dave@example.com, start: 2026-11-22T09:00:00Z, end: 2026-11-22T21:00:00Z }
`,
            "ops.yaml",
          );
          ok(await env.run(NOW));
          assert.deepEqual(await env.takeCalls(), [
            ["grant-cmd", "alice@example.com", "db", "2026-11-22T10:00:00Z", "2026-11-22T18:00:00Z"],
            ["grant-cmd", "bob@example.com", "db", "2026-11-22T18:00:00Z", "2026-11-23T09:00:00Z"],
            ["grant-cmd", "dave@example.com", "k8s", "2026-11-22T10:00:00Z", "2026-11-22T21:00:00Z"],
          ]);

          // The prod rota no longer parses; the ops rota hands over to erin, whose grant fails.
          await env.writeRota("shifts: [ { schedule: primary, email: \n", "rota.yaml");
          await env.writeRota(
            `
shifts:
  - { schedule: ops, email: erin@example.com, start: 2026-11-22T09:00:00Z, end: 2026-11-22T21:00:00Z }
`,
            "ops.yaml",
          );
          await env.grant.setBehaviour({ failFor: ["erin@example.com"] });
          const res = await env.run("2026-11-22T11:00:00Z");
          ok(res, 3); // 3 (a source failed) wins over 4 (an action failed)
          assert.deepEqual(await env.takeCalls(), [
            ["grant-cmd", "erin@example.com", "k8s", "2026-11-22T11:00:00Z", "2026-11-22T21:00:00Z"],
            ["revoke-cmd", "dave@example.com", "k8s"],
          ]);
          const doc = parseJsonOutput(res.stdout);
          assert.deepEqual(
            doc.errors.map((e) => [e.rule, e.source]),
            [["prod", "rota"]],
          );
          assert.match(doc.errors[0]?.message ?? "", /^rota\.yaml: not valid YAML/);
          // The failed rule's grants are reported, kept as they are.
          assert.deepEqual(actionLines(res.stdout), [
            "unchanged prod db alice@example.com 2026-11-22T10:00:00Z 2026-11-22T18:00:00Z skipped",
            "unchanged prod db bob@example.com 2026-11-22T18:00:00Z 2026-11-23T09:00:00Z skipped",
            "revoke ops k8s dave@example.com 2026-11-22T10:00:00Z 2026-11-22T21:00:00Z applied",
            "grant ops k8s erin@example.com 2026-11-22T11:00:00Z 2026-11-22T21:00:00Z failed",
          ]);
          assert.deepEqual(
            doc.actions.slice(0, 2).map((a) => a.reason),
            Array(2).fill("kept: the source failed; nothing planned"),
          );
          assert.deepEqual(
            (await env.ledger()).grants.map((g) => `${g.rule} ${g.identity}`),
            ["prod alice@example.com", "prod bob@example.com"],
          );
        },
      ));
  });

  describe("crash safety", { concurrency: true }, () => {
    it("a run killed (SIGKILL) while applying leaves a valid ledger; the next run issues only what is missing", () =>
      withEnv(
        {
          rules: RULE(),
          // 40 people, one after another, 30 minutes each: 40 grants.
          rota: `shifts:\n${Array.from({ length: 40 }, (_, i) => {
            const start = new Date(Date.parse(NOW) + i * 1_800_000).toISOString().replace(".000", "");
            const end = new Date(Date.parse(NOW) + (i + 1) * 1_800_000).toISOString().replace(".000", "");
            return `  - { schedule: primary, email: user${i}@example.com, start: ${start}, end: ${end} }`;
          }).join("\n")}\n`,
          target: "    concurrency: 4",
          grantBehaviour: { delayMs: 150 },
        },
        async (env) => {
          let pid = 0;
          // Spawned (only a real process can be killed), in a process group of its own: the kill
          // ends the run and every grant command it started at the same instant, as stopping a
          // container or a systemd unit does. A grant command the kill left running would log its
          // call later, among the next run's calls.
          const killed = runCli(["sync", "-c", env.config], {
            binDir: env.bin,
            env: { SHIFTGRANT_NOW: NOW },
            onSpawn: (p) => (pid = p),
            detached: true,
          });
          // Kill it part-way through applying: once the ledger records a first grant (on a loaded
          // machine the calls start long before any completes, so counting started calls is not enough).
          const recordedSoFar = async () => {
            try {
              return (JSON.parse(await readFile(env.state, "utf8")) as { grants: unknown[] }).grants.length;
            } catch {
              return 0;
            }
          };
          await until(
            "the killed run to record a first grant in the ledger",
            async () => (await recordedSoFar()) >= 1,
          );
          process.kill(-pid, "SIGKILL");
          const res = await killed;
          assert.equal(res.signal, "SIGKILL");
          await env.takeCalls();

          const text = await readFile(env.state, "utf8");
          const ledger = JSON.parse(text) as { version: number; grants: { identity: string }[] };
          const recorded = new Set(ledger.grants.map((g) => g.identity));
          assert.equal(recorded.size, ledger.grants.length);
          assert.ok(
            recorded.size > 0 && recorded.size < 40,
            `killed part-way: ${recorded.size} of 40 recorded`,
          );

          await env.grant.setBehaviour({});
          // A temp file a killed write would leave beside the ledger (whether this kill left one
          // depends on timing): the next run removes it.
          const stateDir = path.dirname(env.state);
          await writeFile(path.join(stateDir, ".ledger.json.999999.0badf00d.tmp"), '{"version":1,"gr');
          const next = await env.run(NOW);
          ok(next);
          // The killed run's lock (a dead pid) was taken over.
          assert.match(next.stderr, /taking over a stale lock/);
          assert.deepEqual(
            (await readdir(stateDir)).filter((n) => n.endsWith(".tmp") || n.endsWith(".lock")),
            [],
          );
          const calls = await env.takeCalls();
          assert.equal(calls.length, 40 - recorded.size);
          for (const c of calls) assert.ok(!recorded.has(c[1] as string), `${c[1]} was granted twice`);
          assert.equal((await env.ledger()).grants.length, 40);
          console.log(
            `crash test: ${recorded.size} of 40 recorded when killed, ${calls.length} issued by the next run`,
          );
        },
      ));

    it("a truncated ledger stops the run with exit 2 and a clear message, and is left byte for byte", () =>
      withEnv({ rules: RULE(), rota: ALICE_BOB }, async (env) => {
        ok(await env.run(NOW));
        await env.takeCalls();
        const whole = await readFile(env.state);
        const torn = whole.subarray(0, Math.floor(whole.length / 2));
        await writeFile(env.state, torn);
        await env.writeRota(`
shifts:
  - { schedule: primary, email: carol@example.com, start: 2026-11-22T09:00:00Z, end: 2026-11-22T18:00:00Z }
`);
        for (const args of [[], ["--dry-run"]]) {
          const res = await env.run("2026-11-22T11:00:00Z", args);
          ok(res, 2);
          const said = new RegExp(
            `the ledger ${env.state.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} is not valid JSON .*left in place`,
          );
          const doc = JSON.parse(res.stdout) as { error: { code: number; kind: string; message: string } };
          assert.deepEqual([doc.error.code, doc.error.kind], [2, "state"]);
          assert.match(doc.error.message, said);
          assert.match(res.stderr, said);
          assert.deepEqual(await readFile(env.state), torn);
        }
        assert.deepEqual(await env.takeCalls(), []);
        assert.equal(existsSync(`${env.state}.lock`), false, "the lock is released");
      }));
  });

  describe("audit log and secrets", () => {
    const TOKEN = "tok-3f9a77e1c0ffee42";

    it("one JSON line per applied or failed action, with the run id of the logs, and never a secret", () =>
      withEnv(
        {
          rules: RULE("    revoke: true"),
          rota: ALICE_BOB,
          target: "    tokenEnv: SOME_TOKEN",
          // The fake prints the token it was given: it must be redacted wherever the output goes.
          grantBehaviour: { failFor: ["bob@example.com"], stdout: `granted with ${TOKEN}` },
        },
        async (env) => {
          const res = await env.run(NOW, ["--log-format", "json"], { SOME_TOKEN: TOKEN });
          ok(res, 4);
          const logs = res.stderr
            .split("\n")
            .filter(Boolean)
            .map((l) => JSON.parse(l) as Record<string, unknown>);
          const runIds = new Set(logs.map((l) => l.runId));
          assert.equal(runIds.size, 1);
          const runId = [...runIds][0] as string;
          assert.match(runId, /^[0-9a-f]{8}$/);

          const lines = (await readFile(env.audit, "utf8"))
            .split("\n")
            .filter(Boolean)
            .map((l) => JSON.parse(l) as Record<string, unknown>)
            .sort((a, b) => String(a.identity).localeCompare(String(b.identity)));
          assert.deepEqual(lines, [
            {
              time: NOW,
              runId,
              rule: "prod",
              kind: "grant",
              target: "cmd",
              resource: "db",
              identity: "alice@example.com",
              start: "2026-11-22T10:00:00Z",
              end: "2026-11-22T18:00:00Z",
              reason: "on call: primary (rota)",
              shifts: [{ scheduleId: "primary", schedule: "primary", level: null }],
              result: "applied",
            },
            {
              time: NOW,
              runId,
              rule: "prod",
              kind: "grant",
              target: "cmd",
              resource: "db",
              identity: "bob@example.com",
              start: "2026-11-22T18:00:00Z",
              end: "2026-11-23T09:00:00Z",
              reason: "on call: primary (rota)",
              shifts: [{ scheduleId: "primary", schedule: "primary", level: null }],
              result: "failed",
              error:
                "grant-cmd exited with code 1: fake grant-cmd: refused bob@example.com db 2026-11-22T18:00:00Z 2026-11-23T09:00:00Z",
            },
          ]);

          // A swap: the revoke is audited too, appended after the earlier lines.
          await env.grant.setBehaviour({ stdout: `granted with ${TOKEN}` });
          await env.writeRota(`
shifts:
  - { schedule: primary, email: carol@example.com, start: 2026-11-22T09:00:00Z, end: 2026-11-22T18:00:00Z }
`);
          const second = await env.run("2026-11-22T11:00:00Z", ["--log-format", "json"], {
            SOME_TOKEN: TOKEN,
          });
          ok(second);
          const all = (await readFile(env.audit, "utf8")).split("\n").filter(Boolean);
          assert.equal(all.length, 4);
          type AuditLine = Record<"kind" | "identity" | "start" | "end" | "result" | "reason", string>;
          const added = all.slice(2).map((l) => JSON.parse(l) as AuditLine);
          assert.deepEqual(
            added.map((l) => `${l.kind} ${l.identity} ${l.start} ${l.end} ${l.result} ${l.reason}`).sort(),
            [
              "grant carol@example.com 2026-11-22T11:00:00Z 2026-11-22T18:00:00Z applied on call: primary (rota)",
              "revoke alice@example.com 2026-11-22T10:00:00Z 2026-11-22T18:00:00Z applied no longer on call",
            ],
          );

          // The token reached the command in its environment, and nowhere else.
          const calls = [...(await env.grant.calls()), ...(await env.revoke.calls())];
          assert.equal(calls.length, 4);
          for (const c of calls) {
            assert.equal(c.env.SOME_TOKEN, TOKEN);
            assert.ok(!c.argv.some((a) => a.includes(TOKEN)), `token in argv ${c.argv.join(" ")}`);
          }
          await assertNoSecret(
            [TOKEN],
            [res.stdout, res.stderr, second.stdout, second.stderr],
            [env.state, env.audit],
          );
        },
      ));
  });

  describe("a simulated day", () => {
    it("cron every 4 hours, a shift swap at noon, revoke: true: the calls of each run", () =>
      withEnv(
        {
          rules: RULE("    revoke: true"),
          rota: `
shifts:
  - { schedule: primary, email: alice@example.com, start: 2026-11-21T20:00:00Z, end: 2026-11-22T08:00:00Z }
  - { schedule: primary, email: bob@example.com, start: 2026-11-22T08:00:00Z, end: 2026-11-22T20:00:00Z }
  - { schedule: primary, email: carol@example.com, start: 2026-11-22T20:00:00Z, end: 2026-11-23T08:00:00Z }
  - { schedule: primary, email: dave@example.com, start: 2026-11-23T08:00:00Z, end: 2026-11-23T20:00:00Z }
`,
        },
        async (env) => {
          const SWAP = `
shifts:
  - { schedule: primary, email: alice@example.com, start: 2026-11-21T20:00:00Z, end: 2026-11-22T08:00:00Z }
  - { schedule: primary, email: bob@example.com, start: 2026-11-22T08:00:00Z, end: 2026-11-22T12:00:00Z }
  - { schedule: primary, email: erin@example.com, start: 2026-11-22T12:00:00Z, end: 2026-11-22T20:00:00Z }
  - { schedule: primary, email: carol@example.com, start: 2026-11-22T20:00:00Z, end: 2026-11-23T08:00:00Z }
  - { schedule: primary, email: dave@example.com, start: 2026-11-23T08:00:00Z, end: 2026-11-23T20:00:00Z }
`;
          const expected: Record<string, string[][]> = {
            "00:00": [
              ["grant-cmd", "alice@example.com", "db", "2026-11-22T00:00:00Z", "2026-11-22T08:00:00Z"],
              ["grant-cmd", "bob@example.com", "db", "2026-11-22T08:00:00Z", "2026-11-22T20:00:00Z"],
              ["grant-cmd", "carol@example.com", "db", "2026-11-22T20:00:00Z", "2026-11-23T08:00:00Z"],
            ],
            "04:00": [],
            "08:00": [],
            "12:00": [
              ["grant-cmd", "dave@example.com", "db", "2026-11-23T08:00:00Z", "2026-11-23T20:00:00Z"],
              ["grant-cmd", "erin@example.com", "db", "2026-11-22T12:00:00Z", "2026-11-22T20:00:00Z"],
              ["revoke-cmd", "bob@example.com", "db"],
            ],
            "16:00": [],
            "20:00": [],
          };
          const rows: string[][] = [];
          for (const hhmm of Object.keys(expected)) {
            if (hhmm === "12:00") await env.writeRota(SWAP);
            const res = await env.run(`2026-11-22T${hhmm}:00Z`);
            ok(res);
            const calls = await env.takeCalls();
            assert.deepEqual(calls, expected[hhmm], hhmm);
            const shown = calls.map((c) =>
              c[0] === "revoke-cmd"
                ? `revoke-cmd ${c.slice(1).join(" ")}`
                : `grant-cmd ${c[1]} ${c[2]} ${c[3]?.slice(5, 16)}Z→${c[4]?.slice(5, 16)}Z`,
            );
            rows.push([
              `${hhmm}Z${hhmm === "12:00" ? " (rota swapped)" : ""}`,
              String(parseJsonOutput(res.stdout).summary.unchanged),
              shown.join("; ") || "none",
            ]);
          }
          const header = ["run 2026-11-22", "unchanged", "calls made"];
          const widths = header.map((h, i) =>
            Math.max(h.length, ...rows.map((r) => (r[i] as string).length)),
          );
          const line = (r: string[]) =>
            r.map((cell, i) => (i < r.length - 1 ? cell.padEnd(widths[i] as number) : cell)).join(" | ");
          console.log(["", line(header), ...rows.map(line), ""].join("\n"));
        },
      ));
  });
});

describe("the ledger after a shorten", () => {
  it("moves the end of the grants it cut; an extension that starts at or after the new end goes", async () => {
    const { dir, cleanup } = await makeTempDir("shiftgrant-ledger-");
    const t = (iso: string) => DateTime.fromISO(iso, { zone: "utc" });
    const grant = (identity: string, start: string, end: string): LedgerGrant => ({
      target: "tp",
      resource: "prod-access",
      identity,
      rule: "oncall",
      start: t(start),
      end: t(end),
      grantedAt: t("2026-11-22T09:00:00Z"),
      runId: "run-1",
    });
    const held = [
      grant("alice@example.com", "2026-11-22T09:00:00Z", "2026-11-22T13:00:00Z"),
      grant("alice@example.com", "2026-11-22T13:00:00Z", "2026-11-22T17:15:00Z"),
      grant("bob@example.com", "2026-11-22T09:00:00Z", "2026-11-22T17:15:00Z"),
    ];
    try {
      const file = path.join(dir, "state.json");
      const ledger = createLedgerWriter(file, held, () => t("2026-11-22T10:00:00Z"), { runId: "run-2" });
      await ledger.shorten(held.slice(0, 2), t("2026-11-22T10:15:00Z"));
      await ledger.flush();
      assert.deepEqual(
        (await readLedger(file)).grants.map((g) => `${g.identity} ${formatUtc(g.start)} ${formatUtc(g.end)}`),
        [
          "alice@example.com 2026-11-22T09:00:00Z 2026-11-22T10:15:00Z",
          "bob@example.com 2026-11-22T09:00:00Z 2026-11-22T17:15:00Z",
        ],
      );
    } finally {
      await cleanup();
    }
  });
});
