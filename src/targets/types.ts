import type { DateTime } from "luxon";
import type { IdentityKind } from "../core/identity.js";
import type { Exec, ExecResult } from "../infra/exec.js";
import type { HttpClient, HttpSettings } from "../infra/http.js";
import type { Logger } from "../infra/log.js";

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
  /**
   * The access tool ends a grant at its end by itself. Where it does not, shiftgrant ends it: every
   * run `expire`s each held grant whose end has passed, with the revoke call; nothing is granted
   * before its start, and an extension makes no call.
   */
  expires: boolean;
  /**
   * It holds one membership per (resource, identity), whatever the number of grants behind it: grants
   * of several rules or shifts share it, it is removed only when none of them covers now, and before
   * the first grant `hasAccess` (where the target has it) tells whether the access pre-exists.
   */
  memberships: boolean;
  /** It can list a resource's members (`listMembers`): `exclusive` resources are possible. */
  listsMembers: boolean;
  /** What a valid identity is for it. */
  identity: IdentityKind;
  /**
   * It approves access requests that people file themselves (`listRequests`), rather than granting
   * a rule's resources: each pending request of someone on call, for roles all among the rule's
   * resources, is one grant (its resource the requested roles), undone by the revoke.
   */
  approvesRequests?: boolean;
};

/**
 * A tool that issues grants which end by themselves and cannot take them back early (strongDM's
 * temporary grants). Also what the plan assumes of a target the config no longer has: nothing to
 * call, so nothing to revoke or expire.
 */
export const SELF_ENDING_GRANTS: TargetCapabilities = {
  futureStart: true,
  revoke: false,
  extendInPlace: false,
  shortenInPlace: false,
  expires: true,
  memberships: false,
  listsMembers: false,
  identity: "email",
};

/**
 * What a target keeps to undo a grant it made (ids, a request id): opaque to everything but the
 * target, kept in the ledger beside the grant and handed back with the revoke or expire.
 */
export type GrantRef = Readonly<Record<string, string>>;

/** The states an access request goes through; only a `PENDING` one is ever approved. */
export type AccessRequestState = "NONE" | "PENDING" | "APPROVED" | "DENIED" | "PROMOTED";

/** An access request as the access system lists it: who asked for which roles, and until when. */
export type AccessRequest = {
  id: string;
  user: string;
  /** Sorted, without repeats. Empty for a request of resources rather than roles. */
  roles: readonly string[];
  state: AccessRequestState;
  /** When the access it gives ends by itself (the request's own access expiry). */
  expires: DateTime;
  /** Until when it can be approved: a pending request is deleted at the end of its request TTL. */
  pendingUntil?: DateTime;
};

/** Whether an identity has a resource's access now, as the access system answers. */
export type AccessCheck = { status: "member" } | { status: "absent" } | { status: "failed"; error: string };

/** What a target is asked to do: one identity, one resource, one interval. */
export type TargetCall = {
  identity: string;
  resource: string;
  start: DateTime;
  end: DateTime;
  rule: string;
  reason: string;
  /**
   * For a grant that approves something the plan found (an access request): what it approves. For
   * an extend: what the held grant it continues kept, so the target need not look it up.
   */
  ref?: GrantRef;
  /**
   * For a revoke or a shorten: the grants it ends or cuts, as they were issued (for targets that
   * address grants by key).
   */
  grants?: {
    rule: string;
    resource: string;
    identity: string;
    start: DateTime;
    end: DateTime;
    ref?: GrantRef;
  }[];
};

/**
 * `output`: what the tool printed (first lines), for the logs and the audit. `ref`: what the target
 * needs to undo a grant it made, kept in the ledger. `preexisting`: the identity had the access
 * already, so nothing was called (the grant is recorded as pre-existing and never removed).
 * `skipped`: the target found that this identity cannot be given the access there (no such user, not
 * a member of the organisation) and changed nothing: the action becomes a `skip` with the reason, the
 * run exits 4, and the next run asks again.
 */
export type ActionResult =
  | { status: "applied"; output?: string; ref?: GrantRef; preexisting?: boolean }
  | { status: "skipped"; reason: string }
  | { status: "failed"; error: string };

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
  /** Where the tool can tell: does the identity have the resource's access now (pre-existing access)? */
  hasAccess?(identity: string, resource: string): Promise<AccessCheck>;
  /**
   * With `approvesRequests`: the access requests there are now, in every state (the plan approves
   * pending ones). Read by every run, dry runs included; it changes nothing.
   */
  listRequests?(): Promise<
    { status: "listed"; requests: AccessRequest[] } | { status: "failed"; error: string }
  >;
  /**
   * Where the system links people to its own identities (GitHub's SAML-linked identities): the
   * identity of each of these emails that it knows, asked once per run before the plan. Mapped
   * emails (`identities`) are not asked; an email it does not know stays as it is.
   */
  linkIdentities?(
    emails: string[],
  ): Promise<{ status: "linked"; identities: Map<string, string> } | { status: "failed"; error: string }>;
  /** With `listsMembers`: the identities that have the resource's access now. */
  listMembers?(
    resource: string,
  ): Promise<{ status: "listed"; identities: string[] } | { status: "failed"; error: string }>;
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
  /**
   * Registers a secret the target obtains while it runs (an OAuth access token), so that the logs
   * and the output redact it as they do the secrets read at the start.
   */
  redactor?: { add(secret: string): void };
  /** The run's clock, for what a call derives from the time (a length of time until an end, a lock's TTL); default: the real time. */
  now?: () => DateTime;
  /** Waits between polls of a target that follows a request until it is done (runs pass theirs). */
  sleep?: (ms: number) => Promise<void>;
  /** Aborted when the run is asked to stop: a target waiting on a request stops waiting. */
  signal?: AbortSignal;
  /**
   * For targets whose official SDK sends the requests: the limits the HTTP client keeps (retries,
   * waits) and the logger.
   */
  httpSettings?: HttpSettings;
  log?: Logger;
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
