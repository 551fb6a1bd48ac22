import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { DateTime } from "luxon";
import { formatUtc } from "../core/time.js";
import { StateError } from "../errors.js";
import { IDENTITY_KINDS, isKnownIdentity } from "../core/identity.js";
import type { HeldGrant } from "../plan/types.js";
import { EVENT_ID, NOTIFY_EVENT_TYPES, type NotifyEvent, type NotifyEventType } from "../notify/event.js";
import {
  ensureDir,
  missingDirs,
  probeWritableDir,
  resolveSymlinks,
  syncDir,
  writeFileAtomic,
} from "./atomic.js";
import { describeError, nodeStateFs, type StateFs } from "./fs.js";
import { notARegularFile } from "./paths.js";

/**
 * The ledger: every grant shiftgrant issued that has not ended, per (target, resource, identity),
 * with the rule that asked for it and when. The plan subtracts it from what should exist, which is
 * what makes re-runs idempotent. It is written atomically after every applied action; when a write
 * fails, what is applied from then on goes to an append-only journal beside it (`<state>.journal`),
 * which the next run folds in.
 */
export type LedgerGrant = HeldGrant & { grantedAt: DateTime; runId: string };

/**
 * A notification the ledger keeps: the event, the outlets (a channel, or a Slack channel's direct
 * messages) still to deliver it to, and those done with it (delivered, or given up on). It is put in
 * the same write as the action it tells of, so a run killed before delivering leaves it for the next
 * run; each delivery is recorded as soon as it is made. Kept until `keepUntil`, so that an event seen
 * again (an action failing run after run) is not notified again.
 */
export type NoticeRecord = {
  event: NotifyEvent;
  pending: string[];
  done: string[];
  keepUntil: DateTime;
};

/** `put`: a notice (merged into one with its id: outlets done stay done); `settle`: an outlet is done with it. */
export type NoticeChange = { put: NoticeRecord } | { settle: { id: string; key: string } };

/** What one applied action changes: the grants it ends, those it adds, and its notifications. */
export type LedgerChange = {
  remove: readonly HeldGrant[];
  add: readonly LedgerGrant[];
  notices?: readonly NoticeChange[];
};

export const LEDGER_VERSION = 1;
/** Grants that ended longer ago than this are pruned: they no longer affect any plan. */
const KEEP_AFTER_END_MS = 7 * 86_400_000;
/** Times outside these years are a hand edit or a corrupt file, never a grant shiftgrant issued. */
const MIN_YEAR = 2000;
const MAX_YEAR = 9999;

/**
 * A grant as the file holds it. `preexisting` and `ref` are written only when set, so a ledger of
 * grants without them reads and writes as it did before they existed.
 */
type LedgerFileGrant = {
  target: string;
  resource: string;
  identity: string;
  rule: string;
  start: string;
  end: string;
  grantedAt: string;
  runId: string;
  preexisting?: boolean;
  ref?: Record<string, string>;
};

const RECOVERY =
  "It was left in place. Restore it from a backup, or move it away to start afresh: the next run then issues " +
  "every grant of its window again (strongDM gets a second, overlapping grant; upserting targets are unaffected), " +
  "and revokes of grants issued before are no longer planned.";

export function journalPath(file: string): string {
  return `${file}.journal`;
}

export type LoadedLedger = {
  grants: LedgerGrant[];
  /** Notifications remembered (old ledgers have none). */
  notices: NoticeRecord[];
  /**
   * The journal a run left when it could not write the ledger, already folded into `grants`. The
   * next real run writes the ledger with it and then removes it.
   */
  journal: { file: string; changes: number; tornLastLine: boolean } | null;
};

/**
 * Reads the ledger and folds in its journal. A missing file is an empty ledger (the first run);
 * anything unreadable or implausible stops the run (exit 2) and is left as it is. Entries pass the
 * checks fresh data passes before they can reach a target's argv.
 */
export async function readLedger(file: string): Promise<LoadedLedger> {
  const text = await readStateFile(file, "the ledger");
  const { grants, notices } = text === null ? { grants: [], notices: [] } : parseLedger(text, file);
  const journalFile = journalPath(file);
  const journalText = await readStateFile(journalFile, "the ledger's journal");
  if (journalText === null) return { grants, notices, journal: null };
  const { changes, tornLastLine } = parseJournal(journalText, journalFile);
  let folded = grants;
  const byId = new Map(notices.map((n) => [n.event.id, n]));
  const itself = (g: LedgerGrant) => g;
  for (const c of changes) {
    folded = applyChange(folded, c, itself, itself);
    applyNoticeChanges(byId, c.notices ?? []);
  }
  return {
    grants: folded,
    notices: [...byId.values()],
    journal: { file: journalFile, changes: changes.length, tornLastLine },
  };
}

async function readStateFile(file: string, what: string): Promise<string | null> {
  const kind = await notARegularFile(file);
  if (kind) {
    throw new StateError(`${what} ${file} is ${kind}, not a regular file: point state at a file of its own`);
  }
  try {
    return await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new StateError(
      `cannot read ${what} ${file} (${describeError(err)}): it must be readable and writable by the user shiftgrant runs as`,
    );
  }
}

function parseLedger(text: string, file: string): { grants: LedgerGrant[]; notices: NoticeRecord[] } {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new StateError(
      `the ledger ${file} is not valid JSON (torn, truncated or edited by hand). ${RECOVERY}`,
    );
  }
  const d = doc as { version?: unknown; grants?: unknown; notices?: unknown };
  if (!d || typeof d !== "object" || d.version !== LEDGER_VERSION || !Array.isArray(d.grants)) {
    const v = d && typeof d === "object" ? JSON.stringify(d.version) : "none";
    throw new StateError(
      `the ledger ${file} is not a shiftgrant ledger of version ${LEDGER_VERSION} (version: ${v}). ${RECOVERY}`,
    );
  }
  const grants = d.grants.map((g, i) => parseGrant(g, `${file}: grants[${i}]`, RECOVERY));
  if (d.notices === undefined) return { grants, notices: [] };
  if (!Array.isArray(d.notices)) throw new StateError(`${file}: notices is not a list. ${RECOVERY}`);
  return { grants, notices: d.notices.map((n, i) => parseNotice(n, `${file}: notices[${i}]`, RECOVERY)) };
}

const EVENT_STRINGS = [
  "kind",
  "rule",
  "target",
  "resource",
  "identity",
  "reason",
  "error",
  "source",
] as const;
const EVENT_TIMES = ["at", "start", "end"] as const;

/**
 * A remembered notification. Its text reaches Slack and webhooks (each channel escapes it for its
 * format): plain strings, times as shiftgrant writes them, and nothing else.
 */
function parseNotice(v: unknown, at: string, recovery: string): NoticeRecord {
  const o = v as { event?: unknown; pending?: unknown; done?: unknown; keepUntil?: unknown } | null;
  if (!o || typeof o !== "object") throw new StateError(`${at} is not a notice. ${recovery}`);
  const e = o.event as Record<string, unknown> | null | undefined;
  if (!e || typeof e !== "object") throw new StateError(`${at}.event is missing. ${recovery}`);
  if (typeof e.id !== "string" || !EVENT_ID.test(e.id))
    throw new StateError(`${at}.event.id is not an event id. ${recovery}`);
  if (!NOTIFY_EVENT_TYPES.includes(e.type as NotifyEventType))
    throw new StateError(`${at}.event.type is not one of ${NOTIFY_EVENT_TYPES.join(", ")}. ${recovery}`);
  const event: NotifyEvent = { id: e.id, type: e.type as NotifyEventType, kind: "", at: "" };
  for (const f of [...EVENT_STRINGS, ...EVENT_TIMES]) {
    const x = e[f];
    if (x === undefined && f !== "kind" && f !== "at") continue;
    if (typeof x !== "string" || x.length > 2000)
      throw new StateError(`${at}.event.${f} is missing or not a string. ${recovery}`);
    if ((EVENT_TIMES as readonly string[]).includes(f)) parseTime(x, `${at}.event.${f}`, recovery);
    event[f] = x;
  }
  if (e.counts !== undefined) {
    const c = e.counts as Record<string, unknown> | null;
    const n = (k: string) => (c && Number.isInteger(c[k]) ? (c[k] as number) : -1);
    if (n("granted") < 0 || n("ended") < 0 || n("failed") < 0)
      throw new StateError(`${at}.event.counts are not counts. ${recovery}`);
    event.counts = { granted: n("granted"), ended: n("ended"), failed: n("failed") };
  }
  const keys = (f: "pending" | "done") => {
    const x = o[f];
    if (!Array.isArray(x) || !x.every((k) => typeof k === "string" && isSaneName(k)))
      throw new StateError(`${at}.${f} is not a list of channel names. ${recovery}`);
    return x as string[];
  };
  if (typeof o.keepUntil !== "string") throw new StateError(`${at}.keepUntil is missing. ${recovery}`);
  return {
    event,
    pending: keys("pending"),
    done: keys("done"),
    keepUntil: parseTime(o.keepUntil, `${at}.keepUntil`, recovery),
  };
}

function toFileNotice(n: NoticeRecord): Record<string, unknown> {
  return { event: n.event, pending: n.pending, done: n.done, keepUntil: formatUtc(n.keepUntil) };
}

/** Applies notice changes to notices by id (the map is changed). */
function applyNoticeChanges(byId: Map<string, NoticeRecord>, changes: readonly NoticeChange[]): void {
  for (const c of changes) {
    if ("put" in c) {
      const had = byId.get(c.put.event.id);
      if (!had) {
        byId.set(c.put.event.id, { ...c.put, pending: [...c.put.pending], done: [...c.put.done] });
        continue;
      }
      const pending = [
        ...had.pending,
        ...c.put.pending.filter((k) => !had.pending.includes(k) && !had.done.includes(k)),
      ];
      const keepUntil = c.put.keepUntil > had.keepUntil ? c.put.keepUntil : had.keepUntil;
      byId.set(had.event.id, { ...had, pending, keepUntil });
    } else {
      const had = byId.get(c.settle.id);
      if (!had) continue;
      byId.set(had.event.id, {
        ...had,
        pending: had.pending.filter((k) => k !== c.settle.key),
        done: had.done.includes(c.settle.key) ? had.done : [...had.done, c.settle.key],
      });
    }
  }
}

/**
 * One journal line per applied action. A last line without its newline was cut off by a crash in the
 * middle of its append: it is dropped (the action it held may be made again). Any other bad line
 * stops the run.
 */
function parseJournal(text: string, file: string): { changes: LedgerChange[]; tornLastLine: boolean } {
  const lines = text.split("\n");
  const last = lines.pop() ?? "";
  const recovery =
    "It was left in place, as was the ledger. Fix or remove the line (its action may then be made again by the next run).";
  const changes = lines.map((line, i): LedgerChange => {
    const at = `${file}: line ${i + 1}`;
    let o: unknown;
    try {
      o = JSON.parse(line);
    } catch {
      throw new StateError(`${at} is not valid JSON. ${recovery}`);
    }
    const c = o as { remove?: unknown; add?: unknown; notices?: unknown };
    if (!c || typeof c !== "object" || !Array.isArray(c.remove) || !Array.isArray(c.add))
      throw new StateError(`${at} is not a journal entry (no "remove" and "add" lists). ${recovery}`);
    const out: LedgerChange = {
      remove: c.remove.map((g, j) => parseHeld(g, `${at}: remove[${j}]`, recovery)),
      add: c.add.map((g, j) => parseGrant(g, `${at}: add[${j}]`, recovery)),
    };
    if (c.notices === undefined) return out;
    if (!Array.isArray(c.notices)) throw new StateError(`${at}: notices is not a list. ${recovery}`);
    return {
      ...out,
      notices: c.notices.map((n, j) => parseNoticeChange(n, `${at}: notices[${j}]`, recovery)),
    };
  });
  return { changes, tornLastLine: last !== "" };
}

function parseNoticeChange(v: unknown, at: string, recovery: string): NoticeChange {
  const o = v as { put?: unknown; settle?: { id?: unknown; key?: unknown } } | null;
  if (o && typeof o === "object" && o.put !== undefined)
    return { put: parseNotice(o.put, `${at}.put`, recovery) };
  const s = o?.settle;
  if (s && typeof s.id === "string" && EVENT_ID.test(s.id) && typeof s.key === "string" && isSaneName(s.key))
    return { settle: { id: s.id, key: s.key } };
  throw new StateError(`${at} is neither a put nor a settle of a notice. ${recovery}`);
}

const IDENTITY_KINDS_DESCRIBED = ((nouns: string[]) =>
  nouns.length < 2 ? nouns.join("") : `${nouns.slice(0, -1).join(", ")} or ${nouns.at(-1) ?? ""}`)(
  Object.values(IDENTITY_KINDS).map((k) => k.noun),
);

const HELD_FIELDS = ["target", "resource", "identity", "rule", "start", "end"] as const;

function parseHeld(g: unknown, at: string, recovery: string): HeldGrant {
  const o = g as Partial<LedgerFileGrant>;
  for (const f of HELD_FIELDS) {
    if (!o || typeof o[f] !== "string")
      throw new StateError(`${at}.${f} is missing or not a string. ${recovery}`);
  }
  const x = o as LedgerFileGrant;
  const bad = (f: string, why: string) =>
    new StateError(`${at}.${f} ${JSON.stringify((x as Record<string, unknown>)[f])} ${why}. ${recovery}`);
  if (!isKnownIdentity(x.identity))
    throw bad("identity", `is not ${IDENTITY_KINDS_DESCRIBED}; it is never passed to a target`);
  for (const f of ["target", "resource", "rule"] as const) {
    if (!isSaneName(x[f]))
      throw bad(f, 'is empty, starts with "-" or holds a control character; it is never passed to a target');
  }
  const start = parseTime(x.start, `${at}.start`, recovery);
  const end = parseTime(x.end, `${at}.end`, recovery);
  if (end <= start) throw new StateError(`${at}: end ${x.end} is not after start ${x.start}. ${recovery}`);
  const out: HeldGrant = {
    target: x.target,
    resource: x.resource,
    identity: x.identity,
    rule: x.rule,
    start,
    end,
  };
  if (o.preexisting !== undefined) {
    if (typeof o.preexisting !== "boolean") throw bad("preexisting", "is not true or false");
    if (o.preexisting) out.preexisting = true;
  }
  if (o.ref !== undefined) out.ref = parseRef(o.ref, `${at}.ref`, recovery);
  return out;
}

/** A target's ref reaches its calls (an id in a URL, an argv): plain strings, sane, and few. */
function parseRef(v: unknown, at: string, recovery: string): Record<string, string> {
  if (!v || typeof v !== "object" || Array.isArray(v))
    throw new StateError(`${at} is not a mapping of names to strings. ${recovery}`);
  const out: Record<string, string> = {};
  const entries = Object.entries(v as Record<string, unknown>);
  if (entries.length > 20) throw new StateError(`${at} has more than 20 entries. ${recovery}`);
  for (const [k, val] of entries) {
    if (typeof val !== "string" || !isSaneName(k) || !isSaneName(val))
      throw new StateError(
        `${at}.${k} is not a string, or is empty, starts with "-" or holds a control character. ${recovery}`,
      );
    out[k] = val;
  }
  return out;
}

function parseGrant(g: unknown, at: string, recovery: string): LedgerGrant {
  const held = parseHeld(g, at, recovery);
  const o = g as Partial<LedgerFileGrant>;
  for (const f of ["grantedAt", "runId"] as const) {
    if (typeof o[f] !== "string") throw new StateError(`${at}.${f} is missing or not a string. ${recovery}`);
  }
  const x = o as LedgerFileGrant;
  if (!isSaneName(x.runId))
    throw new StateError(`${at}.runId ${JSON.stringify(x.runId)} holds a control character. ${recovery}`);
  return { ...held, grantedAt: parseTime(x.grantedAt, `${at}.grantedAt`, recovery), runId: x.runId };
}

/** Names that reach an argv: not empty, not read as a flag, no control character. */
function isSaneName(v: string): boolean {
  return v.length > 0 && v.length <= 1000 && !v.startsWith("-") && !/[\u0000-\u001f\u007f-\u009f]/.test(v);
}

/** A time as shiftgrant writes it (UTC with `Z`), or with an explicit offset; never a local time. */
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

function parseTime(v: string, at: string, recovery: string): DateTime {
  const dt = DateTime.fromISO(v, { zone: "utc" });
  if (!TIME.test(v) || !dt.isValid)
    throw new StateError(
      `${at} ${JSON.stringify(v)} is not a time with an offset (e.g. 2026-11-22T09:00:00Z). ${recovery}`,
    );
  if (dt.year < MIN_YEAR || dt.year > MAX_YEAR)
    throw new StateError(`${at} ${v} is outside the years ${MIN_YEAR}–${MAX_YEAR}. ${recovery}`);
  return dt;
}

/**
 * Applies a change to a list of grants (or of entries that hold one). A grant added twice is kept
 * once: a journal may repeat what a write it thought had failed did put in the ledger.
 */
function applyChange<T>(
  items: readonly T[],
  c: LedgerChange,
  grantOf: (item: T) => LedgerGrant,
  make: (g: LedgerGrant) => T,
): T[] {
  const kept = items.filter((item) => !c.remove.some((m) => sameGrant(grantOf(item), m)));
  for (const g of c.add) {
    if (!kept.some((item) => sameGrant(grantOf(item), g))) kept.push(make(g));
  }
  return kept;
}

/** A grant as its line in the file, with the key that orders the file. */
type Entry = { grant: LedgerGrant; key: string; line: string };

function toFileGrant(g: LedgerGrant): LedgerFileGrant {
  return {
    target: g.target,
    resource: g.resource,
    identity: g.identity,
    rule: g.rule,
    start: formatUtc(g.start),
    end: formatUtc(g.end),
    grantedAt: formatUtc(g.grantedAt),
    runId: g.runId,
    ...(g.preexisting ? { preexisting: true } : {}),
    ...(g.ref ? { ref: { ...g.ref } } : {}),
  };
}

function toEntry(g: LedgerGrant): Entry {
  const file = toFileGrant(g);
  return {
    grant: g,
    key: JSON.stringify([file.target, file.resource, file.identity, file.start]),
    line: JSON.stringify(file),
  };
}

/**
 * One grant a line: readable, and cheap to write again and again (each line is made once). `keep`
 * says which ended grants are kept however long ago they ended: those a target still holds until
 * shiftgrant expires them.
 */
function serializeEntries(
  entries: readonly Entry[],
  now: DateTime,
  keep: (g: LedgerGrant) => boolean = () => false,
  notices: Iterable<NoticeRecord> = [],
): string {
  const oldest = now.toMillis() - KEEP_AFTER_END_MS;
  const lines = entries
    .filter((e) => e.grant.end.toMillis() > oldest || keep(e.grant))
    .sort((a, b) => cmp(a.key, b.key))
    .map((e) => `    ${e.line}`);
  const grants = lines.length > 0 ? `[\n${lines.join(",\n")}\n  ]` : "[]";
  // Written only when there are some: a ledger of a config without notifications reads as before.
  const kept = [...notices]
    .filter((n) => n.keepUntil > now)
    .map((n) => `    ${JSON.stringify(toFileNotice(n))}`);
  const tail = kept.length > 0 ? `,\n  "notices": [\n${kept.join(",\n")}\n  ]` : "";
  return `{\n  "version": ${LEDGER_VERSION},\n  "updatedAt": "${formatUtc(now)}",\n  "grants": ${grants}${tail}\n}\n`;
}

function journalLine(c: LedgerChange, runId: string): string {
  const held = (g: HeldGrant) => ({
    target: g.target,
    resource: g.resource,
    identity: g.identity,
    rule: g.rule,
    start: formatUtc(g.start),
    end: formatUtc(g.end),
    ...(g.preexisting ? { preexisting: true } : {}),
    ...(g.ref ? { ref: { ...g.ref } } : {}),
  });
  const notices = c.notices?.map((n) => ("put" in n ? { put: toFileNotice(n.put) } : n));
  return `${JSON.stringify({ runId, remove: c.remove.map(held), add: c.add.map(toFileGrant), ...(notices ? { notices } : {}) })}\n`;
}

/**
 * Before a real run touches anything: the ledger's directory (and that of the file a symlinked
 * ledger points to) exists or is created, and takes new files. A read-only or unreachable directory
 * is exit 2 here, before the lock, any fetch or any call. With `create: false` (`validate --online`)
 * nothing is created but a probe file, removed at once: a missing directory passes when its nearest
 * existing parent takes new entries (creating a directory needs the same right as creating a file).
 * Returns the directories that were missing.
 */
export async function checkStateDir(
  file: string,
  fs: StateFs = nodeStateFs,
  opts: { create?: boolean } = {},
): Promise<{ missing: string[] }> {
  const kind = await notARegularFile(file);
  if (kind)
    throw new StateError(
      `the ledger ${file} is ${kind}, not a regular file: point state at a file of its own`,
    );
  let target: string;
  try {
    target = await resolveSymlinks(file);
  } catch (err) {
    throw new StateError(`cannot resolve the ledger ${file} (${describeError(err)}): fix the symlink`);
  }
  const missing: string[] = [];
  for (const dir of new Set([path.dirname(path.resolve(file)), path.dirname(target)])) {
    let probeIn = dir;
    try {
      const absent = await missingDirs(dir);
      missing.push(...absent);
      if (opts.create ?? true) await ensureDir(dir, fs);
      else if (absent[0] !== undefined) probeIn = path.dirname(absent[0]);
    } catch (err) {
      throw new StateError(
        `cannot create the state directory ${dir} (${describeError(err)}): create it, writable by the user shiftgrant runs as, or point state elsewhere`,
      );
    }
    try {
      await probeWritableDir(probeIn, fs, path.basename(target));
    } catch (err) {
      throw new StateError(
        probeIn === dir
          ? `the state directory ${dir} is not writable (${describeError(err)}): the ledger, its lock and journal live there; make it writable by the user shiftgrant runs as, or point state elsewhere`
          : `cannot create the state directory ${dir}: ${probeIn} does not take new entries (${describeError(err)}); create it, writable by the user shiftgrant runs as, or point state elsewhere`,
      );
    }
  }
  return { missing };
}

/** Why the ledger could not be kept in step, for the run's error. */
export type LedgerProblem = {
  /** The first write that failed: the file and the OS error. */
  error: string;
  journal: string;
  /** Applied actions kept in the journal instead (read by the next run). */
  journaled: number;
  /** Applied actions in neither: the next run may make them again. */
  lost: number;
  journalError: string | null;
};

export type LedgerWriterOptions = {
  runId: string;
  fs?: StateFs;
  /** Called at the first write that fails: the run must start no further call. */
  onFailure?: (error: string) => void;
  /**
   * Ended grants never pruned: access a target holds until shiftgrant expires it (a grant whose
   * expiry keeps failing must not drop out of the ledger after a week).
   */
  keepEnded?: (g: LedgerGrant) => boolean;
  /** The notices the ledger holds (read with it). */
  notices?: readonly NoticeRecord[];
};

/**
 * Keeps the ledger on disk in step with what was applied. Writes are serialized and coalesced: while
 * one write is under way, later changes are gathered into the next one. A write that fails is tried
 * once more; if that fails too, every change not yet written, and every later one, is appended to
 * the journal (fsynced), which the next run folds into the ledger. A change's promise resolves once
 * it is on disk (or could not be put there: `problem` then says so); it never rejects.
 */
export function createLedgerWriter(
  file: string,
  initial: readonly LedgerGrant[],
  now: () => DateTime,
  opts: LedgerWriterOptions,
) {
  const fs = opts.fs ?? nodeStateFs;
  const journal = journalPath(file);
  let entries = initial.map(toEntry);
  const notices = new Map((opts.notices ?? []).map((n) => [n.event.id, n]));
  /** Changes not yet on disk, oldest first, each with the callback that tells its caller. */
  const unwritten: { change: LedgerChange; done: () => void }[] = [];
  let writing: Promise<void> | null = null;
  let dirty = false;
  let cleaned = false;
  let failure: string | null = null;
  let journalMode = false;
  let journaled = 0;
  let journalCreated = false;
  let journalError: string | null = null;

  /** The first `n` changes are on disk (or given up on): their callers go on. */
  const settle = (n: number): void => {
    for (const u of unwritten.splice(0, n)) u.done();
  };
  const writeNow = async (): Promise<void> => {
    const covered = unwritten.length;
    await writeFileAtomic(file, serializeEntries(entries, now(), opts.keepEnded, notices.values()), {
      fs,
      createDir: true,
    });
    settle(covered);
  };
  const appendToJournal = async (): Promise<void> => {
    const batch = unwritten.length;
    if (batch === 0) return;
    try {
      const fh = await fs.open(journal, "a", 0o600);
      try {
        const text = unwritten.slice(0, batch).map((u) => journalLine(u.change, opts.runId));
        await fh.writeFile(text.join(""), "utf8");
        await fh.sync();
      } finally {
        await fh.close().catch(() => undefined);
      }
      if (!journalCreated) {
        journalCreated = true;
        await syncDir(path.dirname(path.resolve(journal)), fs);
      }
      journaled += batch;
      settle(batch);
    } catch (err) {
      // Kept in memory (`lost`) and tried again with the next change; the callers go on (to stop).
      journalError ??= describeError(err);
      for (const u of unwritten) u.done();
    }
  };
  const flushLoop = async (): Promise<void> => {
    if (!cleaned) {
      cleaned = true;
      await removeLeftoverTempFiles(file, fs);
    }
    while (dirty) {
      dirty = false;
      if (journalMode) {
        await appendToJournal();
        continue;
      }
      try {
        await writeNow();
      } catch (err) {
        if (failure === null) {
          failure = `could not write the ledger ${file} (${describeError(err)})`;
          opts.onFailure?.(failure);
        }
        try {
          await writeNow();
        } catch {
          journalMode = true;
          await appendToJournal();
        }
      }
    }
  };
  const schedule = (): void => {
    dirty = true;
    writing ??= flushLoop().finally(() => {
      writing = null;
    });
  };
  const change = (c: LedgerChange): Promise<void> => {
    entries = applyChange(entries, c, (e) => e.grant, toEntry);
    applyNoticeChanges(notices, c.notices ?? []);
    const written = new Promise<void>((resolve) => unwritten.push({ change: c, done: resolve }));
    schedule();
    return written;
  };

  return {
    /**
     * Writes the ledger before the run's first call: a disk that cannot take it fails the run here,
     * with nothing applied. A journal folded in at load is removed once the ledger holds it.
     */
    async prepare(folded: LoadedLedger["journal"]): Promise<void> {
      cleaned = true;
      await removeLeftoverTempFiles(file, fs);
      try {
        await writeFileAtomic(file, serializeEntries(entries, now(), opts.keepEnded, notices.values()), {
          fs,
          createDir: true,
        });
      } catch (err) {
        const kept = folded ? `; the journal ${folded.file} is kept and read again by the next run` : "";
        throw new StateError(
          `could not write the ledger ${file} (${describeError(err)}): nothing was applied${kept}. Free space or fix the error, then re-run`,
        );
      }
      if (!folded) return;
      try {
        await fs.unlink(folded.file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT")
          throw new StateError(
            `the ledger ${file} now holds the ${folded.changes} change(s) of its journal, but the journal could not be removed (${describeError(err)}): remove ${folded.file} by hand before the next run; nothing was applied`,
          );
      }
      await syncDir(path.dirname(path.resolve(folded.file)), fs);
    },
    change,
    add: (g: LedgerGrant, notices?: readonly NoticeChange[]): Promise<void> =>
      change({ remove: [], add: [g], ...(notices?.length ? { notices } : {}) }),
    remove: (matches: readonly HeldGrant[], notices?: readonly NoticeChange[]): Promise<void> =>
      change({ remove: matches, add: [], ...(notices?.length ? { notices } : {}) }),
    /**
     * A shorten applied: the grants it cut end at `end`; one that would start at or after it is gone.
     * As one change, so the journal keeps it whole.
     */
    shorten(matches: readonly HeldGrant[], end: DateTime, notices?: readonly NoticeChange[]): Promise<void> {
      const cut = entries.map((e) => e.grant).filter((g) => matches.some((m) => sameGrant(g, m)));
      return change({
        remove: cut,
        add: cut.filter((g) => g.start < end).map((g) => (g.end > end ? { ...g, end } : g)),
        ...(notices?.length ? { notices } : {}),
      });
    },
    /** Waits for every change to be on disk; in journal mode, tries once more what could not be kept. */
    async flush(): Promise<void> {
      if (unwritten.length > 0) schedule();
      while (writing) await writing;
    },
    /** Notice changes alone (a delivery made, an event to tell of): on disk when it resolves. */
    notice: (...changes: NoticeChange[]): Promise<void> => change({ remove: [], add: [], notices: changes }),
    get notices(): readonly NoticeRecord[] {
      return [...notices.values()];
    },
    get grants(): readonly LedgerGrant[] {
      return entries.map((e) => e.grant);
    },
    get problem(): LedgerProblem | null {
      if (failure === null) return null;
      return { error: failure, journal, journaled, lost: unwritten.length, journalError };
    },
  };
}

export type LedgerWriter = ReturnType<typeof createLedgerWriter>;

/**
 * A run killed while writing the ledger leaves its temp file beside it (the ledger itself is whole:
 * the rename never happened). The writer holds the run lock, so no other run is writing: every temp
 * file of the ledger that is not this process's is such a leftover.
 */
async function removeLeftoverTempFiles(file: string, fs: StateFs): Promise<void> {
  let target: string;
  try {
    target = await resolveSymlinks(file);
  } catch {
    return;
  }
  const dir = path.dirname(target);
  const prefix = `.${path.basename(target)}.`;
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  const pattern = /^(\d+)\.[0-9a-f]{8}\.tmp$/;
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const m = pattern.exec(name.slice(prefix.length));
    if (!m || Number(m[1]) === process.pid) continue;
    await fs.unlink(path.join(dir, name)).catch(() => undefined);
  }
}

/**
 * One grant: the same access, rule and interval, and the same thing behind it (`ref`): two access
 * requests of one person for the same roles are two grants, each undone by itself.
 */
function sameGrant(a: HeldGrant, b: HeldGrant): boolean {
  return (
    a.target === b.target &&
    a.resource === b.resource &&
    a.identity === b.identity &&
    a.rule === b.rule &&
    a.start.toMillis() === b.start.toMillis() &&
    a.end.toMillis() === b.end.toMillis() &&
    sameRef(a.ref, b.ref)
  );
}

function sameRef(a: HeldGrant["ref"], b: HeldGrant["ref"]): boolean {
  if (a === b) return true;
  const ka = Object.keys(a ?? {});
  return ka.length === Object.keys(b ?? {}).length && ka.every((k) => a?.[k] === b?.[k]);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
