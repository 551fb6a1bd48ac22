#!/usr/bin/env node
// Runs every *.test.ts under src/ and test/ with node's test runner (TypeScript through tsx).
//
// Node 20's `--test` starts one process per file, and each one loads tsx and the whole program
// again: on 2 cores that start-up cost more CPU time than the tests. So the files are dealt into a
// few batches (twice as many as the workers, so that a slow batch does not leave a core idle), and
// each batch runs in one process (scripts/test-batch.mjs), its files one after another; the
// workers take the next batch as they finish. Each batch prints node's TAP report; the totals of all
// of them close the output, in node's form and as one plain line.
//
// Extra arguments are node flags for every batch, e.g.
// `npm run test:only -- --test-name-pattern=lock`; `TEST_WORKERS=N` sets the number of workers.
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { availableParallelism } from "node:os";
import path from "node:path";

const roots = ["src", "test"];
const files = [];
const walk = (dir) => {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(p);
    else if (entry.name.endsWith(".test.ts")) files.push(p);
  }
};
roots.forEach(walk);
files.sort();

const workers = Math.max(1, Number(process.env.TEST_WORKERS) || Math.min(availableParallelism(), 4));
const batches = Array.from({ length: Math.min(files.length, workers * 2) }, () => []);
files.forEach((f, i) => batches[i % batches.length].push(f));

const batchEntry = new URL("./test-batch.mjs", import.meta.url).pathname;
const started = Date.now();
const results = [];
let next = 0;

async function worker() {
  while (next < batches.length) {
    const i = next++;
    const r = await runBatch(batches[i]);
    results[i] = r;
    process.stdout.write(
      `# batch ${i + 1}/${batches.length}: ${batches[i].length} files, ${(r.ms / 1000).toFixed(1)}s\n`,
    );
    process.stdout.write(r.out.endsWith("\n") ? r.out : `${r.out}\n`);
  }
}

function runBatch(batch) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "--test-reporter=tap", ...process.argv.slice(2), batchEntry, ...batch],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("error", (err) => resolve({ code: 1, out: `${out}${err.message}\n`, ms: Date.now() - t0 }));
    child.on("close", (code, signal) => resolve({ code: code ?? 1, signal, out, ms: Date.now() - t0 }));
  });
}

await Promise.all(Array.from({ length: Math.min(workers, batches.length) }, worker));

const COUNTS = ["tests", "suites", "pass", "fail", "cancelled", "skipped", "todo"];
const total = Object.fromEntries(COUNTS.map((k) => [k, 0]));
let broken = 0;
for (const [i, r] of results.entries()) {
  // A batch's own totals are its last lines; a batch that died before them is a failure.
  const found = COUNTS.map((k) => [k, [...r.out.matchAll(new RegExp(`^# ${k} (\\d+)$`, "gm"))].at(-1)?.[1]]);
  if (found.some(([, v]) => v === undefined) || r.code !== 0) {
    if (found.some(([, v]) => v === undefined)) {
      broken++;
      process.stdout.write(
        `# batch ${i + 1} ended (${r.signal ?? `exit ${r.code}`}) without its totals: ${batches[i].join(" ")}\n`,
      );
    }
  }
  for (const [k, v] of found) if (v !== undefined) total[k] += Number(v);
}
const failed = total.fail + total.cancelled + broken;
for (const k of COUNTS) process.stdout.write(`# ${k} ${total[k]}\n`);
process.stdout.write(`# duration_ms ${Date.now() - started}\n`);
process.stdout.write(`${total.pass} passed, ${failed} failed, ${total.skipped} skipped\n`);
process.exitCode = results.some((r) => r.code !== 0) || failed > 0 ? 1 : 0;
