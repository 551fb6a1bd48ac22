import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { ensureDir, probeWritableDir, writeFileAtomic } from "./atomic.js";
import { nodeStateFs, type StateFs } from "./fs.js";

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), "shiftgrant-atomic-"));
  try {
    await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function osError(code: string, syscall: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: injected, ${syscall}`), { code, syscall });
}

/** Node's file operations, except that a temp file's content never reaches the disk (ENOSPC). */
const fullDisk: StateFs = {
  ...nodeStateFs,
  async open(file, flags, mode) {
    const fh = await nodeStateFs.open(file, flags, mode);
    if (flags !== "wx") return fh;
    return { ...fh, writeFile: () => Promise.reject(osError("ENOSPC", "write")), close: () => fh.close() };
  },
};

describe("writeFileAtomic", () => {
  it("a temp file whose write fails is removed, the error is passed on, and the file keeps its content", () =>
    withDir(async (dir) => {
      const file = path.join(dir, "ledger.json");
      await writeFile(file, "old");
      await assert.rejects(writeFileAtomic(file, "new", { fs: fullDisk }), { code: "ENOSPC" });
      assert.deepEqual(await readdir(dir), ["ledger.json"]);
      assert.equal(await readFile(file, "utf8"), "old");
    }));

  it("a rename that fails removes the temp file too", () =>
    withDir(async (dir) => {
      const file = path.join(dir, "ledger.json");
      const fs: StateFs = { ...nodeStateFs, rename: () => Promise.reject(osError("EIO", "rename")) };
      await assert.rejects(writeFileAtomic(file, "new", { fs }), { code: "EIO" });
      assert.deepEqual(await readdir(dir), []);
    }));

  it("creates the directory only when asked to", () =>
    withDir(async (dir) => {
      const file = path.join(dir, "a", "b", "metrics.prom");
      await assert.rejects(writeFileAtomic(file, "x"), { code: "ENOENT" });
      assert.equal(existsSync(path.join(dir, "a")), false);
      await writeFileAtomic(file, "x", { createDir: true });
      assert.equal(await readFile(file, "utf8"), "x");
    }));

  it("a symlink (a chain of two, relative) stays a symlink: the file at its end is replaced, in its own directory", () =>
    withDir(async (dir) => {
      await mkdir(path.join(dir, "real"));
      await mkdir(path.join(dir, "links"));
      const real = path.join(dir, "real", "ledger.json");
      await writeFile(real, "old");
      await symlink("../real/ledger.json", path.join(dir, "links", "hop.json"));
      const link = path.join(dir, "state.json");
      await symlink("links/hop.json", link);

      await writeFileAtomic(link, "new");
      assert.ok((await lstat(link)).isSymbolicLink());
      assert.equal(await readlink(link), "links/hop.json");
      assert.ok((await lstat(path.join(dir, "links", "hop.json"))).isSymbolicLink());
      assert.equal(await readFile(real, "utf8"), "new");
      assert.deepEqual((await readdir(path.join(dir, "real"))).sort(), ["ledger.json"]);
      assert.deepEqual((await readdir(path.join(dir, "links"))).sort(), ["hop.json"]);
    }));

  it("a dangling symlink is written through: its target is created", () =>
    withDir(async (dir) => {
      const link = path.join(dir, "state.json");
      await symlink("target.json", link);
      await writeFileAtomic(link, "new");
      assert.ok((await lstat(link)).isSymbolicLink());
      assert.equal(await readFile(path.join(dir, "target.json"), "utf8"), "new");
    }));
});

describe("ensureDir", () => {
  it("creates missing parents one level at a time", () =>
    withDir(async (dir) => {
      await ensureDir(path.join(dir, "a", "b", "c"));
      assert.ok((await lstat(path.join(dir, "a", "b", "c"))).isDirectory());
    }));

  it("fails at once under a regular file (ENOTDIR) and under /proc (no endless loop)", () =>
    withDir(async (dir) => {
      await writeFile(path.join(dir, "file"), "");
      await assert.rejects(ensureDir(path.join(dir, "file", "sub")), { code: "ENOTDIR" });
      if (existsSync("/proc/self")) {
        await assert.rejects(ensureDir("/proc/shiftgrant-no-such-dir/sub"), (err: NodeJS.ErrnoException) =>
          ["ENOENT", "EACCES", "EPERM", "EROFS"].includes(err.code ?? ""),
        );
      }
    }));
});

describe("probeWritableDir", () => {
  it("a probe file someone else's clean-up removed first still proves the directory (no error)", () =>
    withDir(async (dir) => {
      const cleanedUp: StateFs = {
        ...nodeStateFs,
        async unlink(file) {
          await nodeStateFs.unlink(file);
          throw osError("ENOENT", "unlink");
        },
      };
      await probeWritableDir(dir, cleanedUp, "state.json");
      assert.deepEqual(await readdir(dir), []);
      const broken: StateFs = { ...nodeStateFs, unlink: () => Promise.reject(osError("EIO", "unlink")) };
      await assert.rejects(probeWritableDir(dir, broken, "state.json"), { code: "EIO" });
    }));
});
