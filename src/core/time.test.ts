import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DateTime } from "luxon";
import {
  formatLength,
  formatUtc,
  parseByteSize,
  parseDuration,
  parseInstant,
  type ParsedDuration,
} from "./time.js";

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

function ok(input: unknown): ParsedDuration {
  const d = parseDuration(input);
  assert.equal(typeof d, "object", `expected "${String(input)}" to parse, got: ${JSON.stringify(d)}`);
  return d as ParsedDuration;
}

describe("parseDuration", () => {
  const valid: [string, number, { days: number; ms: number }][] = [
    ["500ms", 500, { days: 0, ms: 500 }],
    ["90s", 90_000, { days: 0, ms: 90_000 }],
    ["30m", 30 * MIN, { days: 0, ms: 30 * MIN }],
    ["12h", 12 * HOUR, { days: 0, ms: 12 * HOUR }],
    ["7d", 7 * DAY, { days: 7, ms: 0 }],
    ["2w", 14 * DAY, { days: 14, ms: 0 }],
    ["PT12H", 12 * HOUR, { days: 0, ms: 12 * HOUR }],
    ["PT30M", 30 * MIN, { days: 0, ms: 30 * MIN }],
    ["P7D", 7 * DAY, { days: 7, ms: 0 }],
    ["P1W", 7 * DAY, { days: 7, ms: 0 }],
    ["P1DT2H", DAY + 2 * HOUR, { days: 1, ms: 2 * HOUR }],
    ["pt15m", 15 * MIN, { days: 0, ms: 15 * MIN }],
  ];
  for (const [text, ms, parts] of valid) {
    it(`reads "${text}" as ${ms} ms, keeping days apart from clock time`, () => {
      const d = ok(text);
      assert.equal(d.ms, ms);
      assert.deepEqual(d.parts, parts);
      assert.equal(d.text, text);
    });
  }

  it("ignores surrounding spaces", () => {
    assert.equal(ok(" 15m ").ms, 15 * MIN);
  });

  const invalid: [string, unknown, string][] = [
    ["a bare number (string)", "15", `"15" has no unit: write e.g. "15m" or "15h"`],
    ["a bare number (YAML number)", 15, `15 has no unit: write e.g. "15m" or "15h"`],
    ["a negative duration", "-5m", `duration must be positive, got "-5m"`],
    ["a negative number", -5, "duration must be positive, got -5"],
    ["a negative ISO duration", "-PT5M", `duration must be positive, got "-PT5M"`],
    ["zero", "0m", `duration must be greater than zero, got "0m"`],
    ["zero (ISO)", "PT0S", `duration must be greater than zero, got "PT0S"`],
    ["months", "P1M", `durations in months or years are not allowed ("P1M"): use days, e.g. "P30D"`],
    ["years", "P1Y", `durations in months or years are not allowed ("P1Y"): use days, e.g. "P30D"`],
    [
      "months (short form)",
      "3mo",
      `durations in months or years are not allowed ("3mo"): use days, e.g. "30d"`,
    ],
    ["an ambiguous capital M", "15M", `"15M" is ambiguous: write "15m" for minutes (months are not allowed)`],
    ["an upper-case unit", "12H", `unknown unit "H" in "12H": units are lower-case, e.g. "12h"`],
    [
      "an unknown unit",
      "15min",
      `unknown unit "min" in "15min": use ms, s, m, h, d or w (e.g. "15m", "12h", "7d")`,
    ],
    ["a fraction", "1.5h", `"1.5h": use a whole number with a unit, e.g. "90m" rather than "1.5h"`],
    ["a space before the unit", "15 m", `"15 m": write the number and the unit together: "15m"`],
    ["a word", "abc", `expected a duration like "15m", "12h", "7d" or "PT12H", got "abc"`],
    ["an empty string", "", `expected a duration like "15m", "12h", "7d" or "PT12H", got ""`],
    ["an overflowing number", "99999999999999999999s", `duration "99999999999999999999s" is too long`],
    ["null", null, `expected a duration like "15m", "12h", "7d" or "PT12H", got null`],
    ["a boolean", true, `expected a duration like "15m", "12h", "7d" or "PT12H", got boolean true`],
    ["a list", ["15m"], `expected a duration like "15m", "12h", "7d" or "PT12H", got a list`],
    ["an object", {}, `expected a duration like "15m", "12h", "7d" or "PT12H", got an object`],
  ];
  for (const [what, input, message] of invalid) {
    it(`refuses ${what}, saying what to write`, () => {
      assert.equal(parseDuration(input), message);
    });
  }
});

describe("parseInstant", () => {
  const now = DateTime.fromISO("2026-11-22T09:30:15.250Z", { setZone: true });

  it('reads "now" (any case) as the given now, in UTC', () => {
    for (const text of ["now", "NOW", " now "]) {
      const t = parseInstant(text, now.setZone("Europe/Berlin"));
      assert.ok(typeof t !== "string", String(t));
      assert.equal(t.toMillis(), now.toMillis());
      assert.equal(t.zoneName, "UTC");
    }
  });

  it("reads a time in UTC (Z)", () => {
    const t = parseInstant("2026-11-22T09:00:00Z", now);
    assert.ok(typeof t !== "string", String(t));
    assert.equal(t.toISO(), "2026-11-22T09:00:00.000Z");
    assert.equal(t.zoneName, "UTC");
  });

  it("converts an offset to UTC", () => {
    const cases: [string, string][] = [
      ["2026-11-22T09:00:00+01:00", "2026-11-22T08:00:00Z"],
      ["2026-11-22T09:00:00-05:00", "2026-11-22T14:00:00Z"],
      ["2026-11-22T09:00:00+0530", "2026-11-22T03:30:00Z"],
      ["2026-11-22T00:30:00+02:00", "2026-11-21T22:30:00Z"],
    ];
    for (const [input, utc] of cases) {
      const t = parseInstant(input, now);
      assert.ok(typeof t !== "string", `${input}: ${String(t)}`);
      assert.equal(formatUtc(t), utc, input);
      assert.equal(t.zoneName, "UTC", input);
    }
  });

  it("refuses a time without an offset, saying how to add one", () => {
    assert.equal(
      parseInstant("2026-11-22T09:00:00", now),
      `time "2026-11-22T09:00:00" has no offset: add "Z" for UTC or an offset like "+01:00"`,
    );
    assert.equal(typeof parseInstant("2026-11-22", now), "string");
  });

  it("refuses garbage and impossible dates", () => {
    assert.equal(
      parseInstant("2026-13-45T00:00:00Z", now),
      `"2026-13-45T00:00:00Z" is not an ISO 8601 time (e.g. "2026-11-22T09:00:00Z")`,
    );
    assert.equal(typeof parseInstant("2026-02-30T00:00:00Z", now), "string");
    assert.equal(typeof parseInstant("yesterday", now), "string");
    assert.equal(typeof parseInstant("", now), "string");
  });

  it("refuses non-strings", () => {
    assert.equal(parseInstant(5, now), `expected a time like "2026-11-22T09:00:00Z" or "now", got number 5`);
    assert.equal(parseInstant(null, now), `expected a time like "2026-11-22T09:00:00Z" or "now", got null`);
  });
});

describe("formatUtc", () => {
  it("prints UTC with second precision and Z", () => {
    const t = DateTime.fromISO("2026-11-22T10:00:00.999+01:00", { setZone: true });
    assert.equal(formatUtc(t), "2026-11-22T09:00:00Z");
  });

  it("pads every field", () => {
    assert.equal(
      formatUtc(DateTime.fromMillis(Date.UTC(2026, 0, 5, 3, 4, 5), { zone: "utc" })),
      "2026-01-05T03:04:05Z",
    );
  });

  it("converts from another zone across a date line", () => {
    const t = DateTime.fromISO("2026-03-01T01:00:00", { zone: "Asia/Tokyo" });
    assert.equal(formatUtc(t), "2026-02-28T16:00:00Z");
  });
});

describe("formatUtc outside the years 0000–9999", () => {
  it("throws rather than print a six-digit year such as +010000-01-01T00:14Z", () => {
    assert.equal(formatUtc(Date.UTC(9999, 11, 31, 23, 59, 59)), "9999-12-31T23:59:59Z");
    assert.equal(formatUtc(Date.parse("0000-01-01T00:00:00Z")), "0000-01-01T00:00:00Z");
    assert.throws(() => formatUtc(Date.UTC(10_000, 0, 1, 0, 14)), {
      name: "RangeError",
      message: "+010000-01-01T00:14:00.000Z is outside the years 0000–9999",
    });
    assert.throws(() => formatUtc(Date.parse("-000001-12-31T23:59:59Z")), RangeError);
  });
});

describe("formatLength", () => {
  it("prints days, hours, minutes and seconds, leaving out the zero ones", () => {
    assert.equal(formatLength(45 * MIN), "45m");
    assert.equal(formatLength(12 * HOUR), "12h");
    assert.equal(formatLength(DAY + 6 * HOUR), "1d 6h");
    assert.equal(formatLength(30_000), "30s");
    assert.equal(formatLength(0), "0s");
  });

  it("is exact to the second and never rounds up (it fills {duration} for targets)", () => {
    assert.equal(formatLength(29 * MIN + 45_000), "29m 45s");
    assert.equal(formatLength(89_999), "1m 29s");
    assert.equal(formatLength(DAY - 1), "23h 59m 59s");
  });
});

describe("parseByteSize", () => {
  it("reads bytes, and binary KB, MB, GB (any case, KiB too, decimals allowed)", () => {
    assert.equal(parseByteSize(4096), 4096);
    assert.equal(parseByteSize("4096"), 4096);
    assert.equal(parseByteSize("512KB"), 512 * 1024);
    assert.equal(parseByteSize("50 mb"), 50 * 1024 * 1024);
    assert.equal(parseByteSize("1.5MiB"), 1.5 * 1024 * 1024);
    assert.equal(parseByteSize("1GB"), 1024 ** 3);
  });

  it("refuses what is not a size, and a size under 1 KB", () => {
    assert.equal(
      parseByteSize("50 parsecs"),
      'expected a size like "50MB", "512KB" or a number of bytes, got "50 parsecs"',
    );
    assert.equal(
      parseByteSize("constructor"),
      'expected a size like "50MB", "512KB" or a number of bytes, got "constructor"',
    );
    assert.equal(
      parseByteSize("1toString"),
      'expected a size like "50MB", "512KB" or a number of bytes, got "1toString"',
    );
    assert.equal(parseByteSize(1.5), "expected a whole number of bytes, got 1.5");
    assert.equal(
      parseByteSize(true),
      'expected a size like "50MB", "512KB" or a number of bytes, got boolean true',
    );
    assert.equal(parseByteSize("1000"), "a size of at least 1KB is needed, got 1000 bytes");
  });
});
