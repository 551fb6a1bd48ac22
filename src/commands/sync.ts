import path from "node:path";
import { loadConfig, type Config, type RuleConfig } from "../config/load.js";
import { resolveSecrets } from "../config/secrets.js";
import { resolveWindow } from "../config/window.js";
import { applyPlan } from "../apply/apply.js";
import { combineExitCodes, ShiftgrantError, StateError, UsageError, type ExitCode } from "../errors.js";
import { findOrphanedGrants } from "../plan/orphans.js";
import { planGrants } from "../plan/plan.js";
import { renderJson, renderText, type Report, type ReportedAction } from "../plan/render.js";
import { CALL_KINDS, type Action, type ActionStatus } from "../plan/types.js";
import { fetchRuleShifts } from "../sources/fetch.js";
import { createAuditLog } from "../state/audit.js";
import { createLedgerWriter, loadLedger, type LedgerGrant } from "../state/ledger.js";
import { writeMetrics } from "../state/metrics.js";
import { acquireLock, type Lock } from "../state/lock.js";
import type { ActionResult } from "../targets/types.js";
import { buildSources, buildTargets, textOptions, type CommandDeps } from "./context.js";

export type SyncOptions = {
  config: string;
  dryRun: boolean;
  since?: string | undefined;
  until?: string | undefined;
  window?: string | undefined;
  rules: string[];
  state?: string | undefined;
  output: "text" | "json";
  maxChanges?: number | undefined;
  metricsFile?: string | undefined;
};

/**
 * Fetch, plan, apply, record, report. Returns the exit code of SPEC section 6. A dry run takes no
 * lock, makes no target call and writes nothing; it still reads the ledger, so its plan is the plan
 * a real run would carry out.
 */
export async function runSync(opts: SyncOptions, deps: CommandDeps): Promise<ExitCode> {
  if (!opts.metricsFile || opts.dryRun) return (await sync(opts, deps)).code;
  // Metrics are written for every real run, a failed one included: its exit code is the news.
  const started = Date.now();
  let outcome: SyncOutcome | null = null;
  let code: ExitCode = 1;
  try {
    outcome = await sync(opts, deps);
    code = outcome.code;
    return code;
  } catch (err) {
    code = err instanceof ShiftgrantError ? err.exitCode : 1;
    throw err;
  } finally {
    const now = deps.now().toUTC();
    await writeMetrics(path.resolve(deps.cwd, opts.metricsFile), {
      finishedAt: now,
      durationMs: Date.now() - started,
      exitCode: code,
      actions: outcome?.actions ?? [],
      requests: outcome?.requests ?? new Map(),
      retries: outcome?.retries ?? 0,
      sourceErrors: outcome?.sourceErrors ?? 0,
      grantsActive: (outcome?.ledger ?? []).filter((g) => g.start <= now && g.end > now).length,
    }).catch((err: unknown) => deps.log.error("could not write the metrics file", { error: String(err) }));
  }
}

type SyncOutcome = {
  code: ExitCode;
  actions: ReportedAction[];
  requests: ReadonlyMap<string, number>;
  retries: number;
  sourceErrors: number;
  ledger: readonly LedgerGrant[];
};

async function sync(opts: SyncOptions, deps: CommandDeps): Promise<SyncOutcome> {
  const config = await loadConfig(opts.config);
  const now = deps.now().toUTC();
  const window = resolveWindow(opts, config.window, now);
  const rules = selectRules(config, opts.rules);
  const stateFile = opts.state ? path.resolve(deps.cwd, opts.state) : config.state;
  const maxChanges = opts.maxChanges ?? config.maxChanges;
  const secrets = await resolveSecrets(config, deps.env, deps.redactor, {
    sources: new Set(rules.map((r) => r.source)),
    targets: opts.dryRun ? new Set() : new Set(rules.map((r) => r.target)),
  });

  const lock: Lock | null = opts.dryRun ? null : await acquireLock(`${stateFile}.lock`, deps.runId, deps.log);
  try {
    deps.log.info("sync started", {
      config: config.file,
      state: stateFile,
      since: window.since.toISO(),
      until: window.until.toISO(),
      rules: rules.map((r) => r.name),
      dryRun: opts.dryRun,
    });
    const held = await loadLedger(stateFile);
    const orphans = findOrphanedGrants(
      held,
      { targets: new Set(config.targets.keys()), rules: new Set(config.rules.map((r) => r.name)) },
      now,
      stateFile,
    );
    for (const o of orphans) {
      deps.log.warn("the ledger holds grants of a target or rule the config no longer has", {
        [o.kind]: o.name,
        grants: o.count,
        detail: o.message,
      });
    }
    const { sources, http } = buildSources(config, new Set(rules.map((r) => r.source)), secrets, deps);
    const targets = buildTargets(config, new Set(rules.map((r) => r.target)), secrets, deps);
    const scheduleCount = new Set(rules.flatMap((r) => r.schedules)).size;
    deps.progress(
      `fetching ${scheduleCount} schedule(s) from ${new Set(rules.map((r) => r.source)).size} source(s)…`,
    );
    const fetched = await fetchRuleShifts(config, rules, sources, window, deps.log, now);
    deps.progress(null);

    const actions = planGrants({
      now,
      rules,
      unplannedRules: config.rules.filter((r) => !rules.includes(r)),
      shifts: fetched.shifts,
      held,
      identities: config.identities,
      window,
      capabilities: (t) =>
        (targets.get(t) as NonNullable<ReturnType<typeof targets.get>>).target.capabilities,
    });
    const changes = actions.filter((a) => CALL_KINDS.has(a.kind)).length;
    const report: Report = {
      dryRun: opts.dryRun,
      window,
      actions: actions.map((a) => ({ ...a, status: initialStatus(a.kind) })),
      errors: fetched.errors,
      warnings: orphans.map((o) => o.message),
    };

    const codes: ExitCode[] = [0];
    if (fetched.errors.length > 0) codes.push(3);
    if (actions.some((a) => a.badIdentity)) codes.push(4);

    let ledger: readonly LedgerGrant[] = held;
    if (!opts.dryRun && maxChanges !== null && maxChanges !== undefined && changes > maxChanges) {
      report.stopped = `${changes} change${changes === 1 ? "" : "s"} planned, more than --max-changes ${maxChanges}: nothing was applied`;
      deps.log.error("too many changes; nothing applied", { changes, maxChanges });
      codes.push(6);
    } else if (!opts.dryRun) {
      const { results, grants } = await applyAndRecord(actions, { config, stateFile, held, targets, deps });
      ledger = grants;
      report.actions.forEach((r, i) => {
        const res = results.get(actions[i] as Action);
        if (!res) return;
        r.status = res.status;
        if (res.status === "failed") r.error = res.error;
      });
      if (report.actions.some((a) => a.status === "failed")) codes.push(4);
    }

    const out = opts.output === "json" ? renderJson(report) : renderText(report, textOptions(deps, now));
    deps.stdout.write(deps.redactor.redact(out));
    const code = combineExitCodes(codes);
    deps.log.info("sync finished", {
      exitCode: code,
      actions: actions.length,
      changes,
      errors: fetched.errors.length,
    });
    return {
      code,
      actions: report.actions,
      requests: http.stats.requests,
      retries: http.stats.retries,
      sourceErrors: fetched.errors.length,
      ledger,
    };
  } finally {
    await lock?.release();
  }
}

async function applyAndRecord(
  actions: Action[],
  ctx: {
    config: Config;
    stateFile: string;
    held: Awaited<ReturnType<typeof loadLedger>>;
    targets: ReturnType<typeof buildTargets>;
    deps: CommandDeps;
  },
): Promise<{ results: Map<Action, ActionResult>; grants: readonly LedgerGrant[] }> {
  const { deps } = ctx;
  const ledger = createLedgerWriter(ctx.stateFile, ctx.held, deps.now);
  const audit = createAuditLog(ctx.config.audit, deps.runId, deps.now);
  const total = actions.filter((a) => CALL_KINDS.has(a.kind)).length;
  let done = 0;
  // Each action is recorded as it completes, so that a run killed half-way loses (almost) nothing it
  // did. The calls do not wait for the disk: ledger writes are coalesced and run beside them, so the
  // file lags by at most the write under way. A write that fails stops the run below.
  let writeError: unknown = null;
  const recorded: Promise<void>[] = [];
  const keep = (p: Promise<void>) =>
    recorded.push(
      p.catch((err: unknown) => {
        writeError ??= err;
      }),
    );
  const results = await applyPlan(actions, ctx.targets, deps.log, ({ action, result }) => {
    deps.progress(`applying ${++done}/${total}…`);
    const clean = deps.redactor.redactDeep(result);
    if (clean.status === "applied") {
      if (action.kind === "revoke") keep(ledger.remove(action.revokes ?? []));
      else if (action.kind === "shorten") keep(ledger.shorten(action.shortens ?? [], action.end));
      else keep(ledger.add({ ...action, grantedAt: deps.now().toUTC(), runId: deps.runId }));
    }
    keep(audit.record(action, clean));
  });
  deps.progress(null);
  await Promise.all(recorded);
  await ledger.flush().catch((err: unknown) => {
    writeError ??= err;
  });
  if (writeError) {
    throw new StateError(
      `could not write the ledger ${ctx.stateFile} or the audit log: ${writeError instanceof Error ? writeError.message : String(writeError)}; the grants applied in this run are listed in the logs`,
    );
  }
  for (const [a, r] of results) results.set(a, deps.redactor.redactDeep(r));
  return { results, grants: ledger.grants };
}

export function selectRules(config: Config, names: string[]): RuleConfig[] {
  if (names.length === 0) return config.rules;
  const unknown = names.filter((n) => !config.rules.some((r) => r.name === n));
  if (unknown.length > 0) {
    throw new UsageError(
      `--rule: no rule named ${unknown.map((n) => `"${n}"`).join(", ")} (rules: ${config.rules.map((r) => r.name).join(", ")})`,
    );
  }
  return config.rules.filter((r) => names.includes(r.name));
}

/**
 * A call the run would make is `planned` until it is made (`applied` or `failed`); it stays `planned`
 * in a dry run and when a guard stops the run. Actions that make no call are `skipped`.
 */
function initialStatus(kind: ReportedAction["kind"]): ActionStatus {
  return CALL_KINDS.has(kind) ? "planned" : "skipped";
}
