import { writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { EXIT, UsageError, type ExitCode } from "../errors.js";
import { SOURCES, type SourceType } from "../sources/index.js";
import { TARGETS, type TargetType } from "../targets/index.js";
import type { CommandDeps } from "./context.js";

export type InitOptions = {
  source: SourceType;
  target: TargetType;
  /** Where to write the config; "-" is stdout. */
  out: string;
  force: boolean;
};

/** The JSON Schema shipped beside this installation, for editors that read the modeline. */
const SCHEMA_FILE = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "..",
  "..",
  "schema",
  "shiftgrant.schema.json",
);

/** The environment variables a starter config of these types needs (its tokens). */
export function starterEnv(source: SourceType, target: TargetType): string[] {
  return [...SOURCES[source].starter.env, ...TARGETS[target].starter.env];
}

/** A commented starter config for one source and one target; valid as written, given its tokens. */
export function starterConfig(source: SourceType, target: TargetType): string {
  const s = SOURCES[source].starter;
  const t = TARGETS[target].starter;
  const env = starterEnv(source, target);
  const tokens =
    env.length > 0
      ? `set ${env.join(" and ")} where shiftgrant runs (never in this file)`
      : "nothing to set: this pair needs no token";
  return [
    `# yaml-language-server: $schema=${SCHEMA_FILE}`,
    "#",
    `# shiftgrant: whoever is on call in ${source} gets time-bounded access through ${target}.`,
    `# Written by \`shiftgrant init --source ${source} --target ${target}\`. Next:`,
    `#   1. ${tokens};`,
    "#   2. `shiftgrant schedules -c THIS_FILE` lists the schedules: name yours in the rule below;",
    "#   3. `shiftgrant validate --online -c THIS_FILE`, then `shiftgrant sync -c THIS_FILE --dry-run`.",
    "# Every key is described in docs/configuration.md (shipped with the package).",
    "version: 1",
    "window: 24h                              # how far ahead each run plans",
    "state: shiftgrant-state.json             # the ledger, relative to this file; on a server e.g.",
    "                                         # /var/lib/shiftgrant/state.json (keep it)",
    "# audit: /var/log/shiftgrant/audit.jsonl # an append-only audit log (JSON lines)",
    "# maxChanges: 50                         # apply nothing if a run would change more than this",
    "",
    "sources:",
    `  ${s.name}:`,
    ...s.yaml,
    "",
    "targets:",
    `  ${t.name}:`,
    ...t.yaml,
    "",
    "rules:",
    "  - name: oncall",
    `    source: ${s.name}`,
    ...s.schedules,
    `    target: ${t.name}`,
    ...t.resources,
    "    lead: 15m                            # access starts this long before the shift",
    "    grace: 15m                           # and ends this long after it",
    "    maxDuration: 24h                     # longest single grant; later runs extend it",
    "    # revoke: true                       # revoke grants whose shift was swapped away",
    "",
  ].join("\n");
}

/** Writes a starter config; never over an existing file unless --force. */
export async function runInit(opts: InitOptions, deps: CommandDeps): Promise<ExitCode> {
  const text = starterConfig(opts.source, opts.target);
  if (opts.out === "-") {
    deps.stdout.write(text);
    return EXIT.ok;
  }
  const file = path.resolve(deps.cwd, opts.out);
  try {
    // "wx" refuses an existing file atomically: no window between a check and the write.
    await writeFile(file, text, { flag: opts.force ? "w" : "wx" });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EEXIST") {
      throw new UsageError(
        `${file} already exists; pass --force to overwrite it, or -o another file (-o - prints the config)`,
      );
    }
    if (code === "ENOENT") throw new UsageError(`cannot write ${file}: its directory does not exist`);
    if (code === "EISDIR") throw new UsageError(`cannot write ${file}: it is a directory; pass -o FILE`);
    if (code === "EACCES") throw new UsageError(`cannot write ${file}: permission denied`);
    throw err;
  }
  const env = starterEnv(opts.source, opts.target);
  const shown = file.startsWith(`${deps.cwd}${path.sep}`) ? path.relative(deps.cwd, file) : file;
  deps.stdout.write(
    [
      `wrote ${shown} (source ${opts.source}, target ${opts.target}). Next:`,
      ...(env.length > 0 ? [`  set ${env.join(" and ")} (never in the file)`] : []),
      `  shiftgrant schedules -c ${shown}    # the schedules to name in the rule`,
      `  shiftgrant validate -c ${shown}`,
      `  shiftgrant sync -c ${shown} --dry-run`,
      "",
    ].join("\n"),
  );
  return EXIT.ok;
}
