import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { it } from "node:test";
import { DateTime } from "luxon";
import { renderMetrics } from "../src/state/metrics.js";
import type { Fault } from "./fakes/pagerduty.js";
import { PD_TOKEN, setup } from "./pd-setup.js";

/** Parses Prometheus text exposition back into `name{labels}` → value, checking every line's form. */
function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("# HELP ") || line.startsWith("# TYPE ")) continue;
    // Label values are quoted and may hold any character but an unescaped quote.
    const m = /^([a-z_]+)(\{(?:[a-z_]+="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.e+]+)$/.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    out.set(`${m[1]}${m[2] ?? ""}`, Number(m[3]));
  }
  return out;
}

it("--metrics-file writes Prometheus text after a run: exit code, actions, requests, grants in force", async () => {
  const env = await setup();
  const file = path.join(env.dir, "metrics", "shiftgrant.prom");
  await mkdir(path.dirname(file));
  try {
    const res = await env.run(["--metrics-file", file]);
    assert.equal(res.code, 0, res.stderr);
    const m = parseMetrics(await readFile(file, "utf8"));
    assert.equal(m.get("shiftgrant_last_run_exit_code"), 0);
    assert.equal(m.get("shiftgrant_last_run_timestamp_seconds"), Date.parse("2026-11-22T10:00:00Z") / 1000);
    assert.equal(m.get('shiftgrant_last_run_actions{kind="grant",status="applied"}'), 3);
    assert.equal(m.get('shiftgrant_last_run_actions{kind="grant",status="failed"}'), 0);
    assert.equal(m.get('shiftgrant_last_run_source_requests{method="GET",path="/oncalls"}'), 1);
    assert.equal(m.get('shiftgrant_last_run_source_requests{method="GET",path="/schedules"}'), 1);
    assert.equal(m.get('shiftgrant_last_run_source_requests{method="GET",path="/users/{id}"}'), 1);
    assert.equal(m.get("shiftgrant_last_run_source_retries"), 0);
    assert.equal(m.get("shiftgrant_last_run_source_errors"), 0);
    // alice (10:00 → next day) is in force at 10:00; bob and carol start later.
    assert.equal(m.get("shiftgrant_grants_active"), 1);
    assert.ok((m.get("shiftgrant_last_run_duration_seconds") ?? -1) >= 0);
  } finally {
    await env.cleanup();
  }
});

it("a failed run writes its exit code and retries; a dry run writes no metrics", async () => {
  const env = await setup();
  const file = path.join(env.dir, "shiftgrant.prom");
  env.pd.fault("/oncalls", ...Array<Fault>(3).fill({ kind: "status", status: 503 }));
  try {
    const res = await env.run(["--metrics-file", file]);
    assert.equal(res.code, 3);
    const m = parseMetrics(await readFile(file, "utf8"));
    assert.equal(m.get("shiftgrant_last_run_exit_code"), 3);
    assert.equal(m.get("shiftgrant_last_run_source_retries"), 2);
    assert.equal(m.get("shiftgrant_last_run_source_errors"), 2);
    assert.ok(!(await readFile(file, "utf8")).includes(PD_TOKEN));

    const other = path.join(env.dir, "dry.prom");
    assert.equal((await env.run(["--dry-run", "--metrics-file", other])).code, 0);
    assert.equal(existsSync(other), false);
  } finally {
    await env.cleanup();
  }
});

it("a run that fails before it starts (a missing secret) still records exit code 2", async () => {
  const env = await setup();
  const file = path.join(env.dir, "shiftgrant.prom");
  try {
    const res = await env.run(["--metrics-file", file], { PAGERDUTY_TOKEN: "" });
    assert.equal(res.code, 2);
    assert.equal(parseMetrics(await readFile(file, "utf8")).get("shiftgrant_last_run_exit_code"), 2);
  } finally {
    await env.cleanup();
  }
});

it("counts shortens by status like the other kinds", () => {
  const m = parseMetrics(
    renderMetrics({
      finishedAt: DateTime.fromISO("2026-11-22T10:00:00Z", { zone: "utc" }),
      durationMs: 1000,
      exitCode: 0,
      actions: [
        { kind: "shorten", status: "applied" },
        { kind: "shorten", status: "planned" },
        { kind: "grant", status: "applied" },
      ],
      requests: new Map(),
      retries: 0,
      sourceErrors: 0,
      grantsActive: 2,
    }),
  );
  assert.equal(m.get('shiftgrant_last_run_actions{kind="shorten",status="applied"}'), 1);
  assert.equal(m.get('shiftgrant_last_run_actions{kind="shorten",status="planned"}'), 1);
  assert.equal(m.get('shiftgrant_last_run_actions{kind="shorten",status="failed"}'), 0);
});
