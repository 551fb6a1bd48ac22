import type { DateTime } from "luxon";
import type { Config } from "../config/load.js";
import type { Secrets } from "../config/secrets.js";
import type { Exec } from "../infra/exec.js";
import { createHttpClient, type HttpClient } from "../infra/http.js";
import type { Logger } from "../infra/log.js";
import type { SecretSet } from "../core/redact.js";
import { createChannel } from "../notify/index.js";
import type { Channel } from "../notify/types.js";
import { createSource } from "../sources/index.js";
import type { Source } from "../sources/types.js";
import type { StateFs } from "../state/fs.js";
import { createTarget } from "../targets/index.js";
import type { Target } from "../targets/types.js";

/** Everything a command needs from the outside world, passed in so that tests need no mocking. */
export type CommandDeps = {
  env: NodeJS.ProcessEnv;
  cwd: string;
  now: () => DateTime;
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  log: Logger;
  redactor: SecretSet;
  exec: Exec;
  runId: string;
  /** A one-line progress note for people watching a terminal; does nothing elsewhere. */
  progress: (note: string | null) => void;
  sleep?: (ms: number) => Promise<void>;
  /**
   * Aborted when the run is asked to stop (SIGINT, SIGTERM, or an in-process caller): no further call
   * starts, calls under way finish and are recorded, the report says what was not done. Its reason is
   * the signal's name.
   */
  signal?: AbortSignal;
  /**
   * Registers a clean-up (removing the lock) for a run that must end at once (a second signal);
   * returns a function that unregisters it.
   */
  onHardStop?: (cleanup: () => Promise<void>) => () => void;
  /** The writes of the state files; tests pass one that fails. */
  stateFs?: StateFs;
};

export function buildSources(
  config: Config,
  names: Iterable<string>,
  secrets: Secrets,
  deps: CommandDeps,
): { sources: Map<string, Source>; http: HttpClient } {
  const http = createHttpClient(config.http, { log: deps.log, ...(deps.sleep ? { sleep: deps.sleep } : {}) });
  const sources = new Map<string, Source>();
  for (const name of names) {
    const c = config.sources.get(name);
    if (!c) continue;
    sources.set(
      name,
      createSource(c, {
        http,
        token: secrets.get(`sources.${name}`) ?? null,
        concurrency: config.concurrency,
        log: deps.log,
      }),
    );
  }
  return { sources, http };
}

export function buildTargets(
  config: Config,
  names: Iterable<string>,
  secrets: Secrets,
  deps: CommandDeps,
  http: HttpClient = createHttpClient(config.http, {
    log: deps.log,
    ...(deps.sleep ? { sleep: deps.sleep } : {}),
  }),
): Map<string, { target: Target; concurrency: number }> {
  const out = new Map<string, { target: Target; concurrency: number }>();
  for (const name of names) {
    const c = config.targets.get(name);
    if (!c) continue;
    const target = createTarget(c, {
      exec: deps.exec,
      env: deps.env,
      token: secrets.get(`targets.${name}`) ?? null,
      http,
      redactor: deps.redactor,
      now: deps.now,
      ...(deps.sleep ? { sleep: deps.sleep } : {}),
      ...(deps.signal ? { signal: deps.signal } : {}),
      httpSettings: config.http,
      log: deps.log,
    });
    out.set(name, { target, concurrency: c.concurrency });
  }
  return out;
}

/**
 * How text output looks where it goes: colour on a terminal (not with NO_COLOR or TERM=dumb); the
 * terminal's width, else `COLUMNS` (so `… | less` or `watch` can ask for one), else 100 columns.
 */
export function textOptions(deps: Pick<CommandDeps, "stdout" | "env">, now: DateTime) {
  const tty = deps.stdout.isTTY === true;
  const noColor = deps.env.NO_COLOR !== undefined && deps.env.NO_COLOR !== "";
  const columns = /^\d+$/.test(deps.env.COLUMNS ?? "") ? Number(deps.env.COLUMNS) : 0;
  return {
    width: tty && deps.stdout.columns ? deps.stdout.columns : columns > 0 ? columns : 100,
    color: tty && !noColor && deps.env.TERM !== "dumb",
    zone: now.setZone("local").zoneName ?? "UTC",
    now,
  };
}

/** The notification channels, by name; nothing is sent or loaded until a message goes out. */
export function buildChannels(config: Config, secrets: Secrets, deps: CommandDeps): Map<string, Channel> {
  const http = createHttpClient(config.http, { log: deps.log, ...(deps.sleep ? { sleep: deps.sleep } : {}) });
  const out = new Map<string, Channel>();
  for (const [name, c] of config.channels) {
    out.set(
      name,
      createChannel(c, {
        token: secrets.get(`notify.channels.${name}`) ?? null,
        http,
        httpSettings: config.http,
        log: deps.log,
        sleep: deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms))),
      }),
    );
  }
  return out;
}
