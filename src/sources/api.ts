import type { ApiSourceConfig } from "../config/load.js";
import { HttpError } from "../infra/http.js";
import type { SourceDeps } from "./types.js";

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
