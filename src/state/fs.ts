import { mkdir, open, rename, unlink } from "node:fs/promises";

/** A file opened for writing: the part of node's FileHandle that the state files use. */
export type WritableFile = {
  writeFile(data: string, encoding: "utf8"): Promise<void>;
  sync(): Promise<void>;
  close(): Promise<void>;
};

/**
 * The writes of the ledger, its journal, the audit log and the metrics file. Passed in, so that tests
 * can make a write fail (a full disk, an I/O error) at a chosen point; reads use node directly.
 */
export type StateFs = {
  open(file: string, flags: "wx" | "a" | "r", mode?: number): Promise<WritableFile>;
  rename(from: string, to: string): Promise<void>;
  unlink(file: string): Promise<void>;
  /** Creates one directory (never recursive: see ensureDir). */
  mkdir(dir: string): Promise<void>;
};

export const nodeStateFs: StateFs = {
  open: (file, flags, mode) => open(file, flags, mode),
  rename,
  unlink,
  mkdir: async (dir) => {
    await mkdir(dir);
  },
};

/** An error as a message: for an OS error, its code, text, call and path (`ENOSPC: no space left on device, write`). */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
