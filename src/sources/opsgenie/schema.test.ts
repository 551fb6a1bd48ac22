import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseTimeline } from "./schema.js";

const WHAT = "GET /v2/schedules/s1/timeline";
const period = (over: Record<string, unknown> = {}) => ({
  startDate: "2026-11-22T09:00:00Z",
  endDate: "2026-11-22T17:00:00+00:00",
  type: "default",
  recipient: { type: "user", id: "u1", name: "alice@example.com" },
  ...over,
});
const timeline = (rotations: unknown[], over: Record<string, unknown> = {}) => ({
  data: {
    _parent: { id: "s1", name: "DBA Primary" },
    startDate: "2026-11-22T00:00:00Z",
    endDate: "2026-11-23T00:00:00Z",
    finalTimeline: { rotations },
    ...over,
  },
});
const fails = (body: unknown, problem: string) =>
  assert.throws(() => parseTimeline(body, WHAT), {
    name: "MalformedResponse",
    message: `${WHAT}: malformed response: ${problem}`,
  });

describe("parseTimeline", () => {
  it("reads the span, the schedule's name and every period of every rotation, in UTC", () => {
    const t = parseTimeline(
      timeline([
        { name: "day", periods: [period()] },
        {
          id: "r2",
          periods: [
            period({
              type: "historical",
              recipient: { type: "team", id: "t1", name: "sre" },
              flattenedRecipients: [{ type: "user", id: "u2", name: "bob@example.com" }],
            }),
          ],
        },
      ]),
      WHAT,
    );
    assert.deepEqual(
      [t.name, t.start.toISO(), t.end.toISO()],
      ["DBA Primary", "2026-11-22T00:00:00.000Z", "2026-11-23T00:00:00.000Z"],
    );
    assert.deepEqual(
      t.periods.map((p) => ({ ...p, start: p.start.toISO(), end: p.end.toISO() })),
      [
        {
          type: "default",
          start: "2026-11-22T09:00:00.000Z",
          end: "2026-11-22T17:00:00.000Z",
          recipient: { type: "user", id: "u1", name: "alice@example.com" },
          flattened: [],
          rotation: "day",
        },
        {
          type: "historical",
          start: "2026-11-22T09:00:00.000Z",
          end: "2026-11-22T17:00:00.000Z",
          recipient: { type: "team", id: "t1", name: "sre" },
          flattened: [{ type: "user", id: "u2", name: "bob@example.com" }],
          rotation: "r2",
        },
      ],
    );
  });

  it("a rotation without periods has none; a period without a recipient names nobody; no type is default", () => {
    const t = parseTimeline(
      timeline([{ name: "empty" }, { periods: [period({ type: undefined, recipient: null })] }], {
        _parent: undefined,
      }),
      WHAT,
    );
    assert.equal(t.name, null);
    assert.deepEqual(
      t.periods.map((p) => [p.type, p.recipient, p.rotation]),
      [["default", null, "#1"]],
    );
  });

  it("an answer that cannot be read fails, naming the field", () => {
    fails("x", "the body is not a JSON object");
    fails({}, 'no "data" object');
    fails(
      timeline([], { startDate: "2026-11-24T00:00:00Z" }),
      "data.startDate (2026-11-24T00:00:00Z) is after data.endDate (2026-11-23T00:00:00Z)",
    );
    fails(timeline([], { finalTimeline: undefined }), "no data.finalTimeline");
    fails(timeline([], { finalTimeline: { rotations: {} } }), "data.finalTimeline.rotations is not a list");
    fails(timeline([1]), "data.finalTimeline.rotations[0] is not an object");
    fails(timeline([{ periods: {} }]), "data.finalTimeline.rotations[0].periods is not a list");
    fails(timeline([{ periods: [7] }]), "data.finalTimeline.rotations[0].periods[0] is not an object");
    fails(
      timeline([{ periods: [period({ startDate: "2026-11-22T18:00:00Z" })] }]),
      "data.finalTimeline.rotations[0].periods[0] starts (2026-11-22T18:00:00Z) after it ends (2026-11-22T17:00:00+00:00)",
    );
    fails(
      timeline([{ periods: [period({ recipient: { type: "user", id: "u1", name: " " } })] }]),
      "data.finalTimeline.rotations[0].periods[0].recipient.name is not a username",
    );
    fails(
      timeline([{ periods: [period({ flattenedRecipients: "u1" })] }]),
      "data.finalTimeline.rotations[0].periods[0].flattenedRecipients is not a list",
    );
  });
});
