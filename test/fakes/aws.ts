import { createHash, createHmac, randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createFakeShell } from "./shell.js";

/**
 * A strict, stateful fake of the parts of IAM Identity Center that the `aws-identity-center` target
 * uses, on one loopback server for both APIs, as AWS JSON 1.1 speaks them: `POST /` with
 * `Content-Type: application/x-amz-json-1.1` and `X-Amz-Target: SWBExternalService.<Op>` (SSO Admin)
 * or `AWSIdentityStore.<Op>` (identity store); every request must carry a SigV4 `Authorization`
 * header for the expected key, region and service (`sso`, `identitystore`), whose signature the fake
 * computes again with the secret key (a wrong one is AWS's InvalidSignatureException). Errors are AWS's: status
 * 400 (500 for InternalServerException) with `{"__type": CODE, "Message": …}` and the
 * `x-amzn-ErrorType` header.
 *
 * State: users (id, user name, emails; the first email is the primary one), permission sets, and
 * account assignments of users. Assignment changes are jobs, as in AWS: Create/Delete answer
 * `IN_PROGRESS`; each describe answers `IN_PROGRESS` `pendingPolls` times, then the outcome
 * (`SUCCEEDED`, when the change is made, or `FAILED` with a FailureReason, see failNext). Lists page
 * by `pageSize` with an opaque `NextToken`; `MaxResults` above 100 is refused as AWS refuses it.
 * A parameter or operation it does not model, or a request AWS would refuse, fails the test at close().
 */
export type FakeAwsUser = { id: string; userName: string; emails: string[] };
export type FakeAwsPermissionSet = { arn: string; name: string };
export type FakeAwsAssignment = { accountId: string; permissionSetArn: string; userId: string };

export type AwsFault = { kind: "throttle" } | { kind: "denied" } | { kind: "internal" };

export type FakeAws = {
  url: string;
  /**
   * One line per request, in order: the operation and its key parameters, with ids shown as the
   * names they stand for (users by user name, permission sets by name, request ids as #1, #2, …).
   */
  calls(): string[];
  /** The user names assigned this account and permission set (by name or ARN) now. */
  assigned(accountId: string, permissionSet: string): string[];
  /** Assigns a user (by user name) outside shiftgrant. */
  assign(accountId: string, permissionSet: string, userName: string): void;
  /** The next assignment job of this kind ends FAILED with this reason. */
  failNext(kind: "creation" | "deletion", reason: string): void;
  /** Answers the next requests of this operation (e.g. "CreateAccountAssignment") with these faults. */
  fault(op: string, ...faults: AwsFault[]): void;
  /** The SigV4 Authorization headers seen (to check what was signed, and that no secret was sent). */
  authorizations: string[];
  unexpected: string[];
  allow: (...matches: (string | RegExp)[]) => void;
  close(): Promise<void>;
};

type Job = {
  kind: "creation" | "deletion";
  id: string;
  label: string;
  assignment: FakeAwsAssignment;
  describes: number;
  failure: string | null;
  done: boolean;
  createdAt: number;
};

type Body = Record<string, unknown>;

class AwsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    readonly extra: Body = {},
  ) {
    super(message);
  }
}

const SERVICES: Record<string, string> = { SWBExternalService: "sso", AWSIdentityStore: "identitystore" };

export async function startFakeAws(opts: {
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  instanceArn: string;
  identityStoreId: string;
  users: FakeAwsUser[];
  permissionSets: FakeAwsPermissionSet[];
  assignments?: FakeAwsAssignment[];
  pageSize?: number;
  /** Describes answered IN_PROGRESS before a job's outcome (default 1). */
  pendingPolls?: number;
}): Promise<FakeAws> {
  const shell = createFakeShell<AwsFault>({});
  const pageSize = opts.pageSize ?? 100;
  const pendingPolls = opts.pendingPolls ?? 1;
  const assignments: FakeAwsAssignment[] = [...(opts.assignments ?? [])];
  const jobs = new Map<string, Job>();
  const failures: Record<Job["kind"], string[]> = { creation: [], deletion: [] };
  const log: string[] = [];
  const authorizations: string[] = [];
  let jobCount = 0;

  const userById = (id: string) => opts.users.find((u) => u.id === id);
  const setByArn = (arn: string) => opts.permissionSets.find((p) => p.arn === arn);
  const setOf = (nameOrArn: string) =>
    opts.permissionSets.find((p) => p.arn === nameOrArn || p.name === nameOrArn);
  const userLabel = (id: unknown) => (typeof id === "string" ? (userById(id)?.userName ?? id) : String(id));
  const setLabel = (arn: unknown) => (typeof arn === "string" ? (setByArn(arn)?.name ?? arn) : String(arn));
  const same = (a: FakeAwsAssignment, b: FakeAwsAssignment) =>
    a.accountId === b.accountId && a.permissionSetArn === b.permissionSetArn && a.userId === b.userId;

  /** Pages of `items`: NextToken is opaque to the client (here, the offset in base64). */
  const page = <T>(items: T[], body: Body): { items: T[]; NextToken?: string } => {
    const max = body.MaxResults;
    if (max !== undefined && (typeof max !== "number" || max < 1 || max > 100))
      throw new AwsError(
        "ValidationException",
        "1 validation error detected: Value at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 100",
      );
    const limit = Math.min(typeof max === "number" ? max : 100, pageSize);
    let from = 0;
    if (body.NextToken !== undefined) {
      const token = typeof body.NextToken === "string" ? body.NextToken : "";
      from = Number(
        Buffer.from(token, "base64")
          .toString("utf8")
          .replace(/^offset:/, "") || "x",
      );
      if (!Number.isInteger(from)) throw new AwsError("ValidationException", "Invalid NextToken");
    }
    const out = items.slice(from, from + limit);
    return from + limit < items.length
      ? { items: out, NextToken: Buffer.from(`offset:${from + limit}`).toString("base64") }
      : { items: out };
  };

  /** Checks a request's keys: these required, these optional, nothing else. */
  const keys = (body: Body, required: string[], optional: string[] = []) => {
    for (const k of required)
      if (body[k] === undefined)
        throw new AwsError("ValidationException", `missing ${k}`, 400, { unexpected: true });
    const extra = Object.keys(body).filter((k) => !required.includes(k) && !optional.includes(k));
    if (extra.length > 0)
      throw new AwsError("ValidationException", `parameter(s) not modelled: ${extra.join(", ")}`, 400, {
        unexpected: true,
      });
  };
  const instance = (body: Body) => {
    if (body.InstanceArn !== opts.instanceArn)
      throw new AwsError("ResourceNotFoundException", `Instance ${String(body.InstanceArn)} does not exist`);
  };
  const store = (body: Body) => {
    if (body.IdentityStoreId !== opts.identityStoreId)
      throw new AwsError(
        "ResourceNotFoundException",
        `Identity store ${String(body.IdentityStoreId)} not found`,
        400,
        {
          ResourceType: "IDENTITY_STORE",
        },
      );
  };
  const permissionSet = (arn: unknown) => {
    const ps = typeof arn === "string" ? setByArn(arn) : undefined;
    if (!ps)
      throw new AwsError("ResourceNotFoundException", `Could not find PermissionSet with arn ${String(arn)}`);
    return ps;
  };
  const assignmentOf = (body: Body): FakeAwsAssignment => {
    keys(body, ["InstanceArn", "TargetId", "TargetType", "PermissionSetArn", "PrincipalType", "PrincipalId"]);
    instance(body);
    if (body.TargetType !== "AWS_ACCOUNT" || body.PrincipalType !== "USER")
      throw new AwsError(
        "ValidationException",
        "only TargetType AWS_ACCOUNT and PrincipalType USER are modelled",
        400,
        {
          unexpected: true,
        },
      );
    if (typeof body.TargetId !== "string" || !/^\d{12}$/.test(body.TargetId))
      throw new AwsError("ValidationException", "TargetId must be a 12-digit account id");
    permissionSet(body.PermissionSetArn);
    if (typeof body.PrincipalId !== "string" || !userById(body.PrincipalId))
      throw new AwsError("ResourceNotFoundException", `Principal ${String(body.PrincipalId)} does not exist`);
    return {
      accountId: body.TargetId,
      permissionSetArn: String(body.PermissionSetArn),
      userId: body.PrincipalId,
    };
  };
  const jobStatus = (job: Job) => {
    const a = job.assignment;
    const status = !job.done ? "IN_PROGRESS" : job.failure ? "FAILED" : "SUCCEEDED";
    return {
      Status: status,
      RequestId: job.id,
      ...(job.failure && job.done ? { FailureReason: job.failure } : {}),
      TargetId: a.accountId,
      TargetType: "AWS_ACCOUNT",
      PermissionSetArn: a.permissionSetArn,
      PrincipalType: "USER",
      PrincipalId: a.userId,
      CreatedDate: job.createdAt,
    };
  };
  const startJob = (kind: Job["kind"], a: FakeAwsAssignment): Job => {
    const job: Job = {
      kind,
      id: randomUUID(),
      label: `#${++jobCount}`,
      assignment: a,
      describes: 0,
      failure: failures[kind].shift() ?? null,
      done: false,
      createdAt: Date.now() / 1000,
    };
    jobs.set(job.id, job);
    return job;
  };
  const describeJob = (kind: Job["kind"], id: unknown) => {
    const job = typeof id === "string" ? jobs.get(id) : undefined;
    if (!job || job.kind !== kind)
      throw new AwsError("ResourceNotFoundException", `Request ${String(id)} not found`);
    if (!job.done && ++job.describes > pendingPolls) {
      job.done = true;
      if (!job.failure) {
        const i = assignments.findIndex((x) => same(x, job.assignment));
        if (kind === "creation" && i < 0) assignments.push(job.assignment);
        if (kind === "deletion" && i >= 0) assignments.splice(i, 1);
      }
    }
    return { job, status: jobStatus(job) };
  };

  /** Each operation: the line it adds to calls(), and its answer. */
  const ops: Record<string, (body: Body) => { line: string; answer: () => unknown }> = {
    "SWBExternalService.DescribeInstance": (b) => ({
      line: "DescribeInstance",
      answer: () => {
        keys(b, ["InstanceArn"]);
        instance(b);
        return {
          InstanceArn: opts.instanceArn,
          IdentityStoreId: opts.identityStoreId,
          OwnerAccountId: "999988887777",
          Name: "fake",
          Status: "ACTIVE",
          CreatedDate: 1_700_000_000,
        };
      },
    }),
    "SWBExternalService.ListPermissionSets": (b) => ({
      line: `ListPermissionSets MaxResults=${String(b.MaxResults)}${b.NextToken ? " NextToken" : ""}`,
      answer: () => {
        keys(b, ["InstanceArn"], ["MaxResults", "NextToken"]);
        instance(b);
        const p = page(
          opts.permissionSets.map((s) => s.arn),
          b,
        );
        return { PermissionSets: p.items, ...(p.NextToken ? { NextToken: p.NextToken } : {}) };
      },
    }),
    "SWBExternalService.DescribePermissionSet": (b) => ({
      line: `DescribePermissionSet ${setLabel(b.PermissionSetArn)}`,
      answer: () => {
        keys(b, ["InstanceArn", "PermissionSetArn"]);
        instance(b);
        const ps = permissionSet(b.PermissionSetArn);
        return {
          PermissionSet: {
            Name: ps.name,
            PermissionSetArn: ps.arn,
            Description: `${ps.name} (fake)`,
            CreatedDate: 1_700_000_000,
            SessionDuration: "PT1H",
          },
        };
      },
    }),
    "SWBExternalService.ListAccountAssignments": (b) => ({
      line: `ListAccountAssignments ${String(b.AccountId)} ${setLabel(b.PermissionSetArn)} MaxResults=${String(b.MaxResults)}${b.NextToken ? " NextToken" : ""}`,
      answer: () => {
        keys(b, ["InstanceArn", "AccountId", "PermissionSetArn"], ["MaxResults", "NextToken"]);
        instance(b);
        permissionSet(b.PermissionSetArn);
        const p = page(
          assignments.filter((a) => a.accountId === b.AccountId && a.permissionSetArn === b.PermissionSetArn),
          b,
        );
        return {
          AccountAssignments: p.items.map((a) => ({
            AccountId: a.accountId,
            PermissionSetArn: a.permissionSetArn,
            PrincipalType: "USER",
            PrincipalId: a.userId,
          })),
          ...(p.NextToken ? { NextToken: p.NextToken } : {}),
        };
      },
    }),
    "SWBExternalService.CreateAccountAssignment": (b) => ({
      line: `CreateAccountAssignment ${String(b.TargetId)} ${setLabel(b.PermissionSetArn)} ${String(b.PrincipalType)} ${userLabel(b.PrincipalId)}`,
      answer: () => ({ AccountAssignmentCreationStatus: jobStatus(startJob("creation", assignmentOf(b))) }),
    }),
    "SWBExternalService.DescribeAccountAssignmentCreationStatus": (b) => {
      const job = jobs.get(String(b.AccountAssignmentCreationRequestId));
      return {
        line: `DescribeAccountAssignmentCreationStatus ${job?.label ?? String(b.AccountAssignmentCreationRequestId)}`,
        answer: () => {
          keys(b, ["InstanceArn", "AccountAssignmentCreationRequestId"]);
          instance(b);
          return {
            AccountAssignmentCreationStatus: describeJob("creation", b.AccountAssignmentCreationRequestId)
              .status,
          };
        },
      };
    },
    "SWBExternalService.DeleteAccountAssignment": (b) => ({
      line: `DeleteAccountAssignment ${String(b.TargetId)} ${setLabel(b.PermissionSetArn)} ${String(b.PrincipalType)} ${userLabel(b.PrincipalId)}`,
      answer: () => {
        const a = assignmentOf(b);
        if (!assignments.some((x) => same(x, a)))
          throw new AwsError("ResourceNotFoundException", "The specified account assignment does not exist");
        return { AccountAssignmentDeletionStatus: jobStatus(startJob("deletion", a)) };
      },
    }),
    "SWBExternalService.DescribeAccountAssignmentDeletionStatus": (b) => {
      const job = jobs.get(String(b.AccountAssignmentDeletionRequestId));
      return {
        line: `DescribeAccountAssignmentDeletionStatus ${job?.label ?? String(b.AccountAssignmentDeletionRequestId)}`,
        answer: () => {
          keys(b, ["InstanceArn", "AccountAssignmentDeletionRequestId"]);
          instance(b);
          return {
            AccountAssignmentDeletionStatus: describeJob("deletion", b.AccountAssignmentDeletionRequestId)
              .status,
          };
        },
      };
    },
    "AWSIdentityStore.GetUserId": (b) => {
      const u = (
        b.AlternateIdentifier as { UniqueAttribute?: { AttributePath?: unknown; AttributeValue?: unknown } }
      )?.UniqueAttribute;
      return {
        line: `GetUserId ${String(u?.AttributePath)}=${String(u?.AttributeValue)}`,
        answer: () => {
          keys(b, ["IdentityStoreId", "AlternateIdentifier"]);
          store(b);
          const alt = b.AlternateIdentifier as Body;
          if (Object.keys(alt).join() !== "UniqueAttribute")
            throw new AwsError("ValidationException", "only UniqueAttribute is modelled", 400, {
              unexpected: true,
            });
          const path = u?.AttributePath;
          const value = typeof u?.AttributeValue === "string" ? u.AttributeValue.toLowerCase() : null;
          if (path !== "emails.value" && path !== "userName")
            throw new AwsError(
              "ValidationException",
              `AttributePath ${String(path)} is not a unique attribute`,
            );
          const found = opts.users.find((x) =>
            path === "userName"
              ? x.userName.toLowerCase() === value
              : x.emails.some((e) => e.toLowerCase() === value),
          );
          if (!found)
            throw new AwsError("ResourceNotFoundException", "USER not found.", 400, { ResourceType: "USER" });
          return { IdentityStoreId: opts.identityStoreId, UserId: found.id };
        },
      };
    },
    "AWSIdentityStore.DescribeUser": (b) => ({
      line: `DescribeUser ${userLabel(b.UserId)}`,
      answer: () => {
        keys(b, ["IdentityStoreId", "UserId"]);
        store(b);
        const u = typeof b.UserId === "string" ? userById(b.UserId) : undefined;
        if (!u)
          throw new AwsError("ResourceNotFoundException", "USER not found.", 400, { ResourceType: "USER" });
        return {
          IdentityStoreId: opts.identityStoreId,
          UserId: u.id,
          UserName: u.userName,
          DisplayName: u.userName,
          Emails: u.emails.map((e, i) => ({ Value: e, Type: "work", Primary: i === 0 })),
        };
      },
    }),
  };

  const send = (res: ServerResponse, status: number, body: unknown, errorType?: string) => {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      "content-type": "application/x-amz-json-1.1",
      "content-length": String(Buffer.byteLength(text)),
      "x-amzn-requestid": randomUUID(),
      ...(errorType ? { "x-amzn-errortype": errorType } : {}),
    });
    res.end(text);
  };
  const fail = (res: ServerResponse, e: AwsError) => {
    const { unexpected: _u, ...extra } = e.extra;
    send(res, e.status, { __type: e.code, Message: e.message, ...extra }, e.code);
  };

  /** SigV4 as AWS computes it: the canonical request, the string to sign, the derived key. */
  const signature = (req: IncomingMessage, body: Buffer, date: string, service: string, signed: string[]) => {
    const hex = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");
    const hmac = (key: string | Buffer, data: string) => createHmac("sha256", key).update(data).digest();
    const header = (name: string) => {
      const v = req.headers[name];
      return (Array.isArray(v) ? v.join(",") : (v ?? "")).trim().replace(/\s+/g, " ");
    };
    const canonical = [
      req.method,
      "/",
      "",
      ...signed.map((h) => `${h}:${header(h)}`),
      "",
      signed.join(";"),
      hex(body),
    ].join("\n");
    const scope = `${date}/${opts.region}/${service}/aws4_request`;
    const toSign = ["AWS4-HMAC-SHA256", header("x-amz-date"), scope, hex(canonical)].join("\n");
    let key = hmac(`AWS4${opts.secretAccessKey}`, date);
    for (const part of [opts.region, service, "aws4_request"]) key = hmac(key, part);
    return createHmac("sha256", key).update(toSign).digest("hex");
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      shell.record(req);
      const target = String(req.headers["x-amz-target"] ?? "");
      const [prefix = "", op = ""] = target.split(".");
      const unexpected = (why: string) => {
        shell.unexpected.push(`${target || `${req.method} ${req.url}`}: ${why}`);
        fail(res, new AwsError("ValidationException", why));
      };
      if (req.method !== "POST" || req.url !== "/") return unexpected("AWS JSON 1.1 is POST /");
      if (req.headers["content-type"] !== "application/x-amz-json-1.1")
        return unexpected(
          `Content-Type ${String(req.headers["content-type"])}, not application/x-amz-json-1.1`,
        );
      const service = SERVICES[prefix];
      const handler = ops[target];
      if (!service || !handler) return unexpected("operation not modelled");
      let body: Body;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Body;
      } catch {
        return unexpected("the body is not JSON");
      }
      const { line, answer } = handler(body);
      log.push(line);
      const auth = String(req.headers.authorization ?? "");
      authorizations.push(auth);
      const m =
        /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([a-z0-9-]+)\/([a-z]+)\/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/.exec(
          auth,
        );
      if (!m || !req.headers["x-amz-date"])
        return fail(res, new AwsError("MissingAuthenticationTokenException", "Missing Authentication Token"));
      if (m[1] !== opts.accessKeyId)
        return fail(
          res,
          new AwsError(
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
          ),
        );
      if (m[3] !== opts.region || m[4] !== service)
        return unexpected(`signed for ${m[3]}/${m[4]}, not ${opts.region}/${service}`);
      if (!(m[5] ?? "").split(";").includes("x-amz-target")) return unexpected("X-Amz-Target is not signed");
      if (signature(req, Buffer.concat(chunks), m[2] ?? "", service, (m[5] ?? "").split(";")) !== m[6])
        return fail(
          res,
          new AwsError(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.",
          ),
        );
      const fault = shell.takeFault(op);
      if (fault?.kind === "throttle") return fail(res, new AwsError("ThrottlingException", "Rate exceeded"));
      if (fault?.kind === "internal")
        return fail(res, new AwsError("InternalServerException", "An internal error occurred", 500));
      if (fault?.kind === "denied")
        return fail(
          res,
          new AwsError(
            "AccessDeniedException",
            `User: arn:aws:sts::999988887777:assumed-role/shiftgrant/run is not authorized to perform: ${service}:${op} on resource: ${opts.instanceArn}`,
          ),
        );
      try {
        send(res, 200, answer());
      } catch (err) {
        if (!(err instanceof AwsError)) throw err;
        if (err.extra.unexpected) shell.unexpected.push(`${target}: ${err.message}`);
        fail(res, err);
      }
    });
  };

  const url = await shell.listen(onRequest);
  const userByName = (name: string) => {
    const u = opts.users.find((x) => x.userName === name);
    if (!u) throw new Error(`fake aws: no user named ${name}`);
    return u;
  };
  const arnOf = (nameOrArn: string) => {
    const ps = setOf(nameOrArn);
    if (!ps) throw new Error(`fake aws: no permission set ${nameOrArn}`);
    return ps.arn;
  };
  return {
    url,
    calls: () => [...log],
    assigned: (accountId, ps) =>
      assignments
        .filter((a) => a.accountId === accountId && a.permissionSetArn === arnOf(ps))
        .map((a) => userLabel(a.userId)),
    assign: (accountId, ps, userName) => {
      const a = { accountId, permissionSetArn: arnOf(ps), userId: userByName(userName).id };
      if (!assignments.some((x) => same(x, a))) assignments.push(a);
    },
    failNext: (kind, reason) => failures[kind].push(reason),
    fault: shell.fault,
    authorizations,
    unexpected: shell.unexpected,
    allow: shell.allow,
    close: shell.close,
  };
}
