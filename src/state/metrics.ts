import type { DateTime } from "luxon";
import type { ActionKind, ActionStatus } from "../plan/types.js";
import { writeFileAtomic } from "./atomic.js";

/** What one run measured, for node_exporter's textfile collector. */
export type RunMetrics = {
  finishedAt: DateTime;
  durationMs: number;
  exitCode: number;
  actions: { kind: ActionKind; status: ActionStatus }[];
  requests: ReadonlyMap<string, number>;
  retries: number;
  sourceErrors: number;
  grantsActive: number;
};

const KINDS: ActionKind[] = ["grant", "extend", "shorten", "revoke", "unchanged", "wait", "skip"];
const STATUSES: ActionStatus[] = ["planned", "applied", "failed", "skipped"];

/** Prometheus text exposition format (version 0.0.4). Every series is always written, zeros included. */
export function renderMetrics(m: RunMetrics): string {
  const out: string[] = [];
  const metric = (name: string, type: "gauge" | "counter", help: string, samples: [string, number][]) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) out.push(`${name}${labels} ${value}`);
  };
  metric("shiftgrant_last_run_timestamp_seconds", "gauge", "When the last sync run finished (Unix time).", [
    ["", Math.round(m.finishedAt.toMillis() / 1000)],
  ]);
  metric("shiftgrant_last_run_duration_seconds", "gauge", "How long the last sync run took.", [
    ["", m.durationMs / 1000],
  ]);
  metric(
    "shiftgrant_last_run_exit_code",
    "gauge",
    "Exit code of the last sync run (0 success; see the README).",
    [["", m.exitCode]],
  );
  const counts = new Map<string, number>();
  for (const a of m.actions)
    counts.set(`${a.kind}/${a.status}`, (counts.get(`${a.kind}/${a.status}`) ?? 0) + 1);
  metric(
    "shiftgrant_last_run_actions",
    "gauge",
    "Actions of the last sync run, by kind and status.",
    KINDS.flatMap((k) =>
      STATUSES.map((s): [string, number] => [`{kind="${k}",status="${s}"}`, counts.get(`${k}/${s}`) ?? 0]),
    ),
  );
  metric(
    "shiftgrant_last_run_source_requests",
    "gauge",
    "HTTP requests the last sync run made to its sources, by method and path.",
    [...m.requests]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([key, n]): [string, number] => {
        const [method, path] = key.split(" ");
        return [`{method="${escape(method ?? "")}",path="${escape(path ?? "")}"}`, n];
      }),
  );
  metric("shiftgrant_last_run_source_retries", "gauge", "Retried HTTP requests in the last sync run.", [
    ["", m.retries],
  ]);
  metric("shiftgrant_last_run_source_errors", "gauge", "Rules whose source failed in the last sync run.", [
    ["", m.sourceErrors],
  ]);
  metric("shiftgrant_grants_active", "gauge", "Grants in the ledger that are in force now.", [
    ["", m.grantsActive],
  ]);
  return `${out.join("\n")}\n`;
}

export async function writeMetrics(file: string, m: RunMetrics): Promise<void> {
  await writeFileAtomic(file, renderMetrics(m), 0o644);
}

function escape(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}
