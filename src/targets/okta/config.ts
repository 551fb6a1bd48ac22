import { z } from "zod";
import {
  baseUrl,
  checkUrl,
  resolveSecret,
  tokenFields,
  type NormalizeContext,
  type SecretRef,
} from "../../core/fields.js";
import { normalizeTargetFields, targetFields, type TargetCommon, type TargetStarter } from "../define.js";

export const OKTA_TOKEN_ENV = "OKTA_API_TOKEN";

/** What the service app asks for: read users (to find them), manage groups (to change members). */
export const OKTA_SCOPES = ["okta.groups.manage", "okta.users.read"] as const;

export const oktaSchema = z.strictObject({
  type: z.literal("okta").meta({
    description:
      "Okta: group memberships through the Management API; shiftgrant removes each one once its shift (plus grace) has ended.",
  }),
  orgUrl: baseUrl.meta({
    description:
      "The Okta org, e.g. https://example.okta.com. https only; plain http is allowed for 127.0.0.1 and localhost (tests, local proxies).",
  }),
  ...tokenFields(OKTA_TOKEN_ENV, "An Okta API token, sent as Authorization: SSWS …; or use oauth instead."),
  oauth: z
    .strictObject({
      clientId: z.string().min(1).meta({ description: "The service app's client id (0oa…)." }),
      privateKeyFile: z.string().min(1).meta({
        description:
          "File holding the private key whose public half the service app has (PEM, or the JWK Okta's console generates), relative to the config file.",
      }),
      keyId: z.string().min(1).optional().meta({
        description:
          "The key's id (kid) in the service app's public keys, for a PEM key; a JWK names its own.",
      }),
    })
    .optional()
    .meta({
      description: `An OAuth 2.0 service app instead of an API token: its client id and private key (private_key_jwt); it needs the scopes ${OKTA_SCOPES.join(" and ")} and an admin role over the groups. DPoP is used when the app requires it.`,
    }),
  ...targetFields,
});

/** How shiftgrant proves itself to Okta: an API token (SSWS), or a service app's signed assertion. */
export type OktaAuth = { kind: "ssws" } | { kind: "oauth"; clientId: string; keyId: string | null };

export type OktaConfig = TargetCommon & {
  type: "okta";
  /** Without a trailing slash. */
  orgUrl: string;
  auth: OktaAuth;
  /** The API token, or (oauth) the private key file. */
  secret: SecretRef;
};

export function normalizeOkta(raw: z.output<typeof oktaSchema>, ctx: NormalizeContext): OktaConfig {
  checkUrl(raw.orgUrl, `${ctx.at}.orgUrl`, ctx.problems);
  const common = {
    ...normalizeTargetFields(raw, ctx),
    type: raw.type,
    orgUrl: raw.orgUrl.replace(/\/+$/, ""),
  };
  if (!raw.oauth)
    return { ...common, auth: { kind: "ssws" }, secret: resolveSecret(raw, OKTA_TOKEN_ENV, ctx) };
  if (raw.tokenEnv !== undefined || raw.tokenFile !== undefined)
    ctx.problems.push(
      `${ctx.at}: set oauth or ${raw.tokenEnv !== undefined ? "tokenEnv" : "tokenFile"}, not both (oauth signs in as the service app; no API token is used)`,
    );
  return {
    ...common,
    auth: { kind: "oauth", clientId: raw.oauth.clientId, keyId: raw.oauth.keyId ?? null },
    secret: {
      tokenEnv: "",
      tokenFile: ctx.resolvePath(raw.oauth.privateKeyFile, `${ctx.at}.oauth.privateKeyFile`),
      privateKey: { key: "oauth.privateKeyFile" },
    },
  };
}

export const oktaStarter: TargetStarter = {
  name: "okta",
  yaml: [
    "    type: okta",
    "    orgUrl: https://example.okta.com",
    `    tokenEnv: ${OKTA_TOKEN_ENV}           # an admin's API token limited to these groups; or tokenFile`,
    "    # or, instead of a token, a service app (private_key_jwt; DPoP when the app requires it):",
    "    # oauth: { clientId: 0oa1example, privateKeyFile: okta-key.pem }",
  ],
  env: [OKTA_TOKEN_ENV],
  resources: ["    resources: [oncall-prod]             # Okta group names (OKTA_GROUP) or ids (00g…)"],
};
