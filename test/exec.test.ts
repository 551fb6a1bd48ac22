import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { it } from "node:test";
import { makeFakeCli, makeTempDir, parseJsonOutput, writeYaml } from "./helpers.js";
import { runMain } from "./harness.js";

// Exec hygiene through the command target: argv only, a timeout per call, output kept short in the
// logs, and a child environment limited to PATH, HOME, the token variable and the listed variables.
async function setup(target: string) {
  const { dir, cleanup } = await makeTempDir();
  const binDir = path.join(dir, "bin");
  await mkdir(binDir);
  await writeFile(
    path.join(dir, "rota.yaml"),
    "shifts:\n  - { schedule: primary, email: alice@example.com, start: 2026-11-22T08:00:00Z, end: 2026-11-22T20:00:00Z }\n",
  );
  const config = await writeYaml(
    path.join(dir, "shiftgrant.yaml"),
    `
version: 1
state: state.json
sources: { rota: { type: file, path: rota.yaml } }
targets:
${target}
rules:
  - { name: r, source: rota, schedules: [primary], target: t, resources: [db] }
`,
  );
  const run = (env: Record<string, string> = {}) =>
    runMain(["sync", "-c", config, "--output", "json", "--log-format", "json"], {
      binDir,
      cwd: dir,
      env,
      now: "2026-11-22T10:00:00Z",
    });
  return { dir, binDir, run, cleanup };
}

it("a call that outlives its timeout is stopped and fails the action (exit 4); the run goes on", async () => {
  const env = await setup(`  t: { type: command, grant: [slow-grant, "{identity}"], timeout: 300ms }`);
  try {
    // A minute, unless stopped: far beyond what a loaded machine adds to the run itself.
    await makeFakeCli(env.binDir, "slow-grant", { delayMs: 60_000 });
    const started = Date.now();
    const res = await env.run();
    assert.equal(res.code, 4, res.stderr);
    assert.ok(Date.now() - started < 50_000, "the slow call was not stopped");
    assert.equal(
      parseJsonOutput(res.stdout).actions[0]?.error,
      "slow-grant did not finish within 300ms (stopped)",
    );
  } finally {
    await env.cleanup();
  }
});

it("the child sees only PATH, HOME, its token variable and the variables its target lists", async () => {
  const env = await setup(
    `  t: { type: command, grant: [grant-cmd, "{identity}", "--reason={reason}"], tokenEnv: ACCESS_TOKEN, env: [HTTPS_PROXY] }`,
  );
  try {
    const cli = await makeFakeCli(env.binDir, "grant-cmd");
    const res = await env.run({
      ACCESS_TOKEN: "tok-123456",
      HTTPS_PROXY: "http://proxy:3128",
      UNRELATED_SECRET: "nope-9876",
    });
    assert.equal(res.code, 0, res.stderr);
    const [call] = await cli.calls();
    assert.deepEqual(call?.argv, ["alice@example.com", "--reason=on call: primary (rota)"]);
    assert.deepEqual(Object.keys(call?.env ?? {}).sort(), ["ACCESS_TOKEN", "HOME", "HTTPS_PROXY", "PATH"]);
    assert.equal(call?.env.ACCESS_TOKEN, "tok-123456");
    assert.ok(!res.stdout.includes("tok-123456") && !res.stderr.includes("tok-123456"));
  } finally {
    await env.cleanup();
  }
});

it("a tool's long output is cut in the logs", async () => {
  const env = await setup(`  t: { type: command, grant: [chatty-grant, "{identity}"] }`);
  try {
    await makeFakeCli(env.binDir, "chatty-grant", { stdout: "x".repeat(10_000) });
    const res = await env.run({});
    assert.equal(res.code, 0, res.stderr);
    const applied = res.stderr
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { message: string; output?: string })
      .find((l) => l.message === "action applied");
    assert.equal(applied?.output, `${"x".repeat(2_000)}… (8000 more bytes)`);
  } finally {
    await env.cleanup();
  }
});

it("validate warns about a sh -c template that embeds {reason}, and stays exit 0", async () => {
  const env = await setup(
    `  t: { type: command, grant: ["sh", "-c", "grant {identity} '{reason}'"], revoke: ["sh", "-c", 'revoke "$1"', "sh", "{identity}"] }`,
  );
  try {
    const res = await runMain(["validate", "-c", path.join(env.dir, "shiftgrant.yaml")], { cwd: env.dir });
    assert.equal(res.code, 0, res.stderr);
    assert.equal(
      res.stdout.slice(res.stdout.indexOf("\nwarnings:")),
      [
        "",
        "warnings:",
        "  - targets.t.grant: {reason} and {identity} inside the code that sh runs: a schedule name or incident title holding $(…) or ; would run as a command. " +
          'Pass it as an argument of its own instead, e.g. ["sh", "-c", "grant \\"$1\\"", "sh", "{reason}"]',
        "",
      ].join("\n"),
    );
  } finally {
    await env.cleanup();
  }
});

it("main() runs the target commands through the exec it is given: the argv and environment, no child", async () => {
  const env = await setup(`  t: { type: command, grant: [not-on-path, "{identity}", "{start}"] }`);
  try {
    const calls: { argv: readonly string[]; env: Record<string, string>; timeoutMs: number }[] = [];
    const res = await runMain(["sync", "-c", path.join(env.dir, "shiftgrant.yaml"), "--output", "json"], {
      binDir: env.binDir,
      cwd: env.dir,
      now: "2026-11-22T10:00:00Z",
      exec: (argv, opts) => {
        calls.push({ argv, env: opts.env, timeoutMs: opts.timeoutMs });
        return Promise.resolve({ ok: true, stdout: "", stderr: "" });
      },
    });
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(
      calls.map((c) => [c.argv, Object.keys(c.env).sort()]),
      [
        [
          ["not-on-path", "alice@example.com", "2026-11-22T10:00:00Z"],
          ["HOME", "PATH"],
        ],
      ],
    );
  } finally {
    await env.cleanup();
  }
});
