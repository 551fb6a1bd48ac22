import { checkUrl, resolveSecret, type NormalizeContext, type SecretRef } from "../core/fields.js";
import { HttpError } from "../infra/http.js";
import type { SourceDeps } from "./types.js";

/** A source read over HTTP with a token, as the config resolves it. */
export type ApiSourceConfig<T extends string = string> = {
  name: string;
  type: T;
  secret: SecretRef;
  /** Without a trailing slash: request paths start with one. */
  baseUrl: string;
};

/** The keys every HTTP source has: `tokenEnv` or `tokenFile`, `baseUrl`. */
export function normalizeApiSource<T extends string>(
  raw: {
    type: T;
    tokenEnv?: string | undefined;
    tokenFile?: string | undefined;
    baseUrl?: string | undefined;
  },
  ctx: NormalizeContext,
  defaults: { tokenEnv: string; baseUrl: string },
): ApiSourceConfig<T> {
  const baseUrl = raw.baseUrl ?? defaults.baseUrl;
  checkUrl(baseUrl, `${ctx.at}.baseUrl`, ctx.problems);
  return {
    name: ctx.name,
    type: raw.type,
    secret: resolveSecret(raw, defaults.tokenEnv, ctx),
    baseUrl: baseUrl.replace(/\/+$/, ""),
  };
}

export type Get = (path: string, query: [string, string][]) => Promise<unknown>;

/** Where a source's key was read from, for messages that say what to fix: `$NAME` or `the file F`. */
export function keySource(config: ApiSourceConfig): string {
  return config.secret.tokenFile ? `the file ${config.secret.tokenFile}` : `$${config.secret.tokenEnv}`;
}

/**
 * A GET against a source's API: the base URL, repeated query keys (`schedule_ids[]=A&…`), the
 * source's headers, and the shared client's timeouts and retries. `explain` may replace a final
 * HTTP error (a refused key, say) with one that says what to do.
 */
export function apiGet(
  config: ApiSourceConfig,
  deps: SourceDeps,
  headers: Record<string, string>,
  explain?: (err: HttpError) => Error | null,
): Get {
  return async (path, query) => {
    const url = new URL(config.baseUrl + path);
    for (const [k, v] of query) url.searchParams.append(k, v);
    try {
      return (await deps.http.request("GET", url, { headers })).body;
    } catch (err) {
      if (explain && err instanceof HttpError) throw explain(err) ?? err;
      throw err;
    }
  };
}
