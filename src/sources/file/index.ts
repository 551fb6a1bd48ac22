import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import type { DateTime } from "luxon";
import { parseDocument } from "yaml";
import { defineSource } from "../define.js";
import type { ScheduleRef, Shift, Source } from "../types.js";
import { fileSchema, fileStarter, normalizeFile } from "./config.js";
import { expandRota, parseRota, rotaSchedules, type Rota } from "./rota.js";

export const fileSource = defineSource({
  schema: fileSchema,
  tokenEnv: null,
  features: { incidents: false, escalationLevels: false },
  normalize: normalizeFile,
  create: (config) => createFileSource({ path: config.path, name: config.name }),
  accessFiles: (config) => [{ role: "the rota", path: config.path }],
  starter: fileStarter,
});

/**
 * A source backed by a rota file (YAML or JSON). The file is read on every call, so an edit takes
 * effect on the next run without anything to reload. `name` is the source's name in the config.
 */
export function createFileSource(opts: { path: string; name: string }): Source {
  const file = basename(opts.path);

  async function load(): Promise<Rota> {
    let text: string;
    try {
      text = await readFile(opts.path, "utf8");
    } catch (err) {
      throw new Error(`${file}: cannot read ${opts.path}: ${readProblem(err)}`, { cause: err });
    }
    // parseDocument rather than parse: it collects every syntax error instead of stopping at the first.
    const doc = parseDocument(text);
    if (doc.errors.length > 0) {
      throw new Error(
        `${file}: ${doc.errors.map((e) => `not valid YAML: ${firstLine(e.message)}`).join("; ")}`,
      );
    }
    let data: unknown;
    try {
      data = doc.toJS();
    } catch (err) {
      throw new Error(
        `${file}: not valid YAML: ${firstLine(err instanceof Error ? err.message : String(err))}`,
        {
          cause: err,
        },
      );
    }
    const parsed = parseRota(data);
    if ("errors" in parsed) throw new Error(`${file}: ${parsed.errors.join("; ")}`);
    return parsed.rota;
  }

  const has = (names: string[]): string => (names.length > 0 ? `it has: ${names.join(", ")}` : "it has none");

  return {
    async check(): Promise<string> {
      const n = rotaSchedules(await load()).length;
      return `${opts.path} reads and parses (${n} schedule${n === 1 ? "" : "s"})`;
    },

    async resolveSchedules(refs: string[]): Promise<Map<string, ScheduleRef | { error: string }>> {
      const names = rotaSchedules(await load());
      const byKey = new Map(names.map((n) => [n.toLowerCase(), n]));
      const out = new Map<string, ScheduleRef | { error: string }>();
      for (const ref of refs) {
        const name = byKey.get(ref.toLowerCase());
        out.set(
          ref,
          name !== undefined
            ? { id: name, name }
            : { error: `schedule "${ref}" is not in ${file} (${has(names)})` },
        );
      }
      return out;
    },

    async fetchShifts(schedules: ScheduleRef[], since: DateTime, until: DateTime): Promise<Shift[]> {
      const rota = await load();
      const names = rotaSchedules(rota);
      const known = new Set(names.map((n) => n.toLowerCase()));
      // The file may have changed since the schedules were resolved; a schedule that vanished must
      // not read as "nobody is on call".
      const missing = schedules.filter((s) => !known.has(s.id.toLowerCase()));
      if (missing.length > 0) {
        const list = missing.map((s) => `"${s.id}"`).join(", ");
        const what = missing.length === 1 ? `schedule ${list} is` : `schedules ${list} are`;
        throw new Error(`${file}: ${what} not in the file (${has(names)})`);
      }
      return expandRota(
        rota,
        schedules.map((s) => s.id),
        since,
        until,
      );
    },

    async listSchedules(query?: string): Promise<ScheduleRef[]> {
      const needle = (query ?? "").trim().toLowerCase();
      return rotaSchedules(await load())
        .filter((n) => n.toLowerCase().includes(needle))
        .map((n) => ({ id: n, name: n }));
    },
  };
}

function readProblem(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === "ENOENT") return "no such file";
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  if (code === "EISDIR") return "it is a directory";
  return err instanceof Error ? err.message : String(err);
}

function firstLine(message: string): string {
  return (message.split("\n")[0] ?? "").replace(/:\s*$/, "");
}
