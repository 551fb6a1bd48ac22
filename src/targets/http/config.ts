import { z } from "zod";
import {
  checkUrl,
  envName,
  resolveSecret,
  tokenFields,
  type NormalizeContext,
  type SecretRef,
} from "../../core/fields.js";
import { normalizeTargetFields, targetFields, type TargetCommon, type TargetStarter } from "../define.js";

/** The http target has no default token variable: the starter config names this one. */
const STARTER_TOKEN_ENV = "ACCESS_API_TOKEN";

export const httpSchema = z.strictObject({
  type: z.literal("http").meta({
    description: "Any HTTP endpoint: POST url to grant, DELETE url/{key} to revoke.",
  }),
  url: z.string().meta({
    description:
      "POST here to grant; DELETE url/{key} to revoke. https (http only for 127.0.0.1 and localhost).",
  }),
  ...tokenFields(null, "Sent as Authorization: Bearer; without a token, no Authorization header."),
  headersFromEnv: z.record(z.string(), envName).optional().meta({
    description: "Extra request headers, each read from an environment variable: { X-Org-Id: ORG_ID }.",
  }),
  revoke: z
    .boolean()
    .optional()
    .meta({ description: "The endpoint takes DELETE url/{key} to revoke (default false)." }),
  expires: z.boolean().optional().meta({
    description:
      "The receiver ends each grant at its end by itself (default true). With false, shiftgrant ends it with DELETE url/{key} once its end has passed; revoke: true is then required.",
  }),
  ...targetFields,
});

export type HttpConfig = TargetCommon & {
  type: "http";
  url: string;
  /** Null: requests carry no Authorization header. */
  secret: SecretRef | null;
  headersFromEnv: Record<string, string>;
  revoke: boolean;
  /** The receiver ends each grant at its end by itself; if not, shiftgrant expires it with DELETE. */
  expires: boolean;
};

export function normalizeHttp(raw: z.output<typeof httpSchema>, ctx: NormalizeContext): HttpConfig {
  checkUrl(raw.url, `${ctx.at}.url`, ctx.problems);
  const hasSecret = raw.tokenEnv !== undefined || raw.tokenFile !== undefined;
  const config: HttpConfig = {
    ...normalizeTargetFields(raw, ctx),
    type: raw.type,
    url: raw.url,
    secret: hasSecret ? resolveSecret(raw, null, ctx) : null,
    headersFromEnv: raw.headersFromEnv ?? {},
    revoke: raw.revoke ?? false,
    expires: raw.expires ?? true,
  };
  if (raw.expires === false && !raw.revoke) {
    ctx.problems.push(
      `${ctx.at}.expires: false means shiftgrant ends each grant with DELETE url/{key}, so the receiver must take it: set revoke: true`,
    );
  }
  return config;
}

export const httpStarter: TargetStarter = {
  name: "access-api",
  yaml: [
    "    type: http",
    "    url: https://access.example.com/shiftgrant/grants   # POST grants here",
    `    tokenEnv: ${STARTER_TOKEN_ENV}           # sent as Authorization: Bearer …; or tokenFile`,
    "    # revoke: true                       # the endpoint also takes DELETE url/{key}",
  ],
  env: [STARTER_TOKEN_ENV],
  resources: ["    resources: [prod-db]                 # sent in each request's body"],
};
