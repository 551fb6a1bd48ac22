import { journalPath } from "./ledger.js";
import { findSameFile, type NamedFile } from "./paths.js";

/** The files a real run reads or writes; `audit` and `metrics` only when set. */
export type RunFiles = { config: string; state: string; audit: string | null; metrics: string | null };

/** How `--metrics-file` is named in a clash, so that a caller can tell it was one of the two. */
export const METRICS_ROLE = "--metrics-file";

/**
 * The ledger, its lock and journal, the audit log, the metrics file and the config must be distinct
 * files: one written over another destroys it (metrics in place of the ledger make every later run
 * fail). Compared by real path, symlinks and hard links included. Returns the first clash, or null.
 */
export async function findSharedRunFile(
  f: RunFiles,
): Promise<{ message: string; roles: [string, string] } | null> {
  const files: NamedFile[] = [
    { role: "the config", file: f.config },
    { role: "the ledger (state)", file: f.state },
    { role: "the ledger's lock", file: `${f.state}.lock` },
    { role: "the ledger's journal", file: journalPath(f.state) },
    ...(f.audit ? [{ role: "the audit log (audit)", file: f.audit }] : []),
    ...(f.metrics ? [{ role: METRICS_ROLE, file: f.metrics }] : []),
  ];
  const same = await findSameFile(files);
  if (!same) return null;
  const [a, b] = same;
  return {
    message: `${b.role} (${b.file}) is the same file as ${a.role} (${a.file}): each needs a file of its own`,
    roles: [a.role, b.role],
  };
}
