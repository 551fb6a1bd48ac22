import { z } from "zod";
import { checkUrl, type NormalizeContext } from "../../core/fields.js";
import { normalizeTargetFields, targetFields, type TargetCommon, type TargetStarter } from "../define.js";

export const GOOGLE_GROUPS_BASE_URL = "https://cloudidentity.googleapis.com";

export const googleGroupsSchema = z.strictObject({
  type: z.literal("google-groups").meta({
    description:
      "Google Groups: memberships with an expiry through the Cloud Identity Groups API; Google removes each one at its shift's end (plus grace). Credentials: Application Default Credentials only (GOOGLE_APPLICATION_CREDENTIALS or workload identity), never in this file.",
  }),
  baseUrl: z
    .string()
    .optional()
    .meta({
      description: `The Cloud Identity API (default ${GOOGLE_GROUPS_BASE_URL}). https only; plain http is allowed for 127.0.0.1 and localhost (tests, local proxies).`,
    }),
  ...targetFields,
});

export type GoogleGroupsConfig = TargetCommon & {
  type: "google-groups";
  /** Without a trailing slash. */
  baseUrl: string;
};

export function normalizeGoogleGroups(
  raw: z.output<typeof googleGroupsSchema>,
  ctx: NormalizeContext,
): GoogleGroupsConfig {
  const baseUrl = (raw.baseUrl ?? GOOGLE_GROUPS_BASE_URL).replace(/\/+$/, "");
  if (raw.baseUrl !== undefined) checkUrl(raw.baseUrl, `${ctx.at}.baseUrl`, ctx.problems);
  return { ...normalizeTargetFields(raw, ctx), type: raw.type, baseUrl };
}

export const googleGroupsStarter: TargetStarter = {
  name: "google",
  yaml: [
    "    type: google-groups",
    "    # credentials: GOOGLE_APPLICATION_CREDENTIALS=/path/to/service-account-key.json where shiftgrant",
    "    # runs, or workload identity; never in this file. The service account owns or manages the groups.",
  ],
  env: [],
  resources: ["    resources: [oncall-prod@example.com] # group emails"],
};
