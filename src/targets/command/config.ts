import { z } from "zod";
import {
  envName,
  resolveSecret,
  tokenFields,
  type NormalizeContext,
  type SecretRef,
} from "../../core/fields.js";
import {
  argvTemplate,
  normalizeTargetFields,
  resolveArgv,
  targetFields,
  type TargetCommon,
  type TargetStarter,
} from "../define.js";
import { checkTemplate } from "../template.js";

export const commandSchema = z.strictObject({
  type: z.literal("command").meta({
    description: "Any command: an argv run without a shell for each grant (and revoke).",
  }),
  grant: argvTemplate.meta({
    description: "argv run for a grant: {identity} {resource} {start} {end} {duration} {rule} {reason}.",
  }),
  revoke: argvTemplate.optional().meta({ description: "argv run for a revoke (same placeholders)." }),
  ...tokenFields(
    null,
    "The command gets it in its environment, under the tokenEnv name (SHIFTGRANT_TOKEN with tokenFile).",
  ),
  env: z
    .array(envName)
    .optional()
    .meta({ description: "Names of extra environment variables passed to the command." }),
  expires: z.boolean().optional().meta({
    description:
      "The command ends each grant at {end} by itself (default true). With false, shiftgrant ends it with the revoke command once its end has passed; revoke is then required.",
  }),
  ...targetFields,
});

export type CommandConfig = TargetCommon & {
  type: "command";
  grant: string[];
  revoke: string[] | null;
  /** Null: the command gets no token. */
  secret: SecretRef | null;
  env: string[];
  /** The command ends each grant at {end} by itself; if not, shiftgrant expires it with `revoke`. */
  expires: boolean;
};

export function normalizeCommand(raw: z.output<typeof commandSchema>, ctx: NormalizeContext): CommandConfig {
  const { at, problems, resolvePath } = ctx;
  const hasSecret = raw.tokenEnv !== undefined || raw.tokenFile !== undefined;
  const config: CommandConfig = {
    ...normalizeTargetFields(raw, ctx),
    type: raw.type,
    grant: resolveArgv(raw.grant, `${at}.grant[0]`, resolvePath),
    revoke: raw.revoke ? resolveArgv(raw.revoke, `${at}.revoke[0]`, resolvePath) : null,
    secret: hasSecret ? resolveSecret(raw, null, ctx) : null,
    env: raw.env ?? [],
    expires: raw.expires ?? true,
  };
  if (raw.expires === false && !raw.revoke) {
    problems.push(
      `${at}.expires: false means shiftgrant ends each grant with the revoke command: add revoke: [...] (e.g. ["/usr/local/bin/revoke", "{identity}", "{resource}"])`,
    );
  }
  checkTemplate(raw.grant, `${at}.grant`, problems, true);
  if (raw.revoke) checkTemplate(raw.revoke, `${at}.revoke`, problems, true);
  return config;
}

export const commandStarter: TargetStarter = {
  name: "script",
  yaml: [
    "    type: command",
    "    # argv lists, run without a shell; placeholders: {identity} {resource} {start} {end}",
    "    # {duration} {rule} {reason}. A path starting with ./ is relative to this file.",
    '    grant: ["/usr/local/bin/grant-access", "{identity}", "{resource}", "{start}", "{end}"]',
    '    revoke: ["/usr/local/bin/revoke-access", "{identity}", "{resource}"]',
    "    # tokenEnv: ACCESS_TOKEN             # passed on to the command in its environment",
  ],
  env: [],
  resources: ["    resources: [prod-db]                 # passed to the command as {resource}"],
};
