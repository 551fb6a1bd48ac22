import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { simulateDay } from "./day.js";
import {
  ACCOUNT,
  AWS_ENV,
  AWS_KEY_ID,
  AWS_REGION,
  AWS_SECRET,
  CAROL,
  dayFixture,
  IDENTITY_STORE_ID,
  INSTANCE_ARN,
  ON_CALL_ADMIN,
  PERMISSION_SETS,
  USERS,
} from "./days/aws-identity-center.js";
import { startFakeAws, type FakeAws } from "./fakes/aws.js";
import { assertNoSecret, makeTempDir, parseJsonOutput, writeYaml } from "./helpers.js";
import { runMain } from "./harness.js";
import { callsSince, personalRota } from "./target-helpers.js";

// The aws-identity-center target through the CLI, against one fake IAM Identity Center (both APIs,
// AWS JSON 1.1, SigV4) driven by the official SDK clients, with a rota file as the source and the
// clock moved between runs as cron would move it. Each run's exact calls are asserted.

const RESOURCE = `${ACCOUNT}/OnCallAdmin`;

// A run without credentials in its environment falls through to the SDK's own chain, which reads
// this process's environment: there, no shared files and no instance metadata (no network).
process.env.AWS_EC2_METADATA_DISABLED = "true";
process.env.AWS_SHARED_CREDENTIALS_FILE = "/nonexistent/aws-credentials";
process.env.AWS_CONFIG_FILE = "/nonexistent/aws-config";
for (const k of [
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_PROFILE",
  "AWS_WEB_IDENTITY_TOKEN_FILE",
])
  delete process.env[k];

const rota = personalRota;

const actions = (stdout: string) =>
  parseJsonOutput(stdout).actions.map((a) => `${a.kind} ${a.identity} ${a.status}`);
const notes = (stdout: string) =>
  parseJsonOutput(stdout).actions.map((a) => `${a.identity}: ${String(a.error ?? a.reason ?? "")}`);

async function setup(aws: FakeAws, target = "", rules?: string) {
  const { dir, cleanup } = await makeTempDir("shiftgrant-aws-");
  const config = await writeYaml(
    path.join(dir, "shiftgrant.yaml"),
    `
version: 1
state: state.json
audit: audit.jsonl
sources: { rota: { type: file, path: rota.yaml } }
targets:
  aws:
    type: aws-identity-center
    region: ${AWS_REGION}
    instanceArn: ${INSTANCE_ARN}
    identityStoreId: ${IDENTITY_STORE_ID}
    endpoint: ${aws.url}
    concurrency: 1
${target}
rules:
${rules ?? `  - { name: oncall, source: rota, schedules: [alice, bob, carol, eve], target: aws, resources: [${RESOURCE}] }`}
`,
  );
  const newCalls = callsSince(() => aws.calls(), aws.calls().length);
  const outputs: string[] = [];
  return {
    dir,
    config,
    shifts: (s: [string, string, string][]) => writeFile(path.join(dir, "rota.yaml"), rota(s)),
    run: async (args: string[], now: string, env: Record<string, string> = AWS_ENV) => {
      const r = await runMain([...args, "-c", config], { cwd: dir, env, now });
      outputs.push(r.stdout, r.stderr);
      return r;
    },
    /** The calls made since the last call. */
    newCalls,
    outputs,
    cleanup,
  };
}

const sync = ["sync", "--output", "json"];

describe("aws-identity-center target: account assignments that shiftgrant ends", () => {
  let aws: FakeAws;
  before(async () => {
    aws = await startFakeAws({
      region: AWS_REGION,
      accessKeyId: AWS_KEY_ID,
      secretAccessKey: AWS_SECRET,
      instanceArn: INSTANCE_ARN,
      identityStoreId: IDENTITY_STORE_ID,
      users: USERS,
      permissionSets: PERMISSION_SETS,
      // Carol has had the access for long: shiftgrant leaves it alone.
      assignments: [{ accountId: ACCOUNT, permissionSetArn: ON_CALL_ADMIN.arn, userId: CAROL.id }],
      pageSize: 2,
    });
  });
  after(() => aws.close());

  it("grants after the job succeeds, fails on FAILED, skips who is not in the identity store, retries throttling, and expires after two failures", async () => {
    const t = await setup(aws);
    try {
      await t.shifts([
        ["alice@example.com", "2026-11-22T10:00:00Z", "2026-11-22T14:00:00Z"],
        ["bob@example.com", "2026-11-22T10:00:00Z", "2026-11-22T20:00:00Z"],
        ["carol@example.com", "2026-11-22T08:00:00Z", "2026-11-22T20:00:00Z"],
        ["eve@example.com", "2026-11-22T10:00:00Z", "2026-11-22T20:00:00Z"],
      ]);
      // 10:00 (nothing was assigned before the shifts began: AWS has no future assignments). Alice's
      // assignment job ends FAILED (AWS's reason is the action's error); bob has no email in the
      // identity store and is found by his user name; carol holds the access already (the listing
      // of the account's assignments says so): left alone, no exit 4 for it; eve is not in the
      // identity store at all: skip. The permission set's name is on the second page of sets.
      aws.failNext("creation", "Received a 404 status error: Not supported account 111122223333.");
      const r1 = await t.run(sync, "2026-11-22T10:00:00Z");
      assert.equal(r1.code, 4, r1.stderr + r1.stdout);
      assert.deepEqual(actions(r1.stdout), [
        "grant alice@example.com failed",
        "grant bob@example.com applied",
        "skip carol@example.com skipped",
        "skip eve@example.com skipped",
      ]);
      const n1 = notes(r1.stdout);
      assert.match(
        n1[0] ?? "",
        /^alice@example.com: AWS could not complete the assignment creation \(request [0-9a-f-]{36}\): Received a 404 status error: Not supported account 111122223333\.$/,
      );
      assert.equal(
        n1[3],
        `eve@example.com: on call: eve (rota) (no user in identity store ${IDENTITY_STORE_ID} has the email or user name eve@example.com: add the user in IAM Identity Center (or sync it from your identity provider), or map this email (identities:) to the email the identity store has for them)`,
      );
      assert.deepEqual(t.newCalls(), [
        "GetUserId emails.value=alice@example.com",
        "ListPermissionSets MaxResults=100",
        "DescribePermissionSet ReadOnly",
        "DescribePermissionSet Billing",
        "ListPermissionSets MaxResults=100 NextToken",
        "DescribePermissionSet OnCallAdmin",
        "ListAccountAssignments 111122223333 OnCallAdmin MaxResults=100",
        "CreateAccountAssignment 111122223333 OnCallAdmin USER alice",
        "DescribeAccountAssignmentCreationStatus #1",
        "DescribeAccountAssignmentCreationStatus #1",
        "GetUserId emails.value=bob@example.com",
        "GetUserId userName=bob@example.com",
        "CreateAccountAssignment 111122223333 OnCallAdmin USER bob@example.com",
        "DescribeAccountAssignmentCreationStatus #2",
        "DescribeAccountAssignmentCreationStatus #2",
        "GetUserId emails.value=carol@example.com",
        "GetUserId emails.value=eve@example.com",
        "GetUserId userName=eve@example.com",
      ]);
      assert.equal(
        n1[2],
        "carol@example.com: on call: carol (rota) (already has this access outside shiftgrant; left alone)",
      );
      // The polls waited through the run's sleep: 1 s, then 2 s, per job.
      assert.deepEqual(r1.sleeps, [1000, 2000, 1000, 2000]);
      assert.deepEqual(aws.assigned(ACCOUNT, "OnCallAdmin"), ["carol", "bob@example.com"]);

      // 10:15: alice's grant is made again; AWS throttles the last poll once and the SDK retries it.
      aws.fault("DescribeAccountAssignmentCreationStatus", { kind: "throttle" });
      const r2 = await t.run(sync, "2026-11-22T10:15:00Z");
      assert.equal(r2.code, 4, r2.stderr + r2.stdout);
      assert.deepEqual(actions(r2.stdout), [
        "grant alice@example.com applied",
        "unchanged bob@example.com skipped",
        "unchanged carol@example.com skipped",
        "skip eve@example.com skipped",
      ]);
      assert.deepEqual(t.newCalls(), [
        "GetUserId emails.value=alice@example.com",
        "ListPermissionSets MaxResults=100",
        "DescribePermissionSet ReadOnly",
        "DescribePermissionSet Billing",
        "ListPermissionSets MaxResults=100 NextToken",
        "DescribePermissionSet OnCallAdmin",
        "ListAccountAssignments 111122223333 OnCallAdmin MaxResults=100",
        "CreateAccountAssignment 111122223333 OnCallAdmin USER alice",
        "DescribeAccountAssignmentCreationStatus #3",
        "DescribeAccountAssignmentCreationStatus #3",
        "DescribeAccountAssignmentCreationStatus #3",
        "GetUserId emails.value=eve@example.com",
        "GetUserId userName=eve@example.com",
      ]);
      assert.deepEqual(aws.assigned(ACCOUNT, "OnCallAdmin"), ["carol", "bob@example.com", "alice"]);

      // 14:15: alice's end has passed: her assignment is deleted with the ids the grant kept (no
      // lookup). The deletion job FAILS: exit 4, and the next run tries again.
      aws.failNext("deletion", "Deletion throttled by the account's IAM");
      const r3 = await t.run(sync, "2026-11-22T14:15:00Z");
      assert.equal(r3.code, 4, r3.stderr + r3.stdout);
      assert.ok(actions(r3.stdout).includes("expire alice@example.com failed"), r3.stdout);
      const eve = ["GetUserId emails.value=eve@example.com", "GetUserId userName=eve@example.com"];
      assert.deepEqual(t.newCalls(), [
        "DeleteAccountAssignment 111122223333 OnCallAdmin USER alice",
        "DescribeAccountAssignmentDeletionStatus #4",
        "DescribeAccountAssignmentDeletionStatus #4",
        ...eve,
      ]);
      // 14:30: now the role may not delete: AccessDenied names the IAM action to allow.
      aws.fault("DeleteAccountAssignment", { kind: "denied" });
      const r4 = await t.run(sync, "2026-11-22T14:30:00Z");
      assert.equal(r4.code, 4, r4.stderr + r4.stdout);
      assert.equal(
        notes(r4.stdout).find((n) => n.startsWith("alice")),
        `alice@example.com: DeleteAccountAssignment: AccessDeniedException: User: arn:aws:sts::999988887777:assumed-role/shiftgrant/run is not authorized to perform: sso:DeleteAccountAssignment on resource: ${INSTANCE_ARN}; allow sso:DeleteAccountAssignment to shiftgrant's IAM role or user (the IAM policy is in the aws-identity-center target's README)`,
      );
      assert.deepEqual(t.newCalls(), ["DeleteAccountAssignment 111122223333 OnCallAdmin USER alice", ...eve]);
      // 14:45: the third try succeeds.
      const r5 = await t.run(sync, "2026-11-22T14:45:00Z");
      assert.ok(actions(r5.stdout).includes("expire alice@example.com applied"), r5.stdout);
      assert.deepEqual(t.newCalls(), [
        "DeleteAccountAssignment 111122223333 OnCallAdmin USER alice",
        "DescribeAccountAssignmentDeletionStatus #5",
        "DescribeAccountAssignmentDeletionStatus #5",
        ...eve,
      ]);
      assert.deepEqual(aws.assigned(ACCOUNT, "OnCallAdmin"), ["carol", "bob@example.com"]);

      const audit = await readFile(path.join(t.dir, "audit.jsonl"), "utf8");
      await assertNoSecret([AWS_SECRET, AWS_KEY_ID], [...t.outputs, audit], [path.join(t.dir, "state.json")]);
      // The key id is in each request's signature, and the secret never leaves the process.
      assert.ok(aws.authorizations.every((a) => a.includes(`Credential=${AWS_KEY_ID}/`)));
      assert.ok(aws.authorizations.every((a) => !a.includes(AWS_SECRET)));
    } finally {
      await t.cleanup();
    }
  });
  it("an assignment still IN_PROGRESS when the target's timeout is spent fails the action (exit 4)", async () => {
    // A fake of its own: its job numbers start at #1.
    const own = await startFakeAws({
      region: AWS_REGION,
      accessKeyId: AWS_KEY_ID,
      secretAccessKey: AWS_SECRET,
      instanceArn: INSTANCE_ARN,
      identityStoreId: IDENTITY_STORE_ID,
      users: USERS,
      permissionSets: PERMISSION_SETS,
    });
    const t = await setup(
      own,
      "    timeout: 2s",
      `  - { name: oncall, source: rota, schedules: [erin], target: aws, resources: [${ACCOUNT}/arn:aws:sso:::permissionSet/ssoins-72230000a1b2c3d4/ps-2c3d4e5f6a7b8c9d] }`,
    );
    try {
      await t.shifts([["erin@example.com", "2026-11-22T10:00:00Z", "2026-11-22T20:00:00Z"]]);
      const r = await t.run(sync, "2026-11-22T10:00:00Z");
      assert.equal(r.code, 4, r.stderr + r.stdout);
      assert.deepEqual(actions(r.stdout), ["grant erin@example.com failed"]);
      assert.match(
        notes(r.stdout)[0] ?? "",
        /^erin@example.com: the assignment creation \(request [0-9a-f-]{36}\) was still IN_PROGRESS after 1s, the target's timeout; the next run tries again \(raise timeout if AWS is often this slow\)$/,
      );
      // A permission set given by its ARN needs no lookup. One poll after 1 s; the next would pass 2 s.
      assert.deepEqual(t.newCalls(), [
        "GetUserId emails.value=erin@example.com",
        "ListAccountAssignments 111122223333 Billing MaxResults=100",
        "CreateAccountAssignment 111122223333 Billing USER erin",
        "DescribeAccountAssignmentCreationStatus #1",
      ]);
      assert.deepEqual(r.sleeps, [1000]);
    } finally {
      await t.cleanup();
      await own.close();
    }
  });

  it("validate --online describes the instance: ok; refused or missing credentials and another identity store fail it (exit 2)", async () => {
    const t = await setup(aws);
    const validate = ["validate", "--online"];
    const line = (stdout: string) => stdout.split("\n").find((l) => l.includes("target aws")) ?? stdout;
    try {
      await t.shifts(
        ["alice", "bob", "carol", "eve"].map((n) => [
          `${n}@example.com`,
          "2026-11-22T10:00:00Z",
          "2026-11-22T20:00:00Z",
        ]),
      );
      const ok = await t.run(validate, "2026-11-22T10:00:00Z");
      assert.equal(ok.code, 0, ok.stderr + ok.stdout);
      assert.equal(
        line(ok.stdout),
        `  ok    target aws: ${INSTANCE_ARN} (ACTIVE, identity store ${IDENTITY_STORE_ID}) answers in ${AWS_REGION} and takes the credentials`,
      );
      assert.deepEqual(t.newCalls(), ["DescribeInstance"]);

      const refused = await t.run(validate, "2026-11-22T10:00:00Z", {
        ...AWS_ENV,
        AWS_ACCESS_KEY_ID: "AKIAUNKNOWNKEY0000000",
      });
      assert.equal(refused.code, 2, refused.stderr + refused.stdout);
      assert.equal(
        line(refused.stdout),
        "  FAIL  target aws: DescribeInstance: UnrecognizedClientException: The security token included in the request is invalid.; AWS refused the credentials: check or renew them",
      );
      assert.deepEqual(t.newCalls(), ["DescribeInstance"]);

      // The fake signs each request again with the real secret: another secret does not match.
      const forged = await t.run(validate, "2026-11-22T10:00:00Z", {
        ...AWS_ENV,
        AWS_SECRET_ACCESS_KEY: "another/secret/key/NEVER-PRINTED",
      });
      assert.equal(forged.code, 2, forged.stderr + forged.stdout);
      assert.equal(
        line(forged.stdout),
        "  FAIL  target aws: DescribeInstance: InvalidSignatureException: The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.; AWS refused the credentials: check or renew them",
      );
      assert.deepEqual(t.newCalls(), ["DescribeInstance"]);
      await assertNoSecret(["another/secret/key/NEVER-PRINTED"], [forged.stdout, forged.stderr]);

      const none = await t.run(validate, "2026-11-22T10:00:00Z", {});
      assert.equal(none.code, 2, none.stderr + none.stdout);
      assert.match(
        line(none.stdout),
        /^ {2}FAIL {2}target aws: DescribeInstance: no AWS credentials found \(.*\); give shiftgrant credentials through the environment \(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY\), a profile \(AWS_PROFILE\), a Kubernetes service account's IAM role, or an instance or task role$/,
      );
      assert.deepEqual(t.newCalls(), []);

      const other = path.join(t.dir, "other.yaml");
      await writeFile(other, (await readFile(t.config, "utf8")).replace(IDENTITY_STORE_ID, "d-0000000000"));
      const wrong = await runMain([...validate, "-c", other], { cwd: t.dir, env: AWS_ENV });
      assert.equal(wrong.code, 2, wrong.stderr + wrong.stdout);
      assert.equal(
        line(wrong.stdout),
        `  FAIL  target aws: ${INSTANCE_ARN} uses identity store ${IDENTITY_STORE_ID}, not d-0000000000: set identityStoreId: ${IDENTITY_STORE_ID}`,
      );
      assert.deepEqual(t.newCalls(), ["DescribeInstance"]);
      await assertNoSecret([AWS_SECRET], [...t.outputs, wrong.stdout, wrong.stderr]);
    } finally {
      await t.cleanup();
    }
  });

  it("refuses credentials in the config and resources that are not ACCOUNT_ID/PERMISSION_SET, naming each (exit 2, no call)", async () => {
    const t = await setup(
      aws,
      "    secretAccessKey: wJalrXUtnFEMI-NOT-A-REAL-KEY\n    sessionToken: x\n    exclusive: [OnCallAdmin]",
      `  - { name: oncall, source: rota, schedules: [alice], target: aws, resources: ["11112222333/OnCallAdmin", "111122223333/arn:aws:sso:::permissionSet/ps-1", "111122223333/On Call"] }`,
    );
    try {
      const r = await t.run(["validate"], "2026-11-22T10:00:00Z");
      assert.equal(r.code, 2, r.stderr + r.stdout);
      const chain =
        "AWS credentials are never written in the config; shiftgrant takes them from the AWS SDK's default chain: the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), a shared profile (AWS_PROFILE), web identity (a Kubernetes service account's IAM role), or the ECS task or EC2 instance role. Remove this key";
      const shape =
        "expected ACCOUNT_ID/PERMISSION_SET, e.g. 111122223333/OnCallAdmin (a 12-digit AWS account id, then a permission set's name or ARN)";
      const doc = JSON.parse(r.stderr.trim().split("\n").pop() ?? "{}") as {
        exitCode?: number;
        message?: string;
      };
      assert.equal(doc.exitCode, 2);
      const [head, ...problems] = (doc.message ?? "").split("\n  - ");
      assert.equal(head, `invalid config ${t.config}:`);
      assert.deepEqual(problems, [
        `targets.aws.secretAccessKey: ${chain}`,
        `targets.aws.sessionToken: ${chain}`,
        `targets.aws.exclusive[0]: "OnCallAdmin": ${shape}`,
        `rules[0].resources[0]: "11112222333/OnCallAdmin": ${shape}`,
        `rules[0].resources[1]: "111122223333/arn:aws:sso:::permissionSet/ps-1": "arn:aws:sso:::permissionSet/ps-1" is not a permission set ARN (arn:aws:sso:::permissionSet/ssoins-…/ps-…)`,
        `rules[0].resources[2]: "111122223333/On Call": ${shape}`,
      ]);
      await assertNoSecret(["wJalrXUtnFEMI-NOT-A-REAL-KEY"], [r.stdout, r.stderr]);
      assert.deepEqual(t.newCalls(), []);
    } finally {
      await t.cleanup();
    }
  });
});

describe("aws-identity-center: the simulated day", () => {
  it("grants at the start, shares one assignment between rules, follows a swap, expires overdue access at 16:00, leaves dave's own access alone", async () => {
    const day = await dayFixture();
    try {
      const runs = await simulateDay(day, {
        only: ["00:00", "12:00", "13:00", "13:15", "16:00", "+00:15"],
      });
      const assign = (who: string, n: number) => [
        `CreateAccountAssignment 111122223333 OnCallAdmin USER ${who}`,
        `DescribeAccountAssignmentCreationStatus #${n}`,
        `DescribeAccountAssignmentCreationStatus #${n}`,
      ];
      const unassign = (who: string, n: number) => [
        `DeleteAccountAssignment 111122223333 OnCallAdmin USER ${who}`,
        `DescribeAccountAssignmentDeletionStatus #${n}`,
        `DescribeAccountAssignmentDeletionStatus #${n}`,
      ];
      const setLookup = [
        "ListPermissionSets MaxResults=100",
        "DescribePermissionSet ReadOnly",
        "DescribePermissionSet Billing",
        "ListPermissionSets MaxResults=100 NextToken",
        "DescribePermissionSet OnCallAdmin",
      ];
      const list = "ListAccountAssignments 111122223333 OnCallAdmin MaxResults=100";
      // The runs in between change nothing. Each run resolves the permission set's name once.
      assert.deepEqual(
        runs.map((r) => [r.at, r.code, r.actions.filter((a) => !a.startsWith("wait ")), r.calls]),
        [
          [
            "00:00",
            0,
            ["grant primary alice@example.com applied", "extend dba alice@example.com applied"],
            ["GetUserId emails.value=alice@example.com", ...setLookup, list, ...assign("alice", 1)],
          ],
          [
            "12:00",
            0,
            ["grant primary bob@example.com applied"],
            [
              "GetUserId emails.value=bob@example.com",
              "GetUserId userName=bob@example.com",
              ...setLookup,
              list,
              ...assign("bob@example.com", 2),
            ],
          ],
          // Carol took bob's shift from 13:00: his grant is cut to 13:00 (+15m grace), in the ledger.
          [
            "13:00",
            0,
            ["shorten primary bob@example.com applied", "grant primary carol@example.com applied"],
            [
              "GetUserId emails.value=carol@example.com",
              ...setLookup,
              list,
              `${list} NextToken`,
              ...assign("carol", 3),
            ],
          ],
          ["13:15", 0, ["expire primary bob@example.com applied"], unassign("bob@example.com", 4)],
          // No run from 14:00 to 15:45: alice's 14:00 end is overdue, expired now. Dave had the
          // access before the day: found assigned, left alone.
          [
            "16:00",
            0,
            ["expire dba alice@example.com applied", "skip dba dave@example.com skipped"],
            [...unassign("alice", 5), "GetUserId emails.value=dave@example.com", ...setLookup, list],
          ],
          ["+00:15", 0, ["expire primary carol@example.com applied"], unassign("carol", 6)],
        ],
      );
    } finally {
      await day.close();
    }
  });

  it("exclusive: removes dave, whom nobody wants at 00:00, gives him the access back at 16:00, and removes it at 20:00 though the ledger was lost at 18:00", async () => {
    const day = await dayFixture();
    try {
      const runs = await simulateDay(day, {
        exclusive: true,
        deleteLedgerAt: "18:00",
        only: ["00:00", "16:00", "18:00", "20:00"],
      });
      const assign = (who: string, n: number) => [
        `CreateAccountAssignment 111122223333 OnCallAdmin USER ${who}`,
        `DescribeAccountAssignmentCreationStatus #${n}`,
        `DescribeAccountAssignmentCreationStatus #${n}`,
      ];
      const unassign = (who: string, n: number) => [
        `DeleteAccountAssignment 111122223333 OnCallAdmin USER ${who}`,
        `DescribeAccountAssignmentDeletionStatus #${n}`,
        `DescribeAccountAssignmentDeletionStatus #${n}`,
      ];
      // The members are listed (user ids -> emails) before the plan; whoever is listed and not on
      // call is removed with the id the listing gave (no lookup by email).
      const listed = (...who: string[]) => [
        "ListPermissionSets MaxResults=100",
        "DescribePermissionSet ReadOnly",
        "DescribePermissionSet Billing",
        "ListPermissionSets MaxResults=100 NextToken",
        "DescribePermissionSet OnCallAdmin",
        "ListAccountAssignments 111122223333 OnCallAdmin MaxResults=100",
        ...who.map((w) => `DescribeUser ${w}`),
      ];
      assert.deepEqual(
        runs.map((r) => [r.at, r.code, r.actions.filter((a) => !a.startsWith("wait ")), r.calls]),
        [
          [
            "00:00",
            0,
            [
              "grant primary alice@example.com applied",
              "revoke primary dave@example.com applied",
              "extend dba alice@example.com applied",
            ],
            [
              ...listed("dave"),
              "GetUserId emails.value=alice@example.com",
              ...assign("alice", 1),
              ...unassign("dave", 2),
            ],
          ],
          // Without the runs in between: carol is granted now; dave is on call, and gets it back.
          [
            "16:00",
            0,
            [
              "grant primary carol@example.com applied",
              "expire dba alice@example.com applied",
              "grant dba dave@example.com applied",
            ],
            [
              ...listed("alice"),
              "GetUserId emails.value=carol@example.com",
              ...assign("carol", 3),
              ...unassign("alice", 4),
              "GetUserId emails.value=dave@example.com",
              ...assign("dave", 5),
            ],
          ],
          // The ledger is gone: carol and dave are listed as assigned and on call; the resource is
          // exclusive, so the ledger records their access as shiftgrant's, without a call.
          [
            "18:00",
            0,
            ["grant primary carol@example.com applied", "grant dba dave@example.com applied"],
            listed("carol", "dave"),
          ],
          // Dave's shift is over: his access is expired like any other.
          [
            "20:00",
            0,
            ["expire dba dave@example.com applied"],
            [...listed("carol", "dave"), ...unassign("dave", 6)],
          ],
        ],
      );
    } finally {
      await day.close();
    }
  });
});
