import { randomUUID } from "node:crypto";
import type { DateTime } from "luxon";
import { Argument, Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { SOURCE_TYPES, TARGET_TYPES, type SourceType, type TargetType } from "./config/defaults.js";
import { ConfigError, EXIT, ShiftgrantError, UsageError, type ErrorKind, type ExitCode } from "./errors.js";
import { completionScript, SHELLS, type Shell } from "./commands/completion.js";
import type { CommandDeps } from "./commands/context.js";
import type { Exec } from "./infra/exec.js";
import type { LogFormat, Logger, LogLevel } from "./infra/log.js";
import { helpEpilogue } from "./help.js";
import { SecretSet } from "./core/redact.js";
import { VERSION } from "./version.js";

// NOTE: only commander and tiny modules are imported up front, so that `--version` and `--help`
// start fast; the logger (winston), the HTTP and exec layers and each command load when a command runs.

export type MainDeps = {
  env: NodeJS.ProcessEnv;
  cwd: string;
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  /** Stop requests (SIGINT, SIGTERM), wired by the CLI entry; in-process callers may pass their own. */
  stop?: StopControl;
  /**
   * The clock. The CLI passes none: the real time, or the one `SHIFTGRANT_NOW` fakes for a dry run.
   * In-process callers (tests) pass their own, so that no environment variable fakes it.
   */
  now?: () => DateTime;
  /** Runs the target CLIs (default: each argv as a real child process, without a shell). */
  exec?: Exec;
  /** Every wait of a run (HTTP retry backoff, Retry-After); in-process callers pass one that does not wait. */
  sleep?: (ms: number) => Promise<void>;
};

export type StopControl = {
  /** Aborted, with the signal's name as its reason, when a stop is requested after `graceful()`. */
  signal: AbortSignal;
  /** The command stops gracefully on `signal` (sync does); until it says so, a signal ends the process. */
  graceful(): void;
  /** Registers a clean-up run when the process must end at once (a second signal); returns its unregister. */
  onHardStop: (cleanup: () => Promise<void>) => () => void;
};

type GlobalOpts = { logLevel: LogLevel; logFormat?: LogFormat; quiet?: boolean; verbose?: boolean };
/** A command's parsed options, as commander gives them. */
type Opts = Record<string, unknown>;

/**
 * Parses argv, runs one command, returns its exit code. Only this function turns errors into exit
 * codes (EXIT in src/errors.ts): usage for usage, config and secrets, bug for a bug (and it says so).
 */
export async function main(argv: string[], deps: MainDeps): Promise<ExitCode> {
  let code: ExitCode = EXIT.ok;
  // Commander reports a bad command line before any option is known: what the command line asks
  // for is read from it first, so that even that error comes as JSON where JSON was asked for.
  const asked = { output: lastValue(argv, "--output"), logFormat: lastValue(argv, "--log-format") };
  const jsonLogs = (asked.logFormat ?? (deps.stderr.isTTY ? "text" : "json")) === "json";
  const out = watchWrites(deps.stdout);
  const program = new Command("shiftgrant")
    .description("Gives whoever is on call just-in-time, time-bounded access.")
    .version(VERSION, "--version")
    .addOption(
      new Option("--log-level <level>", "log level")
        .choices(["error", "warn", "info", "debug"])
        .default("info"),
    )
    .addOption(
      new Option("--log-format <format>", "log format (default: json unless stderr is a terminal)").choices([
        "text",
        "json",
      ]),
    )
    .addOption(
      new Option("-q, --quiet", "log errors only, and show no progress (as --log-level error)").conflicts([
        "logLevel",
        "verbose",
      ]),
    )
    .addOption(new Option("-v, --verbose", "log everything (as --log-level debug)").conflicts("logLevel"))
    .addHelpText("after", helpEpilogue())
    // A command's --help also lists the global options, which are accepted after it too.
    .configureHelp({ showGlobalOptions: true })
    .exitOverride()
    .configureOutput({
      writeOut: (s) => out.stream.write(s),
      // With JSON logs, every line on stderr is JSON, commander's own included.
      writeErr: (s) => deps.stderr.write(jsonLogs ? jsonLogLine("error", s.trim()) : s),
      // Commander's own errors ("error: unknown option") in the style of every other error line.
      outputError: (s, write) =>
        jsonLogs
          ? deps.stderr.write(
              jsonLogLine("error", s.replace(/^error: /, "").trimEnd(), {
                exitCode: EXIT.usage,
                kind: "usage",
              }),
            )
          : write(s.replace(/^error: /, "shiftgrant: error: ")),
    })
    .showHelpAfterError(jsonLogs ? false : "(run with --help for usage)");

  /** Wraps a command: its options (with the global ones), a logger, the clock; errors to exit codes. */
  const run =
    (fn: (deps: CommandDeps, opts: Opts) => Promise<ExitCode>, graceful = false) =>
    async (_: unknown, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOpts & Opts>();
      const runId = randomUUID().slice(0, 8);
      const redactor = new SecretSet();
      const [{ createLogger }, { runCommand }, { DateTime: dt }, { parseInstant }] = await Promise.all([
        import("./infra/log.js"),
        import("./infra/exec.js"),
        import("luxon"),
        import("./core/time.js"),
      ]);
      const format = globals.logFormat ?? (deps.stderr.isTTY ? "text" : "json");
      // JSON logs are for machines: no progress line among them, even on a terminal.
      const progress = progressLine(deps.stderr, format === "text");
      const log = createLogger({
        level: globals.quiet ? "error" : globals.verbose ? "debug" : globals.logLevel,
        format,
        secrets: redactor,
        runId,
        stream: deps.stderr,
        aroundLine: progress.aroundLine,
      });
      try {
        const commandDeps: CommandDeps = {
          env: deps.env,
          cwd: deps.cwd,
          now: deps.now ?? clockFrom(deps.env, dt, parseInstant),
          stdout: out.stream,
          log,
          redactor,
          exec: deps.exec ?? runCommand,
          runId,
          progress: globals.quiet ? () => undefined : progress.show,
          ...(deps.sleep ? { sleep: deps.sleep } : {}),
          ...(graceful && deps.stop ? { signal: deps.stop.signal, onHardStop: deps.stop.onHardStop } : {}),
        };
        if (graceful) deps.stop?.graceful();
        code = await fn(commandDeps, globals);
      } catch (err) {
        progress.show(null);
        code = reportError(err, {
          stderr: deps.stderr,
          redactor,
          log: format === "json" ? log : null,
          // A command that printed its document already (a report, then a failed record) has said it.
          doc: globals.output === "json" && !out.written() ? out.stream : null,
        });
      }
    };

  const configOption = () =>
    new Option("-c, --config <file>", "config file (default: $SHIFTGRANT_CONFIG, then ./shiftgrant.yaml)");
  const outputOption = () =>
    new Option("--output <format>", "output format").choices(["text", "json"]).default("text");
  /** The window and rule selection that sync and oncall share. */
  const windowOptions = (cmd: Command) =>
    cmd
      .option("--since <time>", "start of the window: ISO 8601 with offset, or now (default now)")
      .option("--until <time>", "end of the window (default: since + window)")
      .option("--window <duration>", "length of the window, e.g. 24h, 7d (default: the config's window)")
      .option(
        "--rule <name>",
        "only this rule (repeatable)",
        (v: string, prev: string[]) => [...prev, v],
        [] as string[],
      );
  const configFile = (flag: unknown) =>
    import("./config/load.js").then((m) => m.configPath(flag as string | undefined, deps.env, deps.cwd));
  const windowOf = (o: Opts) => ({
    since: o.since as string | undefined,
    until: o.until as string | undefined,
    window: o.window as string | undefined,
    rules: (o.rule as string[] | undefined) ?? [],
  });

  windowOptions(
    program
      .command("sync")
      .description("fetch who is on call, plan the grants, issue them")
      .addOption(configOption())
      .option("--dry-run", "print the plan; make no call, write nothing", false),
  )
    .option("--state <file>", "ledger file (default: the config's state)")
    .addOption(outputOption())
    .option("--max-changes <n>", "apply nothing if grants + extends + revokes exceed n", parseCount)
    .option("--metrics-file <file>", "write Prometheus metrics to this file")
    .action(
      run(async (d, o) => {
        refuseFakeClock(d.env, Boolean(o.dryRun));
        const { runSync } = await import("./commands/sync.js");
        return runSync(
          {
            config: await configFile(o.config),
            dryRun: Boolean(o.dryRun),
            ...windowOf(o),
            state: o.state as string | undefined,
            output: o.output as "text" | "json",
            maxChanges: o.maxChanges as number | undefined,
            metricsFile: o.metricsFile as string | undefined,
          },
          d,
        );
      }, true),
    );

  program
    .command("validate")
    .description(
      "check the config (offline); --online also checks the run's files, credentials and target CLIs",
    )
    .addOption(configOption())
    .option("--online", "also check the files a run writes, each source's key and each target's CLI", false)
    .option("--state <file>", "with --online: check this ledger file (as sync --state)")
    .option("--metrics-file <file>", "with --online: check this metrics file (as sync --metrics-file)")
    .action(
      run(async (d, o) => {
        const { runValidate } = await import("./commands/validate.js");
        return runValidate(
          {
            config: await configFile(o.config),
            online: Boolean(o.online),
            state: o.state as string | undefined,
            metricsFile: o.metricsFile as string | undefined,
          },
          d,
        );
      }),
    );

  program
    .command("init")
    .description("write a commented starter config for one source and one target")
    .addOption(
      new Option("--source <type>", "where on-call data comes from")
        .choices(SOURCE_TYPES)
        .default("pagerduty"),
    )
    .addOption(
      new Option("--target <type>", "the access tool that grants access")
        .choices(TARGET_TYPES)
        .default("strongdm"),
    )
    .option("-o, --out <file>", 'where to write it ("-" for stdout)', "shiftgrant.yaml")
    .option("--force", "overwrite the file if it exists", false)
    .action(
      run(async (d, o) => {
        const { runInit } = await import("./commands/init.js");
        return runInit(
          {
            source: o.source as SourceType,
            target: o.target as TargetType,
            out: o.out as string,
            force: Boolean(o.force),
          },
          d,
        );
      }),
    );

  program
    .command("schedules")
    .description("list each source's schedules (id, name), to write the config; needs only its sources")
    .addOption(configOption())
    .option("--source <name>", "only this source")
    .option("--query <text>", "only schedules whose name contains this")
    .addOption(outputOption())
    .action(
      run(async (d, o) => {
        const { runSchedules } = await import("./commands/schedules.js");
        return runSchedules(
          {
            config: await configFile(o.config),
            source: o.source as string | undefined,
            query: o.query as string | undefined,
            output: o.output as "text" | "json",
          },
          d,
        );
      }),
    );

  windowOptions(
    program
      .command("oncall")
      .description("print who is on call in the window (who, schedule, level, start, end); no plan")
      .addOption(configOption()),
  )
    .addOption(outputOption())
    .action(
      run(async (d, o) => {
        const { runOncall } = await import("./commands/oncall.js");
        return runOncall(
          { config: await configFile(o.config), ...windowOf(o), output: o.output as "text" | "json" },
          d,
        );
      }),
    );

  program
    .command("grants")
    .description(
      "print what the ledger holds now: until when, pre-existing access and overdue expiries marked",
    )
    .addOption(configOption())
    .addOption(outputOption())
    .action(
      run(async (d, o) => {
        const { runGrants } = await import("./commands/grants.js");
        return runGrants({ config: await configFile(o.config), output: o.output as "text" | "json" }, d);
      }),
    );

  program
    .command("completion")
    .description("print a shell completion script (bash, zsh or fish)")
    .addArgument(new Argument("<shell>", "the shell").choices(SHELLS))
    .action((shell: Shell) => {
      deps.stdout.write(completionScript(shell, program));
    });

  if (argv.length === 0) {
    // No command at all is a usage error (commander would print the help and call it success).
    if (jsonLogs)
      deps.stderr.write(
        jsonLogLine("error", "no command given: run shiftgrant --help for the commands", {
          exitCode: EXIT.usage,
          kind: "usage",
        }),
      );
    else program.outputHelp({ error: true });
    return EXIT.usage;
  }
  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help shown because it was asked for is success; help shown instead of a command that is
      // missing (`shiftgrant --quiet`) is a usage error, as no command at all is.
      const asksHelp = err.code === "commander.help" && err.exitCode === 0;
      if (err.code === "commander.helpDisplayed" || err.code === "commander.version" || asksHelp)
        return EXIT.ok;
      // Commander has already said it on stderr; the JSON document says it on stdout.
      if (asked.output === "json" && !out.written()) {
        writeErrorDocument(out.stream, new SecretSet(), {
          code: EXIT.usage,
          kind: "usage",
          message:
            err.code === "commander.help"
              ? "no command given: run shiftgrant --help for the commands"
              : err.message.replace(/^error: /, ""),
        });
      }
      return EXIT.usage;
    }
    return reportError(err, {
      stderr: deps.stderr,
      redactor: new SecretSet(),
      log: null,
      jsonLogs,
      doc: asked.output === "json" && !out.written() ? out.stream : null,
    });
  }
  return code;
}

/**
 * The value an option is given last on a command line (`--output json` or `--output=json`), as
 * commander will read it; undefined when it is not given. Arguments after `--` are not options.
 */
function lastValue(argv: readonly string[], flag: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--") break;
    if (arg === flag) value = argv[++i];
    else if (arg.startsWith(`${flag}=`)) value = arg.slice(flag.length + 1);
  }
  return value;
}

/** Stdout, and whether anything was written to it: one document per run, never a second one. */
function watchWrites(stdout: MainDeps["stdout"]): { stream: MainDeps["stdout"]; written: () => boolean } {
  let written = false;
  const stream = new Proxy(stdout, {
    get(target, prop) {
      if (prop === "write") {
        return (...args: unknown[]) => {
          written = true;
          return (target.write as (...a: unknown[]) => boolean)(...args);
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { stream, written: () => written };
}

function parseCount(v: string): number {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`expected a whole number, got "${v}"`);
  return Number(v);
}

/**
 * `SHIFTGRANT_NOW` pretends the current time is another, for dry runs, simulations and tests. An
 * empty value counts as unset; any other value must be a time with an offset, or the run stops:
 * silently running at the real time instead would not be what was asked.
 */
function clockFrom(
  env: NodeJS.ProcessEnv,
  dt: typeof DateTime,
  parseInstant: (input: string, now: DateTime) => DateTime | string,
): () => DateTime {
  const fixed = env.SHIFTGRANT_NOW?.trim();
  if (!fixed) return () => dt.utc();
  const t = /^\d/.test(fixed) ? parseInstant(fixed, dt.utc()) : `"${fixed}" is not a time`;
  if (typeof t === "string") {
    throw new UsageError(
      `SHIFTGRANT_NOW: ${t}; it must be an ISO 8601 time with an offset, like "2026-11-22T09:00:00Z", or unset`,
    );
  }
  return () => t;
}

/**
 * A real sync at a fake time would prune the ledger and issue grants for the wrong moment, and the
 * next real run would then grant again. So a fake clock is for dry runs, unless the test-only switch
 * says the ledger is a throwaway one.
 */
function refuseFakeClock(env: NodeJS.ProcessEnv, dryRun: boolean): void {
  if (dryRun || !env.SHIFTGRANT_NOW?.trim()) return;
  if (env.SHIFTGRANT_TEST_ALLOW_FAKE_NOW === "1") return;
  throw new UsageError(
    `SHIFTGRANT_NOW is set (${env.SHIFTGRANT_NOW.trim()}): it fakes the clock for simulations, and sync accepts it only with --dry-run; a real run at a fake time would damage the ledger. Unset SHIFTGRANT_NOW, or add --dry-run`,
  );
}

type ErrorSinks = {
  stderr: NodeJS.WritableStream;
  redactor: SecretSet;
  /** The run's logger when logs are JSON: the error is its last line. */
  log: Logger | null;
  /** JSON logs without a logger (the command line could not be read): a JSON line all the same. */
  jsonLogs?: boolean;
  /** Where the JSON error document goes (`--output json`), or null. */
  doc: NodeJS.WritableStream | null;
};

/**
 * Says why the run ended, on stderr (`shiftgrant: error: …`, so that one grep finds every error; a
 * JSON line with JSON logs) and, with `--output json`, as the run's one JSON document on stdout.
 */
function reportError(err: unknown, sinks: ErrorSinks): ExitCode {
  const known = err instanceof ShiftgrantError;
  const code: ExitCode = known ? err.exitCode : EXIT.bug;
  const kind: ErrorKind = known ? err.kind : "internal";
  const message = known
    ? err.message
    : `internal error (a bug; please report it with this message): ${err instanceof Error ? err.message : String(err)}`;
  const stack = !known && err instanceof Error ? err.stack : undefined;
  if (sinks.doc) {
    writeErrorDocument(sinks.doc, sinks.redactor, {
      code,
      kind,
      message,
      ...(err instanceof ConfigError ? { problems: err.problems } : {}),
    });
  }
  const fields = { exitCode: code, kind, ...(stack ? { stack } : {}) };
  if (sinks.log) sinks.log.error(message, fields);
  else if (sinks.jsonLogs) sinks.stderr.write(sinks.redactor.redact(jsonLogLine("error", message, fields)));
  else {
    const text = known
      ? message
      : `internal error (a bug; please report it with this message):\n${stack ?? message}`;
    sinks.stderr.write(sinks.redactor.redact(`shiftgrant: error: ${text}\n`));
  }
  return code;
}

/** `{"version":1,"error":{"code":5,"kind":"locked","message":"…"}}`: the document of a run that ended without a report. */
function writeErrorDocument(
  out: NodeJS.WritableStream,
  redactor: SecretSet,
  error: { code: ExitCode; kind: ErrorKind; message: string; problems?: string[] },
): void {
  out.write(redactor.redact(`${JSON.stringify({ version: 1, error }, null, 2)}\n`));
}

/**
 * One JSON log line, as the logger writes them, for what is said before there is a logger (the
 * command line could not be read) or without one.
 */
function jsonLogLine(level: "error", message: string, fields: Record<string, unknown> = {}): string {
  return `${JSON.stringify({ level, message, ...fields, timestamp: new Date().toISOString() })}\n`;
}

/**
 * Progress on a terminal's stderr, rewritten in place (`null` clears it); nothing when stderr is a
 * file or a pipe, where it would only clutter the logs. A log line on the same terminal clears it
 * first and draws it again below (`aroundLine`), so that the two never share a line.
 */
function progressLine(
  stderr: NodeJS.WritableStream & { isTTY?: boolean },
  enabled: boolean,
): {
  show: (note: string | null) => void;
  aroundLine: (write: () => void) => void;
} {
  if (!stderr.isTTY || !enabled) return { show: () => undefined, aroundLine: (write) => write() };
  let shown: string | null = null;
  return {
    show: (note) => {
      if (note === null) {
        if (shown !== null) stderr.write("\r\u001b[K");
        shown = null;
        return;
      }
      stderr.write(`\r\u001b[K${note}`);
      shown = note;
    },
    aroundLine: (write) => {
      if (shown === null) return write();
      stderr.write("\r\u001b[K");
      write();
      stderr.write(shown);
    },
  };
}
