import { z } from "zod";
import { baseUrl, tokenFields, type NormalizeContext } from "../../core/fields.js";
import { normalizeApiSource, type ApiSourceConfig } from "../api.js";
import type { SourceStarter } from "../define.js";

export const OPSGENIE_TOKEN_ENV = "OPSGENIE_API_KEY";
export const OPSGENIE_BASE_URL = "https://api.opsgenie.com";

export const opsgenieSchema = z.strictObject({
  type: z.literal("opsgenie").meta({
    description: "Opsgenie: who is on call in its schedules (the final timeline, overrides applied).",
  }),
  ...tokenFields(OPSGENIE_TOKEN_ENV),
  baseUrl: baseUrl
    .optional()
    .meta({ description: `${OPSGENIE_BASE_URL} (default) or https://api.eu.opsgenie.com` }),
});

export type OpsgenieConfig = ApiSourceConfig<"opsgenie">;

export function normalizeOpsgenie(
  raw: z.output<typeof opsgenieSchema>,
  ctx: NormalizeContext,
): OpsgenieConfig {
  return normalizeApiSource(raw, ctx, { tokenEnv: OPSGENIE_TOKEN_ENV, baseUrl: OPSGENIE_BASE_URL });
}

export const opsgenieStarter: SourceStarter = {
  name: "opsgenie",
  yaml: [
    "    type: opsgenie",
    `    tokenEnv: ${OPSGENIE_TOKEN_ENV}           # an API integration's key with Read access; or tokenFile`,
    "    # baseUrl: https://api.eu.opsgenie.com   # accounts in the EU region",
  ],
  env: [OPSGENIE_TOKEN_ENV],
  schedules: ['    schedules: ["Primary_Schedule"]      # schedule names or ids: see `shiftgrant schedules`'],
};
