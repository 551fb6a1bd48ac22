import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { DateTime } from "luxon";
import { StateError } from "../errors.js";
import { nodeStateFs, type StateFs } from "./fs.js";
import { checkStateDir, createLedgerWriter, readLedger, type LedgerGrant } from "./ledger.js";

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), "shiftgrant-ledger-"));
  try {
    await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const NOW = DateTime.fromISO("2026-11-22T10:00:00Z", { zone: "utc" });
const t = (iso: string) => DateTime.fromISO(iso, { zone: "utc" });

function grant(identity: string, start = "2026-11-22T10:00:00Z", end = "2026-11-22T18:00:00Z"): LedgerGrant {
  return {
    target: "cmd",
    resource: "db",
    identity,
    rule: "prod",
    start: t(start),
    end: t(end),
    grantedAt: NOW,
    runId: "run00001",
  };
}

const FILE_GRANT = {
  target: "cmd",
  resource: "db",
  identity: "alice@example.com",
  rule: "prod",
  start: "2026-11-22T10:00:00Z",
  end: "2026-11-22T18:00:00Z",
  grantedAt: "2026-11-22T10:00:00Z",
  runId: "run00001",
};

function ledgerText(grants: Record<string, string>[]): string {
  return `${JSON.stringify({ version: 1, updatedAt: "2026-11-22T10:00:00Z", grants }, null, 2)}\n`;
}

function osError(code: string, syscall: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: injected, ${syscall}`), { code, syscall });
}

/**
 * Node's file operations, except that writes of temp files fail (ENOSPC) from the `failFrom`-th on
 * (counting from 1), `times` times (Infinity: for ever); appends fail too when `journal` says so.
 */
function failingFs(failFrom: number, times = Infinity, journal = true): StateFs & { tempWrites: number } {
  const fs = {
    tempWrites: 0,
    ...nodeStateFs,
    async open(file: string, flags: "wx" | "a" | "r", mode?: number) {
      if (flags === "a" && !journal) throw osError("ENOSPC", "open");
      const fh = await nodeStateFs.open(file, flags, mode);
      if (flags !== "wx") return fh;
      const n = ++fs.tempWrites;
      if (n < failFrom || n >= failFrom + times) return fh;
      return { ...fh, writeFile: () => Promise.reject(osError("ENOSPC", "write")), close: () => fh.close() };
    },
  };
  return fs;
}

describe("the ledger is input too: each entry is checked before it can reach an argv", () => {
  const CASES: [string, Record<string, string>, RegExp][] = [
    [
      "an identity shaped like a flag",
      { identity: "--admin@evil.com" },
      /grants\[1\]\.identity "--admin@evil\.com" is not a plain email address/,
    ],
    [
      "an identity with a newline",
      { identity: "bob@example.com\nx" },
      /grants\[1\]\.identity "bob@example\.com\\nx" is not a plain email/,
    ],
    [
      "a resource shaped like a flag",
      { resource: "-rf" },
      /grants\[1\]\.resource "-rf" is empty, starts with "-"/,
    ],
    [
      "a resource with a NUL",
      { resource: "db\u0000x" },
      /grants\[1\]\.resource "db\\u0000x" is empty, starts with "-" or holds a control character/,
    ],
    ["a target shaped like a flag", { target: "--target" }, /grants\[1\]\.target "--target"/],
    ["a rule with an escape sequence", { rule: "x\u001b[31m" }, /grants\[1\]\.rule "x\\u001b\[31m"/],
    ["an empty resource", { resource: "" }, /grants\[1\]\.resource "" is empty/],
    [
      "an end before the start",
      { end: "2026-11-22T09:00:00Z" },
      /grants\[1\]: end 2026-11-22T09:00:00Z is not after start 2026-11-22T10:00:00Z/,
    ],
    [
      "an end equal to the start",
      { end: "2026-11-22T10:00:00Z" },
      /grants\[1\]: end 2026-11-22T10:00:00Z is not after start/,
    ],
    [
      "a start in 1970",
      { start: "1970-01-01T00:00:00Z" },
      /grants\[1\]\.start 1970-01-01T00:00:00Z is outside the years 2000–9999/,
    ],
    [
      "an end past 9999",
      { end: "+010000-01-01T00:00:00Z" },
      /grants\[1\]\.end "\+010000-01-01T00:00:00Z" is not a time with an offset/,
    ],
    [
      "a time without an offset",
      { start: "2026-11-22T09:00:00" },
      /grants\[1\]\.start "2026-11-22T09:00:00" is not a time with an offset/,
    ],
    [
      "a grantedAt that is not a time",
      { grantedAt: "yesterday" },
      /grants\[1\]\.grantedAt "yesterday" is not a time/,
    ],
    [
      "a run id with a control character",
      { runId: "a\u0007" },
      /grants\[1\]\.runId "a\\u0007" holds a control character/,
    ],
  ];
  for (const [name, patch, message] of CASES) {
    it(`${name}: exit 2 naming the entry, the file left byte for byte`, () =>
      withDir(async (dir) => {
        const file = path.join(dir, "state.json");
        const text = ledgerText([FILE_GRANT, { ...FILE_GRANT, identity: "bob@example.com", ...patch }]);
        await writeFile(file, text);
        await assert.rejects(readLedger(file), (err: Error) => {
          assert.ok(err instanceof StateError);
          assert.equal(err.exitCode, 2);
          assert.ok(err.message.startsWith(`${file}: grants[1]`), err.message);
          assert.match(err.message, message);
          assert.match(err.message, /It was left in place/);
          return true;
        });
        assert.equal(await readFile(file, "utf8"), text);
      }));
  }

  it("a plausible ledger (times with an offset included) reads back as written", () =>
    withDir(async (dir) => {
      const file = path.join(dir, "state.json");
      await writeFile(
        file,
        ledgerText([
          FILE_GRANT,
          { ...FILE_GRANT, identity: "bob@example.com", end: "2026-11-22T20:00:00+02:00" },
        ]),
      );
      const { grants, journal } = await readLedger(file);
      assert.equal(journal, null);
      assert.deepEqual(
        grants.map((g) => `${g.identity} ${g.end.toUTC().toISO()}`),
        ["alice@example.com 2026-11-22T18:00:00.000Z", "bob@example.com 2026-11-22T18:00:00.000Z"],
      );
    }));
});

describe("a state file that is not a regular file fails at once", () => {
  it(
    "a FIFO, a character device and a directory as the ledger: exit 2, nothing read",
    { timeout: 10_000 },
    () =>
      withDir(async (dir) => {
        const fifo = path.join(dir, "fifo.json");
        assert.equal(spawnSync("mkfifo", [fifo]).status, 0);
        await mkdir(path.join(dir, "dir.json"));
        for (const [file, kind] of [
          [fifo, "a FIFO \\(named pipe\\)"],
          ["/dev/zero", "a character device"],
          [path.join(dir, "dir.json"), "a directory"],
        ] as const) {
          await assert.rejects(
            readLedger(file),
            new RegExp(
              `^StateError: the ledger ${file.replace(/\./g, "\\.")} is ${kind}, not a regular file`,
            ),
          );
          await assert.rejects(checkStateDir(file), StateError);
        }
      }),
  );

  it("a journal that is a FIFO fails too", { timeout: 10_000 }, () =>
    withDir(async (dir) => {
      const file = path.join(dir, "state.json");
      assert.equal(spawnSync("mkfifo", [`${file}.journal`]).status, 0);
      await assert.rejects(readLedger(file), /the ledger's journal .*state\.json\.journal is a FIFO/);
    }),
  );
});

describe("checkStateDir: the state directory is created and must take files", () => {
  it("creates a missing directory", () =>
    withDir(async (dir) => {
      await checkStateDir(path.join(dir, "a", "b", "state.json"));
      assert.ok(existsSync(path.join(dir, "a", "b")));
      assert.deepEqual(await readdir(path.join(dir, "a", "b")), []);
    }));

  it("a directory that cannot be created (under a regular file) or written (read-only): exit 2 saying which", () =>
    withDir(async (dir) => {
      await writeFile(path.join(dir, "file"), "");
      const under = path.join(dir, "file", "state.json");
      await assert.rejects(
        checkStateDir(under),
        new RegExp(
          `^StateError: cannot create the state directory ${path.join(dir, "file")} \\(ENOTDIR: not a directory`,
        ),
      );
      const readOnly: StateFs = { ...nodeStateFs, open: () => Promise.reject(osError("EROFS", "open")) };
      await assert.rejects(
        checkStateDir(path.join(dir, "state.json"), readOnly),
        new RegExp(`^StateError: the state directory ${dir} is not writable \\(EROFS: injected, open\\)`),
      );
    }));
});

describe("checkStateDir with create: false (validate --online): creates nothing", () => {
  it("a missing directory passes when its nearest existing parent takes new entries, and stays missing", () =>
    withDir(async (dir) => {
      const got = await checkStateDir(path.join(dir, "a", "b", "state.json"), nodeStateFs, { create: false });
      assert.deepEqual(got.missing, [path.join(dir, "a"), path.join(dir, "a", "b")]);
      assert.deepEqual(await readdir(dir), []);
    }));

  it("under a regular file, or a parent that takes no new entries: exit 2 naming the directory", () =>
    withDir(async (dir) => {
      await writeFile(path.join(dir, "file"), "");
      await assert.rejects(
        checkStateDir(path.join(dir, "file", "sub", "state.json"), nodeStateFs, { create: false }),
        new RegExp(
          `^StateError: cannot create the state directory ${path.join(dir, "file", "sub")} \\(ENOTDIR`,
        ),
      );
      const readOnly: StateFs = { ...nodeStateFs, open: () => Promise.reject(osError("EROFS", "open")) };
      await assert.rejects(
        checkStateDir(path.join(dir, "new", "state.json"), readOnly, { create: false }),
        new RegExp(
          `^StateError: cannot create the state directory ${path.join(dir, "new")}: ${dir} does not take new entries \\(EROFS: injected, open\\)`,
        ),
      );
      assert.deepEqual(await readdir(dir), ["file"]);
    }));
});

describe("the ledger writer: a failed write stops the run; what follows goes to the journal", () => {
  it("the first failure is reported once; later changes are journaled; the next read folds them in", () =>
    withDir(async (dir) => {
      const file = path.join(dir, "state.json");
      const fs = failingFs(3);
      const failures: string[] = [];
      const w = createLedgerWriter(file, [], () => NOW, {
        runId: "run00002",
        fs,
        onFailure: (e) => failures.push(e),
      });
      await w.add(grant("a@example.com"));
      await w.add(grant("b@example.com"));
      assert.deepEqual(failures, []);
      await w.add(grant("c@example.com")); // write 3 fails, and its retry (write 4)
      await w.remove([grant("a@example.com")]);
      await w.add(grant("d@example.com"));
      await w.flush();
      assert.deepEqual(failures, [`could not write the ledger ${file} (ENOSPC: injected, write)`]);
      assert.deepEqual(w.problem, {
        error: failures[0],
        journal: `${file}.journal`,
        journaled: 3,
        lost: 0,
        journalError: null,
      });
      // No temp file is left; the ledger holds what the last good write held.
      assert.deepEqual((await readdir(dir)).sort(), ["state.json", "state.json.journal"]);
      const onDisk = JSON.parse(await readFile(file, "utf8")) as { grants: { identity: string }[] };
      assert.deepEqual(
        onDisk.grants.map((g) => g.identity),
        ["a@example.com", "b@example.com"],
      );
      const journal = (await readFile(`${file}.journal`, "utf8")).split("\n");
      assert.equal(journal.length, 4);
      assert.deepEqual(JSON.parse(journal[1] ?? ""), {
        runId: "run00002",
        remove: [
          {
            target: "cmd",
            resource: "db",
            identity: "a@example.com",
            rule: "prod",
            start: "2026-11-22T10:00:00Z",
            end: "2026-11-22T18:00:00Z",
          },
        ],
        add: [],
      });

      const loaded = await readLedger(file);
      assert.deepEqual(loaded.grants.map((g) => g.identity).sort(), [
        "b@example.com",
        "c@example.com",
        "d@example.com",
      ]);
      assert.deepEqual(loaded.journal, { file: `${file}.journal`, changes: 3, tornLastLine: false });

      // The next run writes the ledger with them before its first call, then removes the journal.
      const next = createLedgerWriter(file, loaded.grants, () => NOW, { runId: "run00003" });
      await next.prepare(loaded.journal);
      assert.deepEqual((await readdir(dir)).sort(), ["state.json"]);
      const again = await readLedger(file);
      assert.deepEqual(again.grants.map((g) => g.identity).sort(), [
        "b@example.com",
        "c@example.com",
        "d@example.com",
      ]);
      assert.equal(again.journal, null);
    }));

  it("a write that fails once and then succeeds still stops the run, and loses nothing", () =>
    withDir(async (dir) => {
      const file = path.join(dir, "state.json");
      const failures: string[] = [];
      const w = createLedgerWriter(file, [], () => NOW, {
        runId: "r",
        fs: failingFs(2, 1),
        onFailure: (e) => failures.push(e),
      });
      await w.add(grant("a@example.com"));
      await w.add(grant("b@example.com"));
      await w.flush();
      assert.equal(failures.length, 1);
      assert.deepEqual(w.problem?.journaled, 0);
      assert.deepEqual(w.problem?.lost, 0);
      assert.deepEqual((await readdir(dir)).sort(), ["state.json"]);
      assert.deepEqual(
        (await readLedger(file)).grants.map((g) => g.identity),
        ["a@example.com", "b@example.com"],
      );
    }));

  it("when the journal cannot be written either, the changes it could not keep are counted", () =>
    withDir(async (dir) => {
      const file = path.join(dir, "state.json");
      const w = createLedgerWriter(file, [], () => NOW, { runId: "r", fs: failingFs(1, Infinity, false) });
      await w.add(grant("a@example.com"));
      await w.add(grant("b@example.com"));
      await w.flush();
      assert.equal(w.problem?.lost, 2);
      assert.equal(w.problem?.journaled, 0);
      assert.equal(w.problem?.journalError, "ENOSPC: injected, open");
      assert.deepEqual(await readdir(dir), []);
    }));

  it("prepare: a ledger that cannot be written fails before any call, and a folded journal is kept", () =>
    withDir(async (dir) => {
      const file = path.join(dir, "state.json");
      await writeFile(file, ledgerText([FILE_GRANT]));
      await writeFile(
        `${file}.journal`,
        `${JSON.stringify({ runId: "r", remove: [], add: [{ ...FILE_GRANT, identity: "bob@example.com" }] })}\n`,
      );
      const loaded = await readLedger(file);
      const w = createLedgerWriter(file, loaded.grants, () => NOW, { runId: "r2", fs: failingFs(1) });
      await assert.rejects(
        w.prepare(loaded.journal),
        new RegExp(
          `could not write the ledger ${file} \\(ENOSPC: injected, write\\): nothing was applied; the journal ${file}\\.journal is kept`,
        ),
      );
      assert.deepEqual((await readdir(dir)).sort(), ["state.json", "state.json.journal"]);
    }));
});

describe("the journal", () => {
  const line = (o: unknown) => `${JSON.stringify(o)}\n`;
  const bob = { ...FILE_GRANT, identity: "bob@example.com" };

  it("a last line cut off by a crash is dropped and reported; the lines before it count", () =>
    withDir(async (dir) => {
      const file = path.join(dir, "state.json");
      await writeFile(file, ledgerText([FILE_GRANT]));
      await writeFile(
        `${file}.journal`,
        line({ runId: "r", remove: [], add: [bob] }) +
          line({ runId: "r", remove: [FILE_GRANT], add: [] }) +
          '{"runId":"r","remove":[],"add":[{"target":"cm',
      );
      const loaded = await readLedger(file);
      assert.deepEqual(
        loaded.grants.map((g) => g.identity),
        ["bob@example.com"],
      );
      assert.deepEqual(loaded.journal, { file: `${file}.journal`, changes: 2, tornLastLine: true });
    }));

  it("a journal without a ledger is read (the first run's ledger could not be written)", () =>
    withDir(async (dir) => {
      const file = path.join(dir, "state.json");
      await writeFile(`${file}.journal`, line({ runId: "r", remove: [], add: [bob] }));
      assert.deepEqual(
        (await readLedger(file)).grants.map((g) => g.identity),
        ["bob@example.com"],
      );
    }));

  it("a bad line in the middle, or an entry that fails the checks, stops the run naming the line", () =>
    withDir(async (dir) => {
      const file = path.join(dir, "state.json");
      await writeFile(
        `${file}.journal`,
        line({ runId: "r", remove: [], add: [bob] }) + "{oops\n" + line({ remove: [], add: [] }),
      );
      await assert.rejects(
        readLedger(file),
        new RegExp(`^StateError: ${file}\\.journal: line 2 is not valid JSON`),
      );
      await writeFile(
        `${file}.journal`,
        line({ runId: "r", remove: [], add: [{ ...bob, identity: "--x@evil.com" }] }),
      );
      await assert.rejects(
        readLedger(file),
        new RegExp(
          `^StateError: ${file}\\.journal: line 1: add\\[0\\]\\.identity "--x@evil\\.com" is not a plain email`,
        ),
      );
    }));
});

describe("what a target needs to undo a grant, and pre-existing access", () => {
  it("a ledger written before these fields existed loads unchanged, and is written back byte for byte", () =>
    withDir(async (dir) => {
      const file = path.join(dir, "state.json");
      const v1 =
        '{\n  "version": 1,\n  "updatedAt": "2026-11-22T10:00:00Z",\n  "grants": [\n' +
        '    {"target":"cmd","resource":"db","identity":"alice@example.com","rule":"prod","start":"2026-11-22T10:00:00Z","end":"2026-11-22T18:00:00Z","grantedAt":"2026-11-22T10:00:00Z","runId":"run00001"}\n' +
        "  ]\n}\n";
      await writeFile(file, v1);
      const { grants } = await readLedger(file);
      assert.deepEqual(grants, [grant("alice@example.com")]);
      assert.equal("preexisting" in (grants[0] as object), false);
      assert.equal("ref" in (grants[0] as object), false);
      const w = createLedgerWriter(file, grants, () => NOW, { runId: "run00002" });
      await w.prepare(null);
      assert.equal(await readFile(file, "utf8"), v1);
    }));

  it("keeps a grant's ref and pre-existing flag through the ledger and the journal", () =>
    withDir(async (dir) => {
      const file = path.join(dir, "state.json");
      const withRef: LedgerGrant = {
        ...grant("alice@example.com"),
        ref: { userId: "00u1", groupId: "00g2" },
      };
      const pre: LedgerGrant = { ...grant("bob@example.com"), preexisting: true };
      const w = createLedgerWriter(file, [], () => NOW, { runId: "run00001" });
      await w.add(withRef);
      await w.add(pre);
      await w.flush();
      assert.deepEqual((await readLedger(file)).grants, [withRef, pre]);
      await writeFile(
        `${file}.journal`,
        `${JSON.stringify({ runId: "r", remove: [], add: [{ ...FILE_GRANT, identity: "carol@example.com", ref: { id: "x" }, preexisting: true }] })}\n`,
      );
      const loaded = await readLedger(file);
      assert.deepEqual(loaded.grants.at(-1)?.ref, { id: "x" });
      assert.equal(loaded.grants.at(-1)?.preexisting, true);
    }));

  it("a ref that could reach an argv badly (a flag, a control character, not a string) stops the run", () =>
    withDir(async (dir) => {
      const file = path.join(dir, "state.json");
      for (const ref of [{ id: "--all" }, { id: "a\nb" }, { id: 1 }, ["x"]]) {
        await writeFile(file, JSON.stringify({ version: 1, grants: [{ ...FILE_GRANT, ref }] }));
        await assert.rejects(readLedger(file), (err: unknown) => {
          assert.ok(err instanceof StateError);
          assert.match(err.message, /grants\[0\]\.ref/);
          return true;
        });
      }
    }));

  it("an ended grant a target still holds is never pruned when the writer is told to keep it", () =>
    withDir(async (dir) => {
      const file = path.join(dir, "state.json");
      const old = grant("alice@example.com", "2026-11-01T10:00:00Z", "2026-11-01T18:00:00Z");
      const w = createLedgerWriter(file, [old, { ...old, target: "sdm" }], () => NOW, {
        runId: "run00001",
        keepEnded: (g) => g.target === "cmd",
      });
      await w.prepare(null);
      assert.deepEqual((await readLedger(file)).grants, [old]);
    }));
});

describe("ledger: notifications remembered", () => {
  const event = {
    id: "0123456789abcdef01234567",
    type: "granted" as const,
    kind: "grant",
    at: "2026-11-22T10:00:00Z",
    rule: "prod",
    target: "cmd",
    resource: "db",
    identity: "alice@example.com",
    start: "2026-11-22T10:00:00Z",
    end: "2026-11-22T18:00:00Z",
    reason: "on call: <!channel> (rota)",
  };
  const notice = { event, pending: ["team", "team.dm"], done: [], keepUntil: t("2026-11-29T18:00:00Z") };

  it("are written with the action, settled one outlet at a time, folded from the journal, and pruned; a ledger without them reads and writes as before", async () => {
    await withDir(async (dir) => {
      const file = path.join(dir, "state.json");
      // A ledger of before: no notices, and none written back.
      await writeFile(file, ledgerText([FILE_GRANT]));
      const old = await readLedger(file);
      assert.deepEqual(old.notices, []);
      const w0 = createLedgerWriter(file, old.grants, () => NOW, { runId: "run00002" });
      await w0.prepare(null);
      assert.deepEqual(JSON.parse(await readFile(file, "utf8")), {
        version: 1,
        updatedAt: "2026-11-22T10:00:00Z",
        grants: [FILE_GRANT],
      });

      const w = createLedgerWriter(file, old.grants, () => NOW, { runId: "run00002", notices: old.notices });
      await w.add(grant("bob@example.com"), [{ put: notice }]);
      await w.notice({ settle: { id: event.id, key: "team" } });
      // The same event again (a failure seen by the next run): what was done stays done.
      await w.notice({ put: { ...notice, pending: ["team", "team.dm", "hook"] } });
      const read = await readLedger(file);
      assert.deepEqual(
        read.notices.map((n) => ({ ...n, keepUntil: n.keepUntil.toISO() })),
        [{ event, pending: ["team.dm", "hook"], done: ["team"], keepUntil: "2026-11-29T18:00:00.000Z" }],
      );

      // A run that could not write the ledger left its changes in the journal: they are folded in.
      const journal = [
        { runId: "run00003", remove: [], add: [], notices: [{ settle: { id: event.id, key: "hook" } }] },
        { runId: "run00003", remove: [], add: [], notices: [{ settle: { id: event.id, key: "team.dm" } }] },
      ];
      await writeFile(`${file}.journal`, journal.map((j) => `${JSON.stringify(j)}\n`).join(""));
      const folded = await readLedger(file);
      assert.deepEqual(folded.notices[0]?.pending, []);
      assert.deepEqual(folded.notices[0]?.done, ["team", "hook", "team.dm"]);

      // A week after what it tells of ended, the notice goes with the grants.
      const later = t("2026-11-29T18:00:01Z");
      const w2 = createLedgerWriter(file, folded.grants, () => later, {
        runId: "run00004",
        notices: folded.notices,
      });
      await w2.prepare(folded.journal);
      assert.ok(!(await readFile(file, "utf8")).includes('"notices"'));
    });
  });

  it("a notice that is not plausible stops the run (exit 2) and is left as it is", async () => {
    await withDir(async (dir) => {
      const file = path.join(dir, "state.json");
      const bad = {
        version: 1,
        grants: [],
        notices: [{ event: { ...event, id: "x" }, pending: [], done: [], keepUntil: "2026-11-29T18:00:00Z" }],
      };
      await writeFile(file, JSON.stringify(bad));
      await assert.rejects(readLedger(file), (err: unknown) => {
        assert.ok(err instanceof StateError);
        assert.match(err.message, /: notices\[0\]\.event\.id is not an event id\. It was left in place\./);
        return true;
      });
      assert.equal(await readFile(file, "utf8"), JSON.stringify(bad));
    });
  });
});
