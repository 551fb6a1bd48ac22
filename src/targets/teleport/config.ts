import { z } from "zod";
import { envName, type NormalizeContext } from "../../core/fields.js";
import {
  normalizeTargetFields,
  resolveExecutable,
  targetFields,
  type TargetCommon,
  type TargetStarter,
} from "../define.js";

export const teleportSchema = z.strictObject({
  type: z.literal("teleport").meta({
    description: "Teleport: access-list membership with an expiry, through tctl.",
  }),
  command: z.string().min(1).optional().meta({ description: 'The tctl executable (default "tctl").' }),
  args: z.array(z.string()).optional().meta({
    description:
      'Arguments before the subcommand, e.g. ["--auth-server", "proxy.example.com:443", "-i", "/opt/machine-id/identity"].',
  }),
  env: z
    .array(envName)
    .optional()
    .meta({ description: "Names of extra environment variables passed to tctl." }),
  ...targetFields,
});

export type TeleportConfig = TargetCommon & {
  type: "teleport";
  command: string;
  args: string[];
  env: string[];
};

export function normalizeTeleport(
  raw: z.output<typeof teleportSchema>,
  ctx: NormalizeContext,
): TeleportConfig {
  return {
    ...normalizeTargetFields(raw, ctx),
    type: raw.type,
    command: resolveExecutable(raw.command ?? "tctl", `${ctx.at}.command`, ctx.resolvePath),
    args: raw.args ?? [],
    env: raw.env ?? [],
  };
}

export const teleportStarter: TargetStarter = {
  name: "teleport",
  yaml: [
    "    type: teleport",
    "    # The Machine ID identity allowed to edit the access lists' members:",
    '    args: ["--auth-server", "proxy.example.com:443", "-i", "/opt/machine-id/identity"]',
    "    # command: /usr/local/bin/tctl       # the tctl executable, if cron's PATH lacks it",
  ],
  env: [],
  resources: ["    resources: [prod-access]             # Teleport access list names"],
};
