import { z } from "zod";
import { parseDuration } from "./time.js";

/**
 * The pieces config keys are made of, shared by the config's own keys and every adapter's: a
 * duration, an environment variable's name, a token reference, a URL; and how each is normalised.
 * Normalising never throws: a problem is added to the context's list, so that every problem of a
 * config is reported at once.
 */

export const duration = z
  .string({
    // A number (`lead: 15`) gets the same advice as the string "15": say which unit.
    error: (issue) => {
      const why = parseDuration(issue.input);
      return typeof why === "string" ? why : 'expected a duration like "15m", "12h", "7d" or "PT12H"';
    },
  })
  .superRefine((v, ctx) => {
    const d = parseDuration(v);
    if (typeof d === "string") ctx.addIssue({ code: "custom", message: d });
  })
  .meta({ description: 'A duration: "90s", "30m", "12h", "7d", or ISO 8601 ("PT12H", "P7D").' });

export const envName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "expected the name of an environment variable, like PAGERDUTY_TOKEN");

/**
 * `tokenEnv` and `tokenFile`: where a token is read from (the token itself is never in the config).
 * `defaultEnv` is the variable read when neither is set, if the type has one; `use` says, for the
 * reference, what the type does with the token.
 */
export function tokenFields(defaultEnv: string | null, use = "") {
  const then = use ? ` ${use}` : "";
  return {
    tokenEnv: envName.optional().meta({
      description: `Name of the environment variable that holds the token${defaultEnv ? ` (default ${defaultEnv})` : ""}.${then}`,
    }),
    tokenFile: z
      .string()
      .min(1)
      .optional()
      .meta({
        description: `File that holds the token (e.g. a mounted secret), relative to the config file; instead of tokenEnv.${then}`,
      }),
  };
}

export const baseUrl = z.string().meta({
  description:
    "API base URL. https only; plain http is allowed for 127.0.0.1 and localhost (tests, local proxies).",
});

/**
 * Where a token is read from: the variable `tokenEnv`, unless `tokenFile` (an absolute path) is set.
 * `privateKey`: the file holds a PEM private key (many lines) rather than a one-line token, and `key`
 * is the config key that names it (for messages).
 */
export type SecretRef = {
  tokenEnv: string;
  tokenFile: string | null;
  privateKey?: { key: string };
};

/** Turns a path written in the config into an absolute one; `at` names the key, for a problem. */
export type ResolvePath = (p: string, at: string) => string;

/** What normalising one source or target is given. */
export type NormalizeContext = {
  /** Its name in the config. */
  name: string;
  /** Its path in the config, e.g. `targets.sdm`, to prefix a problem with. */
  at: string;
  /** Problems found; every problem of the config is reported at once. */
  problems: string[];
  resolvePath: ResolvePath;
};

/** A duration key's milliseconds; the fallback when it is unset (or invalid: already reported). */
export function durationMs(v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const d = parseDuration(v);
  return typeof d === "string" ? fallback : d.ms;
}

/** The token reference of `tokenEnv`/`tokenFile`, with the type's default variable when neither is set. */
export function resolveSecret(
  s: { tokenEnv?: string | undefined; tokenFile?: string | undefined },
  defaultEnv: string | null,
  ctx: NormalizeContext,
): SecretRef {
  const { at, problems } = ctx;
  if (s.tokenEnv !== undefined && s.tokenFile !== undefined) {
    problems.push(`${at}: set tokenEnv or tokenFile, not both`);
  }
  const tokenEnv = s.tokenEnv ?? defaultEnv ?? "";
  if (s.tokenFile === undefined && !tokenEnv)
    problems.push(`${at}: set tokenEnv (or tokenFile) for the token`);
  return {
    tokenEnv,
    tokenFile: s.tokenFile !== undefined ? ctx.resolvePath(s.tokenFile, `${at}.tokenFile`) : null,
  };
}

/**
 * A URL shiftgrant sends a token to: https, or plain http to this machine only (tests, a local
 * proxy); never with credentials in it, since the token has its own key.
 */
export function checkUrl(value: string, at: string, problems: string[]): void {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    problems.push(`${at}: "${value}" is not a URL (e.g. "https://api.pagerduty.com")`);
    return;
  }
  const local =
    parsed.hostname === "127.0.0.1" || parsed.hostname === "localhost" || parsed.hostname === "[::1]";
  if (parsed.username || parsed.password) {
    problems.push(
      `${at}: must not contain a user name or password; the token comes from tokenEnv or tokenFile`,
    );
    return;
  }
  if (parsed.protocol === "https:") return;
  if (parsed.protocol === "http:" && local) return;
  problems.push(
    `${at}: "${value}" must use https:// (plain http is allowed only for 127.0.0.1 and localhost)`,
  );
}
