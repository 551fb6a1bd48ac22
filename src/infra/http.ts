import http from "node:http";
import https from "node:https";
import type { Socket } from "node:net";
import fetch, { type RequestInit } from "node-fetch";
import type { Logger } from "./log.js";

export type HttpSettings = {
  /** Time allowed for one attempt, from connect to the last byte of the body. */
  timeoutMs: number;
  /** Retries after the first attempt, for 408, 429, 5xx and network errors. */
  retries: number;
  /** Base of the exponential backoff (full jitter) when the server gives no hint. */
  backoffMs: number;
  /** No single wait is longer than this; a server asking for more makes the request fail. */
  maxRetryWaitMs: number;
  /** Time allowed to open the connection, within the attempt's timeout. */
  connectTimeoutMs?: number;
  /** All attempts and waits of one request together stop retrying past this. */
  maxRetryTimeMs?: number;
  /** Largest response body read; a longer one fails the request (default 50 MB). */
  maxResponseBytes?: number;
};

export const DEFAULT_MAX_RESPONSE_BYTES = 50 * 1024 * 1024;

export const DEFAULT_HTTP: HttpSettings = {
  timeoutMs: 30_000,
  retries: 4,
  backoffMs: 1_000,
  maxRetryWaitMs: 60_000,
  maxResponseBytes: DEFAULT_MAX_RESPONSE_BYTES,
};

export type HttpDeps = {
  log: Logger;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
};

export type HttpResponse = { status: number; headers: Map<string, string>; body: unknown };

/** A request that failed for good: after its retries, or with a status that is not worth retrying. */
export class HttpError extends Error {
  readonly status: number | null;
  readonly tries: number;
  readonly body: unknown;
  /** The failed answer's headers (empty when there was no answer). */
  readonly headers: Map<string, string>;
  constructor(
    message: string,
    status: number | null,
    tries: number,
    body: unknown = null,
    headers: Map<string, string> = new Map(),
  ) {
    super(message);
    this.name = "HttpError";
    this.status = status;
    this.tries = tries;
    this.body = body;
    this.headers = headers;
  }
}

export type RequestOptions = {
  headers: Record<string, string>;
  body?: unknown;
  /**
   * A 2xx answer is success whatever its body (a target's receiver may answer `200 OK` in plain
   * text, or nothing). By default a 2xx body must be JSON, since a source reads it.
   */
  anyBody?: boolean;
  /** Time allowed for one attempt of this request, instead of the client's (a target's `timeout`). */
  timeoutMs?: number;
  /** Sent as `application/x-www-form-urlencoded` (an OAuth token request) instead of a JSON `body`. */
  form?: Record<string, string>;
  /**
   * Made anew before each attempt, over `headers` and `form`: what may be used once only (a DPoP
   * proof, a signed client assertion), so that a retry never replays it.
   */
  fresh?: () => { headers?: Record<string, string>; form?: Record<string, string> };
};

export type HttpClient = {
  /** Sends a request; resolves with the parsed JSON body of a 2xx answer, throws HttpError otherwise. */
  request(method: string, url: URL, opts: RequestOptions): Promise<HttpResponse>;
  /** Requests made, by "METHOD /path" (ids folded), retries, and waits to spread a low rate limit. */
  stats: { requests: Map<string, number>; retries: number; throttled: number };
};

const RETRYABLE = new Set([408, 429, 500, 502, 503, 504]);
/** Below this many requests left in the rate-limit window, requests are paced. */
const LOW_WATER = 10;

/**
 * The rate-limit budget a response announces: PagerDuty's `ratelimit-remaining` with
 * `ratelimit-reset` (seconds until the reset), or `x-ratelimit-remaining` with `x-ratelimit-reset`
 * (incident.io and others: a Unix time in seconds, or seconds until), or Okta's
 * `x-rate-limit-remaining` with `x-rate-limit-reset` (a Unix time in seconds). Null when not announced.
 */
export function rateBudget(
  headers: Map<string, string>,
  now: number,
): { remaining: number; resetAt: number } | null {
  const remaining =
    headers.get("ratelimit-remaining") ??
    headers.get("x-ratelimit-remaining") ??
    headers.get("x-rate-limit-remaining");
  const reset =
    headers.get("ratelimit-reset") ?? headers.get("x-ratelimit-reset") ?? headers.get("x-rate-limit-reset");
  if (remaining === undefined || reset === undefined) return null;
  const r = Number(remaining.split(",")[0]);
  const t = Number(reset.split(",")[0]);
  if (!Number.isFinite(r) || !Number.isFinite(t) || r < 0 || t < 0) return null;
  // A reset larger than a day's seconds is a Unix time, else a count of seconds from now.
  const resetAt = t > 86_400 ? t * 1000 : now + t * 1000;
  return { remaining: r, resetAt };
}

export function createHttpClient(settings: HttpSettings, deps: HttpDeps): HttpClient {
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const random = deps.random ?? Math.random;
  const connectMs = Math.min(
    settings.connectTimeoutMs ?? DEFAULT_HTTP.connectTimeoutMs ?? 10_000,
    settings.timeoutMs,
  );
  const agents = {
    http: withConnectTimeout(new http.Agent({ keepAlive: true }), connectMs, "connect"),
    https: withConnectTimeout(new https.Agent({ keepAlive: true }), connectMs, "secureConnect"),
  };
  const maxRetryTimeMs = settings.maxRetryTimeMs ?? DEFAULT_HTTP.maxRetryTimeMs ?? 120_000;
  const maxBytes = settings.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const stats = { requests: new Map<string, number>(), retries: 0, throttled: 0 };

  async function attempt(method: string, url: URL, opts: RequestOptions): Promise<HttpResponse> {
    const controller = new AbortController();
    const timeoutMs = opts.timeoutMs ?? settings.timeoutMs;
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      const fresh = opts.fresh?.() ?? {};
      const form = opts.form || fresh.form ? { ...opts.form, ...fresh.form } : undefined;
      const init: RequestInit = {
        method,
        headers: {
          ...opts.headers,
          ...(form
            ? { "Content-Type": "application/x-www-form-urlencoded" }
            : opts.body === undefined
              ? {}
              : { "Content-Type": "application/json" }),
          ...fresh.headers,
        },
        body: form
          ? new URLSearchParams(form).toString()
          : opts.body === undefined
            ? undefined
            : JSON.stringify(opts.body),
        signal: controller.signal,
        agent: url.protocol === "https:" ? agents.https : agents.http,
        redirect: "error",
      };
      const res = await fetch(url.toString(), init);
      const headers = new Map<string, string>();
      res.headers.forEach((v, k) => headers.set(k.toLowerCase(), v));
      const text = await readCapped(res.body, headers.get("content-length"), maxBytes, () =>
        controller.abort(),
      );
      let body: unknown = null;
      if (text.length > 0) {
        try {
          body = JSON.parse(text);
        } catch {
          body = new NotJson(text, headers.get("content-type") ?? "");
        }
      }
      return { status: res.status, headers, body };
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * What the server says is left of its rate limit, per host. When little is left, requests are
   * spread over the time until the reset instead of spending the rest at once and meeting 429s.
   */
  const budgets = new Map<string, { remaining: number; resetAt: number }>();
  const noteBudget = (host: string, headers: Map<string, string>) => {
    const b = rateBudget(headers, Date.now());
    if (b) budgets.set(host, b);
  };
  const pace = async (host: string) => {
    const b = budgets.get(host);
    if (!b || b.remaining > LOW_WATER) return;
    const left = b.resetAt - Date.now();
    if (left <= 0) {
      budgets.delete(host);
      return;
    }
    const wait = Math.min(settings.maxRetryWaitMs, Math.ceil(left / Math.max(1, b.remaining)));
    b.remaining = Math.max(0, b.remaining - 1);
    stats.throttled++;
    deps.log.debug("rate limit nearly spent, pacing requests", {
      host,
      remaining: b.remaining,
      waitMs: wait,
    });
    await sleep(wait);
  };

  async function request(method: string, url: URL, opts: RequestOptions): Promise<HttpResponse> {
    const what = `${method} ${url.pathname}`;
    const key = `${method} ${statPath(url.pathname)}`;
    const started = Date.now();
    for (let tries = 1; ; tries++) {
      await pace(url.host);
      stats.requests.set(key, (stats.requests.get(key) ?? 0) + 1);
      let res: HttpResponse | null = null;
      let failure: string;
      try {
        res = await attempt(method, url, opts);
        noteBudget(url.host, res.headers);
        if (res.status >= 200 && res.status < 300) {
          if (res.body instanceof NotJson && !opts.anyBody) {
            throw new HttpError(
              `${what}: ${res.status} but the body is not JSON (${res.body.describe()})`,
              res.status,
              tries,
            );
          }
          return res;
        }
        failure = `${res.status}${errorSummary(res.body)}`;
        if (!RETRYABLE.has(res.status))
          throw new HttpError(`${what}: ${failure}`, res.status, tries, res.body, res.headers);
      } catch (err) {
        if (err instanceof HttpError) throw err;
        // A body over the cap would be as large on every try: it fails the request at once.
        if (err instanceof ResponseTooLarge) {
          throw new HttpError(
            `${what}: response over ${formatBytes(maxBytes)} (http.maxResponseBytes)`,
            null,
            tries,
          );
        }
        failure = describeNetworkError(err, opts.timeoutMs ?? settings.timeoutMs, url);
      }
      if (tries > settings.retries) {
        throw new HttpError(
          `${what}: ${failure} after ${tries} tries`,
          res?.status ?? null,
          tries,
          res?.body,
          res?.headers,
        );
      }
      const hinted = res ? retryHintMs(res.headers) : null;
      if (hinted !== null && hinted > settings.maxRetryWaitMs) {
        throw new HttpError(
          `${what}: ${failure}; the server asks to wait ${Math.ceil(hinted / 1000)}s, longer than the ${Math.ceil(settings.maxRetryWaitMs / 1000)}s allowed`,
          res?.status ?? null,
          tries,
          res?.body,
        );
      }
      const backoff = Math.min(settings.maxRetryWaitMs, settings.backoffMs * 2 ** (tries - 1));
      const wait = hinted ?? Math.round(random() * backoff);
      if (Date.now() - started + wait > maxRetryTimeMs) {
        throw new HttpError(
          `${what}: ${failure} after ${tries} tries (gave up: retrying would take longer than ${Math.round(maxRetryTimeMs / 1000)}s)`,
          res?.status ?? null,
          tries,
          res?.body,
        );
      }
      stats.retries++;
      deps.log.warn("request failed, retrying", {
        request: what,
        url: `${url.origin}${url.pathname}`,
        failure,
        attempt: tries,
        waitMs: wait,
      });
      await sleep(wait);
    }
  }

  return { request, stats };
}

class ResponseTooLarge extends Error {}

/**
 * The body as text, read as it streams in. NOTE: the cap is applied while reading, never after: a
 * 600 MB answer must not be held in memory (nor downloaded whole) only to be refused. A length
 * announced over the cap is refused before the first byte is read.
 */
async function readCapped(
  body: NodeJS.ReadableStream | null,
  contentLength: string | undefined,
  maxBytes: number,
  abort: () => void,
): Promise<string> {
  if (body === null) return "";
  if (contentLength !== undefined && /^\d+$/.test(contentLength) && Number(contentLength) > maxBytes) {
    abort();
    throw new ResponseTooLarge();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    size += buf.length;
    if (size > maxBytes) {
      abort();
      throw new ResponseTooLarge();
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** `50 MB`, `64 KB`, `1000 bytes`: binary units, as the config's sizes. */
export function formatBytes(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KB`;
  return `${n} bytes`;
}

class NotJson {
  constructor(
    readonly text: string,
    readonly contentType: string,
  ) {}
  describe(): string {
    const kind = this.contentType ? this.contentType.split(";")[0] : "no content type";
    return `${kind}, ${this.text.length} bytes${/^\s*[[{]/.test(this.text) ? ", cut short or malformed" : ""}`;
  }
}

/**
 * How long the server asks us to wait: `Retry-After` (seconds or an HTTP date), then PagerDuty's
 * `ratelimit-reset` (seconds until the window resets), then Okta's `x-rate-limit-reset` (the Unix
 * time it resets), then Opsgenie's throttle period. Null when
 * there is none of them (a bare 429).
 */
export function retryHintMs(headers: Map<string, string>, now = Date.now()): number | null {
  const ra = headers.get("retry-after");
  if (ra !== undefined) {
    if (/^\d+(\.\d+)?$/.test(ra.trim())) return Math.round(Number(ra) * 1000);
    const at = Date.parse(ra);
    if (!Number.isNaN(at)) return Math.max(0, at - now);
  }
  const reset = headers.get("ratelimit-reset");
  if (reset !== undefined && /^\d+(\.\d+)?$/.test(reset.trim())) return Math.round(Number(reset) * 1000);
  // Okta says when its window resets, as a Unix time in seconds.
  const at = headers.get("x-rate-limit-reset");
  if (at !== undefined && /^\d+$/.test(at.trim())) return Math.max(0, Number(at) * 1000 - now);
  // Opsgenie's throttle says how long it lasts instead of when to retry.
  const period = headers.get("x-ratelimit-period-in-sec");
  if (
    headers.get("x-ratelimit-state")?.toUpperCase() === "THROTTLED" &&
    period &&
    /^\d+(\.\d+)?$/.test(period.trim())
  ) {
    return Math.round(Number(period) * 1000);
  }
  return null;
}

function errorSummary(body: unknown): string {
  if (body && typeof body === "object" && !(body instanceof NotJson)) {
    const b = body as Record<string, unknown>;
    const e = b.error;
    if (e && typeof e === "object" && typeof (e as Record<string, unknown>).message === "string") {
      return ` ${(e as Record<string, unknown>).message as string}`;
    }
    if (typeof b.message === "string") return ` ${b.message}`;
    if (Array.isArray(b.errors) && b.errors[0] && typeof b.errors[0] === "object") {
      const m = (b.errors[0] as Record<string, unknown>).message;
      if (typeof m === "string") return ` ${m}`;
    }
  }
  return "";
}

/**
 * What went wrong on the way, naming the host and port it went to: `network error ECONNREFUSED` alone
 * does not say which of several sources, proxies or a typo in a baseUrl failed. The query string is
 * never quoted (it may carry what a caller put there); the message of an error without a code
 * usually embeds the whole URL, which is cut back to its origin and path.
 */
function describeNetworkError(err: unknown, timeoutMs: number, url: URL): string {
  const where = hostPort(url);
  if (err && typeof err === "object") {
    const e = err as { name?: string; code?: string; message?: string };
    if (e.name === "AbortError") return `no answer from ${where} within ${formatMs(timeoutMs)}`;
    if (e.code === "ECONNECTTIMEOUT" || /ECONNECTTIMEOUT/.test(e.message ?? ""))
      return `could not connect to ${where} in time`;
    if (e.code) return `network error ${e.code} ${where}`;
    if (e.message)
      return `network error ${where}: ${e.message.split(url.href).join(`${url.origin}${url.pathname}`)}`;
  }
  return `network error ${where}`;
}

/** `api.pagerduty.com:443`, `127.0.0.1:4123`: the port even where the scheme implies it. */
export function hostPort(url: URL): string {
  return `${url.hostname}:${url.port || (url.protocol === "https:" ? "443" : "80")}`;
}

/** Groups /users/PABC123 as /users/{id} so that request counts stay readable. */
function statPath(pathname: string): string {
  return pathname
    .split("/")
    .map((seg, i) => (i >= 2 && /\d/.test(seg) && seg.length >= 6 ? "{id}" : seg))
    .join("/");
}

function formatMs(ms: number): string {
  return ms < 1000 ? `${ms}ms` : `${Math.round(ms / 100) / 10}s`;
}

/**
 * Bounds the time to open a connection (a host that drops packets would otherwise use up the whole
 * attempt's timeout before anything could be said about it).
 */
function withConnectTimeout<A extends http.Agent>(
  agent: A,
  ms: number,
  event: "connect" | "secureConnect",
): A {
  const base = (
    agent as unknown as { createConnection: (...args: unknown[]) => Socket }
  ).createConnection.bind(agent);
  (agent as unknown as { createConnection: (...args: unknown[]) => Socket }).createConnection = (
    ...args: unknown[]
  ) => {
    const socket = base(...args);
    const timer = setTimeout(() => {
      const err = new Error("ECONNECTTIMEOUT: could not connect in time") as NodeJS.ErrnoException;
      err.code = "ECONNECTTIMEOUT";
      socket.destroy(err);
    }, ms);
    socket.once(event, () => clearTimeout(timer));
    socket.once("close", () => clearTimeout(timer));
    return socket;
  };
  return agent;
}
