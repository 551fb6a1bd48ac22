#!/usr/bin/env node
// Tiny launcher: everything lives in dist/ (built by `npm ci` through `prepare`).
import("../dist/cli.js").catch((err) => {
  if (err && err.code === "ERR_MODULE_NOT_FOUND" && String(err.message).includes("dist/cli.js")) {
    process.stderr.write("shiftgrant: not built yet; run `npm ci` (or `npm run build`) first\n");
    process.exitCode = 1;
    return;
  }
  throw err;
});
