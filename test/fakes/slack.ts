import http from "node:http";
import { failOnUnexpected } from "./shell.js";

/**
 * A strict, stateful fake of the Slack Web API methods shiftgrant calls, as the official
 * `@slack/web-api` client sends them (POST /api/METHOD, form-encoded with `blocks` as a JSON string,
 * `Authorization: Bearer`). Answers as Slack does: HTTP 200 with `{"ok":false,"error":…}` for
 * errors (`invalid_auth`, `not_authed`, `users_not_found`, `channel_not_found`), HTTP 429 with
 * `Retry-After` and `{"ok":false,"error":"ratelimited"}` when rate limited. Any other method, or a
 * request it cannot read, is unexpected: close() fails the test unless it was allow()ed.
 */
export type SlackCall = { method: string; args: Record<string, unknown> };

/** A fault for the next call of a method: a 429 with Retry-After, or an error in a 200 answer. */
export type SlackFault = { status: 429; retryAfter: number } | { error: string };

export async function startSlack(opts: { token: string; users: Record<string, string>; channels: string[] }) {
  const calls: SlackCall[] = [];
  const unexpected: string[] = [];
  const allowed: (string | RegExp)[] = [];
  const faults = new Map<string, SlackFault[]>();
  const users = new Map(Object.entries(opts.users));
  const channels = new Set(opts.channels);
  const ims = new Set<string>();
  let seen = 0;
  let onPost: ((n: number) => void) | null = null;
  let ts = 1_700_000_000;

  const server = http.createServer((req, res) => {
    let raw = "";
    req.on("data", (d: Buffer) => (raw += d.toString()));
    req.on("end", () => {
      const reply = (doc: Record<string, unknown>, status = 200, headers: Record<string, string> = {}) => {
        res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers });
        res.end(JSON.stringify(doc));
      };
      const m = /^\/api\/([a-zA-Z.]+)$/.exec(req.url ?? "");
      if (req.method !== "POST" || !m) {
        unexpected.push(`${req.method ?? ""} ${req.url ?? ""}: not a Web API call`);
        return reply({ ok: false, error: "unknown_method" }, 404);
      }
      const method = m[1] as string;
      const args = parseBody(req.headers["content-type"] ?? "", raw);
      if (!args) {
        unexpected.push(`${method}: body not form-encoded or JSON`);
        return reply({ ok: false, error: "invalid_form_data" });
      }
      calls.push({ method, args });
      const auth = req.headers.authorization;
      if (!auth) return reply({ ok: false, error: "not_authed" });
      if (auth !== `Bearer ${opts.token}`) return reply({ ok: false, error: "invalid_auth" });
      const fault = faults.get(method)?.shift();
      if (fault && "status" in fault)
        return reply({ ok: false, error: "ratelimited" }, 429, { "retry-after": String(fault.retryAfter) });
      if (fault) return reply({ ok: false, error: fault.error });
      switch (method) {
        case "auth.test":
          return reply({
            ok: true,
            url: "https://example.slack.com/",
            team: "Example",
            user: "shiftgrant",
            team_id: "T0001",
            user_id: "U0BOT",
            bot_id: "B0001",
            is_enterprise_install: false,
          });
        case "users.lookupByEmail": {
          const id = users.get(str(args.email));
          if (!id) return reply({ ok: false, error: "users_not_found" });
          return reply({ ok: true, user: { id, team_id: "T0001", name: id.toLowerCase(), deleted: false } });
        }
        case "conversations.open": {
          const user = str(args.users);
          if (![...users.values()].includes(user)) return reply({ ok: false, error: "user_not_found" });
          const id = `D${user}`;
          const again = ims.has(id);
          ims.add(id);
          return reply({ ok: true, ...(again ? { no_op: true, already_open: true } : {}), channel: { id } });
        }
        case "chat.postMessage": {
          const channel = str(args.channel);
          if (!channels.has(channel) && !ims.has(channel))
            return reply({ ok: false, error: "channel_not_found" });
          if (typeof args.text !== "string" || !Array.isArray(args.blocks)) {
            unexpected.push("chat.postMessage without text and blocks");
            return reply({ ok: false, error: "invalid_blocks" });
          }
          ts++;
          reply({
            ok: true,
            channel: channel.startsWith("#") ? "C0ACCESS" : channel,
            ts: `${ts}.000100`,
            message: { type: "message", text: args.text, ts: `${ts}.000100` },
          });
          onPost?.(++seen);
          return;
        }
        default:
          unexpected.push(`${method}: not served by the fake`);
          return reply({ ok: false, error: "unknown_method" });
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  let read = 0;
  return {
    url: `http://127.0.0.1:${port}/api/`,
    calls,
    /** The calls since the last time, one line each: `method channel-or-email: text`. */
    take(): string[] {
      const out = calls.slice(read).map(formatCall);
      read = calls.length;
      return out;
    },
    fail(method: string, ...f: SlackFault[]) {
      faults.set(method, [...(faults.get(method) ?? []), ...f]);
    },
    /** Called after each message posted (the count so far), e.g. to stop the run after the first. */
    onPost(f: ((n: number) => void) | null) {
      seen = 0;
      onPost = f;
    },
    allow: (...matches: (string | RegExp)[]) => allowed.push(...matches),
    close: async () => {
      await new Promise<void>((r) => server.close(() => r()));
      failOnUnexpected(unexpected, allowed);
    },
  };
}

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

function parseBody(type: string, raw: string): Record<string, unknown> | null {
  try {
    if (type.startsWith("application/json")) return JSON.parse(raw) as Record<string, unknown>;
    if (!type.startsWith("application/x-www-form-urlencoded")) return null;
    const out: Record<string, unknown> = {};
    for (const [k, v] of new URLSearchParams(raw)) out[k] = k === "blocks" ? (JSON.parse(v) as unknown) : v;
    return out;
  } catch {
    return null;
  }
}

function formatCall(c: SlackCall): string {
  const a = c.args;
  if (c.method === "chat.postMessage")
    return `chat.postMessage ${str(a.channel)}: ${str(a.text).replace(/\n/g, " | ")}`;
  if (c.method === "users.lookupByEmail") return `users.lookupByEmail ${str(a.email)}`;
  if (c.method === "conversations.open") return `conversations.open ${str(a.users)}`;
  return c.method;
}
