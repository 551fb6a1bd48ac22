import { loadConfig } from "../config/load.js";
import { resolveSecrets } from "../config/secrets.js";
import { EXIT, UsageError, type ExitCode } from "../errors.js";
import { mapLimit } from "../infra/pool.js";
import { table } from "../report/render.js";
import { sanitizeForTerminal } from "../core/redact.js";
import { buildSources, type CommandDeps } from "./context.js";

export type SchedulesOptions = {
  config: string;
  source?: string | undefined;
  query?: string | undefined;
  output: "text" | "json";
};

/**
 * Lists each source's schedules (id, name), so that users can write the config: it reads only the
 * config's sources, so that it works before any target or rule is written.
 */
export async function runSchedules(opts: SchedulesOptions, deps: CommandDeps): Promise<ExitCode> {
  const config = await loadConfig(opts.config, { scope: "sources" });
  if (opts.source !== undefined && !config.sources.has(opts.source)) {
    throw new UsageError(
      `--source: no source named "${opts.source}" (sources: ${[...config.sources.keys()].join(", ")})`,
    );
  }
  const names = opts.source !== undefined ? [opts.source] : [...config.sources.keys()];
  const secrets = await resolveSecrets(config, deps.env, deps.redactor, {
    sources: new Set(names),
    targets: new Set(),
  });
  const { sources } = buildSources(config, names, secrets, deps);
  const errors: { source: string; message: string }[] = [];
  const lists = await mapLimit(names, names.length, async (name) => {
    try {
      return (await sources.get(name)?.listSchedules(opts.query)) ?? [];
    } catch (err) {
      errors.push({ source: name, message: err instanceof Error ? err.message : String(err) });
      return [];
    }
  });
  const rows = names.flatMap((source, i) =>
    (lists[i] ?? []).map((s) => ({ source, id: s.id, name: s.name })),
  );
  const code: ExitCode = errors.length > 0 ? EXIT.source : EXIT.ok;
  let out: string;
  if (opts.output === "json")
    out = `${JSON.stringify({ version: 1, exitCode: code, schedules: rows, errors }, null, 2)}\n`;
  else {
    const lines =
      rows.length > 0
        ? table(
            ["SOURCE", "ID", "NAME"],
            rows.map((r) => [r.source, r.id, r.name]),
          )
        : ["No schedules found."];
    for (const e of errors) lines.push(`error: source ${e.source}: ${e.message}`);
    out = `${lines.map(sanitizeForTerminal).join("\n")}\n`;
  }
  deps.stdout.write(deps.redactor.redact(out));
  return code;
}
