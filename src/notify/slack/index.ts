import type { Logger as SlackLogger, LogLevel as SlackLogLevel, WebClient } from "@slack/web-api";
import { isPlainEmail } from "../../core/identity.js";
import type { Logger } from "../../infra/log.js";
import { defineChannel, routes } from "../define.js";
import type { NotifyEvent } from "../event.js";
import { describeEvent } from "../message.js";
import type { Channel, ChannelDeps, Delivery, Outlet } from "../types.js";
import { normalizeSlack, slackSchema, SLACK_TOKEN_ENV, type SlackConfig } from "./config.js";
import { onceEach } from "../../core/once.js";

export const slackChannel = defineChannel({
  schema: slackSchema,
  tokenEnv: SLACK_TOKEN_ENV,
  normalize: normalizeSlack,
  create: createSlackChannel,
});

/** Control characters and the bidirectional overrides: they become spaces in any message. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * Text from a source made inert in Slack's mrkdwn. NOTE: Slack reads `<…>` as links and mentions
 * (`<!channel>`, `<@U123>`), and `&` starts an entity; escaping these three is what Slack asks of
 * untrusted text. Control characters become spaces, so that a value cannot start a line of its own.
 */
export function escapeMrkdwn(text: string): string {
  return text.replace(CONTROL, " ").replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** The message for an event: Block Kit, with the same words as the plain-text fallback. */
export function slackMessage(e: NotifyEvent): { text: string; blocks: unknown[] } {
  const m = describeEvent(e);
  const lines = m.lines.map(escapeMrkdwn);
  const title = escapeMrkdwn(m.title);
  return {
    text: [title, ...lines].join("\n"),
    blocks: [
      { type: "section", text: { type: "mrkdwn", text: fit([`*${title}*`, ...lines].join("\n")) } },
      { type: "context", elements: [{ type: "mrkdwn", text: `shiftgrant · event ${e.id}` }] },
    ],
  };
}

/** NOTE: Slack refuses a section whose text is longer than 3000 characters (invalid_blocks). */
const MAX_SECTION = 3000;

function fit(text: string): string {
  if (text.length <= MAX_SECTION) return text;
  // Not in the middle of an entity such as `&amp;`, which would show half of it.
  const cut = text.slice(0, MAX_SECTION - 1).replace(/&[a-z]{0,3}$/, "");
  return `${cut}…`;
}

/** Events about one person's access, sent to them directly (a source failure or a summary is not). */
function personOf(e: NotifyEvent): string | null {
  if (e.type === "summary" || e.kind === "source" || e.kind === "overdue") return null;
  return e.identity && isPlainEmail(e.identity) ? e.identity : null;
}

function createSlackChannel(config: SlackConfig, deps: ChannelDeps): Channel {
  const api = slackApi(config, deps);
  /** Slack user ids by email, and DM channel ids by user id: asked once per run and person. */
  const userOf = onceEach((email: string) =>
    api
      .call("users.lookupByEmail", { email })
      .then((r) => stringAt(r, "user", "id"))
      .catch((err: unknown) => {
        if (platformError(err) !== "users_not_found") throw err;
        deps.log.info("no Slack user has this email; the direct message is skipped", {
          channel: config.name,
          email,
        });
        return null;
      }),
  );
  const imOf = onceEach((user: string) =>
    api.call("conversations.open", { users: user }).then((r) => stringAt(r, "channel", "id")),
  );
  const outlets: Outlet[] = [];
  const post = config.channel;
  if (post !== null)
    outlets.push({
      key: config.name,
      channel: config.name,
      required: config.required,
      wants: (e) => routes(config, e),
      send: (e) => deliver(() => api.call("chat.postMessage", { channel: post, ...slackMessage(e) })),
      preview: (e) => `slack ${config.name} → ${post}: ${slackMessage(e).text.replace(/\n/g, " — ")}`,
    });
  if (config.dm)
    outlets.push({
      key: `${config.name}.dm`,
      channel: config.name,
      required: config.required,
      wants: (e) => routes(config, e) && personOf(e) !== null,
      send: async (e) => {
        const email = personOf(e) ?? "";
        let user: string | null;
        try {
          user = await userOf(email);
        } catch (err) {
          return failed(err);
        }
        if (user === null) return { status: "skipped", reason: `no Slack user has the email ${email}` };
        const to = user;
        return deliver(async () =>
          api.call("chat.postMessage", { channel: await imOf(to), ...slackMessage(e) }),
        );
      },
      preview: (e) =>
        `slack ${config.name} → direct message to ${personOf(e) ?? "?"}: ${slackMessage(e).text.replace(/\n/g, " — ")}`,
    });
  return {
    outlets,
    async check() {
      try {
        const r = await api.call("auth.test", {});
        const team = typeof r.team === "string" ? r.team : "?";
        const user = typeof r.user === "string" ? r.user : "?";
        return { ok: true, detail: `Slack accepts the token: workspace ${team}, bot user ${user}` };
      } catch (err) {
        return { ok: false, error: describeSlackError(err) };
      }
    },
  };
}

async function deliver(send: () => Promise<unknown>): Promise<Delivery> {
  try {
    await send();
    return { status: "sent" };
  } catch (err) {
    return failed(err);
  }
}

function failed(err: unknown): Delivery {
  return { status: "failed", error: describeSlackError(err) };
}

type SlackResult = Record<string, unknown>;

/**
 * The official client, loaded on the first call (other commands do not pay for it), with its
 * transport retries bounded by our HTTP settings. NOTE: the client waits out a 429 on its own timer,
 * which nothing outside it can shorten or cancel; with `rejectRateLimitedCalls` it hands the 429 back
 * instead, and the wait (Retry-After, at most `maxRetryWait`) goes through our sleep like every other.
 * A `ratelimited` error in a 200 answer is treated alike.
 */
function slackApi(config: SlackConfig, deps: ChannelDeps) {
  let client: Promise<WebClient> | null = null;
  const s = deps.httpSettings;
  const load = async (): Promise<WebClient> => {
    const { WebClient: Client } = await import("@slack/web-api");
    return new Client(deps.token ?? "", {
      slackApiUrl: config.baseUrl,
      timeout: config.timeoutMs,
      rejectRateLimitedCalls: true,
      retryConfig: { retries: s.retries, factor: 2, minTimeout: s.backoffMs, maxTimeout: s.maxRetryWaitMs },
      logger: slackLogger(deps.log),
    });
  };
  return {
    async call(method: string, args: Record<string, unknown>): Promise<SlackResult> {
      client ??= load();
      const c = await client;
      for (let attempt = 0; ; attempt++) {
        try {
          return { ...(await c.apiCall(method, args)) };
        } catch (err) {
          const waitS = rateLimitedFor(err);
          if (waitS === null || attempt >= s.retries || waitS * 1000 > s.maxRetryWaitMs) throw err;
          deps.log.debug("Slack asked to slow down; waiting", { method, seconds: waitS });
          await deps.sleep(waitS * 1000);
        }
      }
    },
  };
}

/** Seconds to wait before trying again, if Slack said the call was rate limited. */
function rateLimitedFor(err: unknown): number | null {
  const e = err as {
    code?: unknown;
    retryAfter?: unknown;
    data?: { error?: unknown; response_metadata?: unknown };
  };
  if (e.code === "slack_webapi_rate_limited_error" && typeof e.retryAfter === "number") return e.retryAfter;
  if (platformError(err) === "ratelimited") {
    const meta = e.data?.response_metadata as { retryAfter?: unknown } | undefined;
    return typeof meta?.retryAfter === "number" ? meta.retryAfter : 1;
  }
  return null;
}

function platformError(err: unknown): string | null {
  const e = err as { code?: unknown; data?: { error?: unknown } };
  return e.code === "slack_webapi_platform_error" && typeof e.data?.error === "string" ? e.data.error : null;
}

const HINTS: Record<string, string> = {
  invalid_auth: "Slack refused the token (invalid_auth): check the bot token in tokenEnv/tokenFile",
  not_authed: "no token reached Slack (not_authed): check tokenEnv/tokenFile",
  token_revoked: "the bot token was revoked (token_revoked): install the app again and update the token",
  account_inactive: "the bot's account is inactive (account_inactive): reinstall the app",
  missing_scope:
    "the bot token lacks a scope (missing_scope): give it chat:write, users:read.email and im:write",
  channel_not_found:
    "Slack has no such channel for this bot (channel_not_found): check channel, and invite the bot",
  not_in_channel: "the bot is not in the channel (not_in_channel): invite it (/invite @app)",
  ratelimited: "Slack kept rate-limiting the call (ratelimited)",
};

/** What went wrong, in words that say what to do; never with the token. */
export function describeSlackError(err: unknown): string {
  const code = platformError(err);
  if (code) return HINTS[code] ?? `Slack answered ${code}`;
  const e = err as { code?: unknown; retryAfter?: unknown; statusCode?: unknown; message?: unknown };
  if (e.code === "slack_webapi_rate_limited_error")
    return `Slack kept rate-limiting the call (429, Retry-After ${String(e.retryAfter)}s)`;
  if (e.code === "slack_webapi_http_error") return `Slack answered HTTP ${String(e.statusCode)}`;
  return `could not reach Slack: ${typeof e.message === "string" ? e.message : String(err)}`;
}

function stringAt(r: SlackResult, key: string, field: string): string {
  const v = (r[key] as Record<string, unknown> | undefined)?.[field];
  if (typeof v !== "string" || v === "") throw new Error(`Slack's answer has no ${key}.${field}`);
  return v;
}

/** The client's own log lines go to ours, at debug: the outcome of each message is logged by the run. */
function slackLogger(log: Logger): SlackLogger {
  let level = "debug" as SlackLogLevel;
  const line = (...msg: unknown[]) => log.debug(`slack: ${msg.map(String).join(" ")}`);
  return {
    debug: line,
    info: line,
    warn: line,
    error: line,
    setLevel: (l: SlackLogLevel) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => undefined,
  };
}
