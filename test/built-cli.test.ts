import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, it } from "node:test";
import { makeTempDir, ROOT, runCli } from "./helpers.js";

// The built launcher (bin/shiftgrant.js → dist/cli.js) as a process: what only a real process
// shows (its exit status, its output streams flushed before it ends). Everything else runs main()
// in-process (test/harness.ts).
describe("the built CLI", { concurrency: true }, () => {
  it("--version prints the package.json version and exits 0", async () => {
    const pkg = JSON.parse(await readFile(path.join(ROOT, "package.json"), "utf8")) as { version: string };
    const r = await runCli(["--version"]);
    assert.deepEqual([r.code, r.stdout, r.stderr], [0, `${pkg.version}\n`, ""]);
  });

  it("an unknown command: the process exits 2", async () => {
    const r = await runCli(["synk", "--log-format", "text"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^shiftgrant: error: unknown command 'synk'/);
  });

  it("the demo: a dry run of examples/demo prints the plan and exits 0", async () => {
    const home = await makeTempDir("shiftgrant-home-");
    try {
      const r = await runCli(["sync", "-c", "shiftgrant.yaml", "--dry-run", "--output", "json"], {
        cwd: path.join(ROOT, "examples", "demo"),
        env: { HOME: home.dir, SHIFTGRANT_NOW: "2026-11-22T10:00:00Z" },
      });
      assert.equal(r.code, 0, r.stderr);
      const doc = JSON.parse(r.stdout) as { dryRun: boolean; exitCode: number; actions: { kind: string }[] };
      assert.deepEqual([doc.dryRun, doc.exitCode], [true, 0]);
      assert.ok(
        doc.actions.some((a) => a.kind === "grant"),
        r.stdout,
      );
    } finally {
      await home.cleanup();
    }
  });
});
