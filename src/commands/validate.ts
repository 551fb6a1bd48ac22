import { loadConfig, type Config } from "../config/load.js";
import { checkPermissions, describePermissionWarning } from "../config/permissions.js";
import { resolveSecrets, type Secrets } from "../config/secrets.js";
import type { ExitCode } from "../errors.js";
import { sanitizeForTerminal } from "../core/redact.js";
import { inlineCodeWarnings } from "../targets/command/shell.js";
import { buildSources, buildTargets, type CommandDeps } from "./context.js";

export type ValidateOptions = { config: string; online: boolean };

/**
 * Offline: the schema, references between sections, durations, and that every secret the config
 * names is present; any problem is a ConfigError (exit 2) listing all of them. Risky command
 * templates (source text inside a shell's code) are warnings: printed, but the exit stays 0. `--online` then checks
 * that each source's key works and can read the configured schedules, and that each target's tool is
 * there and answers; it prints a checklist and exits 2 on any failure.
 */
export async function runValidate(opts: ValidateOptions, deps: CommandDeps): Promise<ExitCode> {
  const config = await loadConfig(opts.config);
  const secrets = await resolveSecrets(config, deps.env, deps.redactor);
  const lines = [
    `config ${config.file} is valid:`,
    `  ${config.sources.size} source(s): ${[...config.sources.values()].map((s) => `${s.name} (${s.type})`).join(", ")}`,
    `  ${config.targets.size} target(s): ${[...config.targets.values()].map((t) => `${t.name} (${t.type})`).join(", ")}`,
    `  ${config.rules.length} rule(s): ${config.rules.map((r) => r.name).join(", ")}`,
    `  every secret it names is set`,
    ...(await checkPermissions(config)).map((w) => `warning: ${describePermissionWarning(w)}`),
  ];
  const warnings = templateWarnings(config);
  if (warnings.length > 0) lines.push("", "warnings:", ...warnings.map((w) => `  - ${w}`));
  let code: ExitCode = 0;
  if (opts.online) {
    const checks = await checkOnline(config, secrets, deps);
    lines.push("", "online checks:");
    for (const c of checks) lines.push(`  ${c.ok ? "ok  " : "FAIL"}  ${c.what}: ${c.detail}`);
    if (checks.some((c) => !c.ok)) {
      code = 2;
      lines.push("", `${checks.filter((c) => !c.ok).length} check(s) failed`);
    }
  }
  deps.stdout.write(deps.redactor.redact(`${lines.map(sanitizeForTerminal).join("\n")}\n`));
  return code;
}

/** Command templates that hand source-controlled text to a shell as code (see inlineCodeWarnings). */
function templateWarnings(config: Config): string[] {
  return [...config.targets.values()].flatMap((t) =>
    t.type === "command"
      ? [
          ...inlineCodeWarnings(t.grant, `targets.${t.name}.grant`),
          ...(t.revoke ? inlineCodeWarnings(t.revoke, `targets.${t.name}.revoke`) : []),
        ]
      : [],
  );
}

type Check = { what: string; ok: boolean; detail: string };

async function checkOnline(config: Config, secrets: Secrets, deps: CommandDeps): Promise<Check[]> {
  const { sources } = buildSources(config, config.sources.keys(), secrets, deps);
  const targets = buildTargets(config, config.targets.keys(), secrets, deps);
  const sourceChecks = [...config.sources.keys()].map(async (name): Promise<Check> => {
    const refs = [...new Set(config.rules.filter((r) => r.source === name).flatMap((r) => r.schedules))];
    try {
      // Resolving every schedule the rules name is an authenticated read of each of them.
      const resolved = await (
        sources.get(name) as NonNullable<ReturnType<typeof sources.get>>
      ).resolveSchedules(refs, { verify: true });
      const bad = refs.flatMap((r) => {
        const got = resolved.get(r);
        return !got ? [`"${r}" not resolved`] : "error" in got ? [got.error] : [];
      });
      if (bad.length > 0) return { what: `source ${name}`, ok: false, detail: bad.join("; ") };
      const shown = refs.map((r) => {
        const got = resolved.get(r) as { id: string; name: string };
        return got.id === r ? r : `${r} → ${got.id}`;
      });
      return {
        what: `source ${name}`,
        ok: true,
        detail: `key works; schedules: ${shown.join(", ") || "(none used)"}`,
      };
    } catch (err) {
      return { what: `source ${name}`, ok: false, detail: err instanceof Error ? err.message : String(err) };
    }
  });
  const targetChecks = [...targets].map(async ([name, t]): Promise<Check> => {
    const res = await t.target.check();
    return { what: `target ${name}`, ok: res.ok, detail: res.detail };
  });
  return Promise.all([...sourceChecks, ...targetChecks]);
}
