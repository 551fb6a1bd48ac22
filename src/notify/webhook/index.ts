import { HttpError } from "../../infra/http.js";
import { defineChannel, routes } from "../define.js";
import type { NotifyEvent } from "../event.js";
import { describeEvent } from "../message.js";
import type { Channel, ChannelDeps, Delivery } from "../types.js";
import { normalizeWebhook, webhookSchema, type WebhookConfig } from "./config.js";

export const webhookChannel = defineChannel({
  schema: webhookSchema,
  tokenEnv: null,
  normalize: normalizeWebhook,
  create: createWebhookChannel,
});

/** The document POSTed for each event (docs/notifications.md): versioned, the event and its words. */
export function webhookDocument(e: NotifyEvent): { version: 1; event: NotifyEvent & { text: string } } {
  const m = describeEvent(e);
  return { version: 1, event: { ...e, text: [m.title, ...m.lines].join("\n") } };
}

function createWebhookChannel(config: WebhookConfig, deps: ChannelDeps): Channel {
  const url = new URL(config.url);
  const headers = (): Record<string, string> => ({
    ...(deps.token ? { authorization: `Bearer ${deps.token}` } : {}),
  });
  return {
    outlets: [
      {
        key: config.name,
        channel: config.name,
        required: config.required,
        wants: (e) => routes(config, e),
        async send(e): Promise<Delivery> {
          try {
            await deps.http.request("POST", url, {
              headers: { ...headers(), "content-type": "application/json" },
              body: webhookDocument(e),
              anyBody: true,
              timeoutMs: config.timeoutMs,
            });
            return { status: "sent" };
          } catch (err) {
            return { status: "failed", error: describe(err) };
          }
        },
        preview: (e) =>
          `webhook ${config.name} → POST ${url.origin}${url.pathname}: ${JSON.stringify(webhookDocument(e))}`,
      },
    ],
    // NOTE: a HEAD request posts nothing. Receivers that take only POST answer it 405, which still
    // shows the URL answers; 401 and 403 show the token is refused, 404 a wrong URL.
    async check() {
      try {
        await deps.http.request("HEAD", url, {
          headers: headers(),
          anyBody: true,
          timeoutMs: config.timeoutMs,
        });
        return { ok: true, detail: `${url.origin} answers` };
      } catch (err) {
        if (
          err instanceof HttpError &&
          err.status !== null &&
          ![401, 403, 404].includes(err.status) &&
          err.status < 500
        )
          return { ok: true, detail: `${url.origin} answers (HEAD: ${err.status})` };
        return { ok: false, error: describe(err) };
      }
    },
  };
}

function describe(err: unknown): string {
  if (err instanceof HttpError && (err.status === 401 || err.status === 403))
    return `the webhook refused the token (${err.status}): check tokenEnv/tokenFile`;
  return err instanceof Error ? err.message : String(err);
}
