/**
 * Defaults that the help text shows as well as the config loader uses. This module imports nothing,
 * so that `--help` stays fast.
 */

/** The environment variable each source or target type reads its token from, unless tokenEnv says. */
export const DEFAULT_TOKEN_ENV: Record<string, string> = {
  pagerduty: "PAGERDUTY_TOKEN",
  opsgenie: "OPSGENIE_API_KEY",
  incidentio: "INCIDENTIO_API_KEY",
  strongdm: "SDM_ADMIN_TOKEN",
};

export const SOURCE_TYPES = ["pagerduty", "opsgenie", "incidentio", "file"] as const;
export const TARGET_TYPES = ["strongdm", "teleport", "command", "http"] as const;
export type SourceType = (typeof SOURCE_TYPES)[number];
export type TargetType = (typeof TARGET_TYPES)[number];

/**
 * Target types that can list a resource's members, and so take `exclusive` resources. None of the
 * current ones can: a command or an HTTP receiver has no way to say who is a member.
 */
export const TARGETS_LISTING_MEMBERS: readonly string[] = [];
