/** The scripted faults: a request answered with a status, a hang, a reset, a cut or lying body. */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { RecordedRequest, Reply } from "../shell.js";
import { defaultErrorBody, type Fault } from "./common.js";

export type FaultDeps = {
  /** The fake's true answer to this request. */
  normal: () => Reply;
  rec: RecordedRequest;
  later: (fn: () => void) => void;
  send: (res: ServerResponse, reply: Reply) => void;
  /** Counts bytes of padding sent by "huge". */
  streamed: (bytes: number) => void;
};

const json = (status: number, payload: unknown): Reply => ({
  status,
  headers: { "content-type": "application/json; charset=utf-8" },
  body: JSON.stringify(payload),
});

export function answerFault(fault: Fault, req: IncomingMessage, res: ServerResponse, deps: FaultDeps): void {
  const { rec, later, send } = deps;
  switch (fault.kind) {
    case "hang":
      return; // the socket stays open until close()
    case "reset":
      return later(() => req.socket.destroy());
    case "status": {
      const headers: Record<string, string> = { ...(fault.headers ?? {}) };
      const body = fault.body ?? defaultErrorBody(fault.status);
      const hasType = Object.keys(headers).some((h) => h.toLowerCase() === "content-type");
      if (body !== "" && !hasType) headers["content-type"] = "application/json; charset=utf-8";
      return later(() => send(res, { status: fault.status, headers, body }));
    }
    case "truncated":
    case "premature-close": {
      const normal = deps.normal();
      const full = Buffer.from(
        normal.status === 200
          ? normal.body
          : JSON.stringify({ oncalls: [], limit: 25, offset: 0, more: false, total: null }),
        "utf8",
      );
      const half = full.subarray(0, Math.floor(full.length / 2));
      const headers = { ...normal.headers, "content-type": "application/json; charset=utf-8" };
      if (fault.kind === "truncated") {
        return later(() => {
          res.writeHead(200, { ...headers, "content-length": String(half.length) });
          res.end(half);
        });
      }
      return later(() => {
        res.writeHead(200, { ...headers, "content-length": String(full.length) });
        res.write(half, () => req.socket.destroy());
      });
    }
    case "non-json":
      return later(() =>
        send(res, {
          status: 200,
          headers: { "content-type": "text/html; charset=utf-8" },
          body: "<!DOCTYPE html><html><head><title>PagerDuty</title></head><body><h1>We'll be right back</h1></body></html>",
        }),
      );
    case "huge": {
      const chunk = Buffer.alloc(64 * 1024, "x");
      const open = '{"oncalls":[],"limit":100,"offset":0,"more":false,"total":0,"pad":"';
      let left = fault.bytes - open.length - 2;
      res.on("error", () => undefined);
      res.writeHead(200, {
        "content-type": "application/json; charset=utf-8",
        ...(fault.announce ? { "content-length": String(fault.bytes) } : {}),
      });
      res.write(open);
      const pump = (): void => {
        while (!res.destroyed && left > 0) {
          const part = left >= chunk.length ? chunk : chunk.subarray(0, left);
          left -= part.length;
          deps.streamed(part.length);
          if (!res.write(part)) return void res.once("drain", pump);
        }
        if (!res.destroyed) res.end('"}');
      };
      return pump();
    }
    case "lie-more": {
      const key = /^\/(oncalls|users|schedules|incidents)$/.exec(rec.path)?.[1] ?? "oncalls";
      const limit = Number(rec.query.get("limit") ?? "25");
      const offset = Number(rec.query.get("offset") ?? "0");
      return later(() =>
        send(
          res,
          json(200, {
            [key]: [],
            limit: Number.isFinite(limit) ? limit : 25,
            offset: Number.isFinite(offset) ? offset : 0,
            more: true,
            total: null,
          }),
        ),
      );
    }
  }
}
