import { hostname } from "node:os";
import { mkdir, open, readFile, stat, unlink } from "node:fs/promises";
import path from "node:path";
import { LockedError } from "../errors.js";
import type { Logger } from "../infra/log.js";

/** A lock older than this is taken over even if its process seems alive (a hung run, another host). */
export const STALE_LOCK_MS = 6 * 3_600_000;

type LockInfo = { pid: number; host: string; since: string; runId: string };

export type Lock = { release(): Promise<void> };

/** A takeover that crashed leaves its guard file; one this old is removed. */
const TAKEOVER_GUARD_STALE_MS = 60_000;

/**
 * Takes `<state>.lock` for the whole run: created with O_EXCL, so two runs can never both hold it.
 * A second run fails at once (exit 5) and says who holds it. A lock left by a dead process on this
 * host, or older than STALE_LOCK_MS, is taken over with a warning.
 */
export async function acquireLock(file: string, runId: string, log: Logger, now = Date.now): Promise<Lock> {
  await mkdir(path.dirname(file), { recursive: true });
  const me: LockInfo = { pid: process.pid, host: hostname(), since: new Date(now()).toISOString(), runId };
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await createExclusive(file, `${JSON.stringify(me)}\n`)) {
      return {
        async release() {
          const cur = await readLock(file);
          if (cur.info?.runId === runId) await unlink(file).catch(() => undefined);
        },
      };
    }
    const held = await readLock(file);
    if (held.raw === null) continue; // released in the meantime: try again
    const stale = staleReason(held, now());
    if (!stale) {
      const who = held.info
        ? `pid ${held.info.pid} on ${held.info.host} since ${held.info.since} (run ${held.info.runId})`
        : "a run that is just starting";
      throw new LockedError(`another run holds the lock ${file}: ${who}; this run did nothing`);
    }
    log.warn("taking over a stale lock", { lock: file, reason: stale, holder: held.info ?? null });
    await removeStaleLock(file, held.raw);
  }
  throw new LockedError(`could not take the lock ${file}: other runs kept taking it`);
}

/**
 * Removes a stale lock so that this run can create its own. Several runs may find the same stale
 * lock at once; comparing its content and then removing it is not atomic, so one of them could
 * remove the fresh lock another has just created, and both would run. A guard file (O_EXCL) makes
 * the compare-and-remove exclusive: under it, a lock whose content is still the stale one cannot
 * be anyone's new lock. A run that finds the guard taken exits 5, as for a held lock.
 */
async function removeStaleLock(file: string, staleRaw: string): Promise<void> {
  const guard = `${file}.takeover`;
  if (!(await createExclusive(guard, `${process.pid}\n`))) {
    const age = await ageMs(guard);
    if (age !== null && age > TAKEOVER_GUARD_STALE_MS) {
      await unlink(guard).catch(() => undefined);
      return; // left by a takeover that crashed; the next attempt tries again
    }
    throw new LockedError(`another run is taking over the stale lock ${file}; this run did nothing`);
  }
  try {
    const cur = await readLock(file);
    if (cur.raw === staleRaw) await unlink(file).catch(() => undefined);
  } finally {
    await unlink(guard).catch(() => undefined);
  }
}

/** Creates `file` with `content` if it does not exist; false if it does. */
async function createExclusive(file: string, content: string): Promise<boolean> {
  let fh;
  try {
    fh = await open(file, "wx", 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  }
  try {
    await fh.writeFile(content);
    await fh.sync();
  } finally {
    await fh.close();
  }
  return true;
}

async function ageMs(file: string): Promise<number | null> {
  try {
    return Date.now() - (await stat(file)).mtimeMs;
  } catch {
    return null;
  }
}

async function readLock(
  file: string,
): Promise<{ raw: string | null; info: LockInfo | null; ageMs: number | null }> {
  try {
    const [raw, st] = await Promise.all([readFile(file, "utf8"), stat(file)]);
    let info: LockInfo | null = null;
    try {
      const o = JSON.parse(raw) as LockInfo;
      if (typeof o.pid === "number" && typeof o.host === "string") info = o;
    } catch {
      info = null;
    }
    return { raw, info, ageMs: Date.now() - st.mtimeMs };
  } catch {
    return { raw: null, info: null, ageMs: null };
  }
}

function staleReason(
  held: { raw: string | null; info: LockInfo | null; ageMs: number | null },
  nowMs: number,
): string | null {
  if (held.raw === null) return null;
  if (!held.info) {
    // A run writes its lock right after creating it; an unreadable one this old was left by a crash.
    return held.ageMs !== null && held.ageMs > 60_000
      ? "the lock file is unreadable and over a minute old"
      : null;
  }
  const since = Date.parse(held.info.since);
  if (!Number.isNaN(since) && nowMs - since > STALE_LOCK_MS)
    return `it is older than ${STALE_LOCK_MS / 3_600_000}h`;
  if (held.info.host === hostname() && !processAlive(held.info.pid))
    return `process ${held.info.pid} is gone`;
  return null;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
