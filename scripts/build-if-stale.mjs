#!/usr/bin/env node
// `npm test`'s build step: runs `tsc -p tsconfig.build.json` unless dist/ is newer than every file
// the build reads. An incremental tsc that finds nothing to do still loads and hashes the whole
// program (5 s of CPU here), and right after `npm ci` (whose prepare script built dist/) there is
// nothing to do. Checking out other files makes them newer than dist/, so the build then runs.
import { spawnSync } from "node:child_process";
import { readdirSync, statSync, utimesSync } from "node:fs";
import path from "node:path";

const root = path.join(path.dirname(new URL(import.meta.url).pathname), "..");
const stamp = path.join(root, "dist", ".tsbuildinfo");

function newest(p) {
  const st = statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  let max = 0;
  for (const entry of readdirSync(p)) max = Math.max(max, newest(path.join(p, entry)));
  return max;
}

let built = 0;
try {
  built = statSync(stamp).mtimeMs;
} catch {
  // never built
}
const inputs = ["src", "tsconfig.json", "tsconfig.build.json", "package.json"].map((p) => path.join(root, p));
if (built > 0 && inputs.every((p) => newest(p) < built)) {
  console.log("build: dist/ is up to date");
} else {
  const tsc = path.join(root, "node_modules", ".bin", "tsc");
  const res = spawnSync(tsc, ["-p", "tsconfig.build.json"], { cwd: root, stdio: "inherit" });
  process.exitCode = res.status ?? 1;
  // tsc leaves its build info alone when nothing changed: mark this build as newer than its inputs.
  if (res.status === 0) {
    const now = new Date();
    utimesSync(stamp, now, now);
  }
}
