import { z } from "zod";
import { baseUrl, tokenFields, type NormalizeContext } from "../../core/fields.js";
import { normalizeApiSource, type ApiSourceConfig } from "../api.js";
import type { SourceStarter } from "../define.js";

export const INCIDENTIO_TOKEN_ENV = "INCIDENTIO_API_KEY";
export const INCIDENTIO_BASE_URL = "https://api.incident.io";

export const incidentioSchema = z.strictObject({
  type: z.literal("incidentio").meta({
    description: "incident.io: who is on call in its schedules (the final entries, overrides applied).",
  }),
  ...tokenFields(INCIDENTIO_TOKEN_ENV),
  baseUrl: baseUrl.optional().meta({ description: `${INCIDENTIO_BASE_URL} (default)` }),
});

export type IncidentioConfig = ApiSourceConfig<"incidentio">;

export function normalizeIncidentio(
  raw: z.output<typeof incidentioSchema>,
  ctx: NormalizeContext,
): IncidentioConfig {
  return normalizeApiSource(raw, ctx, { tokenEnv: INCIDENTIO_TOKEN_ENV, baseUrl: INCIDENTIO_BASE_URL });
}

export const incidentioStarter: SourceStarter = {
  name: "incidentio",
  yaml: [
    "    type: incidentio",
    `    tokenEnv: ${INCIDENTIO_TOKEN_ENV}         # an API key with a view role only; or tokenFile`,
  ],
  env: [INCIDENTIO_TOKEN_ENV],
  schedules: [
    '    schedules: ["Primary"]               # schedule ids or exact names: see `shiftgrant schedules`',
  ],
};
