import { z } from "zod";
import {
  checkUrl,
  resolveSecret,
  tokenFields,
  type NormalizeContext,
  type SecretRef,
} from "../../core/fields.js";
import { channelFields, normalizeChannelFields, type ChannelCommon } from "../define.js";

export const SLACK_TOKEN_ENV = "SLACK_BOT_TOKEN";
export const SLACK_API_URL = "https://slack.com/api/";

export const slackSchema = z.strictObject({
  type: z.literal("slack").meta({
    description: "Slack, with a bot token: posts to a channel and/or sends each person a direct message.",
  }),
  ...tokenFields(SLACK_TOKEN_ENV, "A bot token (xoxb-…) with chat:write, users:read.email and im:write."),
  channel: z.string().min(1).optional().meta({
    description:
      'Post every event here: a channel id (C0123ABCD) or name ("#oncall-access"); the bot must be in it.',
  }),
  dm: z.boolean().optional().meta({
    description:
      "Send the person a direct message when their access is granted, ends or fails (found by email; default false).",
  }),
  baseUrl: z
    .string()
    .optional()
    .meta({
      description: `Slack Web API base URL (default ${SLACK_API_URL}); https, or http for 127.0.0.1 and localhost.`,
    }),
  ...channelFields,
});

export type SlackConfig = ChannelCommon & {
  type: "slack";
  secret: SecretRef;
  channel: string | null;
  dm: boolean;
  baseUrl: string;
};

export function normalizeSlack(raw: z.output<typeof slackSchema>, ctx: NormalizeContext): SlackConfig {
  const baseUrl = raw.baseUrl ?? SLACK_API_URL;
  if (raw.baseUrl !== undefined) checkUrl(raw.baseUrl, `${ctx.at}.baseUrl`, ctx.problems);
  if (raw.channel === undefined && !raw.dm)
    ctx.problems.push(`${ctx.at}: set channel (where to post), dm: true (message each person), or both`);
  return {
    ...normalizeChannelFields(raw, ctx),
    type: raw.type,
    secret: resolveSecret(raw, SLACK_TOKEN_ENV, ctx),
    channel: raw.channel ?? null,
    dm: raw.dm ?? false,
    baseUrl: baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`,
  };
}
