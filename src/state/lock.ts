import { hostname } from "node:os";
import { mkdir, open, readFile, readlink, stat, unlink, type FileHandle } from "node:fs/promises";
import path from "node:path";
import { LockedError, StateError } from "../errors.js";
import type { Logger } from "../infra/log.js";

/** How often a holder refreshes its lock's heartbeat (the lock file's mtime). */
export const HEARTBEAT_MS = 30_000;
/**
 * A lock whose heartbeat is older than this is taken over, whoever holds it: its holder has missed
 * six beats, so it is dead, or frozen (stopped, or its event loop blocked) on a machine we cannot see.
 */
export const STALE_HEARTBEAT_MS = 180_000;

/**
 * What a lock file says about its holder. `bootId`, `pidNamespace` and `startTicks` (the process's
 * start time in clock ticks since boot) are null where the OS does not tell (no /proc); together
 * with `host` they say whether `pid` can be checked from here, and whether it is still the same
 * process.
 */
type LockInfo = {
  pid: number;
  host: string;
  since: string;
  runId: string;
  bootId: string | null;
  pidNamespace: string | null;
  startTicks: number | null;
};

type Held = { raw: string; info: LockInfo | null; mtimeMs: number };

/** Where this process runs, as a lock file records it. */
type Machine = Pick<LockInfo, "host" | "bootId" | "pidNamespace">;

export type Lock = {
  /** Stops the heartbeat and removes the lock if it is still this run's. Safe to call twice. */
  release(): Promise<void>;
};

export type LockOptions = {
  /** The clock of the heartbeat and of staleness, in ms since the epoch; tests move it. */
  now?: () => number;
  heartbeatMs?: number;
  /** Calls `beat` every `ms` until the returned function is called; tests drive it by hand. */
  every?: (ms: number, beat: () => Promise<void>) => () => void;
};

/** A takeover that crashed leaves its guard file; one this old is removed. */
const TAKEOVER_GUARD_STALE_MS = 60_000;

/**
 * The (lock, run) pairs this process holds or is taking. A lock naming this process's pid with a
 * run that is not here was left by an earlier process with our pid (a restarted container is PID 1
 * again). A process runs one sync; only tests take several locks in one process.
 */
const runsHere = new Set<string>();
const runHere = (file: string, runId: string) => `${path.resolve(file)}\n${runId}`;

/**
 * Takes `<state>.lock` for the whole run: created with O_EXCL, so two runs can never both hold it.
 * A second run fails at once (exit 5) and says who holds it. While it runs, the holder refreshes the
 * lock file's mtime (its heartbeat) every 30 s. A lock is taken over with a warning when its holder
 * is provably gone: on this machine (same host, boot and pid namespace) when its pid is not running,
 * or runs a process started at another time (a reused pid), or is our own pid in another run; from
 * anywhere, when its heartbeat is over 3 minutes old. A holder that keeps its heartbeat is never
 * taken over, however long it runs.
 *
 * The lock is the first thing a run writes beside the ledger, so a state directory that cannot be
 * created or written fails here, with exit 2 naming the path and the OS error.
 */
export async function acquireLock(
  file: string,
  runId: string,
  log: Logger,
  opts: LockOptions = {},
): Promise<Lock> {
  const now = opts.now ?? Date.now;
  const here = await thisMachine();
  const me: LockInfo = {
    pid: process.pid,
    ...here,
    since: new Date(now()).toISOString(),
    runId,
    startTicks: await startTicks(process.pid),
  };
  try {
    await mkdir(path.dirname(file), { recursive: true });
  } catch (err) {
    throw unusableStateDir(file, err);
  }
  // Registered before the file exists: another run of this process may read it at once.
  runsHere.add(runHere(file, runId));
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      const fh = await createExclusive(file, `${JSON.stringify(me)}\n`);
      if (fh) return await holdLock(file, fh, runId, log, { ...opts, now });
      const held = await readLock(file);
      if (held === null) continue; // released in the meantime: try again
      const stale = await staleReason(file, held, now(), here);
      if (!stale) {
        const who = held.info
          ? `pid ${held.info.pid} on ${held.info.host} since ${held.info.since} (run ${held.info.runId})`
          : "a run that is just starting";
        throw new LockedError(`another run holds the lock ${file}: ${who}; this run did nothing`);
      }
      log.warn("taking over a stale lock", { lock: file, reason: stale, holder: held.info ?? null });
      await removeStaleLock(
        file,
        held.raw,
        async (cur) => (await staleReason(file, cur, now(), here)) !== null,
      );
    }
  } catch (err) {
    runsHere.delete(runHere(file, runId));
    throw err;
  }
  runsHere.delete(runHere(file, runId));
  throw new LockedError(`could not take the lock ${file}: other runs kept taking it`);
}

/**
 * Starts the heartbeat of a lock just created. The handle stays open for the whole run: it names our
 * file even after another run has replaced it, so the heartbeat never refreshes someone else's lock.
 */
async function holdLock(
  file: string,
  fh: FileHandle,
  runId: string,
  log: Logger,
  opts: LockOptions & { now: () => number },
): Promise<Lock> {
  const first = new Date(opts.now());
  try {
    await fh.utimes(first, first);
  } catch (err) {
    await fh.close().catch(() => undefined);
    await unlink(file).catch(() => undefined);
    throw unusableStateDir(file, err);
  }
  let busy = false;
  let stopped = false;
  let cancel: () => void = () => undefined;
  const stop = () => {
    stopped = true;
    cancel();
  };
  const beat = async () => {
    if (busy || stopped) return;
    busy = true;
    try {
      if (!(await stillOurs(file, fh))) {
        // Only a run that found our heartbeat over 3 minutes old does this: this process was frozen.
        log.error("this run no longer holds its lock: another run took it over", { lock: file });
        stop();
        return;
      }
      const t = new Date(opts.now());
      await fh.utimes(t, t);
    } catch (err) {
      log.warn("could not refresh the lock's heartbeat", { lock: file, error: String(err) });
    } finally {
      busy = false;
    }
  };
  cancel = (opts.every ?? everyUnref)(opts.heartbeatMs ?? HEARTBEAT_MS, beat);
  let released: Promise<void> | null = null;
  return {
    release() {
      released ??= (async () => {
        stop();
        try {
          if (await stillOurs(file, fh)) await unlink(file).catch(() => undefined);
        } finally {
          runsHere.delete(runHere(file, runId));
          await fh.close().catch(() => undefined);
        }
      })();
      return released;
    },
  };
}

function everyUnref(ms: number, beat: () => Promise<void>): () => void {
  const timer = setInterval(() => void beat(), ms);
  // The heartbeat must never keep a finished run alive.
  timer.unref();
  return () => clearInterval(timer);
}

/** Whether `file` is still the file this handle opened (not removed, not replaced by another run's). */
async function stillOurs(file: string, fh: FileHandle): Promise<boolean> {
  const [mine, cur] = await Promise.all([fh.stat(), stat(file).catch(() => null)]);
  return cur !== null && cur.ino === mine.ino && cur.dev === mine.dev;
}

/**
 * Removes a stale lock so that this run can create its own. Several runs may find the same stale
 * lock at once; comparing its content and then removing it is not atomic, so one of them could
 * remove the fresh lock another has just created, and both would run. A guard file (O_EXCL) makes
 * the compare-and-remove exclusive: under it, a lock whose content is still the stale one cannot
 * be anyone's new lock. Its staleness is judged again there, in case its holder's heartbeat came
 * late. A run that finds the guard taken exits 5, as for a held lock.
 */
async function removeStaleLock(
  file: string,
  staleRaw: string,
  stillStale: (cur: Held) => Promise<boolean>,
): Promise<void> {
  const guard = `${file}.takeover`;
  const guardHandle = await createExclusive(guard, `${process.pid}\n`);
  if (!guardHandle) {
    const age = await ageMs(guard);
    if (age !== null && age > TAKEOVER_GUARD_STALE_MS) {
      await unlink(guard).catch(() => undefined);
      return; // left by a takeover that crashed; the next attempt tries again
    }
    throw new LockedError(`another run is taking over the stale lock ${file}; this run did nothing`);
  }
  await guardHandle.close();
  try {
    const cur = await readLock(file);
    if (cur?.raw === staleRaw && (await stillStale(cur))) await unlink(file).catch(() => undefined);
  } finally {
    await unlink(guard).catch(() => undefined);
  }
}

/** Creates `file` with `content` if it does not exist, and returns its open handle; null if it does. */
async function createExclusive(file: string, content: string): Promise<FileHandle | null> {
  let fh: FileHandle;
  try {
    fh = await open(file, "wx", 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return null;
    throw unusableStateDir(file, err);
  }
  try {
    await fh.writeFile(content);
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => undefined);
    await unlink(file).catch(() => undefined);
    throw unusableStateDir(file, err);
  }
  return fh;
}

function unusableStateDir(file: string, err: unknown): StateError {
  const dir = path.dirname(file);
  const code = (err as NodeJS.ErrnoException).code;
  const why =
    code === "ENOTDIR" || code === "EEXIST"
      ? `a part of ${dir} is not a directory`
      : code === "EACCES" || code === "EPERM"
        ? `permission denied`
        : code === "EROFS"
          ? `${dir} is on a read-only file system`
          : code === "ENOSPC"
            ? `no space left on the device of ${dir}`
            : "it cannot be written";
  const os = err instanceof Error ? err.message : String(err);
  return new StateError(
    `cannot create the lock ${file}: ${why} (${os}); the lock and the ledger need a state directory that exists (or can be created) and is writable by the user running shiftgrant: fix ${dir}, or set state: (or --state) to another path`,
  );
}

async function ageMs(file: string): Promise<number | null> {
  try {
    return Date.now() - (await stat(file)).mtimeMs;
  } catch {
    return null;
  }
}

/** The lock as it is now; null if there is none. */
async function readLock(file: string): Promise<Held | null> {
  let raw: string;
  let mtimeMs: number;
  try {
    const st = await stat(file);
    // A FIFO would block the read for ever, a device could be endless.
    if (!st.isFile()) {
      throw new StateError(
        `the lock ${file} is not a regular file; remove it (shiftgrant creates it for each run)`,
      );
    }
    mtimeMs = st.mtimeMs;
    raw = await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    if (err instanceof StateError) throw err;
    throw new StateError(
      `cannot read the lock ${file} (${err instanceof Error ? err.message : String(err)}); the user running shiftgrant must be able to read and write the state directory`,
    );
  }
  return { raw, info: parseInfo(raw), mtimeMs };
}

function parseInfo(raw: string): LockInfo | null {
  let o: Partial<Record<keyof LockInfo, unknown>>;
  try {
    o = JSON.parse(raw) as typeof o;
  } catch {
    return null;
  }
  if (o === null || typeof o !== "object" || typeof o.pid !== "number" || typeof o.host !== "string")
    return null;
  const text = (v: unknown) => (typeof v === "string" ? v : null);
  return {
    pid: o.pid,
    host: o.host,
    since: text(o.since) ?? "an unknown time",
    runId: text(o.runId) ?? "unknown",
    // A field a lock does not have (an older version wrote it) is unknown, never a match.
    bootId: text(o.bootId),
    pidNamespace: text(o.pidNamespace),
    startTicks: typeof o.startTicks === "number" ? o.startTicks : null,
  };
}

/** Why the lock `held` can be taken over, or null while its holder may be alive. */
async function staleReason(file: string, held: Held, nowMs: number, here: Machine): Promise<string | null> {
  const beatAge = nowMs - held.mtimeMs;
  if (!held.info) {
    // A run writes its lock right after creating it; an unreadable one this old was left by a crash.
    return beatAge > 60_000 ? "the lock file is unreadable and over a minute old" : null;
  }
  const { info } = held;
  // On the same host, boot and pid namespace, the pid means the same process as for us: check it.
  const sameMachine =
    info.host === here.host && info.bootId === here.bootId && info.pidNamespace === here.pidNamespace;
  if (sameMachine) {
    if (info.pid === process.pid) {
      if (!runsHere.has(runHere(file, info.runId)))
        return `it names this process (pid ${info.pid}) but not one of its runs: an earlier process had the same pid`;
    } else if (!processAlive(info.pid)) {
      return `process ${info.pid} is gone`;
    } else {
      const started = await startTicks(info.pid);
      if (info.startTicks !== null && started !== null && started !== info.startTicks)
        return `pid ${info.pid} is now another process (it started at another time)`;
    }
  }
  if (beatAge > STALE_HEARTBEAT_MS)
    return `its heartbeat stopped ${Math.round(beatAge / 1000)}s ago (a live holder refreshes it every ${HEARTBEAT_MS / 1000}s)`;
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

/** The host, boot and pid namespace of this process (the last two null without /proc). */
async function thisMachine(): Promise<Machine> {
  const [bootId, pidNamespace] = await Promise.all([
    readFile("/proc/sys/kernel/random/boot_id", "utf8").then(
      (s) => s.trim() || null,
      () => null,
    ),
    readlink("/proc/self/ns/pid").catch(() => null),
  ]);
  return { host: hostname(), bootId, pidNamespace };
}

/** A process's start time in clock ticks since boot (field 22 of /proc/PID/stat); null if unknown. */
async function startTicks(pid: number): Promise<number | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) is in parentheses and may hold spaces and parentheses itself.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[19]);
    return Number.isSafeInteger(ticks) ? ticks : null;
  } catch {
    return null;
  }
}
