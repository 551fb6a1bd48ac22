import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { combineExitCodes, EXIT, LockedError, SecretError, StateError, UsageError } from "./errors.js";

describe("exit codes", () => {
  it("keep the numbers that cron jobs and supervisors already test for", () => {
    assert.deepEqual(
      { ...EXIT },
      {
        ok: 0,
        bug: 1,
        usage: 2,
        source: 3,
        partial: 4,
        locked: 5,
        tooManyChanges: 6,
        sigint: 130,
        sigterm: 143,
      },
    );
  });

  it("each error that ends a run carries its code", () => {
    assert.equal(new UsageError("x").exitCode, EXIT.usage);
    assert.equal(new SecretError(["x"]).exitCode, EXIT.usage);
    assert.equal(new StateError("x").exitCode, EXIT.usage);
    assert.equal(new LockedError("x").exitCode, EXIT.locked);
  });
});

describe("combineExitCodes", () => {
  it("picks the smallest code above 1", () => {
    assert.equal(combineExitCodes([EXIT.ok, EXIT.partial, EXIT.source]), EXIT.source);
    assert.equal(combineExitCodes([EXIT.sigterm, EXIT.partial]), EXIT.partial);
    assert.equal(combineExitCodes([EXIT.sigterm, EXIT.sigint]), EXIT.sigint);
    assert.equal(combineExitCodes([EXIT.bug, EXIT.tooManyChanges]), EXIT.tooManyChanges);
  });

  it("reports a bug only when nothing else applies, and success when nothing does", () => {
    assert.equal(combineExitCodes([EXIT.ok, EXIT.bug]), EXIT.bug);
    assert.equal(combineExitCodes([EXIT.ok]), EXIT.ok);
    assert.equal(combineExitCodes([]), EXIT.ok);
  });
});
