// Times the report and the config loader at sizes that once took tens of seconds, and prints one
// JSON line per measurement. It imports the built code (dist/), as the CLI runs it: `npm run build`
// first, then `node bench/report.mjs`.
//   render: the text and the JSON report of 50,000 actions in one rule, and the text of 150,000
//   config: a config whose `identities` map has 20,000 entries
//   cli: `sync --dry-run` end to end (a rota of 5,000 people × 10 resources = 50,000 grants),
//        text against JSON
import { spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { DateTime } from "luxon";
import { parseConfig } from "../dist/config/load.js";
import { renderJson, renderText } from "../dist/report/render.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const now = DateTime.fromISO("2026-11-22T10:00:00Z", { zone: "utc" });
const window = { since: now, until: now.plus({ hours: 24 }) };
const KINDS = ["grant", "extend", "unchanged", "revoke", "wait", "skip"];

function report(n) {
  const actions = [];
  for (let i = 0; i < n; i++) {
    const kind = KINDS[i % KINDS.length];
    const start = now.plus({ minutes: (i * 7) % 1200 });
    actions.push({
      kind,
      rule: "big",
      target: "sdm",
      resource: `db-${i % 10}`,
      identity: `user${Math.floor(i / 10)}@example.com`,
      start,
      end: start.plus({ hours: 4 }),
      reason: "on call: Primary (PS1) level 1",
      shifts: [],
      status: kind === "unchanged" || kind === "wait" || kind === "skip" ? "skipped" : "planned",
    });
  }
  return { dryRun: true, exitCode: 0, window, rules: [{ name: "big", target: "sdm" }], actions, errors: [] };
}

function time(what, fn) {
  const started = process.hrtime.bigint();
  let result;
  try {
    result = { bytes: fn().length };
  } catch (err) {
    result = { error: err instanceof Error ? err.message : String(err) };
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  console.log(JSON.stringify({ what, ms: Math.round(ms), ...result }));
}

const textOptions = { width: 120, color: false, zone: "Europe/Berlin", now };
const r50 = report(50_000);
time("render text, 50,000 actions", () => renderText(r50, textOptions));
time("render json, 50,000 actions", () => renderJson(r50));
const r150 = process.argv.includes("--skip-150k") ? null : report(150_000);
if (r150) time("render text, 150,000 actions in one rule", () => renderText(r150, textOptions));

const BASE = `version: 1
sources:
  pd:
    type: pagerduty
targets:
  sdm:
    type: strongdm
rules:
  - name: dba
    source: pd
    schedules: [PABC123]
    target: sdm
    resources: [prod-db]
`;
const identities = Array.from({ length: 20_000 }, (_, i) => `  user${i}@corp.example: user${i}@ops.example`);
const big = `${BASE}identities:\n${identities.join("\n")}\n`;
time("parse config, 20,000 identities", () => {
  parseConfig(big, "/tmp/bench/shiftgrant.yaml");
  return big;
});

const dir = await mkdtemp(path.join(tmpdir(), "shiftgrant-bench-report-"));
try {
  // One schedule holds one person at a time: a minute each, one after another, over four days.
  const first = Date.parse("2026-11-22T10:00:00Z");
  const minute = (m) => new Date(first + m * 60_000).toISOString().replace(".000", "");
  const shifts = Array.from({ length: 5_000 }, (_, i) => ({
    schedule: "primary",
    email: `user${i}@example.com`,
    start: minute(i),
    end: minute(i + 1),
  }));
  await writeFile(path.join(dir, "rota.json"), JSON.stringify({ shifts }));
  await writeFile(
    path.join(dir, "shiftgrant.yaml"),
    `version: 1
sources:
  rota: { type: file, path: rota.json }
targets:
  t: { type: command, grant: ["/bin/true"] }
rules:
  - name: everyone
    source: rota
    schedules: [primary]
    target: t
    resources: [${Array.from({ length: 10 }, (_, i) => `res-${i}`).join(", ")}]
`,
  );
  for (const output of ["text", "json"]) {
    const started = process.hrtime.bigint();
    const res = spawnSync(
      process.execPath,
      [
        path.join(ROOT, "bin", "shiftgrant.js"),
        "sync",
        "-c",
        path.join(dir, "shiftgrant.yaml"),
        "--dry-run",
        "--since",
        "2026-11-22T10:00:00Z",
        "--window",
        "4d",
        "--output",
        output,
        "--log-level",
        "error",
      ],
      {
        encoding: "utf8",
        maxBuffer: 1 << 30,
        env: { PATH: process.env.PATH ?? "", TZ: "UTC", SHIFTGRANT_NOW: "2026-11-22T10:00:00Z" },
      },
    );
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    console.log(
      JSON.stringify({
        what: `cli sync --dry-run --output ${output}, 50,000 grants`,
        ms: Math.round(ms),
        exitCode: res.status,
        bytes: res.stdout.length,
        ...(res.status !== 0 ? { stderr: res.stderr.slice(-300) } : {}),
      }),
    );
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
