import { defineTarget } from "../define.js";
import {
  cannotShorten,
  type AccessCheck,
  type ActionResult,
  type GrantRef,
  type Target,
  type TargetCall,
  type TargetCapabilities,
  type TargetDeps,
} from "../types.js";
import {
  AWS_REFUSED_KEYS,
  awsIdentityCenterSchema,
  awsIdentityCenterStarter,
  checkAwsResource,
  normalizeAwsIdentityCenter,
  parseAwsResource,
  type AwsIdentityCenterConfig,
} from "./config.js";
import { awsErrorName, describeAwsError, loadAwsApis, type AwsApis, type AwsService } from "./sdk.js";
import { onceEach } from "../../core/once.js";

export const awsIdentityCenterTarget = defineTarget({
  schema: awsIdentityCenterSchema,
  tokenEnv: null,
  listsMembers: true,
  capabilities: () => AWS_IDENTITY_CENTER_CAPABILITIES,
  normalize: normalizeAwsIdentityCenter,
  create: createAwsIdentityCenterTarget,
  resourceProblem: (_config, resource) => checkAwsResource(resource),
  refusedKeys: AWS_REFUSED_KEYS,
  starter: awsIdentityCenterStarter,
});

/**
 * IAM Identity Center account assignments: a user, an AWS account, a permission set. An assignment
 * has no end in AWS, so shiftgrant ends it (`expire`), assigns nothing before a shift starts, and an
 * extension makes no call. Calls (AWS JSON 1.1, through the official SDK clients):
 *
 *   identitystore:GetUserId                       user by emails.value, else by UserName
 *   sso:ListPermissionSets + DescribePermissionSet a permission set's name -> ARN (once per run)
 *   sso:ListAccountAssignments                    a member already? the members of an exclusive one
 *   identitystore:DescribeUser                    a listed member's email (exclusive)
 *   sso:CreateAccountAssignment                   grant, then DescribeAccountAssignmentCreationStatus
 *   sso:DeleteAccountAssignment                   revoke, expire, then ...DeletionStatus
 *   sso:DescribeInstance                          validate --online
 */
export const AWS_IDENTITY_CENTER_CAPABILITIES: TargetCapabilities = {
  futureStart: false,
  revoke: true,
  extendInPlace: false,
  shortenInPlace: false,
  expires: false,
  memberships: true,
  listsMembers: true,
  identity: "email",
};

/** The first wait before asking how an assignment request went; each next one doubles, up to the cap. */
export const POLL_FIRST_MS = 1_000;
export const POLL_MAX_MS = 5_000;
/** ListAccountAssignments and ListPermissionSets take at most 100 per page. */
const PAGE_SIZE = 100;
const MAX_PAGES = 1000;

type Found<T> = { ok: true; value: T } | { ok: false; error: string; absent?: boolean };
type Assignment = { accountId: string; permissionSetArn: string };
type RequestStatus = {
  Status?: string | undefined;
  RequestId?: string | undefined;
  FailureReason?: string | undefined;
};

export function createAwsIdentityCenterTarget(config: AwsIdentityCenterConfig, deps: TargetDeps): Target {
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let apis: Promise<AwsApis> | null = null;
  const load = () => (apis ??= loadAwsApis(config, deps.env));

  /** One call; a failure is thrown as the message describeAwsError makes, with AWS's error code kept. */
  const call = async <T>(service: AwsService, op: string, send: (a: AwsApis) => Promise<T>): Promise<T> => {
    const a = await load();
    try {
      return await send(a);
    } catch (err) {
      throw new AwsCallError(describeAwsError(service, op, err), awsErrorName(err));
    }
  };

  // Per run (a target is made for one run): each user, permission set and listing is read once.
  // Users: not onceEach: the member listing fills it too, so that a listed member's revoke needs no lookup.
  const users = new Map<string, Promise<Found<string>>>();
  const findUser = (identity: string): Promise<Found<string>> => {
    const key = identity.toLowerCase();
    let p = users.get(key);
    if (!p) {
      p = lookUpUser(identity);
      users.set(key, p);
    }
    return p;
  };
  const lookUpUser = async (identity: string): Promise<Found<string>> => {
    try {
      for (const AttributePath of ["emails.value", "userName"]) {
        try {
          const res = await call("identitystore", "GetUserId", (a) =>
            a.ids.send(
              new a.idsCommands.GetUserIdCommand({
                IdentityStoreId: config.identityStoreId,
                AlternateIdentifier: { UniqueAttribute: { AttributePath, AttributeValue: identity } },
              }),
            ),
          );
          if (res.UserId) return { ok: true, value: res.UserId };
        } catch (err) {
          if (!(err instanceof AwsCallError && err.code === "ResourceNotFoundException")) throw err;
        }
      }
    } catch (err) {
      return { ok: false, error: messageOf(err) };
    }
    return {
      ok: false,
      absent: true,
      error: `no user in identity store ${config.identityStoreId} has the email or user name ${identity}: add the user in IAM Identity Center (or sync it from your identity provider), or map this email (identities:) to the email the identity store has for them`,
    };
  };

  // Names -> ARNs, read once per run by one walk over the instance's permission sets, which stops
  // as soon as the name is found and goes on from there for the next name.
  const setArns = new Map<string, string>();
  const walk: { queue: string[]; next: string | undefined; done: boolean; pages: number } = {
    queue: [],
    next: undefined,
    done: false,
    pages: 0,
  };
  let walking: Promise<unknown> = Promise.resolve();
  const findSetByName = (name: string): Promise<Found<string>> => {
    const run = walking.then(async (): Promise<Found<string>> => {
      try {
        for (;;) {
          const hit = setArns.get(name);
          if (hit) return { ok: true, value: hit };
          const arn = walk.queue[0];
          if (arn !== undefined) {
            const res = await call("sso", "DescribePermissionSet", (a) =>
              a.sso.send(
                new a.ssoCommands.DescribePermissionSetCommand({
                  InstanceArn: config.instanceArn,
                  PermissionSetArn: arn,
                }),
              ),
            );
            walk.queue.shift();
            if (res.PermissionSet?.Name) setArns.set(res.PermissionSet.Name, arn);
            continue;
          }
          if (walk.done) break;
          if (++walk.pages > MAX_PAGES)
            throw new Error(`ListPermissionSets: more than ${MAX_PAGES} pages; stopped`);
          const page = await call("sso", "ListPermissionSets", (a) =>
            a.sso.send(
              new a.ssoCommands.ListPermissionSetsCommand({
                InstanceArn: config.instanceArn,
                MaxResults: PAGE_SIZE,
                ...(walk.next ? { NextToken: walk.next } : {}),
              }),
            ),
          );
          walk.queue.push(...(page.PermissionSets ?? []));
          walk.next = page.NextToken;
          walk.done = !page.NextToken;
        }
      } catch (err) {
        return { ok: false, error: messageOf(err) };
      }
      return {
        ok: false,
        error: `no permission set is named ${name} in ${config.instanceArn} (names are case-sensitive): check the name, or use the permission set's ARN`,
      };
    });
    walking = run;
    return run;
  };

  const findAssignment = async (resource: string): Promise<Found<Assignment>> => {
    const parsed = parseAwsResource(resource);
    if (typeof parsed === "string") return { ok: false, error: parsed };
    if ("arn" in parsed.permissionSet)
      return { ok: true, value: { accountId: parsed.accountId, permissionSetArn: parsed.permissionSet.arn } };
    const arn = await findSetByName(parsed.permissionSet.name);
    return arn.ok ? { ok: true, value: { accountId: parsed.accountId, permissionSetArn: arn.value } } : arn;
  };

  /** The users (directly) assigned this account and permission set now, read once per run. */
  const assignedUsers = onceEach(
    (a: Assignment): Promise<{ principalId: string }[]> => listAssignedUsers(a),
    { key: (a: Assignment) => `${a.accountId} ${a.permissionSetArn}`, retryFailed: true },
  );
  const listAssignedUsers = async (a: Assignment): Promise<{ principalId: string }[]> => {
    const out: { principalId: string }[] = [];
    let next: string | undefined;
    for (let pages = 0; ; pages++) {
      if (pages >= MAX_PAGES)
        throw new Error(`ListAccountAssignments: more than ${MAX_PAGES} pages; stopped`);
      const page = await call("sso", "ListAccountAssignments", (x) =>
        x.sso.send(
          new x.ssoCommands.ListAccountAssignmentsCommand({
            InstanceArn: config.instanceArn,
            AccountId: a.accountId,
            PermissionSetArn: a.permissionSetArn,
            MaxResults: PAGE_SIZE,
            ...(next ? { NextToken: next } : {}),
          }),
        ),
      );
      for (const as of page.AccountAssignments ?? []) {
        // Access through a group is the group's: shiftgrant manages users' own assignments only.
        if (as.PrincipalType === "USER" && as.PrincipalId) out.push({ principalId: as.PrincipalId });
      }
      next = page.NextToken;
      if (!next) return out;
    }
  };

  /** A user's identity as shiftgrant compares it: the primary email, else the first, else the user name. */
  const identityOf = onceEach((userId: string): Promise<string> =>
    (async () => {
      const u = await call("identitystore", "DescribeUser", (a) =>
        a.ids.send(
          new a.idsCommands.DescribeUserCommand({
            IdentityStoreId: config.identityStoreId,
            UserId: userId,
          }),
        ),
      );
      const list = u.Emails ?? [];
      const email = (list.find((e) => e.Primary) ?? list[0])?.Value ?? u.UserName ?? userId;
      return email.trim().toLowerCase();
    })(),
  );

  /**
   * Follows an assignment request until AWS has done it: a wait (through the run's sleep, doubling up
   * to POLL_MAX_MS), then a describe, for at most the target's timeout in all.
   */
  const follow = async (
    what: "creation" | "deletion",
    first: RequestStatus | undefined,
    describe: (requestId: string) => Promise<RequestStatus | undefined>,
  ): Promise<ActionResult> => {
    let status = first;
    let waited = 0;
    for (let n = 0; status?.Status === "IN_PROGRESS"; n++) {
      const requestId = status.RequestId;
      if (!requestId) return { status: "failed", error: `the assignment ${what} request has no request id` };
      const step = Math.min(POLL_FIRST_MS * 2 ** n, POLL_MAX_MS);
      if (waited + step > config.timeoutMs)
        return {
          status: "failed",
          error: `the assignment ${what} (request ${requestId}) was still IN_PROGRESS after ${waited / 1000}s, the target's timeout; the next run tries again (raise timeout if AWS is often this slow)`,
        };
      await sleep(step);
      waited += step;
      status = await describe(requestId);
    }
    if (status?.Status === "SUCCEEDED")
      return { status: "applied", output: `${what} ${status.RequestId ?? ""} SUCCEEDED`.trim() };
    if (status?.Status === "FAILED")
      return {
        status: "failed",
        error: `AWS could not complete the assignment ${what} (request ${status.RequestId ?? "?"}): ${status.FailureReason ?? "no reason given"}`,
      };
    return {
      status: "failed",
      error: `the assignment ${what} ended in an unknown state: ${String(status?.Status)}`,
    };
  };

  const grant = async (c: TargetCall): Promise<ActionResult> => {
    const user = await findUser(c.identity);
    if (!user.ok)
      return user.absent
        ? { status: "skipped", reason: user.error }
        : { status: "failed", error: user.error };
    const a = await findAssignment(c.resource);
    if (!a.ok) return { status: "failed", error: a.error };
    const target = {
      InstanceArn: config.instanceArn,
      TargetId: a.value.accountId,
      TargetType: "AWS_ACCOUNT" as const,
      PermissionSetArn: a.value.permissionSetArn,
      PrincipalType: "USER" as const,
      PrincipalId: user.value,
    };
    try {
      const created = await call("sso", "CreateAccountAssignment", (x) =>
        x.sso.send(new x.ssoCommands.CreateAccountAssignmentCommand(target)),
      );
      const result = await follow("creation", created.AccountAssignmentCreationStatus, async (id) => {
        const r = await call("sso", "DescribeAccountAssignmentCreationStatus", (x) =>
          x.sso.send(
            new x.ssoCommands.DescribeAccountAssignmentCreationStatusCommand({
              InstanceArn: config.instanceArn,
              AccountAssignmentCreationRequestId: id,
            }),
          ),
        );
        return r.AccountAssignmentCreationStatus;
      });
      return result.status === "applied"
        ? { ...result, ref: { userId: user.value, permissionSetArn: a.value.permissionSetArn } }
        : result;
    } catch (err) {
      return { status: "failed", error: messageOf(err) };
    }
  };

  const revoke = async (c: TargetCall): Promise<ActionResult> => {
    const ref = (c.grants ?? [])
      .map((g) => g.ref)
      .find((r): r is GrantRef => !!r?.userId && !!r.permissionSetArn);
    let userId = ref?.userId;
    let permissionSetArn = ref?.permissionSetArn;
    const parsed = parseAwsResource(c.resource);
    if (typeof parsed === "string") return { status: "failed", error: parsed };
    if (!userId) {
      const user = await findUser(c.identity);
      // No such user: no assignment of theirs can be left to remove.
      if (!user.ok && user.absent) return { status: "applied", output: user.error };
      if (!user.ok) return { status: "failed", error: user.error };
      userId = user.value;
    }
    if (!permissionSetArn) {
      const a = await findAssignment(c.resource);
      if (!a.ok) return { status: "failed", error: a.error };
      permissionSetArn = a.value.permissionSetArn;
    }
    try {
      const deleted = await call("sso", "DeleteAccountAssignment", (x) =>
        x.sso.send(
          new x.ssoCommands.DeleteAccountAssignmentCommand({
            InstanceArn: config.instanceArn,
            TargetId: parsed.accountId,
            TargetType: "AWS_ACCOUNT",
            PermissionSetArn: permissionSetArn,
            PrincipalType: "USER",
            PrincipalId: userId,
          }),
        ),
      );
      return await follow("deletion", deleted.AccountAssignmentDeletionStatus, async (id) => {
        const r = await call("sso", "DescribeAccountAssignmentDeletionStatus", (x) =>
          x.sso.send(
            new x.ssoCommands.DescribeAccountAssignmentDeletionStatusCommand({
              InstanceArn: config.instanceArn,
              AccountAssignmentDeletionRequestId: id,
            }),
          ),
        );
        return r.AccountAssignmentDeletionStatus;
      });
    } catch (err) {
      // The assignment (or the user) is gone already: what the revoke was for is done.
      if (err instanceof AwsCallError && err.code === "ResourceNotFoundException")
        return { status: "applied", output: `already gone: ${err.message}` };
      return { status: "failed", error: messageOf(err) };
    }
  };

  return {
    capabilities: AWS_IDENTITY_CENTER_CAPABILITIES,
    grant,
    // The assignment has no end in AWS: it simply stays, and the ledger records the later end.
    extend: async () => ({ status: "applied" }),
    shorten: cannotShorten,
    revoke,
    async hasAccess(identity: string, resource: string): Promise<AccessCheck> {
      const user = await findUser(identity);
      // Not in the identity store: nobody can have assigned them anything; the grant says so (skip).
      if (!user.ok) return user.absent ? { status: "absent" } : { status: "failed", error: user.error };
      const a = await findAssignment(resource);
      if (!a.ok) return { status: "failed", error: a.error };
      try {
        const assigned = await assignedUsers(a.value);
        return assigned.some((x) => x.principalId === user.value)
          ? { status: "member" }
          : { status: "absent" };
      } catch (err) {
        return { status: "failed", error: messageOf(err) };
      }
    },
    async listMembers(resource: string) {
      const a = await findAssignment(resource);
      if (!a.ok) return { status: "failed", error: a.error };
      try {
        const identities: string[] = [];
        for (const { principalId } of await assignedUsers(a.value)) {
          const identity = await identityOf(principalId);
          // The revoke of someone listed here needs no lookup by email.
          if (!users.has(identity)) users.set(identity, Promise.resolve({ ok: true, value: principalId }));
          identities.push(identity);
        }
        return { status: "listed", identities };
      } catch (err) {
        return { status: "failed", error: messageOf(err) };
      }
    },
    // Describing the instance proves the credentials, the region and the instance, and changes nothing.
    async check() {
      try {
        const res = await call("sso", "DescribeInstance", (a) =>
          a.sso.send(new a.ssoCommands.DescribeInstanceCommand({ InstanceArn: config.instanceArn })),
        );
        if (res.IdentityStoreId && res.IdentityStoreId !== config.identityStoreId)
          return {
            ok: false,
            detail: `${config.instanceArn} uses identity store ${res.IdentityStoreId}, not ${config.identityStoreId}: set identityStoreId: ${res.IdentityStoreId}`,
          };
        return {
          ok: true,
          detail: `${config.instanceArn} (${res.Status ?? "status unknown"}, identity store ${config.identityStoreId}) answers in ${config.region} and takes the credentials`,
        };
      } catch (err) {
        return { ok: false, detail: messageOf(err) };
      }
    },
  };
}

/** A failed AWS call, described, with AWS's error code to decide on. */
class AwsCallError extends Error {
  readonly code: string | null;
  constructor(message: string, code: string | null) {
    super(message);
    this.name = "AwsCallError";
    this.code = code;
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
