import type { DateTime } from "luxon";
import { UsageError } from "../errors.js";
import { formatUtc, parseDuration, parseInstant, type ParsedDuration } from "../core/time.js";

export const MAX_WINDOW_MS = 90 * 86_400_000;

/**
 * The time window of a run: `since` defaults to now, `until` to `since + window` (the `--window`
 * flag, else the config's `window`). `until <= since` and windows over 90 days are usage errors:
 * PagerDuty renders on-call shifts at most 90 days ahead. Both ends are whole seconds (UTC), as
 * every output shows them; the checks apply to those.
 */
export function resolveWindow(
  flags: { since?: string | undefined; until?: string | undefined; window?: string | undefined },
  configWindow: ParsedDuration,
  now: DateTime,
): { since: DateTime; until: DateTime } {
  if (flags.until !== undefined && flags.window !== undefined)
    throw new UsageError("use --until or --window, not both");
  const since =
    flags.since === undefined ? now.toUTC().startOf("second") : flagInstant("--since", flags.since, now);
  let until: DateTime;
  let length: string;
  if (flags.until !== undefined) {
    until = flagInstant("--until", flags.until, now);
    length = "the window from --since to --until";
  } else {
    let w = configWindow;
    length = `the config's window (${configWindow.text})`;
    if (flags.window !== undefined) {
      const parsed = parseDuration(flags.window);
      if (typeof parsed === "string") throw new UsageError(`--window: ${parsed}`);
      w = parsed;
      length = `--window ${flags.window}`;
    }
    until = since.plus({ milliseconds: w.ms }).startOf("second");
  }
  if (until <= since) {
    throw new UsageError(
      `the window is empty: --until (${formatUtc(until)}) must be after --since (${formatUtc(since)}${flags.since === undefined ? ", now" : ""})`,
    );
  }
  if (until.toMillis() - since.toMillis() > MAX_WINDOW_MS) {
    throw new UsageError(
      `${length} is longer than 90 days, the most PagerDuty renders; use a window of 90d or less`,
    );
  }
  return { since, until };
}

/** `--since`/`--until`: an ISO 8601 time with an offset, or `now`; UTC, whole seconds. */
function flagInstant(flag: string, value: string, now: DateTime): DateTime {
  const text = value.trim();
  // Words like "yesterday" are not times at all: say so, rather than that they lack an offset.
  if (text.toLowerCase() !== "now" && !/^[+-]?\d/.test(text)) {
    throw new UsageError(
      `${flag}: "${value}" is not a time: use ISO 8601 with an offset, like "2026-11-22T09:00:00Z", or "now"`,
    );
  }
  const t = parseInstant(text, now);
  if (typeof t === "string") throw new UsageError(`${flag}: ${t}`);
  return t.toUTC().startOf("second");
}
