import type * as IdentityStore from "@aws-sdk/client-identitystore";
import type * as SsoAdmin from "@aws-sdk/client-sso-admin";
import { DEFAULT_HTTP } from "../../infra/http.js";
import type { AwsIdentityCenterConfig } from "./config.js";

/** The two official clients of one run, made at the first call (other commands never load them). */
export type AwsApis = {
  sso: SsoAdmin.SSOAdminClient;
  ssoCommands: typeof SsoAdmin;
  ids: IdentityStore.IdentitystoreClient;
  idsCommands: typeof IdentityStore;
};

/** Tries per call, as our HTTP client makes them (the first and its retries). */
export const AWS_MAX_ATTEMPTS = DEFAULT_HTTP.retries + 1;

/**
 * The clients, configured as every HTTP call of shiftgrant is: the target's `timeout` per attempt,
 * the same number of tries, and AWS's own adaptive retry mode for throttling (it slows the client
 * down after a ThrottlingException rather than only backing off that one call).
 */
export async function loadAwsApis(config: AwsIdentityCenterConfig, env: NodeJS.ProcessEnv): Promise<AwsApis> {
  // NOTE: the SDK warns on every process under Node 22 that its releases after January 2027 will
  // need Node 22. shiftgrant supports Node 20 and pins the SDK's version; a cron job would mail that
  // warning every run. It is turned off unless the environment says otherwise.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const [ssoCommands, idsCommands] = await Promise.all([
    import("@aws-sdk/client-sso-admin"),
    import("@aws-sdk/client-identitystore"),
  ]);
  const credentials = staticCredentials(env);
  const common = {
    region: config.region,
    maxAttempts: AWS_MAX_ATTEMPTS,
    retryMode: "adaptive",
    requestHandler: {
      requestTimeout: config.timeoutMs,
      connectionTimeout: Math.min(DEFAULT_HTTP.connectTimeoutMs ?? 10_000, config.timeoutMs),
    },
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    ...(credentials ? { credentials } : {}),
  };
  return {
    sso: new ssoCommands.SSOAdminClient(common),
    ssoCommands,
    ids: new idsCommands.IdentitystoreClient(common),
    idsCommands,
  };
}

/**
 * NOTE: the SDK's credential chain reads `process.env`, but a run is given its environment (the
 * same object when shiftgrant runs as a CLI; another one when it runs in-process). The chain's first
 * link, static keys in the environment, is read here from the run's environment, with the SDK's
 * rule that AWS_PROFILE wins over them; every other link (shared profile, SSO, web identity for a
 * Kubernetes service account, container and instance roles) is the SDK's own default chain.
 */
export function staticCredentials(
  env: NodeJS.ProcessEnv,
): { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | null {
  if (env.AWS_PROFILE) return null;
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) return null;
  const sessionToken = env.AWS_SESSION_TOKEN;
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
}

/** Which API an operation belongs to: its IAM action is `PREFIX:Operation`. */
export type AwsService = "sso" | "identitystore";

/** An SDK error's name (AWS's error code), or null for something that is not one. */
export function awsErrorName(err: unknown): string | null {
  return err instanceof Error ? err.name : null;
}

/**
 * A failed call in words a person can act on: the operation, AWS's error code and message, and what
 * to do. Never the credentials: the SDK's messages do not carry them.
 */
export function describeAwsError(service: AwsService, op: string, err: unknown): string {
  if (!(err instanceof Error)) return `${op}: ${String(err)}`;
  const name = err.name;
  const message = err.message.replace(/\s+/g, " ").trim();
  const attempts = (err as { $metadata?: { attempts?: number } }).$metadata?.attempts;
  const tried = attempts && attempts > 1 ? ` (after ${attempts} attempts)` : "";
  const base = `${op}: ${name}: ${message}${tried}`;
  switch (name) {
    case "AccessDeniedException":
      return `${base}; allow ${service}:${op} to shiftgrant's IAM role or user (the IAM policy is in the aws-identity-center target's README)`;
    case "ThrottlingException":
      return `${base}; AWS is still throttling: the next run tries again`;
    case "CredentialsProviderError":
      return `${op}: no AWS credentials found (${message}); give shiftgrant credentials through the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), a profile (AWS_PROFILE), a Kubernetes service account's IAM role, or an instance or task role`;
    case "UnrecognizedClientException":
    case "InvalidSignatureException":
    case "ExpiredTokenException":
    case "InvalidClientTokenId":
      return `${base}; AWS refused the credentials: check or renew them`;
    default:
      return base;
  }
}
