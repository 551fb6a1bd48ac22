import type { DayFixture } from "../day.js";
import { startFakeAws, type FakeAwsPermissionSet, type FakeAwsUser } from "../fakes/aws.js";

// One IAM Identity Center for the day and the target's tests: the instance, its identity store,
// three permission sets and five users (bob has no email: he is found by his user name).
export const AWS_REGION = "eu-central-1";
export const INSTANCE_ARN = "arn:aws:sso:::instance/ssoins-72230000a1b2c3d4";
export const IDENTITY_STORE_ID = "d-9067a1b2c3";
export const ACCOUNT = "111122223333";
/** Fake credentials: the tests assert they never appear in any output. */
export const AWS_KEY_ID = "AKIAFAKEKEY7SHIFTGRANT";
export const AWS_SECRET = "fAkE/SeCrEt+KeY/never-printed-0123456789ab";
export const AWS_ENV = {
  AWS_ACCESS_KEY_ID: AWS_KEY_ID,
  AWS_SECRET_ACCESS_KEY: AWS_SECRET,
  AWS_EC2_METADATA_DISABLED: "true",
};

const ps = (name: string, id: string): FakeAwsPermissionSet => ({
  name,
  arn: `arn:aws:sso:::permissionSet/ssoins-72230000a1b2c3d4/ps-${id}`,
});
export const READ_ONLY = ps("ReadOnly", "1b2c3d4e5f6a7b8c");
export const BILLING = ps("Billing", "2c3d4e5f6a7b8c9d");
export const ON_CALL_ADMIN = ps("OnCallAdmin", "0a1b2c3d4e5f6a7b");
export const PERMISSION_SETS = [READ_ONLY, BILLING, ON_CALL_ADMIN];

const user = (n: number, userName: string, emails: string[]): FakeAwsUser => ({
  id: `90676d2c-${String(n).padStart(4, "0")}-4e00-8000-00000000000${n}`,
  userName,
  emails,
});
export const ALICE = user(1, "alice", ["alice@example.com"]);
export const BOB = user(2, "bob@example.com", []);
export const CAROL = user(3, "carol", ["carol@example.com"]);
export const DAVE = user(4, "dave", ["Dave@Example.com", "dave@old.example.com"]);
export const ERIN = user(5, "erin", ["erin@example.com"]);
export const USERS = [ALICE, BOB, CAROL, DAVE, ERIN];

export const targetKeys = (endpoint: string) => ({
  type: "aws-identity-center",
  region: AWS_REGION,
  instanceArn: INSTANCE_ARN,
  identityStoreId: IDENTITY_STORE_ID,
  endpoint,
  // One call at a time: the day's calls come in one order.
  concurrency: 1,
});

/** The day with IAM Identity Center: an account assignment of OnCallAdmin in one account. */
export async function dayFixture(): Promise<DayFixture> {
  const aws = await startFakeAws({
    region: AWS_REGION,
    accessKeyId: AWS_KEY_ID,
    secretAccessKey: AWS_SECRET,
    instanceArn: INSTANCE_ARN,
    identityStoreId: IDENTITY_STORE_ID,
    users: USERS,
    permissionSets: PERMISSION_SETS,
    pageSize: 2,
  });
  let seen = 0;
  return {
    title: "aws-identity-center (account assignments)",
    exclusive: true,
    target: targetKeys(aws.url),
    resource: `${ACCOUNT}/OnCallAdmin`,
    env: AWS_ENV,
    addMember: async (identity) => {
      const u = USERS.find(
        (x) => x.emails.some((e) => e.toLowerCase() === identity) || x.userName === identity,
      );
      if (!u) throw new Error(`no fake AWS user for ${identity}`);
      aws.assign(ACCOUNT, "OnCallAdmin", u.userName);
    },
    calls: async () => {
      const all = aws.calls();
      const fresh = all.slice(seen);
      seen = all.length;
      return fresh;
    },
    close: () => aws.close(),
  };
}
