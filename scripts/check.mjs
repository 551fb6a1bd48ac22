#!/usr/bin/env node
// The static checks of `npm test`: the type check, ESLint and Prettier. They are independent and
// mostly single-threaded, so they run side by side, and with `--with-tests` beside the test run
// too (scripts/run-tests.mjs): on 2 cores that keeps both cores busy instead of one. Each check's
// output is printed whole once it ends, then the test run's, whose summary stays the last lines;
// the exit code is non-zero if anything failed.
import { spawn } from "node:child_process";

const bin = (name) => new URL(`../node_modules/.bin/${name}`, import.meta.url).pathname;
const checks = [
  [
    "typecheck",
    bin("tsc"),
    ["-p", "tsconfig.json", "--noEmit", "--incremental", "--tsBuildInfoFile", "dist/.typecheck.tsbuildinfo"],
  ],
  // ESLint and Prettier keep a cache (by content) in node_modules/.cache: a re-run checks only the
  // files that changed. A fresh clone (CI) has none and checks everything. A type-aware lint rule
  // could in theory miss a finding in an unchanged file whose imports changed; the type check above
  // always runs whole, and CI lints everything.
  [
    "eslint",
    bin("eslint"),
    [".", "--cache", "--cache-strategy", "content", "--cache-location", "node_modules/.cache/eslint/"],
  ],
  [
    "prettier",
    bin("prettier"),
    [
      "--check",
      "--log-level",
      "warn",
      "--cache",
      "--cache-location",
      "node_modules/.cache/prettier/.cache",
      ".",
    ],
  ],
];

const withTests = process.argv.includes("--with-tests");
const tests = withTests ? run("tests", process.execPath, ["scripts/run-tests.mjs"]) : null;
const results = await Promise.all(checks.map(([name, cmd, args]) => run(name, cmd, args)));

for (const r of results) {
  const status = r.code === 0 ? "ok" : `FAILED (exit ${r.code})`;
  console.log(`check ${r.name}: ${status} in ${(r.ms / 1000).toFixed(1)}s`);
  if (r.code !== 0 && r.out.trim()) console.log(r.out.trimEnd());
}
const testRun = tests ? await tests : null;
if (testRun) process.stdout.write(testRun.out);
process.exitCode = [...results, ...(testRun ? [testRun] : [])].some((r) => r.code !== 0) ? 1 : 0;

function run(name, cmd, args) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("error", (err) => resolve({ name, code: 1, out: `${out}${err.message}\n`, ms: 0 }));
    child.on("close", (code) => resolve({ name, code: code ?? 1, out, ms: Date.now() - started }));
  });
}
