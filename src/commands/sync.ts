import path from "node:path";
import type { DateTime } from "luxon";
import { loadConfig, type Config } from "../config/load.js";
import { checkPermissions } from "../config/permissions.js";
import { resolveSecrets } from "../config/secrets.js";
import { selectRules } from "../config/select-rules.js";
import { resolveWindow } from "../config/window.js";
import { applyPlan } from "../apply/apply.js";
import { combineExitCodes, EXIT, ShiftgrantError, StateError, UsageError, type ExitCode } from "../errors.js";
import { findOrphanedGrants } from "../plan/orphans.js";
import { planGrants } from "../plan/plan.js";
import type { ReportedAction } from "../report/model.js";
import { renderJson, renderText, type NotificationsReport, type Report } from "../report/render.js";
import {
  CALL_KINDS,
  countsAsChange,
  PREEXISTING,
  type Action,
  type ActionStatus,
  type HeldGrant,
} from "../plan/types.js";
import { isPlainEmail, normalizeEmail } from "../core/identity.js";
import { sanitizeForTerminal } from "../core/redact.js";
import { fetchRuleShifts } from "../fetch/fetch.js";
import { createAuditLog, type AuditLog } from "../state/audit.js";
import { nodeStateFs } from "../state/fs.js";
import {
  checkStateDir,
  createLedgerWriter,
  readLedger,
  type LedgerGrant,
  type LedgerProblem,
  type LedgerWriter,
} from "../state/ledger.js";
import { checkMetricsFile, writeMetrics } from "../state/metrics.js";
import { acquireLock, type Lock } from "../state/lock.js";
import { findSharedRunFile, METRICS_ROLE } from "../state/run-files.js";
import { capabilitiesOf } from "../targets/index.js";
import {
  SELF_ENDING_GRANTS,
  type AccessRequest,
  type ActionResult,
  type TargetCapabilities,
} from "../targets/types.js";
import { buildChannels, buildSources, buildTargets, textOptions, type CommandDeps } from "./context.js";
import {
  deliverPending,
  emptyTally,
  outletsFor,
  previewMessages,
  type NotifyTally,
} from "../deliver/deliver.js";
import { actionEvent, noticeFor, sourceEvent, summaryEvent, type Outcome } from "../deliver/events.js";
import type { NotifyEvent } from "../notify/event.js";
import type { Outlet } from "../notify/types.js";
import type { NoticeChange, NoticeRecord } from "../state/ledger.js";
import type { SourceFailure } from "../fetch/fetch.js";

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
 * Fetch, plan, apply, record, report. Returns the exit code (docs/output.md, exit codes). A dry run takes no
 * lock, makes no target call and writes nothing; it still reads the ledger, so its plan is the plan
 * a real run would carry out.
 */
export async function runSync(opts: SyncOptions, deps: CommandDeps): Promise<ExitCode> {
  const onStop = () =>
    deps.log.warn("stop requested: no further call starts; the calls under way finish and are recorded", {
      signal: String(deps.signal?.reason),
    });
  deps.signal?.addEventListener("abort", onStop, { once: true });
  try {
    return await runSyncWithMetrics(opts, deps);
  } finally {
    deps.signal?.removeEventListener("abort", onStop);
  }
}

async function runSyncWithMetrics(opts: SyncOptions, deps: CommandDeps): Promise<ExitCode> {
  const metricsFile = opts.metricsFile && !opts.dryRun ? path.resolve(deps.cwd, opts.metricsFile) : null;
  const guard = { metricsSafe: true };
  if (!metricsFile) return settle(await sync(opts, deps, null, guard));
  // A metrics path that cannot be written, or that holds someone else's file, stops the run before
  // anything else, and no metrics are written.
  await checkMetricsFile(metricsFile, deps.stateFs);
  // Metrics are written for every real run, a failed one included: its exit code is the news.
  const started = Date.now();
  let outcome: SyncOutcome | null = null;
  let code: ExitCode = EXIT.bug;
  try {
    outcome = await sync(opts, deps, metricsFile, guard);
    code = outcome.code;
    return settle(outcome);
  } catch (err) {
    code = err instanceof ShiftgrantError ? err.exitCode : EXIT.bug;
    throw err;
  } finally {
    const now = deps.now().toUTC();
    if (guard.metricsSafe)
      await writeMetrics(
        metricsFile,
        {
          finishedAt: now,
          durationMs: Date.now() - started,
          exitCode: code,
          actions: outcome?.actions ?? [],
          requests: outcome?.requests ?? new Map(),
          retries: outcome?.retries ?? 0,
          sourceErrors: outcome?.sourceErrors ?? 0,
          grantsActive: (outcome?.ledger ?? []).filter((g) => g.start <= now && g.end > now).length,
          overdueExpiries: outcome?.overdueExpiries ?? 0,
          ...(outcome?.notifications ? { notifications: outcome.notifications } : {}),
        },
        deps.stateFs,
      ).catch((err: unknown) => deps.log.error("could not write the metrics file", { error: String(err) }));
  }
}

/** The exit code of a finished run; a run whose records could not be written ends with its error. */
function settle(outcome: SyncOutcome): ExitCode {
  if (outcome.failure) throw outcome.failure;
  return outcome.code;
}

type SyncOutcome = {
  code: ExitCode;
  /** Printed after the report: the run could not record what it did (exit 2). */
  failure?: StateError;
  actions: ReportedAction[];
  requests: ReadonlyMap<string, number>;
  retries: number;
  sourceErrors: number;
  ledger: readonly LedgerGrant[];
  /** Expiries due that the run left undone. */
  overdueExpiries?: number;
  notifications?: NotifyTally;
};

async function sync(
  opts: SyncOptions,
  deps: CommandDeps,
  metricsFile: string | null,
  guard: { metricsSafe: boolean },
): Promise<SyncOutcome> {
  const config = await loadConfig(opts.config);
  for (const w of await checkPermissions(config))
    deps.log.warn("a file that decides access is open to other users", w);
  const now = deps.now().toUTC();
  const window = resolveWindow(opts, config.window, now);
  const rules = selectRules(config, opts.rules);
  const stateFile = opts.state ? path.resolve(deps.cwd, opts.state) : config.state;
  await checkSeparateFiles(config, stateFile, metricsFile, guard);
  const maxChanges = opts.maxChanges ?? config.maxChanges;
  const capsOf = targetCapabilities(config);
  // Expiries need only the ledger and the clock: their targets are read whatever --rule selects.
  const expiring = opts.dryRun
    ? new Set<string>()
    : await targetsWithExpiries(config, stateFile, capsOf, now);
  const targetNames = new Set([...rules.map((r) => r.target), ...expiring]);
  const secrets = await resolveSecrets(config, deps.env, deps.redactor, {
    sources: new Set(rules.map((r) => r.source)),
    targets: opts.dryRun ? new Set() : targetNames,
    channels: opts.dryRun ? new Set() : new Set(config.channels.keys()),
    // A dry run calls no target, but reads what a plan needs from them (the members of exclusive
    // resources, linked identities): with their credentials where these are set.
    ...(opts.dryRun ? { targetsIfSet: targetNames } : {}),
  });
  const fs = deps.stateFs ?? nodeStateFs;

  if (!opts.dryRun) await checkStateDir(stateFile, fs);
  const lock: Lock | null = opts.dryRun ? null : await acquireLock(`${stateFile}.lock`, deps.runId, deps.log);
  const unregister = lock ? deps.onHardStop?.(() => lock.release()) : undefined;
  const audit = createAuditLog(opts.dryRun ? null : config.audit, deps.runId, deps.now, fs);
  try {
    deps.log.info("sync started", {
      config: config.file,
      state: stateFile,
      since: window.since.toISO(),
      until: window.until.toISO(),
      rules: rules.map((r) => r.name),
      dryRun: opts.dryRun,
    });
    const loaded = await readLedger(stateFile);
    const held = loaded.grants;
    if (loaded.journal) {
      deps.log.warn("the ledger's journal, left by a run that could not write the ledger, is folded in", {
        journal: loaded.journal.file,
        changes: loaded.journal.changes,
      });
    }
    if (loaded.journal?.tornLastLine) {
      deps.log.warn("the journal's last line was cut off; the action it held may be made again", {
        journal: loaded.journal.file,
      });
    }
    await audit.open();
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
    const targets = buildTargets(config, targetNames, secrets, deps);
    const outlets = [...buildChannels(config, secrets, deps).values()].flatMap((c) => c.outlets);
    /** The events this run tells of, in the order they happened. */
    const runEvents: NotifyEvent[] = [];
    const noticesFor = (a: Action, outcome: Outcome): NoticeChange[] => {
      const e = outlets.length > 0 ? actionEvent(a, outcome, now) : null;
      if (!e) return [];
      runEvents.push(e);
      const n = noticeFor(e, outletsFor(e, outlets), now);
      return n ? [{ put: n }] : [];
    };
    const scheduleCount = new Set(rules.flatMap((r) => r.schedules)).size;
    const stats = () => ({ requests: http.stats.requests, retries: http.stats.retries });

    const stopped = () => stopSignal(deps.signal);
    if (!stopped())
      deps.progress(
        `fetching ${scheduleCount} schedule(s) from ${new Set(rules.map((r) => r.source)).size} source(s)…`,
      );
    const fetched = stopped()
      ? null
      : await untilAborted(fetchRuleShifts(config, rules, sources, window, deps.log, now), deps.signal);
    deps.progress(null);
    const sig = stopped();
    if (!fetched || sig) {
      // Stopped before a plan: nothing was changed. Requests already sent are abandoned.
      const name = sig?.name ?? "a stop request";
      const code = sig?.code ?? EXIT.sigterm;
      const report: Report = {
        dryRun: opts.dryRun,
        exitCode: code,
        window,
        rules: rules.map((r) => ({ name: r.name, target: r.target })),
        actions: [],
        errors: [],
        stopped: `${name} received while reading the sources: nothing was planned or applied`,
      };
      deps.stdout.write(deps.redactor.redact(render(report, opts, deps, now)));
      deps.log.warn("sync stopped", { signal: name });
      return { code, actions: [], ...stats(), sourceErrors: 0, ledger: held };
    }

    const listed = await listExclusiveMembers(config, rules, targets, deps);
    const requests = await listAccessRequests(rules, targets, deps);
    const linked = await linkTargetIdentities(config, rules, targets, fetched.shifts, deps);
    const actions = planGrants({
      now,
      rules,
      unplannedRules: config.rules.filter((r) => !rules.includes(r)),
      shifts: fetched.shifts,
      held,
      identities: config.identities,
      targetIdentities: linked.identities,
      window,
      capabilities: capsOf,
      members: listed.members,
      exclusive: [...config.targets].flatMap(([target, t]) =>
        t.exclusive.map((resource) => ({ target, resource })),
      ),
      requests: requests.requests,
    });
    const changes = actions.filter(countsAsChange).length;
    const calls = actions.filter(isCall).length;
    for (const a of actions) if (a.kind === "skip") logSkip(a, deps);
    const report: Report = {
      dryRun: opts.dryRun,
      exitCode: EXIT.ok,
      window,
      rules: rules.map((r) => ({ name: r.name, target: r.target })),
      actions: actions.map((a) => ({ ...a, status: initialStatus(a.kind) })),
      errors: fetched.errors,
      warnings: orphans.map((o) => o.message),
    };

    const codes: ExitCode[] = [EXIT.ok];
    /** Actions whose target found that the identity cannot be given the access there. */
    let targetSkips = 0;
    if (fetched.errors.length > 0) codes.push(EXIT.source);
    if (listed.failed || requests.failed) codes.push(EXIT.partial);
    if (linked.failed) codes.push(EXIT.partial);
    if (actions.some((a) => a.badIdentity)) codes.push(EXIT.partial);

    let ledger: readonly LedgerGrant[] = held;
    let tally: NotifyTally | null = null;
    let failure: StateError | undefined;
    const tooMany = maxChanges !== null && maxChanges !== undefined && changes > maxChanges;
    // Expiries are never held back: with too many changes, they are all that is applied.
    const expiries = actions.filter((a) => a.kind === "expire").length;
    if (!opts.dryRun && tooMany) {
      const butExpiries =
        expiries > 0 ? ` but the ${expiries} expir${expiries === 1 ? "y" : "ies"}, which never wait` : "";
      report.stopped = `${changes} change${changes === 1 ? "" : "s"} planned, more than --max-changes ${maxChanges}: nothing was applied${butExpiries}`;
      deps.log.error("too many changes; nothing applied", { changes, maxChanges, expiries });
      codes.push(EXIT.tooManyChanges);
    }
    const toApply = tooMany ? actions.filter((a) => a.kind === "expire") : actions;
    const halt = { reason: null as string | null };
    const writer = opts.dryRun
      ? null
      : createLedgerWriter(stateFile, held, deps.now, {
          runId: deps.runId,
          fs,
          keepEnded: (g) => !capsOf(g.target).expires && !g.preexisting,
          notices: loaded.notices,
          onFailure: (error) => {
            halt.reason ??= error;
            deps.log.error("the ledger could not be written; no further call is started", { error });
          },
        });
    if (writer) {
      const apply = toApply.some(isCall);
      // Before the first call, the ledger is written once: a disk that cannot take it fails the run
      // here, with nothing applied. A journal left by an earlier run is written in too.
      if (apply || loaded.journal) await writer.prepare(loaded.journal);
      if (apply && stopped()) {
        const s = stopped();
        report.stopped = `${s?.name ?? "a stop request"} received before the first call: ${calls} call${calls === 1 ? " was" : "s were"} not made (they stay planned; the next run makes them)`;
        codes.push(s?.code ?? EXIT.sigterm);
      } else if (apply) {
        const applied = await applyAndRecord(toApply, { writer, audit, halt, targets, deps, noticesFor });
        ledger = writer.grants;
        report.actions.forEach((r, i) => {
          const res = applied.results.get(actions[i] as Action);
          if (!res) return;
          r.status = res.status;
          if (res.status === "failed") r.error = res.error;
          // The target could not give this identity the access (e.g. no such user there).
          if (res.status === "skipped") {
            targetSkips++;
            r.kind = "skip";
            r.note = res.reason;
          }
          // The identity had the access already: nothing was called, and it is left alone.
          if (res.status === "applied" && res.preexisting) {
            r.kind = "skip";
            r.status = "skipped";
            r.note = PREEXISTING;
          }
        });
        if (report.actions.some((a) => a.status === "failed")) codes.push(EXIT.partial);
        if (targetSkips > 0) codes.push(EXIT.partial);
        const applying = new Set(toApply);
        const notMade = report.actions.filter(
          (r, i) => isCall(r) && r.status === "planned" && applying.has(actions[i] as Action),
        ).length;
        const made = toApply.filter(isCall).length;
        const notMadeText = `${notMade} of ${made} call${made === 1 ? " was" : "s were"} not made (they stay planned; the next run makes them)`;
        const s = stopped();
        const failed = recordFailure(writer.problem, applied.auditError, notMadeText);
        if (failed) {
          failure = new StateError(failed);
          report.stopped = `${halt.reason ?? "a write failed"}: no further call was started; ${notMadeText}`;
          codes.push(EXIT.usage);
        } else if (s) {
          report.stopped = `${s.name} received: no further call was started; ${notMadeText}`;
          codes.push(s.code);
          deps.log.warn("sync stopped", { signal: s.name, notMade });
        }
      }
    }

    // Access past its end that is still there: each run that leaves it so says it and exits 4.
    const overdue = opts.dryRun
      ? []
      : report.actions.filter((a) => a.kind === "expire" && a.status !== "applied");
    if (overdue.length > 0) {
      codes.push(EXIT.partial);
      deps.log.warn("access past its end was not expired; the next run tries again", {
        overdueExpiries: overdue.length,
        grants: overdue.map((a) => `${a.target} ${a.resource} ${a.identity} (ended ${a.end.toISO() ?? ""})`),
      });
    }
    if (outlets.length > 0) {
      const notified = await notify({
        actions,
        reported: report.actions,
        errors: fetched.errors,
        outlets,
        runEvents,
        noticesFor,
        writer,
        halt,
        stopped,
        deps,
        now,
        known: loaded.notices,
      });
      const { tally: _t, unsent, ...shown } = notified;
      report.notifications = shown;
      const s = stopped();
      if (s && unsent) {
        const text = `${unsent} notification${unsent === 1 ? " was" : "s were"} not sent (they stay pending; the next run sends them)`;
        report.stopped = report.stopped ? `${report.stopped}; ${text}` : `${s.name} received: ${text}`;
        codes.push(s.code);
      }
      if (notified.requiredFailed) {
        codes.push(EXIT.partial);
        deps.log.error("a required notification channel could not be told; the run exits 4", {
          channels: notified.channels.filter((c) => c.required && c.failed > 0).map((c) => c.name),
        });
      }
      tally = notified.tally ?? null;
    }
    const code = combineExitCodes(codes);
    report.exitCode = code;
    deps.stdout.write(deps.redactor.redact(render(report, opts, deps, now)));
    const failedActions = report.actions.filter((a) => a.status === "failed").length;
    // A bad identity is caught by the plan; an identity the access system does not know, by its target.
    const badIdentities = actions.filter((a) => a.badIdentity).length + targetSkips;
    deps.log.info("sync finished", {
      exitCode: code,
      actions: actions.length,
      changes,
      // Everything that makes the exit code 3 or 4, so that the line explains it.
      errors: fetched.errors.length + failedActions + badIdentities,
      sourceErrors: fetched.errors.length,
      failedActions,
      badIdentities,
    });
    return {
      code,
      ...(failure ? { failure } : {}),
      actions: report.actions,
      ...stats(),
      sourceErrors: fetched.errors.length,
      ledger,
      overdueExpiries: overdue.length,
      ...(tally ? { notifications: tally } : {}),
    };
  } finally {
    await audit.close();
    unregister?.();
    await lock?.release();
  }
}

/**
 * A skip is never done, so it has no "action failed" line of its own: this one says what was not
 * done and why. A bad identity is shown with its control characters escaped and cut short, as it
 * came from a source and passed no check.
 */
function logSkip(a: Action, deps: CommandDeps): void {
  deps.log.warn("action skipped", {
    kind: a.kind,
    rule: a.rule,
    target: a.target,
    resource: a.resource,
    identity: a.badIdentity ? shortEscaped(a.identity) : a.identity,
    reason: a.note ?? a.reason,
    ...(a.badIdentity ? { badIdentity: true } : {}),
  });
}

/** Control characters made visible, and at most 254 characters (the longest email) of it. */
function shortEscaped(text: string): string {
  const visible = sanitizeForTerminal(text);
  return visible.length <= 254 ? visible : `${visible.slice(0, 253)}…`;
}

function render(report: Report, opts: SyncOptions, deps: CommandDeps, now: DateTime): string {
  return opts.output === "json" ? renderJson(report) : renderText(report, textOptions(deps, now));
}

function isCall(a: { kind: ReportedAction["kind"] }): boolean {
  return CALL_KINDS.has(a.kind);
}

/** Which signal stopped the run, and its exit code (128 + the signal's number, as shells report it). */
function stopSignal(signal: AbortSignal | undefined): { name: string; code: ExitCode } | null {
  if (!signal?.aborted) return null;
  if (signal.reason === "SIGINT") return { name: "SIGINT", code: EXIT.sigint };
  return { name: typeof signal.reason === "string" ? signal.reason : "a stop request", code: EXIT.sigterm };
}

/** Resolves with `p`, or with null as soon as `signal` aborts (`p` is then left to settle alone). */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T | null> {
  if (!signal) return p;
  return new Promise<T | null>((resolve, reject) => {
    const onAbort = () => {
      p.catch(() => undefined);
      resolve(null);
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

/** Stops the run before anything is done when two of its files are one (see findSharedRunFile). */
async function checkSeparateFiles(
  config: Config,
  stateFile: string,
  metricsFile: string | null,
  guard: { metricsSafe: boolean },
): Promise<void> {
  const same = await findSharedRunFile({
    config: config.file,
    state: stateFile,
    audit: config.audit,
    metrics: metricsFile,
  });
  if (!same) return;
  if (same.roles.includes(METRICS_ROLE)) guard.metricsSafe = false;
  throw new UsageError(`${same.message}; nothing was done`);
}

type ApplyContext = {
  writer: LedgerWriter;
  audit: AuditLog;
  /** Why no further call may start (a record that could not be written); set by the writer too. */
  halt: { reason: string | null };
  targets: ReturnType<typeof buildTargets>;
  deps: CommandDeps;
  /** The notifications an action's outcome adds, recorded with it. */
  noticesFor: (a: Action, outcome: Outcome) => NoticeChange[];
};

/**
 * Applies the plan, recording each result as it comes. A ledger or audit write that fails, or a stop
 * request, starts no further call; the calls under way finish and are recorded (in the journal, if
 * the ledger cannot take them). `failure` says what could not be recorded.
 */
async function applyAndRecord(
  actions: Action[],
  ctx: ApplyContext,
): Promise<{ results: Map<Action, ActionResult>; auditError: string | null }> {
  const { deps, writer, audit, halt } = ctx;
  const total = actions.filter(isCall).length;
  let done = 0;
  let auditError: string | null = null;
  // Each action is recorded as it completes, and the next call of its worker waits until it is: so
  // a run killed, or a disk that fills up, loses at most the results of the calls under way (one per
  // worker). Ledger writes are coalesced, so the workers wait for one write together.
  const results = await applyPlan(actions, ctx.targets, deps.log, {
    shouldStop: () => halt.reason !== null || (deps.signal?.aborted ?? false),
    onResult: async ({ action, result }) => {
      deps.progress(`applying ${++done}/${total}…`);
      const clean = deps.redactor.redactDeep(result);
      // The notification goes in the same write as the action: a run killed before it is sent
      // leaves it pending for the next run.
      const notices = ctx.noticesFor(action, clean);
      const ledgerWrite =
        clean.status !== "applied"
          ? notices.length > 0
            ? writer.notice(...notices)
            : Promise.resolve()
          : action.kind === "revoke" || action.kind === "expire"
            ? writer.remove(action.revokes ?? [], notices)
            : action.kind === "shorten"
              ? writer.shorten(action.shortens ?? [], action.end, notices)
              : writer.add(ledgerGrant(action, clean, deps), notices);
      const auditWrite = audit.record(action, clean).catch((err: unknown) => {
        const error = err instanceof Error ? err.message : String(err);
        auditError ??= error;
        halt.reason ??= error;
        deps.log.error("the audit log could not be written; no further call is started", { error });
      });
      await Promise.all([ledgerWrite, auditWrite]);
    },
  });
  deps.progress(null);
  await writer.flush();
  for (const [a, r] of results) results.set(a, deps.redactor.redactDeep(r));
  return { results, auditError };
}

/** The ledger's entry for an applied grant or extend: with the target's ref, and whether it pre-existed. */
function ledgerGrant(
  action: Action,
  result: Extract<ActionResult, { status: "applied" }>,
  deps: CommandDeps,
): LedgerGrant {
  const g: LedgerGrant = {
    target: action.target,
    resource: action.resource,
    identity: action.identity,
    rule: action.rule,
    start: action.start,
    end: action.end,
    grantedAt: deps.now().toUTC(),
    runId: deps.runId,
  };
  if (result.preexisting || action.preexisting) g.preexisting = true;
  const ref = result.ref ?? action.ref;
  if (ref) g.ref = ref;
  return g;
}

/** Each configured target's capabilities; a target the config no longer has expires nothing. */
function targetCapabilities(config: Config): (target: string) => TargetCapabilities {
  const cache = new Map<string, TargetCapabilities>();
  for (const [name, t] of config.targets) cache.set(name, capabilitiesOf(t));
  return (target) => cache.get(target) ?? SELF_ENDING_GRANTS;
}

/**
 * The targets that have an expiry due: a grant in the ledger, on a target that does not end grants by
 * itself, whose end has passed. Read before the lock (a quick look; the plan reads it again): their
 * secrets are resolved and the targets built whatever the rules selected.
 */
async function targetsWithExpiries(
  config: Config,
  stateFile: string,
  capsOf: (target: string) => TargetCapabilities,
  now: DateTime,
): Promise<Set<string>> {
  const out = new Set<string>();
  for (const [name, t] of config.targets) {
    if (!capabilitiesOf(t).expires) out.add(name);
  }
  if (out.size === 0) return out;
  let grants: readonly HeldGrant[];
  try {
    grants = (await readLedger(stateFile)).grants;
  } catch {
    return new Set(); // the run reads it again under the lock, and says what is wrong with it
  }
  const due = new Set<string>();
  for (const g of grants) {
    if (out.has(g.target) && !capsOf(g.target).expires && !g.preexisting && g.end <= now) due.add(g.target);
  }
  return due;
}

/**
 * The members of each `exclusive` resource of the targets the rules use, as the targets list them.
 * A listing that fails leaves that resource as it is in this run (and the run exits 4).
 */
async function listExclusiveMembers(
  config: Config,
  rules: readonly { target: string }[],
  targets: ReturnType<typeof buildTargets>,
  deps: CommandDeps,
): Promise<{ members: { target: string; resource: string; identities: string[] }[]; failed: boolean }> {
  const members: { target: string; resource: string; identities: string[] }[] = [];
  let failed = false;
  for (const name of new Set(rules.map((r) => r.target))) {
    const t = targets.get(name)?.target;
    const exclusive = config.targets.get(name)?.exclusive ?? [];
    if (!t?.listMembers || exclusive.length === 0) continue;
    for (const resource of exclusive) {
      const listed = await t.listMembers(resource);
      if (listed.status === "listed") members.push({ target: name, resource, identities: listed.identities });
      else {
        failed = true;
        deps.log.warn(
          "could not list an exclusive resource's members; its other members are left in this run",
          {
            target: name,
            resource,
            error: listed.error,
          },
        );
      }
    }
  }
  return { members, failed };
}

/**
 * The access requests of each target the rules use that approves them, as the targets list them. A
 * listing that fails approves nothing on that target in this run (what it holds goes on and is
 * expired as due), and the run exits 4.
 */
async function listAccessRequests(
  rules: readonly { target: string }[],
  targets: ReturnType<typeof buildTargets>,
  deps: CommandDeps,
): Promise<{ requests: Map<string, AccessRequest[]>; failed: boolean }> {
  const requests = new Map<string, AccessRequest[]>();
  let failed = false;
  for (const name of new Set(rules.map((r) => r.target))) {
    const t = targets.get(name)?.target;
    if (!t?.capabilities.approvesRequests || !t.listRequests) continue;
    const listed = await t.listRequests();
    if (listed.status === "listed") requests.set(name, listed.requests);
    else {
      failed = true;
      deps.log.warn("could not list the access requests; none is approved on this target in this run", {
        target: name,
        error: listed.error,
      });
    }
  }
  return { requests, failed };
}

/**
 * Each target's own identity map, completed by the target where it links people to its identities
 * itself (GitHub's SAML-linked identities): the emails of this run's shifts that no map names are
 * asked once. Maps written in the config win. A lookup that fails leaves those emails unmapped (their
 * actions are skips) and the run exits 4.
 */
async function linkTargetIdentities(
  config: Config,
  rules: readonly { name: string; target: string }[],
  targets: ReturnType<typeof buildTargets>,
  shifts: ReadonlyMap<string, readonly { email: string }[]>,
  deps: CommandDeps,
): Promise<{ identities: Map<string, ReadonlyMap<string, string>>; failed: boolean }> {
  const identities = new Map<string, ReadonlyMap<string, string>>(
    [...config.targets].map(([name, t]) => [name, t.identities]),
  );
  let failed = false;
  for (const name of new Set(rules.map((r) => r.target))) {
    const t = targets.get(name)?.target;
    const own = config.targets.get(name)?.identities ?? new Map<string, string>();
    if (!t?.linkIdentities) continue;
    const emails = new Set<string>();
    for (const rule of rules) {
      if (rule.target !== name) continue;
      for (const s of shifts.get(rule.name) ?? []) {
        const email = normalizeEmail(s.email);
        const global = config.identities.get(email) ?? email;
        if (!own.has(email) && !own.has(global) && isPlainEmail(global)) emails.add(global);
      }
    }
    if (emails.size === 0) continue;
    const res = await t.linkIdentities([...emails].sort());
    if (res.status === "failed") {
      failed = true;
      deps.log.warn("could not look up the identities the target links to emails; those emails are skipped", {
        target: name,
        error: res.error,
      });
      continue;
    }
    identities.set(name, new Map([...res.identities, ...own]));
  }
  return { identities, failed };
}

/** What could not be recorded, where the rest went, and what to do: the run's exit-2 message. */
function recordFailure(p: LedgerProblem | null, auditError: string | null, notMade: string): string | null {
  const parts: string[] = [];
  if (p) {
    parts.push(`${p.error}; no further call was started: ${notMade}.`);
    if (p.lost > 0)
      parts.push(
        `${p.lost} applied action(s) could not be kept in the journal ${p.journal} either (${p.journalError ?? "error"}): the next run may make them again; the logs list them ("action applied").`,
      );
    else if (p.journaled > 0)
      parts.push(
        `The ${p.journaled} action(s) applied since the last good write are kept in ${p.journal}; the next run adds them to the ledger.`,
      );
    else parts.push("A second try wrote it: every applied action is in the ledger.");
    parts.push("Free space or fix the error before the next run.");
  }
  if (auditError) {
    parts.push(
      p
        ? `The audit log failed too: ${auditError}.`
        : `${auditError}; no further call was started: ${notMade}. The ledger records what was applied.`,
    );
  }
  return parts.length > 0 ? parts.join(" ") : null;
}

/**
 * A call the run would make is `planned` until it is made (`applied` or `failed`); it stays `planned`
 * in a dry run and when a guard stops the run. Actions that make no call are `skipped`.
 */
function initialStatus(kind: ReportedAction["kind"]): ActionStatus {
  return CALL_KINDS.has(kind) ? "planned" : "skipped";
}

type NotifyContext = {
  actions: readonly Action[];
  reported: readonly ReportedAction[];
  errors: readonly SourceFailure[];
  outlets: readonly Outlet[];
  runEvents: NotifyEvent[];
  noticesFor: (a: Action, outcome: Outcome) => NoticeChange[];
  writer: LedgerWriter | null;
  halt: { reason: string | null };
  stopped: () => unknown;
  deps: CommandDeps;
  now: DateTime;
  known: readonly NoticeRecord[];
};

/**
 * The run's notifications, after its actions: the events the plan alone tells of (bad identities,
 * failed sources, expiries not made) and the summary are recorded, then every pending message is
 * sent. A dry run sends nothing: it lists the messages a real run would send. Delivery never changes
 * what was granted; only a `required` channel's failure changes the exit code.
 */
async function notify(
  ctx: NotifyContext,
): Promise<NotificationsReport & { tally?: NotifyTally; unsent?: number }> {
  const { deps, now, outlets, writer } = ctx;
  const puts: NoticeChange[] = [];
  ctx.actions.forEach((a, i) => {
    const r = ctx.reported[i];
    if (a.badIdentity) puts.push(...ctx.noticesFor(a, { status: "badIdentity" }));
    else if (!writer && r && CALL_KINDS.has(a.kind)) puts.push(...ctx.noticesFor(a, { status: "applied" }));
    else if (writer && a.kind === "expire" && r?.status === "planned")
      puts.push(...ctx.noticesFor(a, { status: "overdue" }));
  });
  for (const f of ctx.errors) {
    const e = sourceEvent(f, now);
    ctx.runEvents.push(e);
    const n = noticeFor(e, outletsFor(e, outlets), now);
    if (n) puts.push({ put: n });
  }
  const summary = summaryEvent(ctx.runEvents, now, deps.runId);
  if (summary) {
    ctx.runEvents.push(summary);
    const n = noticeFor(summary, outletsFor(summary, outlets), now);
    if (n) puts.push({ put: n });
  }
  if (!writer) {
    const messages = previewMessages(ctx.runEvents, outlets, ctx.known);
    return { ...tallyReport(emptyTally(outlets)), messages };
  }
  if (puts.length > 0 && !ctx.halt.reason) await writer.notice(...puts);
  const { tally, unsent } = await deliverPending(writer.notices, outlets, {
    log: deps.log,
    now,
    record: (...changes) => writer.notice(...changes),
    stopped: () => Boolean(ctx.stopped()) || ctx.halt.reason !== null,
  });
  await writer.flush();
  return { ...tallyReport(tally), tally, unsent };
}

function tallyReport(t: NotifyTally): NotificationsReport {
  const channels = [...t].map(([name, c]) => ({ name, ...c }));
  return { channels, requiredFailed: channels.some((c) => c.required && c.failed > 0) };
}
