import { z } from "zod";
import { envName, type NormalizeContext } from "../../core/fields.js";
import {
  normalizeTargetFields,
  resolveExecutable,
  targetFields,
  type TargetCommon,
  type TargetStarter,
} from "../define.js";

export const TELEPORT_MODES = ["access-lists", "access-requests"] as const;
export type TeleportMode = (typeof TELEPORT_MODES)[number];

export const teleportSchema = z.strictObject({
  type: z.literal("teleport").meta({
    description:
      "Teleport, through tctl: access-list membership with an expiry, or the approval of the access requests on-call people file.",
  }),
  mode: z.enum(TELEPORT_MODES).optional().meta({
    description:
      'What a grant is: "access-lists" (default), a membership of the access list named as the resource, with an expiry; "access-requests", the approval of a pending access request of someone on call for roles among the rule\'s resources, locked when the shift ends.',
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
  mode: TeleportMode;
  command: string;
  args: string[];
  env: string[];
};

export function normalizeTeleport(
  raw: z.output<typeof teleportSchema>,
  ctx: NormalizeContext,
): TeleportConfig {
  const mode = raw.mode ?? "access-lists";
  // An access request is the requester's own: shiftgrant approves and locks those it approved, and
  // has no membership to own.
  if (mode === "access-requests" && raw.exclusive !== undefined) {
    ctx.problems.push(
      `${ctx.at}.exclusive: a teleport target with mode: access-requests approves the requests people file; there is no membership for shiftgrant to own. Remove exclusive, or use mode: access-lists`,
    );
  }
  return {
    ...normalizeTargetFields(raw, ctx),
    type: raw.type,
    mode,
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
