import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/**
 * What every fake API server shares: requests recorded in order, a queue of faults matched by path,
 * added latency, sockets tracked so that close() also ends hung requests, and a listener on
 * 127.0.0.1:0. Each fake keeps its own routes, state and fault kinds.
 */
export type RecordedRequest = {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  at: number;
};

export type Reply = { status: number; headers: Record<string, string>; body: string };

export function createFakeShell<F>(opts: { latencyMs?: number | undefined }) {
  const faultQueue: { match: string | RegExp; fault: F }[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const requests: RecordedRequest[] = [];
  const unexpected: string[] = [];
  let server: ReturnType<typeof createServer> | null = null;
  let closed = false;

  return {
    requests,
    unexpected,
    /** Queues faults for requests whose path matches; each is used once, in order. */
    fault: (path: string | RegExp, ...faults: F[]): void => {
      for (const f of faults) faultQueue.push({ match: path, fault: f });
    },
    takeFault: (path: string): F | undefined => {
      const i = faultQueue.findIndex((f) =>
        typeof f.match === "string" ? f.match === path : f.match.test(path),
      );
      if (i < 0) return undefined;
      return faultQueue.splice(i, 1)[0]?.fault;
    },
    /** Runs `fn` after the fake's latency. */
    later: (fn: () => void): void => {
      const ms = opts.latencyMs ?? 0;
      if (ms <= 0) return fn();
      const t = setTimeout(() => {
        timers.delete(t);
        fn();
      }, ms);
      timers.add(t);
    },
    send: (res: ServerResponse, reply: Reply): void => {
      const body = Buffer.from(reply.body, "utf8");
      res.writeHead(reply.status, { ...reply.headers, "content-length": String(body.length) });
      res.end(body);
    },
    /** Records a request (the fakes read no bodies). */
    record: (req: IncomingMessage): RecordedRequest => {
      req.resume();
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      const rec: RecordedRequest = {
        method: req.method ?? "",
        path: url.pathname,
        query: url.searchParams,
        headers: { ...req.headers },
        at: Date.now(),
      };
      requests.push(rec);
      return rec;
    },
    countByPath: (): Record<string, number> => {
      const out: Record<string, number> = {};
      for (const r of requests) out[r.path] = (out[r.path] ?? 0) + 1;
      return out;
    },
    /** Starts listening on 127.0.0.1:0; resolves with the base URL. */
    listen: async (onRequest: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> => {
      const s = createServer(onRequest);
      server = s;
      s.on("connection", (socket) => {
        sockets.add(socket);
        socket.on("close", () => sockets.delete(socket));
      });
      await new Promise<void>((resolve, reject) => {
        s.once("error", reject);
        s.listen(0, "127.0.0.1", () => {
          s.off("error", reject);
          resolve();
        });
      });
      return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
    },
    /** Closes the server and ends every connection, hung ones included. */
    close: async (): Promise<void> => {
      if (closed || !server) return;
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      const s = server;
      const done = new Promise<void>((resolve) => s.close(() => resolve()));
      s.closeAllConnections();
      for (const sock of sockets) sock.destroy();
      await done;
    },
  };
}
