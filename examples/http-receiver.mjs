#!/usr/bin/env node
// A minimal receiver for shiftgrant's `http` target, to show the contract (not for production).
//   POST   /grants        {identity, resource, start, end, rule, reason, key}  -> 201 (200 if the key is known)
//   DELETE /grants/{key}                                                        -> 204 (404 if unknown)
// Authorization: Bearer $RECEIVER_TOKEN. A retried POST carries the same key: store by key.
//   RECEIVER_TOKEN=secret node examples/http-receiver.mjs 8088
import http from "node:http";

const token = process.env.RECEIVER_TOKEN;
if (!token) {
  console.error("set RECEIVER_TOKEN");
  process.exit(2);
}
const grants = new Map();

http
  .createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      const reply = (status, doc) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(doc === undefined ? "" : JSON.stringify(doc));
      };
      if (req.headers.authorization !== `Bearer ${token}`) return reply(401, { error: "unauthorized" });
      const path = new URL(req.url ?? "/", "http://localhost").pathname;
      if (req.method === "POST" && path === "/grants") {
        let g;
        try {
          g = JSON.parse(body);
        } catch {
          return reply(400, { error: "body is not JSON" });
        }
        const known = grants.has(g.key);
        grants.set(g.key, g);
        // Here a real receiver would give g.identity access to g.resource from g.start until g.end.
        console.log(
          `${known ? "again" : "grant"} ${g.identity} ${g.resource} ${g.start} -> ${g.end} (${g.reason})`,
        );
        return reply(known ? 200 : 201, { key: g.key });
      }
      const m = /^\/grants\/([0-9a-f]+)$/.exec(path);
      if (req.method === "DELETE" && m) {
        const g = grants.get(m[1]);
        if (!g) return reply(404, { error: "no such grant" });
        grants.delete(m[1]);
        console.log(`revoke ${g.identity} ${g.resource}`);
        return reply(204);
      }
      return reply(404, { error: "not found" });
    });
  })
  .listen(Number(process.argv[2] ?? 8088), "127.0.0.1", () => console.log("listening"));
