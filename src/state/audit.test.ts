import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { checkAuditLog } from "./audit.js";
import { nodeStateFs, type StateFs } from "./fs.js";

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), "shiftgrant-audit-"));
  try {
    await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const readOnly: StateFs = {
  ...nodeStateFs,
  open: () => Promise.reject(Object.assign(new Error("EROFS: injected, open"), { code: "EROFS" })),
};

describe("checkAuditLog (validate --online): what the run's append needs, writing nothing", () => {
  it("an existing file is opened for appending and left as it was", () =>
    withDir(async (dir) => {
      const file = path.join(dir, "audit.jsonl");
      await writeFile(file, '{"line":1}\n');
      assert.deepEqual(await checkAuditLog(file, readOnly), { exists: true, missing: [] });
      assert.equal(await readFile(file, "utf8"), '{"line":1}\n');
    }));

  it("an absent file in missing directories: their nearest parent is probed; nothing is created", () =>
    withDir(async (dir) => {
      const file = path.join(dir, "log", "shiftgrant", "audit.jsonl");
      assert.deepEqual(await checkAuditLog(file), {
        exists: false,
        missing: [path.join(dir, "log"), path.join(dir, "log", "shiftgrant")],
      });
      assert.deepEqual(await readdir(dir), []);
      await assert.rejects(
        checkAuditLog(file, readOnly),
        new RegExp(
          `^StateError: ${dir} \\(where ${path.join(dir, "log", "shiftgrant")} would be created\\) does not take new files \\(EROFS: injected, open\\)`,
        ),
      );
    }));

  it("a directory in its place, or a path under a regular file, fails naming it", () =>
    withDir(async (dir) => {
      await mkdir(path.join(dir, "audit.jsonl"));
      await assert.rejects(
        checkAuditLog(path.join(dir, "audit.jsonl")),
        /^StateError: the audit log .*audit\.jsonl is a directory, not a regular file: point audit at a file$/,
      );
      await writeFile(path.join(dir, "file"), "");
      await assert.rejects(
        checkAuditLog(path.join(dir, "file", "audit.jsonl")),
        new RegExp(
          `^StateError: cannot create the audit log's directory ${path.join(dir, "file")} \\(ENOTDIR`,
        ),
      );
    }));
});
