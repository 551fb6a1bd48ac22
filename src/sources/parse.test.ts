import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MalformedResponse, optionalTime } from "./parse.js";

describe("source times", () => {
  it("reads a time with Z or an offset, in any of ISO 8601's offset spellings", () => {
    for (const v of [
      "2026-11-22T09:00:00Z",
      "2026-11-22T10:00:00+01:00",
      "2026-11-22T14:30:00+0530",
      "2026-11-22T01:00:00-08",
      "2026-11-22T09:00:00.000z",
    ]) {
      assert.equal(
        optionalTime(v, "GET /oncalls", "oncalls[0].start")?.toISO(),
        "2026-11-22T09:00:00.000Z",
        v,
      );
    }
  });

  it("refuses a time without an offset, naming the request and the field, rather than guess a zone", () => {
    for (const v of ["2026-11-22T09:00:00", "2026-11-22T09:00", "2026-11-22", "2026-11-22T09:00:00.123"]) {
      assert.throws(
        () => optionalTime(v, "GET /oncalls", "oncalls[3].end"),
        (err: unknown) =>
          err instanceof MalformedResponse &&
          err.message ===
            `GET /oncalls: malformed response: oncalls[3].end "${v}" has no UTC offset (Z or +hh:mm); a time without one is not guessed in any time zone`,
        v,
      );
    }
  });

  it("says a value that is no ISO 8601 time at all is not one", () => {
    assert.throws(
      () => optionalTime("soon", "GET /oncalls", "oncalls[0].start"),
      (err: unknown) =>
        err instanceof MalformedResponse &&
        err.message === 'GET /oncalls: malformed response: oncalls[0].start "soon" is not an ISO 8601 time',
    );
  });
});
