import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DateTime } from "luxon";
import type { ReportedAction } from "./model.js";
import { renderJson, renderText, type Report } from "./render.js";

const t = (iso: string) => DateTime.fromISO(iso, { zone: "utc" });
const NOW = t("2026-11-22T16:00:00Z");
const WINDOW = { since: NOW, until: t("2026-11-23T16:00:00Z") };

function action(
  kind: ReportedAction["kind"],
  start: string,
  end: string,
  more: Partial<ReportedAction> = {},
): ReportedAction {
  return {
    kind,
    rule: "prod",
    target: "sdm",
    resource: "db",
    identity: "bob@example.com",
    start: t(start),
    end: t(end),
    reason: "on call: primary (rota)",
    shifts: [],
    status: kind === "unchanged" || kind === "wait" || kind === "skip" ? "skipped" : "planned",
    ...more,
  };
}

function report(actions: ReportedAction[], more: Partial<Report> = {}): Report {
  return {
    dryRun: false,
    exitCode: 0,
    window: WINDOW,
    rules: [{ name: "prod", target: "sdm" }],
    actions,
    errors: [],
    ...more,
  };
}

const BERLIN = { width: 100, color: false, zone: "Europe/Berlin", now: NOW };

/** The table of the first rule: its header and rows, without the two-space indent. */
function tableOf(text: string): string[] {
  const lines = text.split("\n");
  const head = lines.findIndex((l) => l.startsWith("  ACTION"));
  const end = lines.indexOf("", head);
  return lines.slice(head, end).map((l) => l.slice(2));
}

describe("renderText", () => {
  it("shows when a revoke ends the access (when the run makes it), with the end the grant had", () => {
    const text = renderText(
      report([
        action("revoke", "2026-11-22T07:45:00Z", "2026-11-23T07:45:00Z", { reason: "no longer on call" }),
      ]),
      BERLIN,
    );
    assert.deepEqual(tableOf(text), [
      "ACTION  IDENTITY         RESOURCE  START                      END                                                       STATUS   REASON",
      "revoke  bob@example.com  db        Sun 22 Nov 08:45 (07:45Z)  Sun 22 Nov 17:00 (16:00Z), was Mon 23 Nov 08:45 (07:45Z)  planned  no longer on call",
    ]);
  });

  it("says why a row needs no call instead of 'skipped'; the JSON keeps the status 'skipped'", () => {
    const r = report([
      action("unchanged", "2026-11-22T10:00:00Z", "2026-11-22T20:00:00Z"),
      action("wait", "2026-11-22T20:00:00Z", "2026-11-23T08:00:00Z", { note: "teleport cannot start later" }),
      action("skip", "2026-11-22T10:00:00Z", "2026-11-22T20:00:00Z", {
        identity: "-x@example.com",
        note: "not a plain email",
      }),
      action("grant", "2026-11-22T10:00:00Z", "2026-11-22T20:00:00Z", {
        identity: "carol@example.com",
        status: "failed",
        error: "sdm exited 1",
      }),
    ]);
    const statuses = tableOf(renderText(r, BERLIN))
      .slice(1)
      .map((l) => /\)\s{2}(\S+(?: yet)?)\s{2}/.exec(l)?.[1]);
    assert.deepEqual(statuses, ["held", "not yet", "skipped", "failed"]);
    const json = JSON.parse(renderJson(r)) as { actions: { status: string }[] };
    assert.deepEqual(
      json.actions.map((a) => a.status),
      ["skipped", "skipped", "skipped", "failed"],
    );
  });

  it("gives the UTC time its day when that is another day than the viewer's", () => {
    const r = report([action("grant", "2026-11-28T00:15:00Z", "2026-11-28T14:00:00Z")], {
      window: { since: t("2026-11-28T00:15:00Z"), until: t("2026-11-29T00:15:00Z") },
    });
    const newYork = renderText(r, { ...BERLIN, zone: "America/New_York", now: t("2026-11-28T00:15:00Z") });
    assert.equal(
      newYork.split("\n")[0],
      "shiftgrant sync: Fri 27 Nov 19:15 (Sat 00:15Z) → Sat 28 Nov 19:15 (Sun 00:15Z)",
    );
    // Same day: the time alone.
    assert.match(tableOf(newYork)[1] ?? "", /Fri 27 Nov 19:15 \(Sat 00:15Z\) {2}Sat 28 Nov 09:00 \(14:00Z\)/);
    // A viewer on UTC sees UTC only.
    const utc = renderText(r, { ...BERLIN, zone: "UTC", now: t("2026-11-28T00:15:00Z") });
    assert.equal(utc.split("\n")[0], "shiftgrant sync: Sat 28 Nov 00:15Z → Sun 29 Nov 00:15Z");
  });

  it("a rule whose source failed says so where its table goes and lists what it keeps; never 'No one needs access'", () => {
    const kept = action("unchanged", "2026-11-22T09:00:00Z", "2026-11-23T09:15:00Z", {
      rule: "api",
      identity: "alice@example.com",
      reason: "kept: the source failed; nothing planned",
    });
    const grant = action("grant", "2026-11-22T16:00:00Z", "2026-11-22T20:00:00Z");
    const rules = [
      { name: "prod", target: "sdm" },
      { name: "api", target: "sdm" },
      { name: "web", target: "tp" },
    ];
    const errors = [
      { rule: "api", source: "pd", message: "GET /oncalls: 401 Authentication failed" },
      { rule: "web", source: "pd", message: "GET /oncalls: 401 Authentication failed" },
    ];
    const UTC = { ...BERLIN, zone: "UTC" };
    const lines = renderText(report([grant, kept], { rules, errors, exitCode: 3 }), UTC).split("\n");
    const body = lines.slice(2, lines.indexOf("timeline (UTC)"));
    assert.deepEqual(body, [
      "rule prod → target sdm",
      "  ACTION  IDENTITY         RESOURCE  START              END                STATUS   REASON",
      "  grant   bob@example.com  db        Sun 22 Nov 16:00Z  Sun 22 Nov 20:00Z  planned  on call: primary (rota)",
      "",
      "rule api → target sdm: source pd FAILED (GET /oncalls: 401 Authentication failed); nothing was planned for this rule",
      "  ACTION     IDENTITY           RESOURCE  START              END                STATUS  REASON",
      "  unchanged  alice@example.com  db        Sun 22 Nov 09:00Z  Mon 23 Nov 09:15Z  held    kept: the source failed; nothing planned",
      "",
      "rule web → target tp: source pd FAILED (GET /oncalls: 401 Authentication failed); nothing was planned for this rule",
      "  the ledger holds no grant of this rule",
      "",
    ]);
    assert.equal(
      lines.at(-2),
      "summary: 1 grant, 0 extend, 0 shorten, 0 revoke, 0 expire, 1 unchanged, 0 wait, 0 skip, 0 failed, 2 source errors",
    );

    // Nothing held, nothing planned elsewhere: still no "No one needs access in this window."
    const bare = renderText(report([], { rules, errors: errors.slice(0, 1), exitCode: 3 }), UTC);
    assert.deepEqual(bare.split("\n").slice(2, 7), [
      "rule api → target sdm: source pd FAILED (GET /oncalls: 401 Authentication failed); nothing was planned for this rule",
      "  the ledger holds no grant of this rule",
      "",
      "No one needs access in this window under the other rules.",
      "",
    ]);
    assert.ok(!bare.includes("No one needs access in this window.\n"), bare);
    assert.match(bare, /, 1 source error\n$/);
    // Every rule read, nothing to do: the plain sentence, and no source error in the summary.
    const none = renderText(report([], { rules }), UTC);
    assert.deepEqual(none.split("\n").slice(2, 3), ["No one needs access in this window."]);
    assert.match(none, / 0 failed\n$/);
  });

  it("escapes newlines, tabs and other control characters from source data, so no line can be forged", () => {
    const text = renderText(
      report(
        [
          action("grant", "2026-11-22T16:00:00Z", "2026-11-22T20:00:00Z", {
            reason: "on call: Primary\nsummary: 0 grant, 0 extend, 0 revoke\tlevel\u0000 1",
          }),
          action("skip", "2026-11-22T16:00:00Z", "2026-11-22T20:00:00Z", {
            identity: "eve\r\n@example.com\u001b[2J",
            note: "not a plain email\u2028address",
          }),
        ],
        {
          errors: [{ rule: "api", source: "pd", message: "503\nsummary: all good" }],
        },
      ),
      BERLIN,
    );
    const lines = text.split("\n");
    assert.deepEqual(
      lines.filter((l) => l.startsWith("summary:")),
      [
        "summary: 1 grant, 0 extend, 0 shorten, 0 revoke, 0 expire, 0 unchanged, 0 wait, 1 skip, 0 failed, 1 source error",
      ],
    );
    const rows = tableOf(text);
    assert.ok(
      rows[1]?.endsWith("planned  on call: Primary\\nsummary: 0 grant, 0 extend, 0 revoke\\tlevel\\u0000 1"),
      rows[1],
    );
    assert.ok(rows[2]?.startsWith("skip    eve\\r\\n@example.com\\u001b[2J  db"), rows[2]);
    assert.ok(
      rows[2]?.endsWith("skipped  on call: primary (rota) — not a plain email\\u2028address"),
      rows[2],
    );
    assert.ok(lines.includes("  rule api (source pd): 503\\nsummary: all good"));
    assert.ok(!/[\u0000-\u0009\u000b-\u001f\u2028]/.test(text), "a control character got through");
  });

  it("renders 150,000 actions of one rule, each on its own timeline row, without overflowing the stack", () => {
    const base = action("grant", "2026-11-22T16:00:00Z", "2026-11-22T20:00:00Z");
    const actions: ReportedAction[] = [];
    for (let i = 0; i < 150_000; i++) actions.push({ ...base, identity: `u${i}@x.co` });
    const lines = renderText(report(actions), { ...BERLIN, width: 40, zone: "UTC" }).split("\n");
    // Header (2 lines), the rule (3 + 150,000 rows), the timeline (title, 3 axis lines, 150,000
    // rows, legend, blank), the summary, and the final newline.
    assert.equal(lines.length, 2 + 150_003 + 150_006 + 1 + 1);
    assert.equal(
      lines.at(-2),
      "summary: 150000 grant, 0 extend, 0 shorten, 0 revoke, 0 expire, 0 unchanged, 0 wait, 0 skip, 0 failed",
    );
    // 22 bar columns for 24 hours: the 4 hours from now fill the first three.
    assert.ok(lines.includes("u149999@x.co db | ###"));
  });
});
