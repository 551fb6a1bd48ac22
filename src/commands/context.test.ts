import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { describe, it } from "node:test";
import { DateTime } from "luxon";
import { textOptions } from "./context.js";

const NOW = DateTime.fromISO("2026-11-22T10:00:00Z", { zone: "utc" });

function stdout(tty: { columns?: number } | null) {
  return Object.assign<PassThrough, { isTTY?: boolean; columns?: number }>(
    new PassThrough(),
    tty ? { isTTY: true, ...tty } : {},
  );
}

describe("textOptions", () => {
  it("uses COLUMNS for the width of piped output, and 100 columns without it", () => {
    assert.equal(textOptions({ stdout: stdout(null), env: { COLUMNS: "60" } }, NOW).width, 60);
    assert.equal(textOptions({ stdout: stdout(null), env: {} }, NOW).width, 100);
    for (const bad of ["", "0", "-5", "abc", "80x"]) {
      assert.equal(textOptions({ stdout: stdout(null), env: { COLUMNS: bad } }, NOW).width, 100, bad);
    }
  });

  it("uses the terminal's own width on a terminal, whatever COLUMNS says", () => {
    const o = textOptions({ stdout: stdout({ columns: 132 }), env: { COLUMNS: "60" } }, NOW);
    assert.equal(o.width, 132);
    assert.equal(o.color, true);
  });

  it("colours only on a terminal, and not with NO_COLOR or TERM=dumb", () => {
    assert.equal(textOptions({ stdout: stdout(null), env: {} }, NOW).color, false);
    assert.equal(textOptions({ stdout: stdout({ columns: 80 }), env: { NO_COLOR: "1" } }, NOW).color, false);
    assert.equal(textOptions({ stdout: stdout({ columns: 80 }), env: { TERM: "dumb" } }, NOW).color, false);
  });
});
