import assert from "node:assert/strict";
import { it } from "node:test";
import { EXIT } from "./errors.js";
import { EXIT_CODE_MEANINGS } from "./help.js";

it("--help gives every exit code a meaning, once, in increasing order", () => {
  assert.deepEqual(
    EXIT_CODE_MEANINGS.map(([code]) => code),
    Object.values(EXIT).sort((a, b) => a - b),
  );
});
