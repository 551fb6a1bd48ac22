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

export const oktaSchema = z.strictObject({
  type: z.literal("okta").meta({
    description:
      "Okta: group memberships through the Management API; shiftgrant removes each one once its shift (plus grace) has ended.",
  }),
  orgUrl: baseUrl.meta({
    description:
      "The Okta org, e.g. https://example.okta.com. https only; plain http is allowed for 127.0.0.1 and localhost (tests, local proxies).",
  }),
  ...tokenFields(OKTA_TOKEN_ENV, "An Okta API token, sent as Authorization: SSWS …"),
  ...targetFields,
});

export type OktaConfig = TargetCommon & {
  type: "okta";
  /** Without a trailing slash. */
  orgUrl: string;
  secret: SecretRef;
};

export function normalizeOkta(raw: z.output<typeof oktaSchema>, ctx: NormalizeContext): OktaConfig {
  checkUrl(raw.orgUrl, `${ctx.at}.orgUrl`, ctx.problems);
  return {
    ...normalizeTargetFields(raw, ctx),
    type: raw.type,
    orgUrl: raw.orgUrl.replace(/\/+$/, ""),
    secret: resolveSecret(raw, OKTA_TOKEN_ENV, ctx),
  };
}

export const oktaStarter: TargetStarter = {
  name: "okta",
  yaml: [
    "    type: okta",
    "    orgUrl: https://example.okta.com",
    `    tokenEnv: ${OKTA_TOKEN_ENV}           # an admin's API token limited to these groups; or tokenFile`,
  ],
  env: [OKTA_TOKEN_ENV],
  resources: ["    resources: [oncall-prod]             # Okta group names (OKTA_GROUP) or ids (00g…)"],
};
