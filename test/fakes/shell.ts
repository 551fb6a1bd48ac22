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
  const allowed: (string | RegExp)[] = [];
  let server: ReturnType<typeof createServer> | null = null;
  let closed = false;

  return {
    requests,
    /**
     * What the fake did not expect (an unknown route or method, a parameter it does not model, a
     * request the API would refuse); close() fails the test on any of it, unless allowed.
     */
    unexpected,
    /** For a test that provokes such requests on purpose: lines that contain (or match) these are allowed. */
    allow: (...matches: (string | RegExp)[]): void => {
      allowed.push(...matches);
    },
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
    /**
     * Closes the server and ends every connection, hung ones included; then throws if the fake saw
     * anything unexpected that the test did not allow (strict by default: a test need not check).
     */
    close: async (): Promise<void> => {
      if (closed || !server) return;
      closed = true;
      try {
        await closeServer(server);
      } finally {
        failOnUnexpected(unexpected, allowed);
      }
    },
  };

  async function closeServer(s: NonNullable<typeof server>): Promise<void> {
    for (const t of timers) clearTimeout(t);
    timers.clear();
    const done = new Promise<void>((resolve) => s.close(() => resolve()));
    s.closeAllConnections();
    for (const sock of sockets) sock.destroy();
    await done;
  }
}

/** Throws, listing them, when `unexpected` holds lines that no `allowed` entry covers. */
export function failOnUnexpected(unexpected: readonly string[], allowed: readonly (string | RegExp)[]): void {
  const left = unexpected.filter(
    (line) => !allowed.some((a) => (typeof a === "string" ? line.includes(a) : a.test(line))),
  );
  if (left.length > 0) {
    throw new Error(
      `the fake server got ${left.length} unexpected request(s):\n${left.map((l) => `  - ${l}`).join("\n")}\n` +
        "(fix the client or the test; a test that sends these on purpose says so with fake.allow(...))",
    );
  }
}
