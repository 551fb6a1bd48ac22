import { z } from "zod";
import {
  checkUrl,
  resolveSecret,
  tokenFields,
  type NormalizeContext,
  type SecretRef,
} from "../../core/fields.js";
import { channelFields, normalizeChannelFields, type ChannelCommon } from "../define.js";

export const webhookSchema = z.strictObject({
  type: z.literal("webhook").meta({
    description: 'POSTs each event as a JSON document {"version":1,"event":{…}} to a URL.',
  }),
  url: z.string().meta({ description: "Where to POST. https (http only for 127.0.0.1 and localhost)." }),
  ...tokenFields(null, "Sent as Authorization: Bearer; without a token, no Authorization header."),
  ...channelFields,
});

export type WebhookConfig = ChannelCommon & { type: "webhook"; url: string; secret: SecretRef | null };

export function normalizeWebhook(raw: z.output<typeof webhookSchema>, ctx: NormalizeContext): WebhookConfig {
  checkUrl(raw.url, `${ctx.at}.url`, ctx.problems);
  const hasSecret = raw.tokenEnv !== undefined || raw.tokenFile !== undefined;
  return {
    ...normalizeChannelFields(raw, ctx),
    type: raw.type,
    url: raw.url,
    secret: hasSecret ? resolveSecret(raw, null, ctx) : null,
  };
}
