import { realpath, stat } from "node:fs/promises";
import path from "node:path";
import { resolveSymlinks } from "./atomic.js";

/**
 * What a path is when it exists but is not a regular file ("a FIFO", "a directory"), or null when it
 * is a regular file or absent. A FIFO or a device in the place of a state file would hang a read or
 * never end it (`/dev/zero`); the run refuses them before it opens anything.
 */
export async function notARegularFile(file: string): Promise<string | null> {
  let st;
  try {
    st = await stat(file);
  } catch {
    // Absent; or unreachable (ENOTDIR, EACCES), which fails where the file is used, with its code.
    return null;
  }
  if (st.isFile()) return null;
  if (st.isDirectory()) return "a directory";
  if (st.isFIFO()) return "a FIFO (named pipe)";
  if (st.isCharacterDevice()) return "a character device";
  if (st.isBlockDevice()) return "a block device";
  if (st.isSocket()) return "a socket";
  return "not a regular file";
}

/**
 * Where a path really leads: symlinks followed (of the file and of its directories), so that two
 * spellings of one file compare equal. A file that does not exist yet is placed under the real path of
 * its nearest existing directory.
 */
export async function realFilePath(file: string): Promise<string> {
  let target: string;
  try {
    target = await resolveSymlinks(file);
  } catch {
    target = path.resolve(file);
  }
  const rest: string[] = [];
  let cur = target;
  for (;;) {
    try {
      return path.join(await realpath(cur), ...rest);
    } catch {
      const up = path.dirname(cur);
      if (up === cur) return target;
      rest.unshift(path.basename(cur));
      cur = up;
    }
  }
}

export type NamedFile = { role: string; file: string };

/**
 * The first two of `files` that are one file: the same real path, or (hard links) the same inode.
 * Each file the run writes must be its own: metrics written over the ledger, or audit lines appended
 * to the config, destroy it.
 */
export async function findSameFile(files: readonly NamedFile[]): Promise<[NamedFile, NamedFile] | null> {
  const seen = new Map<string, NamedFile>();
  for (const f of files) {
    const real = await realFilePath(f.file);
    const keys = [`path:${real}`];
    try {
      const st = await stat(real);
      keys.push(`inode:${st.dev}:${st.ino}`);
    } catch {
      // not there yet: only its path can collide
    }
    for (const key of keys) {
      const other = seen.get(key);
      if (other) return [other, f];
    }
    for (const key of keys) seen.set(key, f);
  }
  return null;
}
