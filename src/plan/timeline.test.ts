import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DateTime } from "luxon";
import type { ReportedAction } from "./render.js";
import { renderTimeline } from "./timeline.js";

const t = (iso: string) => DateTime.fromISO(iso, { zone: "utc" });

function action(kind: ReportedAction["kind"], identity: string, start: string, end: string): ReportedAction {
  return {
    kind,
    rule: "r",
    target: "t",
    resource: "db",
    identity,
    start: t(start),
    end: t(end),
    reason: "on call",
    shifts: [],
    status: kind === "unchanged" || kind === "wait" ? "skipped" : "planned",
  };
}

const DAY = { since: t("2026-11-22T00:00:00Z"), until: t("2026-11-23T00:00:00Z") };

describe("renderTimeline", () => {
  it("draws one row per identity and resource, each kind with its mark, a now marker and hours on the axis", () => {
    const lines = renderTimeline(
      [
        action("unchanged", "alice@x.com", "2026-11-22T00:00:00Z", "2026-11-22T06:00:00Z"),
        action("extend", "alice@x.com", "2026-11-22T06:00:00Z", "2026-11-22T12:00:00Z"),
        action("grant", "bob@x.com", "2026-11-22T12:00:00Z", "2026-11-23T00:00:00Z"),
        action("revoke", "carol@x.com", "2026-11-22T06:00:00Z", "2026-11-22T18:00:00Z"),
        action("wait", "dave@x.com", "2026-11-22T18:00:00Z", "2026-11-23T00:00:00Z"),
      ],
      { width: 63, now: t("2026-11-22T06:00:00Z"), window: DAY, zone: "UTC", color: false },
    );
    // 63 columns: 14 for the labels, " | ", 46 for the bars; an instant's column is floor(46 × its
    // fraction of the day): 06:00 → 11, 12:00 → 23, 18:00 → 34. Labels every 6 hours fit.
    assert.deepEqual(lines, [
      "               | 00:00      06:00       12:00      18:00",
      "               |            v now",
      "alice@x.com db | ===========++++++++++++",
      "bob@x.com db   |                        #######################",
      "carol@x.com db |            xxxxxxxxxxxxxxxxxxxxxxx",
      "dave@x.com db  |                                   ~~~~~~~~~~~~",
      // 64 columns with its indent: too wide, so it starts at the left edge.
      "= held  ~ waiting  # new  + extended  x revoked",
    ]);
    for (const l of lines) assert.ok(l.length <= 63, `${l.length}: ${l}`);
  });

  it("draws a shorten as the grant it keeps (held) and the part it cuts off", () => {
    const cut: ReportedAction = {
      ...action("shorten", "alice@x.com", "2026-11-22T00:00:00Z", "2026-11-22T06:00:00Z"),
      previousEnd: t("2026-11-22T18:00:00Z"),
    };
    const lines = renderTimeline([cut], {
      width: 63,
      now: t("2026-11-22T06:00:00Z"),
      window: DAY,
      zone: "UTC",
      color: false,
    });
    assert.deepEqual(lines.slice(2), [
      "alice@x.com db | ===========-----------------------",
      "                 = held  - cut off",
    ]);
  });

  it("fits a narrow 60-column terminal, cutting long labels", () => {
    const lines = renderTimeline(
      [
        action(
          "grant",
          "a-very-long-identity-name@corp.example.com",
          "2026-11-22T08:00:00Z",
          "2026-11-22T20:00:00Z",
        ),
      ],
      { width: 60, now: t("2026-11-22T00:00:00Z"), window: DAY, zone: "UTC", color: false },
    );
    for (const l of lines) assert.ok(l.length <= 60, `${l.length}: ${l}`);
    // Labels get at most 40% (24 columns); the bar has 33: 08:00 → column 11, 20:00 → column 27.
    assert.equal(lines[2], `a-very-long-identity-na… | ${" ".repeat(11)}${"#".repeat(16)}`);
  });

  it("shows days on the axis of a 90-day window", () => {
    const since = t("2026-11-22T00:00:00Z");
    const lines = renderTimeline(
      [action("grant", "alice@x.com", "2026-12-01T00:00:00Z", "2027-01-15T00:00:00Z")],
      {
        width: 100,
        now: since,
        window: { since, until: since.plus({ days: 90 }) },
        zone: "UTC",
        color: false,
      },
    );
    assert.match(lines[0] ?? "", /^ {15}\| Nov 22 +Dec 6 +Dec 20/);
    assert.equal(lines[1], "               | v now");
    const bar = (lines[2] ?? "").slice(17);
    // Dec 1 is day 9 of 90 and Jan 15 day 54: columns 9/90 and 54/90 of the 83 bar columns.
    assert.equal(bar.indexOf("#"), Math.floor((9 / 90) * 83));
    assert.equal(bar.lastIndexOf("#") + 1, Math.floor((54 / 90) * 83));
  });

  it("labels the axis in the viewer's zone", () => {
    const lines = renderTimeline(
      [action("grant", "alice@x.com", "2026-11-22T08:00:00Z", "2026-11-22T20:00:00Z")],
      {
        width: 80,
        now: t("2026-11-22T00:00:00Z"),
        window: DAY,
        zone: "America/New_York",
        color: false,
      },
    );
    // Midnight UTC is 19:00 the day before in New York; the first label on the hour grid is 21:00.
    assert.match(lines[0] ?? "", /^ {15}\| {6}21:00 {3}00:00/);
  });

  it("colours the marks only when asked", () => {
    const plain = renderTimeline(
      [action("grant", "a@x.com", "2026-11-22T08:00:00Z", "2026-11-22T20:00:00Z")],
      {
        width: 60,
        now: t("2026-11-22T00:00:00Z"),
        window: DAY,
        zone: "UTC",
        color: false,
      },
    );
    const coloured = renderTimeline(
      [action("grant", "a@x.com", "2026-11-22T08:00:00Z", "2026-11-22T20:00:00Z")],
      {
        width: 60,
        now: t("2026-11-22T00:00:00Z"),
        window: DAY,
        zone: "UTC",
        color: true,
      },
    );
    assert.ok(!plain.join("").includes("\u001b"));
    assert.ok(coloured[2]?.includes("\u001b[32m#\u001b[0m"));
  });

  it("draws nothing when there is nothing to draw, and makes control characters in names visible", () => {
    assert.deepEqual(
      renderTimeline([], {
        width: 80,
        now: t("2026-11-22T00:00:00Z"),
        window: DAY,
        zone: "UTC",
        color: false,
      }),
      [],
    );
    const lines = renderTimeline(
      [action("grant", "evil\u001b[2J@x.com", "2026-11-22T08:00:00Z", "2026-11-22T20:00:00Z")],
      {
        width: 80,
        now: t("2026-11-22T00:00:00Z"),
        window: DAY,
        zone: "UTC",
        color: false,
      },
    );
    assert.ok(lines[2]?.startsWith("evil\\x1b[2J@x.com db |"));
  });
});
