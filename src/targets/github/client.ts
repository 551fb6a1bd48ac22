import type { Octokit } from "@octokit/rest";
import { DEFAULT_HTTP, hostPort, rateBudget, type HttpSettings } from "../../infra/http.js";
import type { Logger } from "../../infra/log.js";
import { VERSION } from "../../version.js";
import type { GithubConfig } from "./config.js";

/** The REST API version the calls and the fake are written against. */
export const GITHUB_API_VERSION = "2022-11-28";

export type GithubClientDeps = {
  /** The token, or (App auth) the App's PEM private key. */
  secret: string | null;
  limits: HttpSettings;
  sleep: (ms: number) => Promise<void>;
  log?: Logger | undefined;
  random?: () => number;
  /** The network; tests pass a stand-in. */
  fetch?: typeof fetch;
};

/** Below this many requests left in a rate-limit window, requests are spread over what is left of it. */
const LOW_WATER = 10;

/**
 * The official Octokit, made on first use (the SDK is loaded only by runs that call GitHub), with
 * `fetch` replaced by githubFetch: our timeout per attempt and GitHub's rate-limit rules. App auth is
 * @octokit/auth-app: it signs the App's JWT (RS256, iss = the App id), exchanges it once for an
 * installation token, caches the token and makes a new one before it expires.
 */
export async function createOctokit(config: GithubConfig, deps: GithubClientDeps): Promise<Octokit> {
  const { Octokit } = await import("@octokit/rest");
  const log = deps.log;
  const options: ConstructorParameters<typeof Octokit>[0] = {
    baseUrl: config.baseUrl,
    userAgent: `shiftgrant/${VERSION}`,
    request: { fetch: githubFetch(config.timeoutMs, deps) },
    // Octokit logs one line per request, at `error` for every 4xx: a 404 that means "not in the
    // team" is no error, and the target reports what failed itself. So all of it is debug here but
    // its warnings (auth-app's retries while a new token replicates).
    log: {
      debug: (m: string) => log?.debug(m),
      info: (m: string) => log?.debug(m),
      warn: (m: string) => log?.warn(m),
      error: (m: string) => log?.debug(m),
    },
  };
  if (config.auth.kind === "app" && deps.secret) {
    const { createAppAuth } = await import("@octokit/auth-app");
    const { appId, installationId } = config.auth;
    return new Octokit({
      ...options,
      authStrategy: createAppAuth,
      auth: { appId: Number(appId), installationId: Number(installationId), privateKey: deps.secret ?? "" },
    });
  }
  return new Octokit({ ...options, ...(deps.secret ? { auth: deps.secret } : {}) });
}

type Wait = { ms: number; why: string };

/**
 * How long GitHub asks to wait before this answer may be retried, or null when it is final.
 * NOTE: GitHub signals both of its rate limits with 403 as well as 429. The primary limit (the hourly
 * budget) says `x-ratelimit-remaining: 0` and when it resets (`x-ratelimit-reset`, Unix seconds); a
 * secondary limit (too many requests at once or per minute) says `retry-after` in seconds, or
 * nothing but its message, and then GitHub asks for at least a minute, longer on each retry. Any
 * other 403 (no permission, a team an identity provider manages) is final.
 */
export function githubWait(
  status: number,
  headers: Headers,
  body: string,
  tries: number,
  limits: HttpSettings,
  now: number,
  random: () => number,
): Wait | null {
  if (status === 403 || status === 429) {
    const ra = headers.get("retry-after");
    if (ra !== null && /^\d+$/.test(ra.trim()))
      return { ms: Number(ra) * 1000, why: "secondary rate limit (retry-after)" };
    const reset = headers.get("x-ratelimit-reset");
    if (headers.get("x-ratelimit-remaining") === "0" && reset !== null && /^\d+$/.test(reset.trim()))
      return {
        ms: Math.max(1000, Number(reset) * 1000 - now),
        why: "rate limit spent until x-ratelimit-reset",
      };
    if (status === 429 || /secondary rate limit|abuse detection/i.test(body))
      return { ms: 60_000 * 2 ** (tries - 1), why: "secondary rate limit" };
    return null;
  }
  if ([408, 500, 502, 503, 504].includes(status)) {
    const cap = Math.min(limits.maxRetryWaitMs, limits.backoffMs * 2 ** (tries - 1));
    return { ms: Math.round(random() * cap), why: "server error" };
  }
  return null;
}

const NO_BODY = new Set([204, 205, 304]);

/**
 * The `fetch` Octokit is given. Each attempt has the target's timeout (connect to last byte) and
 * reads at most the HTTP client's body cap; redirects are not followed (GitHub answers 302 when the
 * credential may not see private members). Rate limits and server errors are retried with the same
 * limits as every other request of the run (`http:` retries, the longest single wait, the longest
 * total), every wait through the run's sleep; past them the request fails with a message that says
 * why, and the next run tries again.
 */
export function githubFetch(timeoutMs: number, deps: GithubClientDeps): typeof fetch {
  const limits = deps.limits;
  const random = deps.random ?? Math.random;
  const maxBytes = limits.maxResponseBytes ?? DEFAULT_HTTP.maxResponseBytes ?? 50 * 1024 * 1024;
  const maxTotal = limits.maxRetryTimeMs ?? DEFAULT_HTTP.maxRetryTimeMs ?? 120_000;
  const network = deps.fetch ?? fetch;
  // NOTE: GitHub keeps one budget per resource (`x-ratelimit-resource`: core for REST, graphql for
  // GraphQL). Where little is left, requests are spread over the time until the reset, as the HTTP
  // client does for the sources, rather than spent at once and met by 403s.
  const budgets = new Map<string, { remaining: number; resetAt: number }>();
  const pace = async (resource: string) => {
    const b = budgets.get(resource);
    if (!b || b.remaining > LOW_WATER) return;
    const left = b.resetAt - Date.now();
    if (left <= 0) {
      budgets.delete(resource);
      return;
    }
    const ms = Math.min(limits.maxRetryWaitMs, Math.ceil(left / Math.max(1, b.remaining)));
    b.remaining = Math.max(0, b.remaining - 1);
    deps.log?.debug("GitHub rate limit nearly spent, pacing requests", { resource, waitMs: ms });
    await deps.sleep(ms);
  };
  return async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : input.toString());
    const resource = url.pathname.endsWith("/graphql") ? "graphql" : "core";
    const method = (init?.method ?? "GET").toUpperCase();
    const what = `${method} ${url.pathname}`;
    const headers = new Headers(init?.headers);
    if (!headers.has("x-github-api-version")) headers.set("x-github-api-version", GITHUB_API_VERSION);
    const started = Date.now();
    for (let tries = 1; ; tries++) {
      let res: Response | null = null;
      let text = "";
      let failure: string;
      await pace(resource);
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), timeoutMs);
      try {
        const r = await network(url, { ...init, headers, signal: controller.signal, redirect: "manual" });
        const budget = rateBudget(new Map(r.headers), Date.now());
        if (budget) budgets.set(r.headers.get("x-ratelimit-resource") ?? resource, budget);
        const bytes = await readCapped(r, maxBytes);
        text = bytes.toString("utf8");
        res = new Response(NO_BODY.has(r.status) ? null : bytes, { status: r.status, headers: r.headers });
        failure = String(r.status);
      } catch (err) {
        failure =
          err instanceof TooLarge
            ? `the answer is over ${maxBytes} bytes (http.maxResponseBytes)`
            : controller.signal.aborted
              ? `no answer from ${hostPort(url)} within ${timeoutMs / 1000}s`
              : `network error ${hostPort(url)}: ${networkCause(err)}`;
        if (err instanceof TooLarge) throw new Error(`${what}: ${failure}`);
      } finally {
        clearTimeout(timer);
      }
      const wait: Wait | null = res
        ? githubWait(res.status, res.headers, text, tries, limits, Date.now(), random)
        : {
            ms: Math.round(random() * Math.min(limits.maxRetryWaitMs, limits.backoffMs * 2 ** (tries - 1))),
            why: "network",
          };
      if (res && !wait) return res;
      const summary = res ? `${failure}${messageOf(text)}` : failure;
      if (tries > limits.retries) throw new Error(`${what}: ${summary} after ${tries} tries`);
      const ms = wait?.ms ?? 0;
      if (ms > limits.maxRetryWaitMs)
        throw new Error(
          `${what}: ${summary}; GitHub asks to wait ${Math.ceil(ms / 1000)}s (${wait?.why}), longer than the ${Math.ceil(limits.maxRetryWaitMs / 1000)}s a wait may take (http.maxRetryWaitMs); the next run tries again`,
        );
      if (Date.now() - started + ms > maxTotal)
        throw new Error(
          `${what}: ${summary} after ${tries} tries (gave up: retrying would take longer than ${Math.round(maxTotal / 1000)}s)`,
        );
      deps.log?.warn("GitHub request failed, retrying", {
        request: what,
        failure: summary,
        why: wait?.why,
        attempt: tries,
        waitMs: ms,
      });
      // This wait runs to the reset (or GitHub's own hint): the budget it saw is spent by then.
      if (res && res.headers.get("x-ratelimit-remaining") === "0")
        budgets.delete(res.headers.get("x-ratelimit-resource") ?? resource);
      await deps.sleep(ms);
    }
  };
}

class TooLarge extends Error {}

async function readCapped(r: Response, maxBytes: number): Promise<Buffer> {
  const announced = r.headers.get("content-length");
  if (announced !== null && Number(announced) > maxBytes) {
    await r.body?.cancel();
    throw new TooLarge();
  }
  if (!r.body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let size = 0;
  const reader = r.body.getReader();
  for (;;) {
    const next = (await reader.read()) as { done: boolean; value?: Uint8Array };
    const value = next.value;
    if (next.done || !value) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw new TooLarge();
    }
    chunks.push(Buffer.from(value));
  }
  return Buffer.concat(chunks);
}

/** GitHub's `message`, for the failure line (its error bodies are `{message, documentation_url}`). */
function messageOf(text: string): string {
  try {
    const m = (JSON.parse(text) as { message?: unknown }).message;
    return typeof m === "string" ? ` ${m}` : "";
  } catch {
    return "";
  }
}

function networkCause(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    if (cause instanceof Error) return (cause as NodeJS.ErrnoException).code ?? cause.message;
    return err.message;
  }
  return String(err);
}
