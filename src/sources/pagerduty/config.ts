import { z } from "zod";
import { baseUrl, tokenFields, type NormalizeContext } from "../../core/fields.js";
import { normalizeApiSource, type ApiSourceConfig } from "../api.js";
import type { SourceStarter } from "../define.js";

export const PAGERDUTY_TOKEN_ENV = "PAGERDUTY_TOKEN";
export const PAGERDUTY_BASE_URL = "https://api.pagerduty.com";

export const pagerdutySchema = z.strictObject({
  type: z.literal("pagerduty").meta({
    description: "PagerDuty: who is on call in its schedules, or who acknowledged an open incident.",
  }),
  ...tokenFields(PAGERDUTY_TOKEN_ENV),
  baseUrl: baseUrl
    .optional()
    .meta({ description: `${PAGERDUTY_BASE_URL} (default) or https://api.eu.pagerduty.com` }),
});

export type PagerdutyConfig = ApiSourceConfig<"pagerduty">;

export function normalizePagerduty(
  raw: z.output<typeof pagerdutySchema>,
  ctx: NormalizeContext,
): PagerdutyConfig {
  return normalizeApiSource(raw, ctx, { tokenEnv: PAGERDUTY_TOKEN_ENV, baseUrl: PAGERDUTY_BASE_URL });
}

export const pagerdutyStarter: SourceStarter = {
  name: "pagerduty",
  yaml: [
    "    type: pagerduty",
    `    tokenEnv: ${PAGERDUTY_TOKEN_ENV}            # a read-only REST API key; or tokenFile: /run/secrets/pagerduty`,
    "    # baseUrl: https://api.eu.pagerduty.com   # accounts in the EU service region",
  ],
  env: [PAGERDUTY_TOKEN_ENV],
  schedules: [
    "    schedules: [PABC123]                 # schedule ids or exact names: see `shiftgrant schedules`",
    "    # escalationLevels: [1]              # only people on call at these levels",
  ],
};
