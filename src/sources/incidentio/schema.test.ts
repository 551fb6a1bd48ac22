import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseScheduleEntriesPage } from "./schema.js";

const WHAT = "GET /v2/schedule_entries";
const entry = (over: Record<string, unknown> = {}) => ({
  start_at: "2026-11-22T09:00:00+01:00",
  end_at: "2026-11-22T20:00:00Z",
  user: { id: "01U1", name: "Alice", email: "alice@example.com" },
  ...over,
});
const body = (final: unknown[], over: Record<string, unknown> = {}) => ({
  schedule_entries: { final, scheduled: [{ ignored: true }], overrides: [] },
  ...over,
});
const fails = (b: unknown, problem: string) =>
  assert.throws(() => parseScheduleEntriesPage(b, WHAT), {
    name: "MalformedResponse",
    message: `${WHAT}: malformed response: ${problem}`,
  });

describe("parseScheduleEntriesPage", () => {
  it("reads the final entries (user, start and end in UTC) and the next page's cursor", () => {
    const p = parseScheduleEntriesPage(body([entry()], { pagination_meta: { after: "c2" } }), WHAT);
    assert.equal(p.after, "c2");
    assert.deepEqual(
      p.entries.map((e) => [e.user, e.start.toISO(), e.end.toISO()]),
      [
        [
          { id: "01U1", name: "Alice", email: "alice@example.com" },
          "2026-11-22T08:00:00.000Z",
          "2026-11-22T20:00:00.000Z",
        ],
      ],
    );
  });

  it("no one on call is a null user; no name is the id; a blank email is null; no cursor is the last page", () => {
    const p = parseScheduleEntriesPage(
      body([entry({ user: null }), entry({ user: { id: "01U2", email: " " } })], {
        pagination_meta: { after: null },
      }),
      WHAT,
    );
    assert.equal(p.after, null);
    assert.deepEqual(
      p.entries.map((e) => e.user),
      [null, { id: "01U2", name: "01U2", email: null }],
    );
    assert.equal(parseScheduleEntriesPage(body([]), WHAT).after, null);
  });

  it("an answer that cannot be read fails, naming the field", () => {
    fails(null, "the body is not a JSON object");
    fails({ schedule_entries: {} }, 'no "schedule_entries.final" list');
    fails(body(["x"]), "schedule_entries.final[0] is not an object");
    fails(body([entry({ end_at: undefined })]), "schedule_entries.final[0].end_at is not a time");
    fails(
      body([entry({ end_at: "2026-11-22T07:00:00Z" })]),
      "schedule_entries.final[0] ends (2026-11-22T07:00:00Z) before it starts (2026-11-22T09:00:00+01:00)",
    );
    fails(body([entry({ user: { name: "x" } })]), "schedule_entries.final[0].user.id is not a string");
    fails(body([], { pagination_meta: [] }), "pagination_meta is not an object");
    fails(body([], { pagination_meta: { after: "" } }), "pagination_meta.after is not a non-empty string");
  });
});
