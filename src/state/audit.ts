import { appendFile, mkdir } from "node:fs/promises";
import path from "node:path";
import type { DateTime } from "luxon";
import { formatUtc } from "../config/time.js";
import type { Action } from "../plan/types.js";
import type { ActionResult } from "../targets/types.js";

/**
 * The audit log: one JSON line per applied or failed action, appended as each completes (so a killed
 * run keeps what it did). It never holds a secret: only what the plan and the target's result say.
 */
export type AuditLog = { record(action: Action, result: ActionResult): Promise<void> };

export function createAuditLog(file: string | null, runId: string, now: () => DateTime): AuditLog {
  if (!file) return { record: async () => undefined };
  let ready: Promise<unknown> | null = null;
  let chain: Promise<void> = Promise.resolve();
  return {
    record(action, result) {
      ready ??= mkdir(path.dirname(file), { recursive: true });
      const line = {
        time: formatUtc(now()),
        runId,
        rule: action.rule,
        kind: action.kind,
        target: action.target,
        resource: action.resource,
        identity: action.identity,
        start: formatUtc(action.start),
        end: formatUtc(action.end),
        reason: action.reason,
        shifts: action.shifts.map((s) => ({
          scheduleId: s.schedule.id,
          schedule: s.schedule.name,
          level: s.level,
        })),
        result: result.status,
        ...(result.status === "failed" ? { error: result.error } : {}),
      };
      // One append at a time keeps lines whole and in completion order.
      chain = chain.then(async () => {
        await ready;
        await appendFile(file, `${JSON.stringify(line)}\n`, { mode: 0o600 });
      });
      return chain;
    },
  };
}
