import assert from "node:assert/strict";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, it } from "node:test";
import { runMain } from "./harness.js";
import { makeFakeCli, makeTempDir, parseJsonOutput, writeYaml } from "./helpers.js";

// A `command` target whose scripts cannot end a grant by themselves (`expires: false`), through
// main() in-process: a simulated day with the clock moved between runs, as cron would.
// Every call is asserted as its exact argv.

const day = (hhmm: string) => `2026-11-22T${hhmm}:00Z`;

async function setup() {
  const { dir, cleanup } = await makeTempDir("shiftgrant-expiry-");
  const bin = path.join(dir, "bin");
  await mkdir(bin);
  const grant = await makeFakeCli(bin, "grant-cmd");
  const revoke = await makeFakeCli(bin, "revoke-cmd");
  const config = path.join(dir, "shiftgrant.yaml");
  await writeYaml(
    path.join(dir, "rota.yaml"),
    `
shifts:
  - { schedule: primary, email: alice@example.com, start: ${day("09:00")}, end: ${day("17:00")} }
  - { schedule: primary, email: bob@example.com, start: ${day("17:00")}, end: ${day("23:00")} }
  - { schedule: secondary, email: carol@example.com, start: ${day("13:00")}, end: ${day("16:00")} }
  - { schedule: dba, email: carol@example.com, start: ${day("12:00")}, end: ${day("14:00")} }
`,
  );
  await writeYaml(
    config,
    `
version: 1
state: state.json
sources: { rota: { type: file, path: rota.yaml } }
targets:
  cmd:
    type: command
    expires: false
    grant: ["grant-cmd", "{identity}", "{resource}", "{start}", "{end}"]
    revoke: ["revoke-cmd", "{identity}", "{resource}"]
rules:
  - { name: primary, source: rota, schedules: [primary, secondary], target: cmd, resources: [ops], grace: 15m }
  - { name: dba, source: rota, schedules: [dba], target: cmd, resources: [ops] }
`,
  );
  /** Runs sync at `now`; returns the result and the calls it made, then forgets them. */
  const sync = async (now: string, ...extra: string[]) => {
    const res = await runMain(["sync", "-c", config, "--output", "json", ...extra], {
      binDir: bin,
      cwd: dir,
      now: day(now),
    });
    const calls = [
      ...(await grant.calls()).map((c) => ["grant-cmd", ...c.argv].join(" ")),
      ...(await revoke.calls()).map((c) => ["revoke-cmd", ...c.argv].join(" ")),
    ];
    await grant.reset();
    await revoke.reset();
    return { ...res, doc: parseJsonOutput(res.stdout), calls };
  };
  const grants = (now: string, output: "text" | "json") =>
    runMain(["grants", "-c", config, "--output", output], { cwd: dir, now: day(now) });
  return { dir, bin, config, state: path.join(dir, "state.json"), revoke, sync, grants, cleanup };
}

/** `kind rule identity status` of each action, with its reason where it says why no call is made. */
const kinds = (doc: ReturnType<typeof parseJsonOutput>) =>
  doc.actions.map((a) => `${a.kind} ${a.rule} ${a.identity} ${a.status}`);

describe("command target with expires: false: shiftgrant ends each grant itself", () => {
  it("a simulated day: wait, grant at the start, shared membership, one expire, an overdue expiry that fails twice", async () => {
    const env = await setup();
    try {
      // 08:45: alice's shift starts at 09:00; nothing is granted before its start.
      const r1 = await env.sync("08:45");
      assert.equal(r1.code, 0, r1.stderr);
      assert.deepEqual(r1.calls, []);
      assert.deepEqual(kinds(r1.doc), [
        "wait primary alice@example.com skipped",
        "wait primary bob@example.com skipped",
        "wait primary carol@example.com skipped",
        "wait dba carol@example.com skipped",
      ]);

      // 09:00: granted at the start, until the shift's end plus grace.
      const r2 = await env.sync("09:00");
      assert.equal(r2.code, 0, r2.stderr);
      assert.deepEqual(r2.calls, [`grant-cmd alice@example.com ops ${day("09:00")} ${day("17:15")}`]);

      // 12:00: carol's dba shift: the membership starts (rule dba).
      const r3 = await env.sync("12:00");
      assert.equal(r3.code, 0, r3.stderr);
      assert.deepEqual(r3.calls, [`grant-cmd carol@example.com ops ${day("12:00")} ${day("14:00")}`]);

      // 13:00: carol's primary shift wants the same access: it shares the membership, and its
      // later end is an extension that makes no call.
      const r4 = await env.sync("13:00");
      assert.equal(r4.code, 0, r4.stderr);
      assert.deepEqual(r4.calls, []);
      const extend = r4.doc.actions.find((a) => a.kind === "extend");
      assert.deepEqual(extend && [extend.rule, extend.identity, extend.start, extend.end, extend.status], [
        "primary",
        "carol@example.com",
        day("14:00"),
        day("16:15"),
        "applied",
      ]);
      assert.match(String(extend?.reason), /no call: cmd keeps the access until shiftgrant expires it/);

      // 14:15: the dba grant has ended, but primary still holds the membership: no call.
      const r5 = await env.sync("14:15");
      assert.equal(r5.code, 0, r5.stderr);
      assert.deepEqual(r5.calls, []);
      assert.ok(
        r5.doc.actions.some(
          (a) =>
            a.kind === "unchanged" &&
            a.rule === "dba" &&
            a.reason === `kept for primary until ${day("16:15")}`,
        ),
        r5.stdout,
      );

      // 16:15: carol's last grant ends: one expire, the revoke command, even in a run that reads
      // only another rule (--rule dba).
      const r6 = await env.sync("16:15", "--rule", "dba");
      assert.equal(r6.code, 0, r6.stderr);
      assert.deepEqual(r6.calls, ["revoke-cmd carol@example.com ops"]);
      assert.deepEqual(kinds(r6.doc), ["expire primary carol@example.com applied"]);
      assert.equal(r6.doc.summary.expire, 1);

      // No run from 17:00 to 19:00. At 18:00 `grants` shows alice's access as overdue.
      const g = await env.grants("18:00", "json");
      assert.equal(g.code, 0, g.stderr);
      assert.deepEqual(JSON.parse(g.stdout), {
        version: 1,
        now: day("18:00"),
        state: env.state,
        grants: [
          {
            target: "cmd",
            resource: "ops",
            identity: "alice@example.com",
            rule: "primary",
            start: day("09:00"),
            end: day("17:15"),
            preexisting: false,
            overdue: true,
          },
        ],
      });

      // 19:15: alice's expiry is two hours overdue; the revoke command fails. --max-changes 0
      // holds bob's grant back, never the expiry. Exit 4 (before 6), and a warn line says it.
      await env.revoke.setBehaviour({ failFor: ["alice@example.com"] });
      const metrics = path.join(env.dir, "metrics.prom");
      const r7 = await env.sync("19:15", "--max-changes", "0", "--metrics-file", metrics);
      assert.equal(r7.code, 4, r7.stderr);
      assert.deepEqual(r7.calls, ["revoke-cmd alice@example.com ops"]);
      assert.deepEqual(kinds(r7.doc), [
        "expire primary alice@example.com failed",
        "grant primary bob@example.com planned",
      ]);
      assert.match(
        String((JSON.parse(r7.stdout) as { stopped?: string }).stopped),
        /nothing was applied but the 1 expiry, which never wait/,
      );
      assert.match(r7.stderr, /access past its end was not expired; the next run tries again/);
      const prom = await readFile(metrics, "utf8");
      assert.match(prom, /^shiftgrant_overdue_expiries 1$/m);
      assert.match(prom, /^shiftgrant_last_run_actions\{kind="expire",status="failed"\} 1$/m);

      // 19:30: it fails again (exit 4); bob is granted now.
      const r8 = await env.sync("19:30");
      assert.equal(r8.code, 4, r8.stderr);
      assert.deepEqual(r8.calls, [
        `grant-cmd bob@example.com ops ${day("19:30")} ${day("23:15")}`,
        "revoke-cmd alice@example.com ops",
      ]);

      // 19:45: the revoke command works again: expired, exit 0, nothing overdue.
      await env.revoke.setBehaviour({});
      const r9 = await env.sync("19:45", "--metrics-file", metrics);
      assert.equal(r9.code, 0, r9.stderr);
      assert.deepEqual(r9.calls, ["revoke-cmd alice@example.com ops"]);
      assert.match(await readFile(metrics, "utf8"), /^shiftgrant_overdue_expiries 0$/m);
      assert.doesNotMatch(r9.stderr, /not expired/);

      // 23:30: bob's shift is over: expired in turn; the ledger holds nothing more.
      const r10 = await env.sync("23:30");
      assert.equal(r10.code, 0, r10.stderr);
      assert.deepEqual(r10.calls, ["revoke-cmd bob@example.com ops"]);
      const empty = await env.grants("23:30", "text");
      assert.equal(
        empty.stdout,
        `shiftgrant grants: what ${env.state} holds at ${day("23:30")}\n\nThe ledger holds no grant.\n`,
      );
    } finally {
      await env.cleanup();
    }
  });

  it("grants: held, pre-existing, overdue and kept access, exactly, as text and JSON", async () => {
    const env = await setup();
    try {
      const entry = (identity: string, rule: string, start: string, end: string, more = {}) => ({
        target: "cmd",
        resource: "ops",
        identity,
        rule,
        start: day(start),
        end: day(end),
        grantedAt: day(start),
        runId: "run00001",
        ...more,
      });
      await writeFile(
        env.state,
        JSON.stringify({
          version: 1,
          grants: [
            entry("alice@example.com", "primary", "09:00", "17:15"),
            entry("dave@example.com", "primary", "09:00", "17:15", { preexisting: true }),
            entry("erin@example.com", "primary", "06:00", "08:00"),
            // Ended, but primary still holds the same membership: not overdue, and not listed.
            entry("carol@example.com", "dba", "08:00", "10:00"),
            entry("carol@example.com", "primary", "09:00", "16:15"),
          ],
        }),
      );
      const text = await env.grants("12:00", "text");
      assert.equal(text.code, 0, text.stderr);
      assert.equal(
        text.stdout,
        [
          `shiftgrant grants: what ${env.state} holds at ${day("12:00")}`,
          "",
          "  TARGET  RESOURCE  IDENTITY           START                 END                   RULE     NOTE",
          `  cmd     ops       alice@example.com  ${day("09:00")}  ${day("17:15")}  primary`,
          `  cmd     ops       carol@example.com  ${day("09:00")}  ${day("16:15")}  primary`,
          `  cmd     ops       dave@example.com   ${day("09:00")}  ${day("17:15")}  primary  pre-existing: had it before; never removed`,
          `  cmd     ops       erin@example.com   ${day("06:00")}  ${day("08:00")}  primary  overdue: ended, not expired yet; the next sync expires it`,
          "",
          "4 grants, 1 pre-existing, 1 overdue",
          "",
        ].join("\n"),
      );
      const json = await env.grants("12:00", "json");
      assert.deepEqual(
        (JSON.parse(json.stdout) as { grants: Record<string, unknown>[] }).grants.map((g) => [
          g.identity,
          g.preexisting,
          g.overdue,
        ]),
        [
          ["alice@example.com", false, false],
          ["carol@example.com", false, false],
          ["dave@example.com", true, false],
          ["erin@example.com", false, true],
        ],
      );
    } finally {
      await env.cleanup();
    }
  });

  it("config: expires: false without a revoke command is refused; so is exclusive on a command target", async () => {
    const env = await setup();
    try {
      await writeYaml(
        env.config,
        `
version: 1
sources: { rota: { type: file, path: rota.yaml } }
targets:
  cmd:
    type: command
    expires: false
    exclusive: [ops]
    grant: ["grant-cmd", "{identity}"]
rules:
  - { name: primary, source: rota, schedules: [primary], target: cmd, resources: [ops] }
`,
      );
      const res = await runMain(["validate", "-c", env.config], { cwd: env.dir });
      assert.equal(res.code, 2);
      assert.match(
        res.stderr,
        /targets\.cmd\.exclusive: a command target cannot list a resource's members, so shiftgrant cannot own its membership; remove exclusive/,
      );
      assert.match(
        res.stderr,
        /targets\.cmd\.expires: false means shiftgrant ends each grant with the revoke command: add revoke: \[\.\.\.\]/,
      );
    } finally {
      await env.cleanup();
    }
  });
});
