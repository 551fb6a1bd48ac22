import { z } from "zod";
import { checkUrl, type NormalizeContext } from "../../core/fields.js";
import { normalizeTargetFields, targetFields, type TargetCommon, type TargetStarter } from "../define.js";

/** IAM Identity Center's instance ARN, as its API reference gives the pattern. */
const INSTANCE_ARN = /^arn:aws(-[a-z]{1,5}){0,3}:sso:::instance\/(sso)?ins-[a-zA-Z0-9-.]{16}$/;
/** A permission set's ARN. */
export const PERMISSION_SET_ARN =
  /^arn:aws(-[a-z]{1,5}){0,3}:sso:::permissionSet\/(sso)?ins-[a-zA-Z0-9-.]{16}\/ps-[a-zA-Z0-9-./]{16}$/;
/** A permission set's name: 1-32 of these characters. */
const PERMISSION_SET_NAME = /^[\w+=,.@-]{1,32}$/;
/** An identity store id: `d-` and 10 hex digits, or a UUID. */
const IDENTITY_STORE_ID = /^(d-[0-9a-f]{10}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;

/** Credentials come from the SDK's chain only: a key for them in the config says where they go. */
const CREDENTIALS_ELSEWHERE =
  "AWS credentials are never written in the config; shiftgrant takes them from the AWS SDK's default chain: the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), a shared profile (AWS_PROFILE), web identity (a Kubernetes service account's IAM role), or the ECS task or EC2 instance role. Remove this key";

export const AWS_REFUSED_KEYS: Readonly<Record<string, string>> = Object.fromEntries(
  [
    "accessKeyId",
    "secretAccessKey",
    "sessionToken",
    "credentials",
    "profile",
    "roleArn",
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
  ].map((k) => [k, CREDENTIALS_ELSEWHERE]),
);

export const awsIdentityCenterSchema = z.strictObject({
  type: z.literal("aws-identity-center").meta({
    description:
      "AWS IAM Identity Center: account assignments (an AWS account and a permission set) for identity store users; shiftgrant removes each one once its shift (plus grace) has ended. Credentials come from the AWS SDK's default chain only.",
  }),
  region: z.string().regex(REGION, "expected an AWS region, e.g. us-east-1").meta({
    description: "The region of the IAM Identity Center instance, e.g. us-east-1.",
  }),
  instanceArn: z
    .string()
    .regex(INSTANCE_ARN, "expected an instance ARN: arn:aws:sso:::instance/ssoins-0123456789abcdef")
    .meta({
      description:
        "The IAM Identity Center instance, e.g. arn:aws:sso:::instance/ssoins-0123456789abcdef (aws sso-admin list-instances).",
    }),
  identityStoreId: z
    .string()
    .regex(IDENTITY_STORE_ID, "expected an identity store id, e.g. d-1234567890")
    .meta({
      description: "The instance's identity store, e.g. d-1234567890 (aws sso-admin list-instances).",
    }),
  endpoint: z.string().optional().meta({
    description:
      "One endpoint for both APIs instead of AWS's own (a VPC endpoint or a test double). https only; plain http is allowed for 127.0.0.1 and localhost.",
  }),
  ...targetFields,
});

export type AwsIdentityCenterConfig = TargetCommon & {
  type: "aws-identity-center";
  region: string;
  instanceArn: string;
  identityStoreId: string;
  /** Null: AWS's own endpoints for the region. */
  endpoint: string | null;
};

/** An `ACCOUNT_ID/PERMISSION_SET` resource, split; the permission set is a name or an ARN. */
export type AwsResource = { accountId: string; permissionSet: { arn: string } | { name: string } };

export function parseAwsResource(resource: string): AwsResource | string {
  const slash = resource.indexOf("/");
  const accountId = slash < 0 ? resource : resource.slice(0, slash);
  const set = slash < 0 ? "" : resource.slice(slash + 1);
  const shape = `expected ACCOUNT_ID/PERMISSION_SET, e.g. 111122223333/OnCallAdmin (a 12-digit AWS account id, then a permission set's name or ARN)`;
  if (!/^\d{12}$/.test(accountId)) return `"${resource}": ${shape}`;
  if (set.startsWith("arn:")) {
    return PERMISSION_SET_ARN.test(set)
      ? { accountId, permissionSet: { arn: set } }
      : `"${resource}": "${set}" is not a permission set ARN (arn:aws:sso:::permissionSet/ssoins-…/ps-…)`;
  }
  if (!PERMISSION_SET_NAME.test(set)) return `"${resource}": ${shape}`;
  return { accountId, permissionSet: { name: set } };
}

/** The problem with a resource, or null: the config check of rules' and `exclusive` resources. */
export function checkAwsResource(resource: string): string | null {
  const r = parseAwsResource(resource);
  return typeof r === "string" ? r : null;
}

export function normalizeAwsIdentityCenter(
  raw: z.output<typeof awsIdentityCenterSchema>,
  ctx: NormalizeContext,
): AwsIdentityCenterConfig {
  if (raw.endpoint !== undefined) checkUrl(raw.endpoint, `${ctx.at}.endpoint`, ctx.problems);
  (raw.exclusive ?? []).forEach((res, i) => {
    const problem = checkAwsResource(res);
    if (problem) ctx.problems.push(`${ctx.at}.exclusive[${i}]: ${problem}`);
  });
  return {
    ...normalizeTargetFields(raw, ctx),
    type: raw.type,
    region: raw.region,
    instanceArn: raw.instanceArn,
    identityStoreId: raw.identityStoreId,
    endpoint: raw.endpoint?.replace(/\/+$/, "") ?? null,
  };
}

export const awsIdentityCenterStarter: TargetStarter = {
  name: "aws",
  yaml: [
    "    type: aws-identity-center",
    "    region: us-east-1",
    "    instanceArn: arn:aws:sso:::instance/ssoins-0123456789abcdef   # aws sso-admin list-instances",
    "    identityStoreId: d-1234567890",
    "    # credentials: the AWS SDK's default chain (environment, profile, IRSA, instance role)",
  ],
  env: [],
  resources: ["    resources: [111122223333/OnCallAdmin]   # ACCOUNT_ID/PERMISSION_SET (a name or an ARN)"],
};
