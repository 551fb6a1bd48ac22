import http from "node:http";
import { failOnUnexpected } from "./shell.js";

/**
 * An in-process receiver for the `http` target: records every request, keeps grants by key (a POST
 * with a known key is de-duplicated, as a receiver should), and can be told to fail the next
 * requests with a status, or to answer them with any status, content type and body. It also takes
 * notification webhooks: POST /events (HEAD /events answers 405, as a POST-only endpoint does).
 */
export type CannedReply = { status: number; contentType?: string; body: string };

export type ReceivedRequest = {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: unknown;
};

export async function startReceiver(opts: { token: string }) {
  const requests: ReceivedRequest[] = [];
  const unexpected: string[] = [];
  const allowed: (string | RegExp)[] = [];
  const grants = new Map<string, unknown>();
  const failures: (number | CannedReply)[] = [];
  const server = http.createServer((req, res) => {
    let raw = "";
    req.on("data", (d: Buffer) => (raw += d.toString()));
    req.on("end", () => {
      const body = raw ? (JSON.parse(raw) as unknown) : null;
      const path = new URL(req.url ?? "/", "http://x").pathname;
      requests.push({ method: req.method ?? "", path, headers: req.headers, body });
      const reply = (status: number, doc: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(doc));
      };
      if (req.headers.authorization !== `Bearer ${opts.token}`) return reply(401, { error: "unauthorized" });
      const fail = failures.shift();
      if (typeof fail === "number") return reply(fail, { error: `injected ${fail}` });
      if (fail) {
        res.writeHead(fail.status, fail.contentType ? { "content-type": fail.contentType } : {});
        return res.end(fail.body);
      }
      if (req.method === "POST" && path === "/grants") {
        const key = (body as { key?: string }).key ?? "";
        const existed = grants.has(key);
        grants.set(key, body);
        return reply(existed ? 200 : 201, { key, created: !existed });
      }
      if (req.method === "POST" && path === "/events") return reply(200, { received: true });
      if (req.method === "HEAD" && path === "/events") {
        res.writeHead(405, { allow: "POST" });
        return res.end();
      }
      const m = /^\/grants\/([^/]+)$/.exec(path);
      if (req.method === "DELETE" && m) {
        const key = decodeURIComponent(m[1] as string);
        if (!grants.delete(key)) return reply(404, { error: "no such grant" });
        res.writeHead(204);
        return res.end();
      }
      unexpected.push(`${req.method ?? ""} ${path}: no such route in the receiver`);
      return reply(404, { error: "not found" });
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    grants,
    failNext: (...statuses: number[]) => failures.push(...statuses),
    /** Answers the next requests with these replies instead of handling them. */
    answerNext: (...replies: CannedReply[]) => failures.push(...replies),
    unexpected,
    /** Allows unexpected lines that contain (or match) these: close() fails the test on any other. */
    allow: (...matches: (string | RegExp)[]) => allowed.push(...matches),
    /** Closes the server; throws if it saw a request it does not serve (strict by default). */
    close: async () => {
      await new Promise<void>((r) => server.close(() => r()));
      failOnUnexpected(unexpected, allowed);
    },
  };
}
