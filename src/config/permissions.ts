import { stat } from "node:fs/promises";
import path from "node:path";
import { sourceAccessFiles } from "../sources/index.js";
import type { Config } from "./types.js";

/** A file or folder that other users can change (or, for a token, read). */
export type PermissionWarning = {
  /** What it is to shiftgrant: "the config", "the folder of the rota", "the token file"… */
  role: string;
  path: string;
  /** Its permission bits, in octal: "0666". */
  mode: string;
  /** "writable by group and others", "readable by others"… */
  problem: string;
  /** Why it matters. */
  risk: string;
  /** The command that fixes it. */
  fix: string;
};

const GROUP_W = 0o020;
const OTHER_W = 0o002;
const GROUP_R = 0o040;
const OTHER_R = 0o004;
const STICKY = 0o1000;

/**
 * The config and the rota decide who gets access, so whoever can change them (or the folders they
 * are in, where a file can be replaced) can grant themselves access; whoever can read a token file
 * holds the token. Each file or folder open to group or others gives one warning; a run goes on
 * (it may be deliberate, e.g. a group of admins), but it is said. A file that cannot be read is left
 * to the checks that read it.
 */
export async function checkPermissions(config: Config): Promise<PermissionWarning[]> {
  const checks: Check[] = [
    { role: "the config", path: config.file, kind: "file" },
    { role: "the folder of the config", path: path.dirname(config.file), kind: "folder" },
  ];
  for (const s of config.sources.values()) {
    for (const f of sourceAccessFiles(s)) {
      checks.push({ role: `${f.role} of source ${s.name}`, path: f.path, kind: "file" });
      checks.push({
        role: `the folder of ${f.role} of source ${s.name}`,
        path: path.dirname(f.path),
        kind: "folder",
      });
    }
    const file = "secret" in s ? s.secret.tokenFile : null;
    if (file) checks.push({ role: `the token file of source ${s.name}`, path: file, kind: "token" });
  }
  for (const t of config.targets.values()) {
    const file = "secret" in t ? t.secret?.tokenFile : null;
    if (file) checks.push({ role: `the token file of target ${t.name}`, path: file, kind: "token" });
  }
  // The rota is often beside the config: one warning per path.
  const seen = new Set<string>();
  const unique = checks.filter((c) => !seen.has(c.path) && seen.add(c.path));
  const found = await Promise.all(unique.map(checkOne));
  return found.flatMap((w) => (w ? [w] : []));
}

type Check = { role: string; path: string; kind: "file" | "folder" | "token" };

async function checkOne({ role, path: file, kind }: Check): Promise<PermissionWarning | null> {
  const token = kind === "token";
  let mode: number;
  let isDir: boolean;
  try {
    const st = await stat(file);
    mode = st.mode & 0o7777;
    isDir = st.isDirectory();
  } catch {
    return null;
  }
  // In a sticky folder (like /tmp) others may add files but cannot replace or remove ours.
  if (isDir && mode & STICKY) return null;
  const bits = mode & (token ? GROUP_W | OTHER_W | GROUP_R | OTHER_R : GROUP_W | OTHER_W);
  if (bits === 0) return null;
  const who = (g: number, o: number) =>
    bits & g && bits & o ? "group and others" : bits & g ? "group" : bits & o ? "others" : null;
  const readers = who(GROUP_R, OTHER_R);
  const writers = who(GROUP_W, OTHER_W);
  const problem = [readers && `readable by ${readers}`, writers && `writable by ${writers}`]
    .filter(Boolean)
    .join(", ");
  return {
    role,
    path: file,
    mode: mode.toString(8).padStart(4, "0"),
    problem,
    risk:
      kind === "folder"
        ? "whoever can write there can replace the files in it, and so decide who gets access"
        : kind === "file"
          ? "whoever can change it decides who gets access"
          : [
              readers && "whoever can read it holds the token",
              writers && "whoever can change it can swap the token",
            ]
              .filter(Boolean)
              .join("; "),
    fix: `chmod ${token ? "go-rwx" : "go-w"} ${file}`,
  };
}

/** One line for people: what, where, why it matters, how to fix it. */
export function describePermissionWarning(w: PermissionWarning): string {
  return `${w.role} ${w.path} is ${w.problem} (mode ${w.mode}): ${w.risk}; fix: ${w.fix}`;
}
