import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DateTime } from "luxon";
import { fillTemplate } from "./template.js";

const call = {
  identity: "alice@example.com",
  resource: "prod-db",
  start: DateTime.fromISO("2026-11-22T10:00:00Z", { zone: "utc" }),
  end: DateTime.fromISO("2026-11-23T11:30:00Z", { zone: "utc" }),
  rule: "dba",
  reason: "on call: DBA Primary",
};

describe("fillTemplate", () => {
  it("fills every placeholder, inside an element too, in UTC; the duration without spaces", () => {
    assert.deepEqual(
      fillTemplate(
        ["grant", "{identity}", "--db={resource}", "{start}", "{end}", "{duration}", "{rule}", "{reason}"],
        call,
      ),
      [
        "grant",
        "alice@example.com",
        "--db=prod-db",
        "2026-11-22T10:00:00Z",
        "2026-11-23T11:30:00Z",
        "1d1h30m",
        "dba",
        "on call: DBA Primary",
      ],
    );
  });

  it("a value stays one argument whatever it holds; an unknown placeholder is left as written", () => {
    const odd = { ...call, identity: "a b; rm -rf / $(x) {reason}" };
    assert.deepEqual(fillTemplate(["{identity}", "{nope}", "{Identity}"], odd), [
      "a b; rm -rf / $(x) {reason}",
      "{nope}",
      "{Identity}",
    ]);
  });

  it("the reason is cleaned of control characters: a line break is a space, a bell is dropped", () => {
    assert.deepEqual(fillTemplate(["{reason}"], { ...call, reason: "on call\nsummary: forged\u0007" }), [
      "on call summary: forged",
    ]);
  });
});
