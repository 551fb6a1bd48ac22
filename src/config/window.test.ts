import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DateTime } from "luxon";
import { UsageError } from "../errors.js";
import { formatUtc, parseDuration, type ParsedDuration } from "../core/time.js";
import { MAX_WINDOW_MS, resolveWindow } from "./window.js";

const NOW = DateTime.fromISO("2026-11-22T09:30:15.250Z", { setZone: true });
const DAY_WINDOW = parseDuration("24h") as ParsedDuration;

function window(flags: { since?: string; until?: string; window?: string }, configWindow = DAY_WINDOW) {
  const w = resolveWindow(flags, configWindow, NOW);
  return { since: formatUtc(w.since), until: formatUtc(w.until), w };
}

function usageError(message: string) {
  return (err: unknown) => {
    assert.ok(err instanceof UsageError, `expected a UsageError, got ${String(err)}`);
    assert.equal(err.exitCode, 2);
    assert.equal(err.message, message);
    return true;
  };
}

describe("resolveWindow", () => {
  it("defaults to [now, now + the config's window], in whole UTC seconds", () => {
    const { since, until, w } = window({});
    assert.equal(since, "2026-11-22T09:30:15Z");
    assert.equal(until, "2026-11-23T09:30:15Z");
    assert.equal(w.since.millisecond, 0);
    assert.equal(w.since.zoneName, "UTC");
    assert.equal(w.until.zoneName, "UTC");
  });

  it("uses the config's window when no flag is given", () => {
    const { until } = window({}, parseDuration("7d") as ParsedDuration);
    assert.equal(until, "2026-11-29T09:30:15Z");
  });

  it("--window overrides the config's window", () => {
    assert.equal(window({ window: "12h" }).until, "2026-11-22T21:30:15Z");
    assert.equal(window({ window: "PT30M" }).until, "2026-11-22T10:00:15Z");
  });

  it("--since moves the start; until follows it", () => {
    const { since, until } = window({ since: "2026-12-01T10:00:00+01:00", window: "2h" });
    assert.equal(since, "2026-12-01T09:00:00Z");
    assert.equal(until, "2026-12-01T11:00:00Z");
  });

  it("--since now is now", () => {
    assert.equal(window({ since: "now" }).since, "2026-11-22T09:30:15Z");
  });

  it("--until sets the end", () => {
    const { since, until } = window({ until: "2026-11-22T18:00:00-05:00" });
    assert.equal(since, "2026-11-22T09:30:15Z");
    assert.equal(until, "2026-11-22T23:00:00Z");
  });

  it("refuses --until and --window together", () => {
    assert.throws(
      () => window({ until: "2026-11-23T00:00:00Z", window: "1h" }),
      usageError("use --until or --window, not both"),
    );
  });

  it("refuses --until before or at --since, showing both", () => {
    assert.throws(
      () => window({ since: "2026-11-22T10:00:00Z", until: "2026-11-22T09:00:00Z" }),
      usageError(
        "the window is empty: --until (2026-11-22T09:00:00Z) must be after --since (2026-11-22T10:00:00Z)",
      ),
    );
    assert.throws(
      () => window({ since: "2026-11-22T10:00:00Z", until: "2026-11-22T11:00:00+01:00" }),
      usageError(
        "the window is empty: --until (2026-11-22T10:00:00Z) must be after --since (2026-11-22T10:00:00Z)",
      ),
    );
  });

  it("refuses --until in the past when --since is now, saying that since is now", () => {
    assert.throws(
      () => window({ until: "2026-11-22T09:00:00Z" }),
      usageError(
        "the window is empty: --until (2026-11-22T09:00:00Z) must be after --since (2026-11-22T09:30:15Z, now)",
      ),
    );
  });

  it("compares whole seconds: an --until within the same second as --since is empty", () => {
    assert.throws(
      () => window({ since: "2026-11-22T10:00:00.100Z", until: "2026-11-22T10:00:00.900Z" }),
      UsageError,
    );
  });

  it("accepts exactly 90 days", () => {
    const { since, until, w } = window({ since: "2026-11-22T00:00:00Z", window: "90d" });
    assert.equal(since, "2026-11-22T00:00:00Z");
    assert.equal(until, "2027-02-20T00:00:00Z");
    assert.equal(w.until.toMillis() - w.since.toMillis(), MAX_WINDOW_MS);
    assert.doesNotThrow(() => window({ since: "2026-11-22T00:00:00Z", until: "2027-02-20T00:00:00Z" }));
  });

  it("refuses a window over 90 days, naming where it came from", () => {
    assert.throws(
      () => window({ window: "91d" }),
      usageError(
        "--window 91d is longer than 90 days, the most PagerDuty renders; use a window of 90d or less",
      ),
    );
    assert.throws(
      () => window({ window: "P90DT1S" }),
      usageError(
        "--window P90DT1S is longer than 90 days, the most PagerDuty renders; use a window of 90d or less",
      ),
    );
    assert.throws(
      () => window({ since: "2026-11-22T00:00:00Z", until: "2027-02-20T00:00:01Z" }),
      usageError(
        "the window from --since to --until is longer than 90 days, the most PagerDuty renders; use a window of 90d or less",
      ),
    );
    assert.throws(
      () => window({}, parseDuration("13w") as ParsedDuration),
      usageError(
        "the config's window (13w) is longer than 90 days, the most PagerDuty renders; use a window of 90d or less",
      ),
    );
  });

  it("refuses a bad --window with the duration's own message", () => {
    assert.throws(
      () => window({ window: "15" }),
      usageError(`--window: "15" has no unit: write e.g. "15m" or "15h"`),
    );
    assert.throws(
      () => window({ window: "-1h" }),
      usageError(`--window: duration must be positive, got "-1h"`),
    );
  });

  it("refuses a word that is not a time, rather than asking for an offset", () => {
    assert.throws(
      () => window({ since: "yesterday" }),
      usageError(
        `--since: "yesterday" is not a time: use ISO 8601 with an offset, like "2026-11-22T09:00:00Z", or "now"`,
      ),
    );
    assert.throws(
      () => window({ until: "tomorrow" }),
      usageError(
        `--until: "tomorrow" is not a time: use ISO 8601 with an offset, like "2026-11-22T09:00:00Z", or "now"`,
      ),
    );
  });

  it("refuses a time without an offset, saying how to add one", () => {
    assert.throws(
      () => window({ since: "2026-11-22T09:00:00" }),
      usageError(
        `--since: time "2026-11-22T09:00:00" has no offset: add "Z" for UTC or an offset like "+01:00"`,
      ),
    );
    assert.throws(
      () => window({ until: "2026-11-31T09:00:00Z" }),
      usageError(`--until: "2026-11-31T09:00:00Z" is not an ISO 8601 time (e.g. "2026-11-22T09:00:00Z")`),
    );
  });
});
