import { open, stat } from "node:fs/promises";
import path from "node:path";
import type { DateTime } from "luxon";
import { UsageError } from "../errors.js";
import { ACTION_KINDS, type ActionKind, type ActionStatus } from "../plan/types.js";
import { probeWritableDir, resolveSymlinks, writeFileAtomic } from "./atomic.js";
import { describeError, nodeStateFs, type StateFs } from "./fs.js";
import { notARegularFile } from "./paths.js";

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
  /** Expiries due that the run left undone (failed, or not made): access past its end. */
  overdueExpiries?: number;
  /** Messages of the run per notification channel: sent, failed, skipped (none: no series). */
  notifications?: ReadonlyMap<string, { sent: number; failed: number; skipped: number }>;
};

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
    "Exit code of the last sync run (0 success; see docs/output.md).",
    [["", m.exitCode]],
  );
  const counts = new Map<string, number>();
  for (const a of m.actions)
    counts.set(`${a.kind}/${a.status}`, (counts.get(`${a.kind}/${a.status}`) ?? 0) + 1);
  metric(
    "shiftgrant_last_run_actions",
    "gauge",
    "Actions of the last sync run, by kind and status.",
    ACTION_KINDS.flatMap((k) =>
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
  metric(
    "shiftgrant_overdue_expiries",
    "gauge",
    "Access past its end that the last sync run could not expire (the next run tries again).",
    [["", m.overdueExpiries ?? 0]],
  );
  if (m.notifications && m.notifications.size > 0)
    metric(
      "shiftgrant_last_run_notifications",
      "gauge",
      "Notifications of the last sync run, by channel and result (sent, failed, skipped).",
      [...m.notifications].flatMap(([channel, t]) =>
        (["sent", "failed", "skipped"] as const).map((r): [string, number] => [
          `{channel="${escape(channel)}",result="${r}"}`,
          t[r],
        ]),
      ),
    );
  return `${out.join("\n")}\n`;
}

/** Every file this program writes starts so; any other content is someone else's file. */
const HEADER = "# HELP shiftgrant_";

/**
 * Checked before a run does anything. The metrics file's directory must exist: it is never created,
 * so that a typo in a textfile-collector path cannot go unnoticed. It must take new files (a read-only
 * mount or /proc fails here, at once). The file must be absent, empty, or metrics this program wrote:
 * anything else (the ledger, the config) is never overwritten.
 */
export async function checkMetricsFile(file: string, fs: StateFs = nodeStateFs): Promise<void> {
  const flag = `--metrics-file ${file}`;
  let target: string;
  try {
    target = await resolveSymlinks(file);
  } catch (err) {
    throw new UsageError(`${flag}: cannot resolve the path (${describeError(err)}); fix it`);
  }
  const dir = path.dirname(target);
  let isDir: boolean;
  try {
    isDir = (await stat(dir)).isDirectory();
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === "ENOENT";
    throw new UsageError(
      missing
        ? `${flag}: the directory ${dir} does not exist; create it or fix the path (shiftgrant never creates it)`
        : `${flag}: cannot reach the directory ${dir} (${describeError(err)}); fix the path`,
    );
  }
  if (!isDir) throw new UsageError(`${flag}: ${dir} is not a directory; fix the path`);
  const kind = await notARegularFile(target);
  if (kind) throw new UsageError(`${flag} is ${kind}, not a regular file; point it at a file`);
  const head = await readHead(target, HEADER.length);
  if (head !== null && head !== "" && head !== HEADER) {
    throw new UsageError(
      `${flag} exists and is not a shiftgrant metrics file; it is left as it is: point --metrics-file at a file of its own`,
    );
  }
  try {
    await probeWritableDir(dir, fs, path.basename(target));
  } catch (err) {
    throw new UsageError(
      `${flag}: cannot create files in ${dir} (${describeError(err)}); make it writable by the user shiftgrant runs as`,
    );
  }
}

async function readHead(file: string, bytes: number): Promise<string | null> {
  let fh;
  try {
    fh = await open(file, "r");
  } catch {
    return null;
  }
  try {
    const buf = Buffer.alloc(bytes);
    const { bytesRead } = await fh.read(buf, 0, bytes, 0);
    return buf.subarray(0, bytesRead).toString("utf8");
  } finally {
    await fh.close();
  }
}

/** Replaces the file atomically; its directory is never created (see checkMetricsFile). */
export async function writeMetrics(file: string, m: RunMetrics, fs: StateFs = nodeStateFs): Promise<void> {
  await writeFileAtomic(file, renderMetrics(m), { mode: 0o644, fs });
}

function escape(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}
