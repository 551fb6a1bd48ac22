import { createHash } from "node:crypto";
import { formatUtc } from "../../core/time.js";
import { HttpError } from "../../infra/http.js";
import { defineTarget } from "../define.js";
import {
  cannotShorten,
  type ActionResult,
  type Target,
  type TargetCall,
  type TargetCapabilities,
  type TargetDeps,
} from "../types.js";
import { httpSchema, httpStarter, normalizeHttp, type HttpConfig } from "./config.js";

export const httpTarget = defineTarget({
  schema: httpSchema,
  tokenEnv: null,
  listsMembers: false,
  capabilities: httpCapabilities,
  normalize: normalizeHttp,
  create: createHttpTarget,
  starter: httpStarter,
});

/**
 * With `expires: false` the receiver does not end a grant by itself: shiftgrant sends the DELETE at
 * the end, grants nothing before its start, and treats the access as one membership per resource
 * and identity (an extension posts nothing).
 */
export function httpCapabilities(config: HttpConfig): TargetCapabilities {
  return {
    futureStart: config.expires,
    revoke: config.revoke,
    extendInPlace: false,
    shortenInPlace: false,
    expires: config.expires,
    memberships: !config.expires,
    listsMembers: false,
    identity: "email",
  };
}

/**
 * Any HTTP endpoint: `POST url` with the grant as JSON, `DELETE url/{key}` to revoke (when the
 * target says `revoke: true`). `key` is a stable id of the grant (the same rule, resource, identity
 * and interval give the same key), so the receiver can de-duplicate a retried POST. Any 2xx is
 * success, whatever the body says or is; 408, 429 and 5xx are retried like the sources' requests;
 * any other status fails the action, except a DELETE answered 404 or 410: that grant is gone already.
 */
export function grantKey(call: Pick<TargetCall, "rule" | "resource" | "identity" | "start" | "end">): string {
  const material = JSON.stringify([
    call.rule,
    call.resource,
    call.identity,
    formatUtc(call.start),
    formatUtc(call.end),
  ]);
  return createHash("sha256").update(material).digest("hex").slice(0, 32);
}

export function createHttpTarget(config: HttpConfig, deps: TargetDeps): Target {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (deps.token) headers.Authorization = `Bearer ${deps.token}`;
  for (const [header, envName] of Object.entries(config.headersFromEnv)) {
    const v = deps.env[envName];
    if (v !== undefined) headers[header] = v;
  }
  const send = async (method: string, url: URL, body?: unknown): Promise<ActionResult> => {
    try {
      await deps.http.request(
        method,
        url,
        body === undefined ? { headers, anyBody: true } : { headers, body, anyBody: true },
      );
      return { status: "applied" };
    } catch (err) {
      // Revoking what the receiver no longer has is done: retrying it every run would change nothing.
      if (method === "DELETE" && err instanceof HttpError && (err.status === 404 || err.status === 410))
        return { status: "applied", output: `${err.status}: already gone` };
      return { status: "failed", error: err instanceof HttpError ? err.message : String(err) };
    }
  };
  const post = async (call: TargetCall): Promise<ActionResult> => {
    const key = grantKey(call);
    const res = await send("POST", new URL(config.url), {
      identity: call.identity,
      resource: call.resource,
      start: formatUtc(call.start),
      end: formatUtc(call.end),
      rule: call.rule,
      reason: call.reason,
      key,
    });
    // The key is what the DELETE needs. With expires: false an extension posts nothing, so the
    // grant it continues keeps the key of this POST in the ledger.
    return res.status === "applied" && !config.expires ? { ...res, ref: { key } } : res;
  };
  return {
    capabilities: httpCapabilities(config),
    grant: post,
    extend: post,
    shorten: cannotShorten,
    revoke: async (call) => {
      if (!config.revoke) return { status: "failed", error: `target ${config.name} does not revoke` };
      // One DELETE per key the grants it ends were POSTed under (a ledger written before keys were
      // kept names none: its grants' keys are made again from them).
      const keys = [
        ...new Set((call.grants ?? [call]).map((g) => ("ref" in g && g.ref?.key) || grantKey(g))),
      ];
      for (const key of keys) {
        const res = await send(
          "DELETE",
          new URL(`${config.url.replace(/\/+$/, "")}/${encodeURIComponent(key)}`),
        );
        if (res.status === "failed") return res;
      }
      return { status: "applied" };
    },
    // Any HTTP answer but 401/403 shows the endpoint is there and takes the token.
    async check() {
      try {
        await deps.http.request("HEAD", new URL(config.url), { headers });
        return { ok: true, detail: `${config.url} answers` };
      } catch (err) {
        const status = err instanceof HttpError ? err.status : null;
        if (status !== null && status !== 401 && status !== 403 && status < 500) {
          return { ok: true, detail: `${config.url} answers (${status} to HEAD)` };
        }
        return { ok: false, detail: err instanceof Error ? err.message : String(err) };
      }
    },
  };
}
