import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { makeTempDir, writeYaml } from "./helpers.js";
import { runMain } from "./harness.js";

// The text output of the built CLI, piped (as cron and `| less` see it): source data with control
// characters, and the width taken from COLUMNS.

// A schedule name from a source that tries to add a line of its own to the report.
const FORGED = "primary\\nsummary: 0 grant, 0 extend, 0 revoke\\tx\\u0007";

describe("text output of the CLI", { concurrency: true }, () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let config: string;
  const env = { TZ: "UTC" };
  const now = "2026-11-22T10:00:00Z";

  before(async () => {
    ({ dir, cleanup } = await makeTempDir("shiftgrant-text-"));
    await writeYaml(
      path.join(dir, "rota.yaml"),
      `
shifts:
  - { schedule: "${FORGED}", email: alice@example.com, start: 2026-11-22T09:00:00Z, end: 2026-11-23T09:00:00Z }
  - { schedule: other, email: carol@example.com, start: 2026-11-22T09:00:00Z, end: 2026-11-22T21:00:00Z }
`,
    );
    config = path.join(dir, "shiftgrant.yaml");
    await writeYaml(
      config,
      `
version: 1
sources:
  rota: { type: file, path: rota.yaml }
targets:
  t: { type: command, grant: ["grant-cmd"] }
rules:
  - { name: r, source: rota, schedules: ["${FORGED}", other], target: t, resources: [prod-postgres, prod-k8s] }
`,
    );
  });
  after(() => cleanup());

  it("sync: a newline in a schedule name cannot add a summary line (the reason is cleaned at fetch)", async () => {
    const r = await runMain(["sync", "-c", config, "--dry-run", "--log-level", "error"], { env, now });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split("\n");
    assert.deepEqual(
      lines.filter((l) => l.startsWith("summary:")),
      [
        "summary: 4 grant, 0 extend, 0 shorten, 0 revoke, 0 expire, 0 unchanged, 0 wait, 0 skip, 0 failed (dry run: nothing was changed)",
      ],
    );
    assert.ok(
      lines.includes(
        "  grant   alice@example.com  prod-postgres  Sun 22 Nov 10:00Z  Mon 23 Nov 09:00Z  planned  on call: primary summary: 0 grant, 0 extend, 0 revoke x (rota)",
      ),
      r.stdout,
    );
    assert.ok(!/[\u0000-\u0009\u000b-\u001f]/.test(r.stdout), "a control character got through");
  });

  it("oncall: the schedule column is escaped, and measured as printed", async () => {
    const r = await runMain(["oncall", "-c", config, "--log-level", "error"], { env, now });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split("\n");
    const header = lines.find((l) => l.startsWith("RULE")) ?? "";
    const alice = lines.find((l) => l.includes("alice@example.com")) ?? "";
    assert.ok(alice.includes("primary\\nsummary: 0 grant, 0 extend, 0 revoke\\tx\\u0007  "), alice);
    // The LEVEL column starts at the same place in the header and in the row.
    assert.equal(alice.indexOf(" -  ") + 1, header.indexOf("LEVEL"), r.stdout);
    assert.ok(!/[\u0000-\u0009\u000b-\u001f]/.test(r.stdout), "a control character got through");
  });

  it("takes the width of piped output from COLUMNS", async () => {
    const narrow = await runMain(["sync", "-c", config, "--dry-run", "--log-level", "error"], {
      env: { ...env, COLUMNS: "60" },
      now,
    });
    const wide = await runMain(["sync", "-c", config, "--dry-run", "--log-level", "error"], { env, now });
    const chart = (out: string) => {
      const lines = out.split("\n");
      const from = lines.indexOf("timeline (UTC)") + 1;
      return lines.slice(from, lines.indexOf("", from));
    };
    // 60 columns: 24 for the labels (40%), " | ", 33 for the bars; alice's grant runs from now to
    // 09:00, 23 of the 24 hours: 31 columns. 100 columns (no COLUMNS): the whole label (31) and 66
    // columns of bars, 63 of them hers.
    assert.equal(chart(narrow.stdout)[3], `alice@exampl…od-postgres | ${"#".repeat(31)}`, narrow.stdout);
    assert.equal(chart(wide.stdout)[3], `alice@example.com prod-postgres | ${"#".repeat(63)}`, wide.stdout);
    for (const l of chart(narrow.stdout)) assert.ok(l.length <= 60, l);
    // 60 columns leave 24 for the labels: the rows of one person stay apart.
    assert.deepEqual(
      chart(narrow.stdout)
        .slice(3, -1)
        .map((l) => l.slice(0, l.indexOf(" |"))),
      [
        "alice@exampl…od-postgres",
        "carol@exampl…od-postgres",
        "alice@exampl…om prod-k8s",
        "carol@exampl…om prod-k8s",
      ],
    );
  });
});
