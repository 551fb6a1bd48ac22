import type { DateTime } from "luxon";
import type { Exec, ExecResult } from "../infra/exec.js";
import type { HttpClient } from "../infra/http.js";

/** What a target can do; the plan decides with it, the target only performs. */
export type TargetCapabilities = {
  /** It can issue a grant that starts later than now. */
  futureStart: boolean;
  /** It can take access away before the grant ends. */
  revoke: boolean;
  /** It extends a held grant by changing its end, rather than by a new grant from the held end. */
  extendInPlace: boolean;
  /** It ends a held grant earlier by changing its end (without a revoke and a new grant). */
  shortenInPlace: boolean;
};

/** What a target is asked to do: one identity, one resource, one interval. */
export type TargetCall = {
  identity: string;
  resource: string;
  start: DateTime;
  end: DateTime;
  rule: string;
  reason: string;
  /**
   * For a revoke or a shorten: the grants it ends or cuts, as they were issued (for targets that
   * address grants by key).
   */
  grants?: { rule: string; resource: string; identity: string; start: DateTime; end: DateTime }[];
};

/** `output`: what the tool printed (first lines), for the logs and the audit. */
export type ActionResult = { status: "applied"; output?: string } | { status: "failed"; error: string };

/** A target performs one action and returns a result. It never plans, reads config or exits. */
export type Target = {
  capabilities: TargetCapabilities;
  grant(call: TargetCall): Promise<ActionResult>;
  /** Continues a held grant up to `call.end` (from `call.start`, the held end). */
  extend(call: TargetCall): Promise<ActionResult>;
  revoke(call: TargetCall): Promise<ActionResult>;
  /**
   * Cuts a held grant to the earlier `call.end`, where the target can (`shortenInPlace`); `call.grants`
   * are the held grants it cuts. The plan asks no other target: they get a revoke and a new grant.
   */
  shorten(call: TargetCall): Promise<ActionResult>;
  /** For `validate --online`: proves the tool is there and answers, without granting anything. */
  check(): Promise<CheckResult>;
};

export type CheckResult = { ok: true; detail: string } | { ok: false; detail: string };

export type TargetDeps = {
  exec: Exec;
  /** The environment shiftgrant runs in; a child sees only what its target passes on. */
  env: NodeJS.ProcessEnv;
  /** The target's token, if it has one. */
  token: string | null;
  /** For targets that speak HTTP: the same client (timeouts, retries) the sources use. */
  http: HttpClient;
};

/**
 * A child's whole environment: PATH to find its own helpers, HOME, and the variables its target
 * lists (`env`) when they are set. Nothing else of shiftgrant's environment reaches it.
 */
export function childEnv(env: NodeJS.ProcessEnv, names: readonly string[] = []): Record<string, string> {
  const out: Record<string, string> = { PATH: env.PATH ?? "/usr/local/bin:/usr/bin:/bin" };
  if (env.HOME) out.HOME = env.HOME;
  for (const name of names) {
    const v = env[name];
    if (v !== undefined) out[name] = v;
  }
  return out;
}

/** `shorten` of a target without `shortenInPlace`: the plan never asks it, so a call fails visibly. */
export async function cannotShorten(): Promise<ActionResult> {
  return {
    status: "failed",
    error: "this target cannot cut a grant in place; the plan revokes it and grants the rest instead",
  };
}

/** A CLI call's outcome as an action result. */
export function toResult(res: ExecResult): ActionResult {
  return res.ok ? { status: "applied", output: res.stdout } : { status: "failed", error: res.error };
}

/** Finds an executable the way the child's spawn will: a path as given, or the first match on PATH. */
export async function findExecutable(file: string, env: NodeJS.ProcessEnv): Promise<string | null> {
  const { access, constants } = await import("node:fs/promises");
  const path = await import("node:path");
  const candidates = file.includes("/")
    ? [file]
    : (env.PATH ?? "")
        .split(path.delimiter)
        .filter(Boolean)
        .map((dir) => path.join(dir, file));
  for (const c of candidates) {
    try {
      await access(c, constants.X_OK);
      return c;
    } catch {
      // not here
    }
  }
  return null;
}
