import type { Action, ActionStatus } from "../plan/types.js";

/**
 * A planned action with what became of it (applied, failed with its error, or skipped). The text
 * table, the timeline and the JSON document all render these; keeping the type apart from the
 * renderers lets them use one another without importing in a circle.
 */
export type ReportedAction = Action & { status: ActionStatus; error?: string };
