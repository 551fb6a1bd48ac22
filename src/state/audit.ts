import { constants } from "node:fs";
import { open } from "node:fs/promises";
import path from "node:path";
import type { DateTime } from "luxon";
import { formatUtc } from "../core/time.js";
import { StateError } from "../errors.js";
import type { Action } from "../plan/types.js";
import type { ActionResult } from "../targets/types.js";
import { ensureDir, missingDirs, probeWritableDir, resolveSymlinks } from "./atomic.js";
import { describeError, nodeStateFs, type StateFs, type WritableFile } from "./fs.js";
import { notARegularFile } from "./paths.js";

/**
 * The audit log: one JSON line per applied or failed action, appended as each completes (so a killed
 * run keeps what it did). It never holds a secret: only what the plan and the target's result say.
 */
export type AuditLog = {
  /**
   * Opens the file for appending (creating it and its directory) before the run's first call, so that
   * an audit log that cannot be written stops the run with nothing applied.
   */
  open(): Promise<void>;
  /** Appends one line; rejects if the append fails (the run then starts no further call). */
  record(action: Action, result: ActionResult): Promise<void>;
  close(): Promise<void>;
};

export function createAuditLog(
  file: string | null,
  runId: string,
  now: () => DateTime,
  fs: StateFs = nodeStateFs,
): AuditLog {
  if (!file)
    return { open: async () => undefined, record: async () => undefined, close: async () => undefined };
  let handle: Promise<WritableFile> | null = null;
  let chain: Promise<void> = Promise.resolve();
  const open = (): Promise<WritableFile> => {
    handle ??= (async () => {
      const kind = await notARegularFile(file);
      if (kind)
        throw new StateError(`the audit log ${file} is ${kind}, not a regular file: point audit at a file`);
      try {
        await ensureDir(path.dirname(file), fs);
        return await fs.open(file, "a", 0o600);
      } catch (err) {
        throw new StateError(
          `cannot open the audit log ${file} for appending (${describeError(err)}): nothing was applied; make it (and its directory) writable by the user shiftgrant runs as`,
        );
      }
    })();
    return handle;
  };
  return {
    async open() {
      await open();
    },
    record(action, result) {
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
        ...(result.status === "skipped" ? { note: result.reason } : {}),
      };
      // One append at a time keeps lines whole and in completion order; a failed append does not
      // keep the later ones from being tried.
      const append = chain.then(async () => {
        const fh = await open();
        try {
          await fh.writeFile(`${JSON.stringify(line)}\n`, "utf8");
        } catch (err) {
          throw new Error(`could not append to the audit log ${file} (${describeError(err)})`);
        }
      });
      chain = append.catch(() => undefined);
      return append;
    },
    async close() {
      await chain;
      if (handle) await (await handle.catch(() => null))?.close().catch(() => undefined);
    },
  };
}

/**
 * What a run's `open` needs, checked without writing (`validate --online`): the path is a regular
 * file or absent; an existing file opens for appending; for an absent one, its directory exists or
 * can be created and takes new files. Nothing is created but a probe file, removed at once. Returns
 * the directories a run would create (none when the file exists).
 */
export async function checkAuditLog(
  file: string,
  fs: StateFs = nodeStateFs,
): Promise<{ exists: boolean; missing: string[] }> {
  const kind = await notARegularFile(file);
  if (kind)
    throw new StateError(`the audit log ${file} is ${kind}, not a regular file: point audit at a file`);
  let target: string;
  try {
    target = await resolveSymlinks(file);
  } catch (err) {
    throw new StateError(`cannot resolve the audit log ${file} (${describeError(err)}): fix the symlink`);
  }
  try {
    // Without O_CREAT: an absent file stays absent.
    await (await open(target, constants.O_WRONLY | constants.O_APPEND)).close();
    return { exists: true, missing: [] };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "ENOENT" && code !== "ENOTDIR")
      throw new StateError(
        `cannot open the audit log ${file} for appending (${describeError(err)}): make it writable by the user shiftgrant runs as`,
      );
  }
  const dir = path.dirname(target);
  let missing: string[];
  try {
    missing = await missingDirs(dir);
  } catch (err) {
    throw new StateError(
      `cannot create the audit log's directory ${dir} (${describeError(err)}): create it, writable by the user shiftgrant runs as, or point audit elsewhere`,
    );
  }
  // Creating a directory needs the same right as creating a file in its parent.
  const probeIn = missing[0] !== undefined ? path.dirname(missing[0]) : dir;
  try {
    await probeWritableDir(probeIn, fs, path.basename(target));
  } catch (err) {
    const where =
      probeIn === dir ? `the audit log's directory ${dir}` : `${probeIn} (where ${dir} would be created)`;
    throw new StateError(
      `${where} does not take new files (${describeError(err)}): make it writable by the user shiftgrant runs as, or point audit elsewhere`,
    );
  }
  return { exists: false, missing };
}
