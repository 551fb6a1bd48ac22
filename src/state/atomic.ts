import { randomBytes } from "node:crypto";
import { lstat, readlink, realpath, stat } from "node:fs/promises";
import path from "node:path";
import { nodeStateFs, type StateFs } from "./fs.js";

export type AtomicWriteOptions = {
  mode?: number;
  /** Create the file's directory (and its parents) when missing; callers that must not, leave it off. */
  createDir?: boolean;
  fs?: StateFs;
};

/**
 * Replaces a file so that a reader (or a crash) sees either the old content or the new one, never
 * a torn file: write a temp file beside it, fsync, rename over, fsync the directory. A symlink stays
 * a symlink: the file it points to is replaced, in that file's directory. A temp file whose write
 * failed is removed (a full disk must not fill up further with them).
 */
export async function writeFileAtomic(
  file: string,
  content: string,
  opts: AtomicWriteOptions = {},
): Promise<void> {
  const fs = opts.fs ?? nodeStateFs;
  const target = await resolveSymlinks(file);
  const dir = path.dirname(target);
  if (opts.createDir) await ensureDir(dir, fs);
  const tmp = tempPath(target);
  const fh = await fs.open(tmp, "wx", opts.mode ?? 0o600);
  let open = true;
  try {
    await fh.writeFile(content, "utf8");
    await fh.sync();
    open = false;
    await fh.close();
    await fs.rename(tmp, target);
  } catch (err) {
    if (open) await fh.close().catch(() => undefined);
    await fs.unlink(tmp).catch(() => undefined);
    throw err;
  }
  await syncDir(dir, fs);
}

/** `.<name>.<pid>.<8 hex>.tmp` beside `file`: the ledger's start-up clean-up recognises the pattern. */
export function tempPath(file: string): string {
  const name = `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  return path.join(path.dirname(file), name);
}

/**
 * The file that writing to `file` replaces: every symlink followed, chains included. A dangling link
 * resolves to the path it names (writing creates it there); an unreachable path (ENOTDIR) to itself,
 * so that the write fails with its own error.
 */
export async function resolveSymlinks(file: string): Promise<string> {
  try {
    return await realpath(file);
  } catch {
    // Dangling, or not there (yet): follow what links there are by hand.
  }
  let cur = path.resolve(file);
  for (let hops = 0; hops < 40; hops++) {
    let isLink: boolean;
    try {
      isLink = (await lstat(cur)).isSymbolicLink();
    } catch {
      return cur;
    }
    if (!isLink) return cur;
    cur = path.resolve(path.dirname(cur), await readlink(cur));
  }
  throw Object.assign(new Error(`ELOOP: too many symbolic links, open '${file}'`), { code: "ELOOP" });
}

/**
 * The directories ensureDir(dir) would create, outermost first; it fails as ensureDir would where a
 * part of the path is not a directory (ENOTDIR) or cannot be looked at. Creates nothing.
 */
export async function missingDirs(dir: string): Promise<string[]> {
  const missing: string[] = [];
  let cur = path.resolve(dir);
  for (;;) {
    try {
      if ((await stat(cur)).isDirectory()) break;
      throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${cur}'`), { code: "ENOTDIR" });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    missing.push(cur);
    const up = path.dirname(cur);
    if (up === cur) break;
    cur = up;
  }
  return missing.reverse();
}

/**
 * Creates `dir` and its missing parents, one level at a time. Node's recursive mkdir loops for ever
 * on a path that a special filesystem refuses with ENOENT (`/proc/...`); this fails at once there.
 */
export async function ensureDir(dir: string, fs: StateFs = nodeStateFs): Promise<void> {
  for (const d of await missingDirs(dir)) {
    try {
      await fs.mkdir(d);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
  }
}

/**
 * Proves that a file can be created in `dir`, by creating and removing an empty temp file: a
 * read-only mount, another user's directory or a virtual filesystem such as /proc fail here, before
 * the run has done anything.
 */
export async function probeWritableDir(
  dir: string,
  fs: StateFs = nodeStateFs,
  name = "probe",
): Promise<void> {
  const tmp = tempPath(path.join(dir, name));
  const fh = await fs.open(tmp, "wx", 0o600);
  await fh.close().catch(() => undefined);
  await fs.unlink(tmp).catch((err: unknown) => {
    // Gone already: a run's clean-up of leftover temp files took it; creating it proved the point.
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  });
}

/** Makes a rename or a new file in `dir` durable, where the filesystem supports it. */
export async function syncDir(dir: string, fs: StateFs = nodeStateFs): Promise<void> {
  let dh;
  try {
    dh = await fs.open(dir, "r");
    await dh.sync();
  } catch {
    // Some filesystems do not support fsync on a directory; the rename is still atomic there.
  } finally {
    await dh?.close().catch(() => undefined);
  }
}
