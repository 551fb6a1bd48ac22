import { stat } from "node:fs/promises";
import path from "node:path";
import { loadConfig, type Config } from "../config/load.js";
import { checkPermissions, describePermissionWarning } from "../config/permissions.js";
import { resolveSecrets, type Secrets } from "../config/secrets.js";
import { EXIT, UsageError, type ExitCode } from "../errors.js";
import { sanitizeForTerminal } from "../core/redact.js";
import { checkAuditLog } from "../state/audit.js";
import { nodeStateFs, type StateFs } from "../state/fs.js";
import { checkStateDir, readLedger } from "../state/ledger.js";
import { checkMetricsFile } from "../state/metrics.js";
import { notARegularFile } from "../state/paths.js";
import { findSharedRunFile } from "../state/run-files.js";
import { targetWarnings } from "../targets/index.js";
import { buildChannels, buildSources, buildTargets, type CommandDeps } from "./context.js";

export type ValidateOptions = {
  config: string;
  online: boolean;
  /** The ledger a run would use, when not the config's (sync's `--state`). */
  state?: string | undefined;
  /** The metrics file a run would write (sync's `--metrics-file`). */
  metricsFile?: string | undefined;
};

/**
 * Offline: the schema, references between sections, durations, and that every secret the config
 * names is present; any problem is a ConfigError (exit 2) listing all of them. Risky command
 * templates (source text inside a shell's code) are warnings: printed, but the exit stays 0.
 * `--online` then checks what a run needs beyond the config: that every file it writes can be
 * written (creating nothing), that each source's key works and can read the configured schedules,
 * and that each target's tool is there and answers; it prints a checklist and exits 2 on any failure.
 */
export async function runValidate(opts: ValidateOptions, deps: CommandDeps): Promise<ExitCode> {
  if (!opts.online) {
    const flags = [opts.state ? "--state" : null, opts.metricsFile ? "--metrics-file" : null].filter(Boolean);
    if (flags.length > 0)
      throw new UsageError(
        `${flags.join(" and ")}: checked only by --online; add --online, or leave them out`,
      );
  }
  const config = await loadConfig(opts.config);
  const secrets = await resolveSecrets(config, deps.env, deps.redactor);
  const lines = [
    `config ${config.file} is valid:`,
    `  ${config.sources.size} source(s): ${[...config.sources.values()].map((s) => `${s.name} (${s.type})`).join(", ")}`,
    `  ${config.targets.size} target(s): ${[...config.targets.values()].map((t) => `${t.name} (${t.type})`).join(", ")}`,
    `  ${config.rules.length} rule(s): ${config.rules.map((r) => r.name).join(", ")}`,
    ...(config.channels.size > 0
      ? [
          `  ${config.channels.size} notification channel(s): ${[...config.channels.values()].map((c) => `${c.name} (${c.type})`).join(", ")}`,
        ]
      : []),
    `  every secret it names is set`,
    ...(await checkPermissions(config)).map((w) => `warning: ${describePermissionWarning(w)}`),
  ];
  const warnings = [...config.targets.values()].flatMap(targetWarnings);
  if (warnings.length > 0) lines.push("", "warnings:", ...warnings.map((w) => `  - ${w}`));
  let code: ExitCode = EXIT.ok;
  if (opts.online) {
    const files = {
      state: opts.state ? path.resolve(deps.cwd, opts.state) : config.state,
      metrics: opts.metricsFile ? path.resolve(deps.cwd, opts.metricsFile) : null,
    };
    const checks = await checkOnline(config, secrets, files, deps);
    lines.push("", "online checks:");
    for (const c of checks) lines.push(`  ${c.ok ? "ok  " : "FAIL"}  ${c.what}: ${c.detail}`);
    if (checks.some((c) => !c.ok)) {
      code = EXIT.usage;
      lines.push("", `${checks.filter((c) => !c.ok).length} check(s) failed`);
    }
  }
  deps.stdout.write(deps.redactor.redact(`${lines.map(sanitizeForTerminal).join("\n")}\n`));
  return code;
}

type Check = { what: string; ok: boolean; detail: string };

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

async function checkOnline(
  config: Config,
  secrets: Secrets,
  files: { state: string; metrics: string | null },
  deps: CommandDeps,
): Promise<Check[]> {
  const { sources } = buildSources(config, config.sources.keys(), secrets, deps);
  const targets = buildTargets(config, config.targets.keys(), secrets, deps);
  const sourceChecks = [...config.sources.keys()].map(async (name): Promise<Check> => {
    const rules = config.rules.filter((r) => r.source === name);
    const refs = [...new Set(rules.flatMap((r) => r.schedules))];
    const services = [...new Set(rules.flatMap((r) => r.incidents?.services ?? []))];
    const source = sources.get(name) as NonNullable<ReturnType<typeof sources.get>>;
    try {
      // Every source is read once with its key, whatever its rules use it for: an incidents rule
      // resolves no schedule, and would otherwise send nothing.
      const proved = await source.check();
      // Resolving every schedule the rules name is an authenticated read of each of them.
      const resolved = await source.resolveSchedules(refs, { verify: true });
      const bad = refs.flatMap((r) => {
        const got = resolved.get(r);
        return !got ? [`"${r}" not resolved`] : "error" in got ? [got.error] : [];
      });
      if (bad.length > 0) return { what: `source ${name}`, ok: false, detail: bad.join("; ") };
      const shown = refs.map((r) => {
        const got = resolved.get(r) as { id: string; name: string };
        return got.id === r ? r : `${r} → ${got.id}`;
      });
      const uses = [
        ...(shown.length > 0 ? [`schedules: ${shown.join(", ")}`] : []),
        ...(services.length > 0 ? [`incidents of services: ${services.join(", ")}`] : []),
      ];
      return {
        what: `source ${name}`,
        ok: true,
        detail: [proved, ...(uses.length > 0 ? uses : ["no rule uses it"])].join("; "),
      };
    } catch (err) {
      return { what: `source ${name}`, ok: false, detail: message(err) };
    }
  });
  const targetChecks = [...targets].map(async ([name, t]): Promise<Check> => {
    const res = await t.target.check();
    return { what: `target ${name}`, ok: res.ok, detail: res.detail };
  });
  // A channel is checked without posting anything: Slack's auth.test, a webhook's HEAD.
  const channelChecks = [...buildChannels(config, secrets, deps)].map(async ([name, c]): Promise<Check> => {
    const res = await c.check();
    return { what: `notify ${name}`, ok: res.ok, detail: res.ok ? res.detail : res.error };
  });
  const pathChecks = await checkRunFiles(config, files, deps.stateFs ?? nodeStateFs);
  return [...pathChecks, ...(await Promise.all([...sourceChecks, ...targetChecks, ...channelChecks]))];
}

/**
 * Every file a real run writes, checked the way the run checks it, but creating nothing (a probe
 * file is made and removed): the ledger's directory and the ledger itself, its lock, the audit log,
 * the metrics file, and that no two of them (or the config) are one file.
 */
async function checkRunFiles(
  config: Config,
  files: { state: string; metrics: string | null },
  fs: StateFs,
): Promise<Check[]> {
  const checks: Check[] = [];
  const check = async (what: string, body: () => Promise<string>): Promise<boolean> => {
    try {
      checks.push({ what, ok: true, detail: await body() });
      return true;
    } catch (err) {
      checks.push({ what, ok: false, detail: message(err) });
      return false;
    }
  };
  const dirNote = (missing: string[], dir: string) =>
    missing[0] !== undefined
      ? `${missing[0]} does not exist yet; the run creates it (${path.dirname(missing[0])} takes new entries)`
      : `${dir} takes new files`;

  await check("files", async () => {
    const same = await findSharedRunFile({ config: config.file, audit: config.audit, ...files });
    if (same) throw new Error(same.message);
    const named = [
      "the config",
      "the ledger, its lock and journal",
      ...(config.audit ? ["the audit log"] : []),
      ...(files.metrics ? ["the metrics file"] : []),
    ];
    return `distinct files: ${named.join("; ")}`;
  });
  const stateOk = await check(`state ${files.state}`, async () => {
    const { missing } = await checkStateDir(files.state, fs, { create: false });
    const dir = dirNote(missing, path.dirname(files.state));
    if (missing.length > 0) return `${dir}; no ledger yet (the first run writes it)`;
    const ledger = await readLedger(files.state);
    const n = ledger.grants.length;
    return (await exists(files.state))
      ? `${dir}; the ledger reads (${n} grant${n === 1 ? "" : "s"})`
      : `${dir}; no ledger yet (the first run writes it)`;
  });
  const lock = `${files.state}.lock`;
  await check(`lock ${lock}`, async () => {
    const kind = await notARegularFile(lock);
    if (kind)
      throw new Error(
        `it is ${kind}, not a regular file: remove it (each run creates its lock beside the ledger)`,
      );
    if (!stateOk) throw new Error("it cannot be created: see the state check");
    return (await exists(lock))
      ? "present: a run under way holds it, or one that was killed left it (taken over once stale)"
      : "free; each run creates it beside the ledger";
  });
  if (config.audit) {
    const audit = config.audit;
    await check(`audit ${audit}`, async () => {
      const got = await checkAuditLog(audit, fs);
      return got.exists
        ? "a regular file that opens for appending"
        : `no file yet (the run creates it); ${dirNote(got.missing, path.dirname(audit))}`;
    });
  }
  if (files.metrics) {
    const metrics = files.metrics;
    await check(`metrics ${metrics}`, async () => {
      await checkMetricsFile(metrics, fs);
      return `${path.dirname(metrics)} takes new files`;
    });
  }
  return checks;
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}
