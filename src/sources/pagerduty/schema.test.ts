import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseOncallsPage } from "./schema.js";

const entry = (over: Record<string, unknown> = {}) => ({
  user: { id: "PU1", email: "alice@example.com" },
  schedule: { id: "PS1", summary: "DBA Primary" },
  escalation_level: 1,
  start: "2026-11-22T09:00:00+01:00",
  end: "2026-11-23T09:00:00Z",
  ...over,
});
const page = (oncalls: unknown[], over: Record<string, unknown> = {}) => ({
  oncalls,
  more: false,
  offset: 0,
  limit: 100,
  total: null,
  ...over,
});
const fails = (body: unknown, problem: string) =>
  assert.throws(() => parseOncallsPage(body, "/oncalls"), {
    name: "MalformedResponse",
    message: `GET /oncalls: malformed response: ${problem}`,
  });

describe("parseOncallsPage", () => {
  it("reads each entry: user, schedule (its summary as name), level, start and end in UTC; and the paging", () => {
    const p = parseOncallsPage(page([entry()], { more: true, total: 7, offset: 100 }), "/oncalls");
    assert.deepEqual({ ...p, items: [] }, { items: [], more: true, total: 7, offset: 100, limit: 100 });
    const [e] = p.items;
    assert.deepEqual(
      [e?.user, e?.schedule, e?.level, e?.start?.toISO(), e?.end?.toISO()],
      [
        { id: "PU1", email: "alice@example.com" },
        { id: "PS1", name: "DBA Primary" },
        1,
        "2026-11-22T08:00:00.000Z",
        "2026-11-23T09:00:00.000Z",
      ],
    );
  });

  it("a missing or empty email is null; a schedule without a summary is named by its id; no schedule is null", () => {
    const p = parseOncallsPage(
      page([
        entry({ user: { id: "PU1", email: "" }, schedule: { id: "PS1" } }),
        entry({ user: { id: "PU2" }, schedule: null }),
      ]),
      "/oncalls",
    );
    assert.deepEqual(
      p.items.map((e) => [e.user.email, e.schedule]),
      [
        [null, { id: "PS1", name: "PS1" }],
        [null, null],
      ],
    );
  });

  it("a permanent on-call (start and end null) has no start or end", () => {
    const [e] = parseOncallsPage(page([entry({ start: null, end: null })]), "/oncalls").items;
    assert.deepEqual([e?.start, e?.end], [null, null]);
  });

  it("a body that is not a page fails, naming what is wrong", () => {
    fails([], "the body is not a JSON object");
    fails({ more: false }, 'no "oncalls" list');
    fails(page([], { more: "no" }), '"more" is not true or false');
    fails(page([], { offset: -1 }), '"offset" is not a whole number');
    fails(page([], { limit: 1.5 }), '"limit" is not a whole number');
    fails(page([], { total: "7" }), '"total" is not a whole number or null');
  });

  it("an entry that cannot be read fails, naming the entry and the field", () => {
    fails(page([entry(), 3]), "oncalls[1] is not an object");
    fails(page([entry({ user: {} })]), "oncalls[0].user has no id");
    fails(page([entry({ schedule: { summary: "x" } })]), "oncalls[0].schedule has no id");
    fails(page([entry({ escalation_level: "1" })]), "oncalls[0].escalation_level is not a number");
    fails(
      page([entry({ start: "2026-11-22T09:00:00" })]),
      'oncalls[0].start "2026-11-22T09:00:00" has no UTC offset (Z or +hh:mm); a time without one is not guessed in any time zone',
    );
    fails(
      page([entry({ start: "2026-11-24T00:00:00Z" })]),
      "oncalls[0] starts (2026-11-24T00:00:00Z) after it ends (2026-11-23T09:00:00Z)",
    );
  });
});
