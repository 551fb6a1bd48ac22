import { z } from "zod";
import { resolveSecret, tokenFields, type NormalizeContext, type SecretRef } from "../../core/fields.js";
import {
  argvTemplate,
  normalizeTargetFields,
  resolveExecutable,
  targetFields,
  type TargetCommon,
  type TargetStarter,
} from "../define.js";
import { checkTemplate } from "../template.js";

export const STRONGDM_TOKEN_ENV = "SDM_ADMIN_TOKEN";

export const strongdmSchema = z.strictObject({
  type: z.literal("strongdm").meta({
    description: "strongDM: temporary grants through the sdm CLI; strongDM expires them itself.",
  }),
  command: z.string().min(1).optional().meta({ description: 'The sdm executable (default "sdm").' }),
  ...tokenFields(STRONGDM_TOKEN_ENV, "sdm gets it as SDM_ADMIN_TOKEN in its environment, never in argv."),
  grantArgs: argvTemplate.optional().meta({
    description:
      "Arguments after the executable, to match another sdm version: {identity} {resource} {start} {end} {duration} {rule} {reason}.",
  }),
  ...targetFields,
});

export type StrongdmConfig = TargetCommon & {
  type: "strongdm";
  command: string;
  secret: SecretRef;
  /** Null: the default arguments (DEFAULT_GRANT_ARGS). */
  grantArgs: string[] | null;
};

export function normalizeStrongdm(
  raw: z.output<typeof strongdmSchema>,
  ctx: NormalizeContext,
): StrongdmConfig {
  const config: StrongdmConfig = {
    ...normalizeTargetFields(raw, ctx),
    type: raw.type,
    command: resolveExecutable(raw.command ?? "sdm", `${ctx.at}.command`, ctx.resolvePath),
    secret: resolveSecret(raw, STRONGDM_TOKEN_ENV, ctx),
    grantArgs: raw.grantArgs ?? null,
  };
  if (raw.grantArgs) checkTemplate(raw.grantArgs, `${ctx.at}.grantArgs`, ctx.problems);
  return config;
}

export const strongdmStarter: TargetStarter = {
  name: "sdm",
  yaml: [
    "    type: strongdm",
    `    tokenEnv: ${STRONGDM_TOKEN_ENV}            # an admin token with Datasource list and grant, User assign and list`,
    "    # command: /usr/local/bin/sdm        # the sdm executable, if cron's PATH lacks it",
  ],
  env: [STRONGDM_TOKEN_ENV],
  resources: ["    resources: [prod-postgres]           # strongDM datasource or server names"],
};
