import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { selectShifts } from "./fetch.js";
import type { Shift } from "../sources/types.js";

const H = 3_600_000;
const shift = (over: Partial<Shift>): Shift => ({
  schedule: { id: "S1", name: "Primary" },
  level: 1,
  email: "alice@example.com",
  start: 0,
  end: 8 * H,
  reason: "on call",
  ...over,
});

describe("selectShifts", () => {
  it("keeps only the rule's schedules", () => {
    const other = shift({ schedule: { id: "S2", name: "Other" } });
    assert.deepEqual(selectShifts([shift({}), other], new Set(["S1"]), null), [shift({})]);
  });

  it("filters by escalation level first; a shift without a level never passes a level filter", () => {
    const all = [shift({ level: 2, email: "bob@example.com" }), shift({ level: null }), shift({ level: 1 })];
    assert.deepEqual(selectShifts(all, new Set(["S1"]), [1]), [shift({ level: 1 })]);
    assert.deepEqual(selectShifts(all, new Set(["S1"]), [2]), [
      shift({ level: 2, email: "bob@example.com" }),
    ]);
  });

  it("one shift per (person, schedule, interval), whatever the email's case or spaces: the lowest level", () => {
    const all = [
      shift({ level: 3, email: " Alice@Example.com", reason: "level 3" }),
      shift({ level: 1, reason: "level 1" }),
      shift({ level: 2, reason: "level 2" }),
      // Another interval of the same person: a shift of its own.
      shift({ start: 8 * H, end: 16 * H, level: 2 }),
    ];
    assert.deepEqual(
      selectShifts(all, new Set(["S1"]), null).map((s) => [s.reason, s.level, s.start]),
      [
        ["level 1", 1, 0],
        ["on call", 2, 8 * H],
      ],
    );
  });
});
