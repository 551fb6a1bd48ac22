import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DateTime } from "luxon";
import { parse } from "yaml";
import { formatUtc } from "../../core/time.js";
import type { Shift } from "../types.js";
import { expandRota, parseRota, rotaSchedules, type Rota } from "./rota.js";
import { createFileSource } from "./index.js";

const utc = (iso: string): DateTime => DateTime.fromISO(iso, { zone: "utc" });

function rotaOf(doc: unknown): Rota {
  const parsed = parseRota(doc);
  if ("errors" in parsed) assert.fail(`unexpected errors: ${parsed.errors.join("; ")}`);
  return parsed.rota;
}

function rotaFromYaml(text: string): Rota {
  return rotaOf(parse(text));
}

function errorsOf(doc: unknown): string[] {
  const parsed = parseRota(doc);
  if ("rota" in parsed) assert.fail("expected errors, got a valid rota");
  return parsed.errors;
}

/** Shifts as `email start end` lines: easy to read in a failing assertion. */
function lines(shifts: Shift[]): string[] {
  return shifts.map((s) => `${s.email} ${formatUtc(s.start)} ${formatUtc(s.end)}`);
}

function expand(rota: Rota, schedules: string[], since: string, until: string): Shift[] {
  return expandRota(rota, schedules, utc(since), utc(until));
}

const BERLIN_WEEKLY = `
rotations:
  - schedule: primary
    members: [alice@example.com, bob@example.com, carol@example.com]
    start: 2026-01-05T09:00:00
    timezone: Europe/Berlin
    length: 7d
`;

describe("rotations", () => {
  it("keeps a weekly Berlin handoff at 09:00 local across the March change", () => {
    // Berlin is UTC+1 until 2026-03-29 02:00, then UTC+2. Handoffs are Mondays at 09:00 local.
    // 2026-01-05 -> 2026-03-23 is 77 days = 11 weeks: k=11, member 11 mod 3 = 2 (carol),
    //   at 09:00 CET = 08:00Z. k=12 (alice) on 2026-03-30 at 09:00 CEST = 07:00Z.
    // So carol's week is 167 h long in real time.
    const shifts = expand(
      rotaFromYaml(BERLIN_WEEKLY),
      ["primary"],
      "2026-03-24T00:00:00Z",
      "2026-04-01T00:00:00Z",
    );
    assert.deepEqual(lines(shifts), [
      "carol@example.com 2026-03-23T08:00:00Z 2026-03-30T07:00:00Z",
      "alice@example.com 2026-03-30T07:00:00Z 2026-04-06T07:00:00Z",
    ]);
    const first = shifts[0] as Shift;
    assert.equal((first.end - first.start) / 3_600_000, 167);
  });

  it("keeps a weekly Berlin handoff at 09:00 local across the October change", () => {
    // Berlin goes back to UTC+1 on 2026-10-25 03:00 CEST. 2026-10-19 is day 292 of the year,
    // 287 days = 41 weeks after 2026-01-05: k=41, 41 mod 3 = 2 (carol), 09:00 CEST = 07:00Z.
    // k=42 (alice) on 2026-10-26 at 09:00 CET = 08:00Z: carol's week is 169 h long.
    const shifts = expand(
      rotaFromYaml(BERLIN_WEEKLY),
      ["primary"],
      "2026-10-24T00:00:00Z",
      "2026-10-27T00:00:00Z",
    );
    assert.deepEqual(lines(shifts), [
      "carol@example.com 2026-10-19T07:00:00Z 2026-10-26T08:00:00Z",
      "alice@example.com 2026-10-26T08:00:00Z 2026-11-02T08:00:00Z",
    ]);
  });

  const NEW_YORK_12H = `
rotations:
  - schedule: ops
    members: [ann@example.com, ben@example.com]
    start: 2026-03-07T09:00:00
    timezone: America/New_York
    length: 12h
`;

  it("keeps a 12h New York rotation at 09:00/21:00 local across the March change", () => {
    // New York is UTC-5 until 2026-03-08 02:00 EST, then UTC-4.
    // k=0 ann 2026-03-07 09:00 EST = 14:00Z; k=1 ben 21:00 EST = 03-08 02:00Z;
    // k=2 ann 03-08 09:00 EDT = 13:00Z (ben's night is 11 h); k=3 ben 21:00 EDT = 03-09 01:00Z.
    const shifts = expand(
      rotaFromYaml(NEW_YORK_12H),
      ["ops"],
      "2026-03-08T00:00:00Z",
      "2026-03-08T20:00:00Z",
    );
    assert.deepEqual(lines(shifts), [
      "ann@example.com 2026-03-07T14:00:00Z 2026-03-08T02:00:00Z",
      "ben@example.com 2026-03-08T02:00:00Z 2026-03-08T13:00:00Z",
      "ann@example.com 2026-03-08T13:00:00Z 2026-03-09T01:00:00Z",
    ]);
  });

  it("keeps a 12h New York rotation at 09:00/21:00 local across the November change", () => {
    // New York goes back to UTC-5 on 2026-11-01 02:00 EDT. 2026-03-07 (day 66) -> 2026-10-31
    // (day 304) is 238 days, so 2026-10-31 21:00 is k = 2*238 + 1 = 477 (odd: ben), at
    // 21:00 EDT = 11-01 01:00Z; k=478 ann 11-01 09:00 EST = 14:00Z (ben's night is 13 h);
    // k=479 ben 11-01 21:00 EST = 11-02 02:00Z.
    const shifts = expand(
      rotaFromYaml(NEW_YORK_12H),
      ["ops"],
      "2026-11-01T03:00:00Z",
      "2026-11-01T15:00:00Z",
    );
    assert.deepEqual(lines(shifts), [
      "ben@example.com 2026-11-01T01:00:00Z 2026-11-01T14:00:00Z",
      "ann@example.com 2026-11-01T14:00:00Z 2026-11-02T02:00:00Z",
    ]);
  });

  it("moves a handoff in a spring-forward gap forward, and only that one", () => {
    // 02:30 does not exist in Berlin on 2026-03-29: that handoff is at 03:30 CEST = 01:30Z;
    // the days around it stay at 02:30 local (01:30Z in winter, 00:30Z in summer).
    const rota = rotaOf({
      rotations: [
        {
          schedule: "night",
          members: ["a@x", "b@x"],
          start: "2026-03-28T02:30:00",
          timezone: "Europe/Berlin",
          length: "1d",
        },
      ],
    });
    assert.deepEqual(lines(expand(rota, ["night"], "2026-03-28T02:00:00Z", "2026-03-30T02:00:00Z")), [
      "a@x 2026-03-28T01:30:00Z 2026-03-29T01:30:00Z",
      "b@x 2026-03-29T01:30:00Z 2026-03-30T00:30:00Z",
      "a@x 2026-03-30T00:30:00Z 2026-03-31T00:30:00Z",
    ]);
  });

  it("never overlaps itself when the length is shorter than a DST gap", () => {
    const rota = rotaOf({
      rotations: [
        {
          schedule: "s",
          members: ["a@x", "b@x"],
          start: "2026-03-29T00:00:00",
          timezone: "Europe/Berlin",
          length: "20m",
        },
      ],
    });
    const shifts = expand(rota, ["s"], "2026-03-28T23:00:00Z", "2026-03-29T03:00:00Z");
    for (const [i, s] of shifts.entries()) {
      assert.ok(s.start < s.end, `shift ${i} is not empty`);
      const next = shifts[i + 1];
      if (next)
        assert.equal(formatUtc(next.start), formatUtc(s.end), `shift ${i + 1} starts where ${i} ends`);
    }
    // 01:40 CET = 00:40Z is the last handoff before the gap; 03:00 CEST = 01:00Z is the next one.
    assert.ok(lines(shifts).some((l) => l.endsWith("2026-03-29T00:40:00Z 2026-03-29T01:00:00Z")));
  });

  it("expands a rotation started years ago only around the window", () => {
    // 2023-01-02 -> 2026-01-02 is 365 + 366 + 365 = 1096 days, so 2026-01-10 09:00Z is k=1104,
    // 1104 mod 3 = 0 (a), and 2026-01-11 09:00Z is k=1105 (b).
    const rota = rotaOf({
      rotations: [
        {
          schedule: "s",
          members: ["a@x", "b@x", "c@x"],
          start: "2023-01-02T09:00:00",
          timezone: "UTC",
          length: "1d",
        },
      ],
    });
    assert.deepEqual(lines(expand(rota, ["s"], "2026-01-10T12:00:00Z", "2026-01-11T12:00:00Z")), [
      "a@x 2026-01-10T09:00:00Z 2026-01-11T09:00:00Z",
      "b@x 2026-01-11T09:00:00Z 2026-01-12T09:00:00Z",
    ]);
  });

  // Fifty-six years of 1-minute handoffs are some 29 million: a loop from k=0 would run for minutes
  // and hit the timeout; computing the first handoff of the window directly takes milliseconds.
  // (No time is asserted: a loaded machine must not fail a correct implementation.)
  it(
    "does not walk from the first handoff (a 1-minute rotation from 1970 expands at once)",
    { timeout: 20_000 },
    () => {
      const rota = rotaOf({
        rotations: [
          {
            schedule: "s",
            members: ["a@x", "b@x"],
            start: "1970-01-01T00:00:00",
            timezone: "Europe/Berlin",
            length: "1m",
          },
        ],
      });
      const shifts = expand(rota, ["s"], "2026-06-01T12:00:30Z", "2026-06-01T12:03:00Z");
      assert.deepEqual(
        shifts.map((s) => formatUtc(s.start)),
        ["2026-06-01T12:00:00Z", "2026-06-01T12:01:00Z", "2026-06-01T12:02:00Z"],
      );
    },
  );

  it("hands over to the members in order and wraps around", () => {
    const rota = rotaOf({
      rotations: [
        {
          schedule: "s",
          members: ["m1@x", "m2@x", "m3@x"],
          start: "2026-01-01",
          timezone: "UTC",
          length: "P1D",
        },
      ],
    });
    const shifts = expand(rota, ["s"], "2026-01-01T00:00:00Z", "2026-01-05T00:00:00Z");
    assert.deepEqual(
      shifts.map((s) => s.email),
      ["m1@x", "m2@x", "m3@x", "m1@x"],
    );
    assert.deepEqual(shifts[0], {
      schedule: { id: "s", name: "s" },
      level: null,
      email: "m1@x",
      start: utc("2026-01-01T00:00:00Z").toMillis(),
      end: utc("2026-01-02T00:00:00Z").toMillis(),
      reason: "on call: s (rota)",
    });
  });

  it("has nobody on call before the first handoff", () => {
    const rota = rotaFromYaml(BERLIN_WEEKLY);
    assert.deepEqual(expand(rota, ["primary"], "2025-12-01T00:00:00Z", "2026-01-05T08:00:00Z"), []);
    // The first handoff is 2026-01-05 09:00 CET = 08:00Z.
    assert.deepEqual(lines(expand(rota, ["primary"], "2025-12-01T00:00:00Z", "2026-01-05T08:00:01Z")), [
      "alice@example.com 2026-01-05T08:00:00Z 2026-01-12T08:00:00Z",
    ]);
  });

  it("cuts the last shift at `end` and hands over no more", () => {
    // Handoffs at 00:00Z on Jan 1, 2, 3; none at or after Jan 3 12:00, where c's shift is cut.
    const rota = rotaOf({
      rotations: [
        {
          schedule: "s",
          members: ["a@x", "b@x", "c@x"],
          start: "2026-01-01T00:00:00",
          timezone: "UTC",
          length: "1d",
          end: "2026-01-03T12:00:00",
        },
      ],
    });
    assert.deepEqual(lines(expand(rota, ["s"], "2025-12-01T00:00:00Z", "2026-02-01T00:00:00Z")), [
      "a@x 2026-01-01T00:00:00Z 2026-01-02T00:00:00Z",
      "b@x 2026-01-02T00:00:00Z 2026-01-03T00:00:00Z",
      "c@x 2026-01-03T00:00:00Z 2026-01-03T12:00:00Z",
    ]);
    assert.deepEqual(expand(rota, ["s"], "2026-01-03T12:00:00Z", "2026-02-01T00:00:00Z"), []);
  });

  it("makes no handoff exactly at `end`", () => {
    const rota = rotaOf({
      rotations: [
        {
          schedule: "s",
          members: ["a@x", "b@x"],
          start: "2026-01-01",
          timezone: "UTC",
          length: "1d",
          end: "2026-01-03",
        },
      ],
    });
    assert.deepEqual(lines(expand(rota, ["s"], "2026-01-01T00:00:00Z", "2026-01-10T00:00:00Z")), [
      "a@x 2026-01-01T00:00:00Z 2026-01-02T00:00:00Z",
      "b@x 2026-01-02T00:00:00Z 2026-01-03T00:00:00Z",
    ]);
  });

  it("converts a start or end with an offset to wall time in the zone", () => {
    // 08:00Z is 09:00 in Berlin in January, so this is the same rotation as 2026-01-05T09:00:00;
    // the end, 2026-01-19T10:00+02:00 = 08:00Z = 09:00 CET, stops it after two weeks.
    const rota = rotaOf({
      rotations: [
        {
          schedule: "s",
          members: ["a@x", "b@x"],
          start: "2026-01-05T08:00:00Z",
          timezone: "Europe/Berlin",
          length: "7d",
          end: "2026-01-19T10:00:00+02:00",
        },
      ],
    });
    assert.deepEqual(lines(expand(rota, ["s"], "2026-01-01T00:00:00Z", "2026-07-01T00:00:00Z")), [
      "a@x 2026-01-05T08:00:00Z 2026-01-12T08:00:00Z",
      "b@x 2026-01-12T08:00:00Z 2026-01-19T08:00:00Z",
    ]);
  });
});

describe("explicit shifts and overrides", () => {
  const DOC = `
shifts:
  - { schedule: primary, email: alice@example.com, start: 2026-11-22T09:00:00Z, end: 2026-11-23T09:00:00Z }
  - { schedule: primary, email: bob@example.com, start: 2026-11-23T09:00:00Z, end: 2026-11-24T09:00:00Z }
  - { schedule: secondary, email: Carol@Example.com, start: 2026-11-23T09:00:00+01:00, end: 2026-11-24T09:00:00+01:00 }
`;

  it("returns explicit shifts whole when they overlap the window's edge", () => {
    const shifts = expand(
      rotaFromYaml(DOC),
      ["primary", "secondary"],
      "2026-11-23T00:00:00Z",
      "2026-11-23T10:00:00Z",
    );
    assert.deepEqual(
      shifts.map(
        (s) => `${s.schedule.name} ${s.email} ${formatUtc(s.start)} ${formatUtc(s.end)} ${s.reason}`,
      ),
      [
        "primary alice@example.com 2026-11-22T09:00:00Z 2026-11-23T09:00:00Z on call: primary (rota)",
        "secondary Carol@Example.com 2026-11-23T08:00:00Z 2026-11-24T08:00:00Z on call: secondary (rota)",
        "primary bob@example.com 2026-11-23T09:00:00Z 2026-11-24T09:00:00Z on call: primary (rota)",
      ],
    );
  });

  it("leaves out shifts that only touch the window and schedules not asked for", () => {
    const rota = rotaFromYaml(DOC);
    assert.deepEqual(lines(expand(rota, ["primary"], "2026-11-24T09:00:00Z", "2026-11-25T00:00:00Z")), []);
    assert.deepEqual(lines(expand(rota, ["primary"], "2026-11-20T00:00:00Z", "2026-11-22T09:00:00Z")), []);
    assert.deepEqual(lines(expand(rota, ["PRIMARY"], "2026-11-22T10:00:00Z", "2026-11-22T11:00:00Z")), [
      "alice@example.com 2026-11-22T09:00:00Z 2026-11-23T09:00:00Z",
    ]);
    assert.deepEqual(expand(rota, ["nope"], "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z"), []);
    assert.deepEqual(expand(rota, ["primary"], "2026-11-23T00:00:00Z", "2026-11-23T00:00:00Z"), []);
  });

  it("splits a rotation shift into before, override and after", () => {
    // 2026-11-23 is day 327, 322 days = 46 weeks after 2026-01-05: k=46, 46 mod 3 = 1 (bob),
    // from 09:00 CET = 08:00Z to 2026-11-30 08:00Z. Dave takes 2026-11-24 09:00Z-18:00Z.
    const rota = rotaFromYaml(
      BERLIN_WEEKLY +
        `
overrides:
  - { schedule: primary, email: dave@example.com, start: 2026-11-24T09:00:00Z, end: 2026-11-24T18:00:00Z }
`,
    );
    const shifts = expand(rota, ["primary"], "2026-11-24T00:00:00Z", "2026-11-25T00:00:00Z");
    assert.deepEqual(
      shifts.map((s) => `${s.email} ${formatUtc(s.start)} ${formatUtc(s.end)} ${s.reason}`),
      [
        "bob@example.com 2026-11-23T08:00:00Z 2026-11-24T09:00:00Z on call: primary (rota)",
        "dave@example.com 2026-11-24T09:00:00Z 2026-11-24T18:00:00Z on call: primary (rota override)",
        "bob@example.com 2026-11-24T18:00:00Z 2026-11-30T08:00:00Z on call: primary (rota)",
      ],
    );
    // A window after the override still sees only the trimmed rest of bob's shift.
    assert.deepEqual(lines(expand(rota, ["primary"], "2026-11-25T00:00:00Z", "2026-11-25T01:00:00Z")), [
      "bob@example.com 2026-11-24T18:00:00Z 2026-11-30T08:00:00Z",
    ]);
  });

  it("trims explicit shifts, spans handoffs, and stands alone where nobody else is on call", () => {
    const rota = rotaOf({
      shifts: [{ schedule: "p", email: "a@x", start: "2026-01-01T00:00:00Z", end: "2026-01-02T00:00:00Z" }],
      rotations: [
        { schedule: "r", members: ["b@x", "c@x"], start: "2026-01-01", timezone: "UTC", length: "1d" },
      ],
      overrides: [
        { schedule: "p", email: "o@x", start: "2026-01-01T20:00:00Z", end: "2026-01-02T04:00:00Z" },
        { schedule: "r", email: "o@x", start: "2026-01-01T20:00:00Z", end: "2026-01-02T04:00:00Z" },
      ],
    });
    assert.deepEqual(
      expand(rota, ["p", "r"], "2026-01-01T00:00:00Z", "2026-01-03T00:00:00Z").map(
        (s) => `${s.schedule.name} ${s.email} ${formatUtc(s.start)} ${formatUtc(s.end)}`,
      ),
      [
        "p a@x 2026-01-01T00:00:00Z 2026-01-01T20:00:00Z",
        "r b@x 2026-01-01T00:00:00Z 2026-01-01T20:00:00Z",
        "p o@x 2026-01-01T20:00:00Z 2026-01-02T04:00:00Z",
        "r o@x 2026-01-01T20:00:00Z 2026-01-02T04:00:00Z",
        "r c@x 2026-01-02T04:00:00Z 2026-01-03T00:00:00Z",
      ],
    );
  });

  it("allows explicit shifts on a rotation's schedule outside the rotation's span", () => {
    const rota = rotaOf({
      shifts: [
        { schedule: "s", email: "early@x", start: "2025-12-31T00:00:00Z", end: "2026-01-01T00:00:00Z" },
        { schedule: "s", email: "late@x", start: "2026-01-03T00:00:00Z", end: "2026-01-04T00:00:00Z" },
      ],
      rotations: [
        {
          schedule: "s",
          members: ["a@x"],
          start: "2026-01-01",
          timezone: "UTC",
          length: "1d",
          end: "2026-01-03",
        },
      ],
    });
    assert.deepEqual(
      expand(rota, ["s"], "2025-12-01T00:00:00Z", "2026-02-01T00:00:00Z").map((s) => s.email),
      ["early@x", "a@x", "a@x", "late@x"],
    );
  });

  it("lists every schedule named anywhere in the file", () => {
    const rota = rotaOf({
      shifts: [
        { schedule: "beta", email: "a@x", start: "2026-01-01T00:00:00Z", end: "2026-01-02T00:00:00Z" },
      ],
      rotations: [
        { schedule: "Alpha", members: ["b@x"], start: "2026-01-01", timezone: "UTC", length: "1d" },
      ],
      overrides: [
        { schedule: "gamma", email: "c@x", start: "2026-01-01T00:00:00Z", end: "2026-01-02T00:00:00Z" },
      ],
    });
    assert.deepEqual(rotaSchedules(rota), ["Alpha", "beta", "gamma"]);
  });
});

describe("validation", () => {
  const shift = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
    schedule: "primary",
    email: "a@x",
    start: "2026-01-01T00:00:00Z",
    end: "2026-01-02T00:00:00Z",
    ...over,
  });
  const rotation = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
    schedule: "primary",
    members: ["a@x", "b@x"],
    start: "2026-01-05T09:00:00",
    timezone: "Europe/Berlin",
    length: "7d",
    ...over,
  });

  const cases: [string, unknown, string[]][] = [
    ["an empty document", null, ["the rota is empty: add shifts, rotations or overrides"]],
    ["a list at the top", [shift()], ["expected a mapping with shifts, rotations or overrides, got a list"]],
    [
      "a scalar at the top",
      "shifts",
      [`expected a mapping with shifts, rotations or overrides, got "shifts"`],
    ],
    ["none of the three keys", {}, ["the rota has none of shifts, rotations or overrides"]],
    [
      "an unknown top-level key",
      { shifts: [shift()], rotation: [] },
      ["rotation: unknown key (expected one of: shifts, rotations, overrides)"],
    ],
    ["shifts not a list", { shifts: { a: 1 } }, ["shifts: expected a list, got a mapping"]],
    [
      "a shift not a mapping",
      { shifts: ["x"] },
      [`shifts[0]: expected a mapping with schedule, email, start, end, got "x"`],
    ],
    [
      "an unknown key in a shift",
      { shifts: [shift({ emial: "b@x" })] },
      ["shifts[0].emial: unknown key (expected one of: schedule, email, start, end)"],
    ],
    [
      "an unknown key in a rotation",
      { rotations: [rotation({ timeZone: "UTC" })] },
      [
        "rotations[0].timeZone: unknown key (expected one of: schedule, members, start, timezone, length, end)",
      ],
    ],
    [
      "an unknown key in an override",
      { overrides: [shift({ why: "x" })] },
      ["overrides[0].why: unknown key (expected one of: schedule, email, start, end)"],
    ],
    [
      "an empty schedule",
      { shifts: [shift({ schedule: " " })] },
      [`shifts[0].schedule: expected a non-empty string, got " "`],
    ],
    [
      "a schedule not a string",
      { shifts: [shift({ schedule: 7 })] },
      ["shifts[0].schedule: expected a non-empty string, got number 7"],
    ],
    [
      "an empty email",
      { shifts: [shift({ email: "" })] },
      [`shifts[0].email: expected a non-empty string, got ""`],
    ],
    [
      "a missing email",
      { shifts: [{ schedule: "p", start: "2026-01-01T00:00:00Z", end: "2026-01-02T00:00:00Z" }] },
      ["shifts[0].email: missing"],
    ],
    [
      "a shift start without an offset",
      { shifts: [shift({ start: "2026-01-01T00:00:00" })] },
      [
        `shifts[0].start: time "2026-01-01T00:00:00" has no offset: add "Z" for UTC or an offset like "+01:00"`,
      ],
    ],
    [
      "a shift end that is not a time",
      { overrides: [shift({ end: "tomorrow" })] },
      [`overrides[0].end: time "tomorrow" has no offset: add "Z" for UTC or an offset like "+01:00"`],
    ],
    [
      "an invalid date",
      { shifts: [shift({ end: "2026-02-30T00:00:00Z" })] },
      [`shifts[0].end: "2026-02-30T00:00:00Z" is not an ISO 8601 time (e.g. "2026-11-22T09:00:00Z")`],
    ],
    [
      "now as a shift time",
      { shifts: [shift({ start: "now" })] },
      [`shifts[0].start: "now" is not allowed in a rota: write a fixed time like "2026-11-22T09:00:00Z"`],
    ],
    [
      "an inverted shift",
      { shifts: [shift({ start: "2026-01-02T00:00:00Z", end: "2026-01-01T00:00:00Z" })] },
      [
        "shifts[0].end: 2026-01-01T00:00:00Z is not after start 2026-01-02T00:00:00Z (the end is before the start)",
      ],
    ],
    [
      "an empty shift",
      { overrides: [shift({ end: "2026-01-01T01:00:00+01:00" })] },
      ["overrides[0].end: 2026-01-01T00:00:00Z is not after start 2026-01-01T00:00:00Z (an empty shift)"],
    ],
    [
      "members not a list",
      { rotations: [rotation({ members: "a@x" })] },
      [`rotations[0].members: expected a non-empty list of emails, got "a@x"`],
    ],
    [
      "members empty",
      { rotations: [rotation({ members: [] })] },
      ["rotations[0].members: expected a non-empty list of emails, got an empty list"],
    ],
    [
      "a member not a string",
      { rotations: [rotation({ members: ["a@x", null, ""] })] },
      [
        "rotations[0].members[1]: expected a non-empty string, got nothing",
        `rotations[0].members[2]: expected a non-empty string, got ""`,
      ],
    ],
    [
      "an unknown time zone",
      { rotations: [rotation({ timezone: "Europe/Berln" })] },
      [`rotations[0].timezone: unknown time zone "Europe/Berln"`],
    ],
    [
      "a time zone not a string",
      { rotations: [rotation({ timezone: 1 })] },
      [`rotations[0].timezone: expected an IANA time zone like "Europe/Berlin", got number 1`],
    ],
    [
      "a bad length",
      { rotations: [rotation({ length: "7" })] },
      [`rotations[0].length: "7" has no unit: write e.g. "7m" or "7h"`],
    ],
    [
      "a zero length",
      { rotations: [rotation({ length: "0d" })] },
      [`rotations[0].length: duration must be greater than zero, got "0d"`],
    ],
    [
      "a missing rotation start, timezone and length",
      { rotations: [{ schedule: "p", members: ["a@x"] }] },
      [
        `rotations[0].timezone: missing (an IANA time zone like "Europe/Berlin")`,
        `rotations[0].length: missing (a duration like "7d" or "12h")`,
        `rotations[0].start: missing (the first handoff, e.g. "2026-01-05T09:00:00")`,
      ],
    ],
    [
      "a rotation start that is not a time",
      { rotations: [rotation({ start: "next monday" })] },
      [`rotations[0].start: "next monday" is not an ISO 8601 local time (e.g. "2026-01-05T09:00:00")`],
    ],
    [
      "now as a rotation start",
      { rotations: [rotation({ start: "NOW" })] },
      [`rotations[0].start: "now" is not allowed in a rota: write a fixed time like "2026-11-22T09:00:00Z"`],
    ],
    [
      "a rotation end before its start",
      { rotations: [rotation({ end: "2026-01-05T09:00:00" })] },
      ["rotations[0].end: must be after start (2026-01-05T09:00:00 is not after 2026-01-05T09:00:00)"],
    ],
    [
      "two explicit shifts that overlap",
      {
        shifts: [
          shift(),
          shift({ schedule: "other" }),
          shift({ email: "b@x", start: "2026-01-01T23:00:00Z", end: "2026-01-02T05:00:00Z" }),
        ],
      },
      [`shifts[2] overlaps shifts[0] on schedule "primary"`],
    ],
    [
      "two overrides that overlap",
      { overrides: [shift(), shift({ start: "2026-01-01T12:00:00Z", end: "2026-01-01T13:00:00Z" })] },
      [`overrides[1] overlaps overrides[0] on schedule "primary"`],
    ],
    [
      "a second rotation on a schedule",
      { rotations: [rotation(), rotation({ schedule: "other" }), rotation()] },
      [
        `rotations[2].schedule: schedule "primary" already has a rotation (rotations[0]): a schedule has at most one rotation`,
      ],
    ],
    [
      "an explicit shift inside a rotation's span",
      {
        shifts: [shift({ start: "2026-03-01T00:00:00Z", end: "2026-03-02T00:00:00Z" })],
        rotations: [rotation()],
      },
      [
        `shifts[0] overlaps rotations[0] on schedule "primary" (the rotation has someone on call from ` +
          `2026-01-05T08:00:00Z on; use an override to replace them)`,
      ],
    ],
    [
      "a schedule spelt in two cases",
      { shifts: [shift()], overrides: [shift({ schedule: "Primary" })] },
      [
        `overrides[0].schedule: "Primary" differs only in case from "primary" (shifts[0].schedule): ` +
          `spell a schedule the same way everywhere`,
      ],
    ],
  ];

  for (const [name, doc, expected] of cases) {
    it(`rejects ${name}`, () => {
      const errors = errorsOf(doc);
      assert.deepEqual(errors, expected);
    });
  }

  it("reports a missing schedule", () => {
    assert.deepEqual(
      errorsOf({ overrides: [{ email: "a@x", start: "2026-01-01T00:00:00Z", end: "2026-01-02T00:00:00Z" }] }),
      ["overrides[0].schedule: missing"],
    );
  });

  it("accepts keys left empty, and empty lists", () => {
    assert.deepEqual(rotaSchedules(rotaOf({ shifts: null, rotations: [] })), []);
  });

  it("reports all problems together, each with its path", () => {
    const errors = errorsOf({
      shifts: [shift({ start: "2026-01-01T00:00:00" }), shift({ schedule: "" }), shift({ colour: "red" })],
      rotations: [rotation({ timezone: "Europe/Berln", length: "7" })],
      overrides: [shift({ end: "2025-01-01T00:00:00Z" })],
      extra: true,
    });
    assert.deepEqual(errors, [
      "extra: unknown key (expected one of: shifts, rotations, overrides)",
      `shifts[0].start: time "2026-01-01T00:00:00" has no offset: add "Z" for UTC or an offset like "+01:00"`,
      `shifts[1].schedule: expected a non-empty string, got ""`,
      "shifts[2].colour: unknown key (expected one of: schedule, email, start, end)",
      `rotations[0].timezone: unknown time zone "Europe/Berln"`,
      `rotations[0].length: "7" has no unit: write e.g. "7m" or "7h"`,
      "overrides[0].end: 2025-01-01T00:00:00Z is not after start 2026-01-01T00:00:00Z (the end is before the start)",
    ]);
  });
});

describe("createFileSource", () => {
  async function withFile(name: string, text: string, fn: (path: string) => Promise<void>): Promise<void> {
    const dir = await mkdtemp(join(tmpdir(), "shiftgrant-rota-"));
    try {
      const path = join(dir, name);
      await writeFile(path, text);
      await fn(path);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  const FILE = `${BERLIN_WEEKLY}
shifts:
  - { schedule: DBA Primary, email: dana@example.com, start: 2026-11-22T09:00:00Z, end: 2026-11-23T09:00:00Z }
`;

  it("resolves schedule names case-insensitively and reports an unknown one", async () => {
    await withFile("rota.yaml", FILE, async (path) => {
      const source = createFileSource({ path, name: "rota" });
      const resolved = await source.resolveSchedules(["dba primary", "PRIMARY", "secondary"]);
      assert.deepEqual(
        [...resolved.entries()],
        [
          ["dba primary", { id: "DBA Primary", name: "DBA Primary" }],
          ["PRIMARY", { id: "primary", name: "primary" }],
          ["secondary", { error: `schedule "secondary" is not in rota.yaml (it has: DBA Primary, primary)` }],
        ],
      );
    });
  });

  it("fetches shifts of resolved schedules and lists schedules by substring", async () => {
    await withFile("rota.yaml", FILE, async (path) => {
      const source = createFileSource({ path, name: "rota" });
      const shifts = await source.fetchShifts(
        [{ id: "DBA Primary", name: "DBA Primary" }],
        utc("2026-11-23T00:00:00Z"),
        utc("2026-11-24T00:00:00Z"),
      );
      assert.deepEqual(lines(shifts), ["dana@example.com 2026-11-22T09:00:00Z 2026-11-23T09:00:00Z"]);
      assert.equal(shifts[0]?.reason, "on call: DBA Primary (rota)");
      assert.deepEqual(await source.listSchedules("PRI"), [
        { id: "DBA Primary", name: "DBA Primary" },
        { id: "primary", name: "primary" },
      ]);
      assert.deepEqual(await source.listSchedules("dba"), [{ id: "DBA Primary", name: "DBA Primary" }]);
      assert.equal((await source.listSchedules()).length, 2);
      await assert.rejects(
        source.fetchShifts(
          [{ id: "gone", name: "gone" }],
          utc("2026-11-23T00:00:00Z"),
          utc("2026-11-24T00:00:00Z"),
        ),
        { message: `rota.yaml: schedule "gone" is not in the file (it has: DBA Primary, primary)` },
      );
    });
  });

  it("reads the file again on every call", async () => {
    await withFile("rota.yaml", FILE, async (path) => {
      const source = createFileSource({ path, name: "rota" });
      assert.equal((await source.listSchedules()).length, 2);
      await writeFile(
        path,
        `${FILE}  - { schedule: new, email: n@x, start: 2026-01-01T00:00:00Z, end: 2026-01-02T00:00:00Z }\n`,
      );
      assert.equal((await source.listSchedules()).length, 3);
    });
  });

  it("reads JSON too", async () => {
    const json = JSON.stringify({
      shifts: [{ schedule: "p", email: "a@x", start: "2026-01-01T00:00:00Z", end: "2026-01-02T00:00:00Z" }],
    });
    await withFile("rota.json", json, async (path) => {
      assert.deepEqual(await createFileSource({ path, name: "rota" }).listSchedules(), [
        { id: "p", name: "p" },
      ]);
    });
  });

  it("names the file and lists every problem of an invalid rota", async () => {
    const text = `
rotations:
  - { schedule: primary, members: [a@x], start: 2026-01-05T09:00:00, timezone: Europe/Berln, length: 7d }
shifts:
  - { schedule: p, email: a@x, start: 2026-01-02T00:00:00Z, end: 2026-01-01T00:00:00Z }
`;
    await withFile("rota.yaml", text, async (path) => {
      await assert.rejects(createFileSource({ path, name: "rota" }).listSchedules(), {
        message:
          `rota.yaml: shifts[0].end: 2026-01-01T00:00:00Z is not after start 2026-01-02T00:00:00Z (the end is before the start); ` +
          `rotations[0].timezone: unknown time zone "Europe/Berln"`,
      });
    });
  });

  it("names the file when it is not YAML, empty, or missing", async () => {
    await withFile("rota.yaml", "shifts: [\n  a: 1\nshifts: 2\n", async (path) => {
      await assert.rejects(
        createFileSource({ path, name: "rota" }).listSchedules(),
        /^Error: rota\.yaml: not valid YAML: /,
      );
    });
    await withFile("rota.yaml", "# nothing yet\n", async (path) => {
      await assert.rejects(createFileSource({ path, name: "rota" }).resolveSchedules(["p"]), {
        message: "rota.yaml: the rota is empty: add shifts, rotations or overrides",
      });
    });
    const missing = join(tmpdir(), "shiftgrant-no-such-dir", "rota.yaml");
    await assert.rejects(createFileSource({ path: missing, name: "rota" }).listSchedules(), {
      message: `rota.yaml: cannot read ${missing}: no such file`,
    });
  });
});
