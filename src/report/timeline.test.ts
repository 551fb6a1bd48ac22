import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DateTime } from "luxon";
import type { ReportedAction } from "./model.js";
import { renderTimeline } from "./timeline.js";

const t = (iso: string) => DateTime.fromISO(iso, { zone: "utc" });

function action(
  kind: ReportedAction["kind"],
  identity: string,
  start: string,
  end: string,
  resource = "db",
): ReportedAction {
  return {
    kind,
    rule: "r",
    target: "t",
    resource,
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
      "               | Sun 22 Nov",
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
    assert.deepEqual(lines.slice(3), [
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
    // Labels get at most 40% (24 columns), losing their middle; the bar has 33: 08:00 → column 11,
    // 20:00 → column 27.
    assert.equal(lines[3], `a-very-long-…mple.com db | ${" ".repeat(11)}${"#".repeat(16)}`);
  });

  it("keeps labels apart at narrow widths: the middle goes, and labels that still collide are numbered", () => {
    const carol = (resource: string) =>
      action("grant", "carol@example.com", "2026-11-22T08:00:00Z", "2026-11-22T20:00:00Z", resource);
    const lines = renderTimeline(
      [
        carol("prod-postgres"),
        carol("prod-k8s"),
        carol("a-very-long-resource-name-1"),
        carol("a-very-long-resource-name-2"),
        carol("z-very-long-resource-name-1"),
      ],
      { width: 60, now: t("2026-11-22T00:00:00Z"), window: DAY, zone: "UTC", color: false },
    );
    const labels = lines.slice(3, -1).map((l) => l.slice(0, l.indexOf(" |")));
    assert.deepEqual(labels, [
      "carol@exampl…od-postgres",
      "carol@exampl…om prod-k8s",
      "carol@exampl…urce-name-1",
      "carol@exampl…urce-name-2",
      // Same start and end as the first "…urce-name-1": numbered.
      "carol@exam…ce-name-1 (2)",
    ]);
    for (const l of lines) assert.ok(l.length <= 60, `${l.length}: ${l}`);
  });

  it("marks each midnight of an hourly axis with its date, in the viewer's zone", () => {
    const window = { since: t("2026-11-22T16:00:00Z"), until: t("2026-11-23T16:00:00Z") };
    const grant = action("grant", "alice@x.com", "2026-11-22T16:00:00Z", "2026-11-23T04:00:00Z");
    const berlin = renderTimeline([grant], {
      width: 80,
      now: t("2026-11-22T16:00:00Z"),
      window,
      zone: "Europe/Berlin",
      color: false,
    });
    // 63 bar columns; midnight in Berlin is 23:00Z, 7 of the 24 hours in: column 18, above the
    // 00:00 tick. The window starts on Sunday (17:00 in Berlin): its date is at the left edge.
    assert.equal(berlin[0], `               | Sun 22 Nov${" ".repeat(8)}Mon 23 Nov`);
    assert.equal(berlin[1]?.indexOf("00:00"), 17 + 18);
    const newYork = renderTimeline([grant], {
      width: 80,
      now: t("2026-11-22T16:00:00Z"),
      window,
      zone: "America/New_York",
      color: false,
    });
    // Midnight in New York is 05:00Z, 13 hours in: column floor(13 / 24 × 63) = 34.
    assert.equal(newYork[0], `               | Sun 22 Nov${" ".repeat(24)}Mon 23 Nov`);
    assert.equal(newYork[1]?.indexOf("00:00"), 17 + 34);
  });

  it("gives a midnight's date the room before the partial first day's, shortening it where needed", () => {
    // 60 columns, a 14-column label: 43 bar columns; midnight UTC is 1 hour in: column 1. The first
    // day's date does not fit before it.
    const lines = renderTimeline(
      [action("grant", "alice@x.com", "2026-11-22T23:00:00Z", "2026-11-23T04:00:00Z")],
      {
        width: 60,
        now: t("2026-11-22T23:00:00Z"),
        window: { since: t("2026-11-22T23:00:00Z"), until: t("2026-11-23T23:00:00Z") },
        zone: "UTC",
        color: false,
      },
    );
    assert.equal(lines[0], `${" ".repeat(14)} |  Mon 23 Nov`);
    const late = renderTimeline(
      [action("grant", "alice@x.com", "2026-11-22T01:00:00Z", "2026-11-23T04:00:00Z")],
      {
        width: 60,
        now: t("2026-11-22T01:00:00Z"),
        window: { since: t("2026-11-22T01:00:00Z"), until: t("2026-11-23T01:00:00Z") },
        zone: "UTC",
        color: false,
      },
    );
    // Midnight is 23 hours in: column floor(23 / 24 × 43) = 41; only two columns remain, too few
    // for any date: the first day's date stays.
    assert.equal(late[0], `${" ".repeat(14)} | Sun 22 Nov`);
    const later = renderTimeline(
      [action("grant", "alice@x.com", "2026-11-22T04:00:00Z", "2026-11-23T04:00:00Z")],
      {
        width: 60,
        now: t("2026-11-22T04:00:00Z"),
        window: { since: t("2026-11-22T04:00:00Z"), until: t("2026-11-23T04:00:00Z") },
        zone: "UTC",
        color: false,
      },
    );
    // Midnight 20 hours in: column 35 of 43, room for "Mon 23" but not "Mon 23 Nov".
    assert.equal(later[0], `${" ".repeat(14)} | Sun 22 Nov${" ".repeat(25)}Mon 23`);
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
    assert.match(lines[1] ?? "", /^ {15}\| {6}21:00 {3}00:00/);
  });

  it("colours the marks only when asked, one colour sequence per run of equal marks", () => {
    const five = [
      action("unchanged", "alice@x.com", "2026-11-22T00:00:00Z", "2026-11-22T06:00:00Z"),
      action("extend", "alice@x.com", "2026-11-22T06:00:00Z", "2026-11-22T12:00:00Z"),
      action("grant", "bob@x.com", "2026-11-22T12:00:00Z", "2026-11-23T00:00:00Z"),
      action("revoke", "carol@x.com", "2026-11-22T06:00:00Z", "2026-11-22T18:00:00Z"),
      action("wait", "dave@x.com", "2026-11-22T18:00:00Z", "2026-11-23T00:00:00Z"),
    ];
    const opts = { width: 63, now: t("2026-11-22T06:00:00Z"), window: DAY, zone: "UTC" };
    const plain = renderTimeline(five, { ...opts, color: false });
    const coloured = renderTimeline(five, { ...opts, color: true });
    assert.ok(!plain.join("").includes("\u001b"));
    const sgr = (n: number) => `\u001b[${n}m`;
    const [dim, green, cyan, yellow, red, reset] = [sgr(2), sgr(32), sgr(36), sgr(33), sgr(31), sgr(0)];
    assert.deepEqual(coloured.slice(3), [
      `alice@x.com db | ${dim}${"=".repeat(11)}${reset}${cyan}${"+".repeat(12)}${reset}`,
      `bob@x.com db   | ${" ".repeat(23)}${green}${"#".repeat(23)}${reset}`,
      `carol@x.com db | ${" ".repeat(11)}${red}${"x".repeat(23)}${reset}`,
      `dave@x.com db  | ${" ".repeat(34)}${yellow}${"~".repeat(12)}${reset}`,
      `${dim}=${reset} held  ${yellow}~${reset} waiting  ${green}#${reset} new  ${cyan}+${reset} extended  ${red}x${reset} revoked`,
    ]);
    // Ten colour sequences in all: five runs in the bars, five marks in the legend.
    assert.equal(coloured.join("\n").split(sgr(0)).length - 1, 10);
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
    assert.ok(lines[3]?.startsWith("evil\\u001b[2J@x.com db |"));
  });
});
