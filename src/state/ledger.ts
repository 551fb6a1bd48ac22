import { readdir, readFile, unlink } from "node:fs/promises";
import path from "node:path";
import { DateTime } from "luxon";
import { formatUtc } from "../config/time.js";
import { StateError } from "../errors.js";
import type { HeldGrant } from "../plan/types.js";
import { writeFileAtomic } from "./atomic.js";

/**
 * The ledger: every grant shiftgrant issued that has not ended, per (target, resource, identity),
 * with the rule that asked for it and when. The plan subtracts it from what should exist, which is
 * what makes re-runs idempotent. It is written atomically after every applied action.
 */
export type LedgerGrant = HeldGrant & { grantedAt: DateTime; runId: string };

export const LEDGER_VERSION = 1;
/** Grants that ended longer ago than this are pruned: they no longer affect any plan. */
const KEEP_AFTER_END_MS = 7 * 86_400_000;

type LedgerFileGrant = {
  target: string;
  resource: string;
  identity: string;
  rule: string;
  start: string;
  end: string;
  grantedAt: string;
  runId: string;
};

const RECOVERY =
  "It was left in place. Restore it from a backup, or move it away to start afresh: the next run then issues " +
  "every grant of its window again (strongDM gets a second, overlapping grant; upserting targets are unaffected), " +
  "and revokes of grants issued before are no longer planned.";

/** Reads the ledger. A missing file is an empty ledger (the first run); anything unreadable stops the run. */
export async function loadLedger(file: string): Promise<LedgerGrant[]> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw new StateError(
      `cannot read the ledger ${file} (${(err as NodeJS.ErrnoException).code ?? "error"})`,
    );
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new StateError(
      `the ledger ${file} is not valid JSON (torn, truncated or edited by hand). ${RECOVERY}`,
    );
  }
  const d = doc as { version?: unknown; grants?: unknown };
  if (!d || typeof d !== "object" || d.version !== LEDGER_VERSION || !Array.isArray(d.grants)) {
    const v = d && typeof d === "object" ? JSON.stringify(d.version) : "none";
    throw new StateError(
      `the ledger ${file} is not a shiftgrant ledger of version ${LEDGER_VERSION} (version: ${v}). ${RECOVERY}`,
    );
  }
  return d.grants.map((g, i) => parseGrant(g, `${file}: grants[${i}]`));
}

function parseGrant(g: unknown, at: string): LedgerGrant {
  const o = g as Partial<LedgerFileGrant>;
  const fields = ["target", "resource", "identity", "rule", "start", "end", "grantedAt", "runId"] as const;
  for (const f of fields) {
    if (!o || typeof o[f] !== "string")
      throw new StateError(`${at}.${f} is missing or not a string. ${RECOVERY}`);
  }
  const t = (v: string, f: string) => {
    const dt = DateTime.fromISO(v, { zone: "utc" });
    if (!dt.isValid) throw new StateError(`${at}.${f} "${v}" is not a time. ${RECOVERY}`);
    return dt;
  };
  const x = o as LedgerFileGrant;
  return {
    target: x.target,
    resource: x.resource,
    identity: x.identity,
    rule: x.rule,
    start: t(x.start, "start"),
    end: t(x.end, "end"),
    grantedAt: t(x.grantedAt, "grantedAt"),
    runId: x.runId,
  };
}

/** A grant as its line in the file, with the key that orders the file. */
type Entry = { grant: LedgerGrant; key: string; line: string };

function toEntry(g: LedgerGrant): Entry {
  const file: LedgerFileGrant = {
    target: g.target,
    resource: g.resource,
    identity: g.identity,
    rule: g.rule,
    start: formatUtc(g.start),
    end: formatUtc(g.end),
    grantedAt: formatUtc(g.grantedAt),
    runId: g.runId,
  };
  return {
    grant: g,
    key: JSON.stringify([file.target, file.resource, file.identity, file.start]),
    line: JSON.stringify(file),
  };
}

/** One grant a line: readable, and cheap to write again and again (each line is made once). */
function serializeEntries(entries: readonly Entry[], now: DateTime): string {
  const oldest = now.toMillis() - KEEP_AFTER_END_MS;
  const lines = entries
    .filter((e) => e.grant.end.toMillis() > oldest)
    .sort((a, b) => cmp(a.key, b.key))
    .map((e) => `    ${e.line}`);
  const grants = lines.length > 0 ? `[\n${lines.join(",\n")}\n  ]` : "[]";
  return `{\n  "version": ${LEDGER_VERSION},\n  "updatedAt": "${formatUtc(now)}",\n  "grants": ${grants}\n}\n`;
}

/**
 * Keeps the ledger on disk in step with what was applied. Writes are serialized and coalesced: while
 * one write is under way, later changes are gathered into the next one.
 */
export function createLedgerWriter(file: string, initial: readonly LedgerGrant[], now: () => DateTime) {
  let entries = initial.map(toEntry);
  let writing: Promise<void> | null = null;
  let dirty = false;
  let cleaned = false;

  const flushLoop = async (): Promise<void> => {
    if (!cleaned) {
      cleaned = true;
      await removeLeftoverTempFiles(file);
    }
    while (dirty) {
      dirty = false;
      await writeFileAtomic(file, serializeEntries(entries, now()));
    }
  };
  const schedule = (): Promise<void> => {
    dirty = true;
    if (!writing) {
      writing = flushLoop().finally(() => {
        writing = null;
      });
    }
    return writing;
  };

  return {
    add(g: LedgerGrant): Promise<void> {
      entries.push(toEntry(g));
      return schedule();
    },
    remove(matches: readonly HeldGrant[]): Promise<void> {
      entries = entries.filter((e) => !matches.some((m) => sameGrant(e.grant, m)));
      return schedule();
    },
    /** A shorten applied: the grants it cut end at `end`; one that would start at or after it is gone. */
    shorten(matches: readonly HeldGrant[], end: DateTime): Promise<void> {
      entries = entries.flatMap((e) => {
        if (!matches.some((m) => sameGrant(e.grant, m))) return [e];
        if (e.grant.start >= end) return [];
        return e.grant.end > end ? [toEntry({ ...e.grant, end })] : [e];
      });
      return schedule();
    },
    async flush(): Promise<void> {
      await schedule();
      while (writing) await writing;
    },
    get grants(): readonly LedgerGrant[] {
      return entries.map((e) => e.grant);
    },
  };
}

/**
 * A run killed while writing the ledger leaves its temp file beside it (the ledger itself is whole:
 * the rename never happened). The writer holds the run lock, so no other run is writing: every temp
 * file of the ledger that is not this process's is such a leftover.
 */
async function removeLeftoverTempFiles(file: string): Promise<void> {
  const dir = path.dirname(file);
  const prefix = `.${path.basename(file)}.`;
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
    await unlink(path.join(dir, name)).catch(() => undefined);
  }
}

function sameGrant(a: HeldGrant, b: HeldGrant): boolean {
  return (
    a.target === b.target &&
    a.resource === b.resource &&
    a.identity === b.identity &&
    a.rule === b.rule &&
    a.start.toMillis() === b.start.toMillis() &&
    a.end.toMillis() === b.end.toMillis()
  );
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
