import type { NotifyEvent } from "./event.js";

/**
 * The words of a notification, the same for every channel: a title and the lines under it. Every
 * value in them comes from a source, a target or the config, so each channel escapes them for its
 * own format (Slack's mrkdwn, a terminal) before they are shown.
 */
export type MessageText = { title: string; lines: string[] };

export function describeEvent(e: NotifyEvent): MessageText {
  const who = e.identity ?? "";
  const what = `${e.resource ?? ""} on ${e.target ?? ""}`;
  const span = `from ${short(e.start)} until ${short(e.end)}`;
  const why = e.reason ? [`why: ${e.reason}${e.rule ? ` (rule ${e.rule})` : ""}`] : [];
  switch (e.type) {
    case "granted":
      if (e.kind === "extend")
        return {
          title: `Access extended: ${who} to ${what}`,
          lines: [`now until ${short(e.end)} (it was until ${short(e.start)})`, ...why],
        };
      return {
        title: `Access ${e.kind === "shorten" ? "cut short" : "granted"}: ${who} to ${what}`,
        lines: [span, ...why],
      };
    case "ended":
      return {
        title: `Access ended: ${who} from ${what}`,
        lines: [`${e.kind === "expire" ? "expired" : "revoked"}; it was granted ${span}`, ...why],
      };
    case "failed":
      if (e.kind === "source")
        return {
          title: `On-call data could not be read: rule ${e.rule ?? ""} (source ${e.source ?? ""})`,
          lines: [`${e.error ?? ""}`, "this rule planned nothing: no grant, no revoke until it reads again"],
        };
      if (e.kind === "overdue")
        return {
          title: `Access past its end is still there: ${who} on ${what}`,
          lines: [`it ended at ${short(e.end)}; the next run tries to remove it again`, ...why],
        };
      return {
        title: `Access ${e.kind === "skip" ? "not given" : `${e.kind} failed`}: ${who} on ${what}`,
        lines: [span, `error: ${e.error ?? "unknown"}`, ...why, "the next run tries again"],
      };
    case "summary": {
      const c = e.counts ?? { granted: 0, ended: 0, failed: 0 };
      return { title: `shiftgrant: ${c.granted} granted, ${c.ended} ended, ${c.failed} failed`, lines: [] };
    }
  }
}

/** `2026-11-22T09:00:00Z` as `2026-11-22 09:00 UTC`. */
function short(t: string | undefined): string {
  if (!t) return "?";
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}):\d{2}Z$/.exec(t);
  return m ? `${m[1] ?? ""} ${m[2] ?? ""} UTC` : t;
}
