import type { DateTime } from "luxon";
import { UsageError } from "../errors.js";
import { parseDuration, parseInstant, type ParsedDuration } from "./time.js";

export const MAX_WINDOW_MS = 90 * 86_400_000;

/**
 * The time window of a run: `since` defaults to now, `until` to `since + window` (the `--window`
 * flag, else the config's `window`). `until <= since` and windows over 90 days are usage errors:
 * PagerDuty renders on-call shifts at most 90 days ahead.
 */
export function resolveWindow(
  flags: { since?: string | undefined; until?: string | undefined; window?: string | undefined },
  configWindow: ParsedDuration,
  now: DateTime,
): { since: DateTime; until: DateTime } {
  if (flags.until !== undefined && flags.window !== undefined)
    throw new UsageError("use --until or --window, not both");
  const since = flags.since === undefined ? now : parseInstant(flags.since, now);
  if (typeof since === "string") throw new UsageError(`--since: ${since}`);
  let until: DateTime;
  if (flags.until !== undefined) {
    const u = parseInstant(flags.until, now);
    if (typeof u === "string") throw new UsageError(`--until: ${u}`);
    until = u;
  } else {
    let w = configWindow;
    if (flags.window !== undefined) {
      const parsed = parseDuration(flags.window);
      if (typeof parsed === "string") throw new UsageError(`--window: ${parsed}`);
      w = parsed;
    }
    until = since.plus({ milliseconds: w.ms });
  }
  if (until <= since) throw new UsageError("the window is empty: --until must be after --since");
  if (until.toMillis() - since.toMillis() > MAX_WINDOW_MS) {
    throw new UsageError(
      "the window is longer than 90 days; use a shorter --window (PagerDuty renders at most 90 days)",
    );
  }
  return { since: since.toUTC().startOf("second"), until: until.toUTC().startOf("second") };
}
