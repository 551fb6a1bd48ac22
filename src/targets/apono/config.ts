import { z } from "zod";
import {
  baseUrl,
  checkUrl,
  resolveSecret,
  tokenFields,
  type NormalizeContext,
  type SecretRef,
} from "../../core/fields.js";
import { normalizeTargetFields, targetFields, type TargetCommon, type TargetStarter } from "../define.js";

export const APONO_TOKEN_ENV = "APONO_TOKEN";
export const APONO_BASE_URL = "https://api.apono.io";

/** An id Apono gave: it goes into a URL or a JSON body, so no blanks, controls or a leading dash. */
const aponoId = z
  .string()
  .min(1)
  .regex(
    /^[^\s\u0000-\u001f\u007f-][^\s\u0000-\u001f\u007f]*$/,
    "expected an Apono id (no spaces, not starting with -)",
  );

const aponoResource = z
  .strictObject({
    integrationId: aponoId.meta({
      description:
        "The Apono integration that holds the resources (its id, as the Apono app and API show it).",
    }),
    resourceIds: z.array(aponoId).min(1, "list at least one resource id").meta({
      description: "The ids of the integration's resources one request asks for (`resource_ids`).",
    }),
    permissions: z.array(z.string().min(1)).min(1, "list at least one permission").meta({
      description: "The permissions asked for on those resources (`permissions`), e.g. ReadOnly.",
    }),
  })
  .meta({ description: "What one resource name of a rule stands for in Apono." });

export const aponoSchema = z.strictObject({
  type: z.literal("apono").meta({
    description:
      "Apono: one access request per grant (API v3), for the grant's length; Apono ends the access itself.",
  }),
  baseUrl: baseUrl.optional().meta({
    description: `Apono's API (default ${APONO_BASE_URL}). https only; plain http is allowed for 127.0.0.1 and localhost (tests, local proxies).`,
  }),
  ...tokenFields(APONO_TOKEN_ENV, "An Apono API token, sent as Authorization: Bearer …"),
  resources: z
    .record(z.string().min(1), aponoResource)
    .refine((m) => Object.keys(m).length > 0, "map at least one resource name to its Apono ids")
    .meta({
      description:
        "The resource names rules use on this target, each mapped to Apono's integration id, resource ids and permissions. A rule naming a resource not listed here is a config error.",
    }),
  ...targetFields,
});

export type AponoResource = { integrationId: string; resourceIds: string[]; permissions: string[] };

export type AponoConfig = TargetCommon & {
  type: "apono";
  /** Without a trailing slash. */
  baseUrl: string;
  secret: SecretRef;
  resources: Map<string, AponoResource>;
};

export function normalizeApono(raw: z.output<typeof aponoSchema>, ctx: NormalizeContext): AponoConfig {
  const url = raw.baseUrl ?? APONO_BASE_URL;
  checkUrl(url, `${ctx.at}.baseUrl`, ctx.problems);
  return {
    ...normalizeTargetFields(raw, ctx),
    type: raw.type,
    baseUrl: url.replace(/\/+$/, ""),
    secret: resolveSecret(raw, APONO_TOKEN_ENV, ctx),
    resources: new Map(
      Object.entries(raw.resources).map(([name, r]) => [
        name,
        {
          integrationId: r.integrationId,
          resourceIds: [...new Set(r.resourceIds)],
          permissions: [...new Set(r.permissions)],
        },
      ]),
    ),
  };
}

/** A rule's resource must be one of the names the target maps to Apono's ids. */
export function aponoResourceProblem(config: AponoConfig, resource: string): string | null {
  if (config.resources.has(resource)) return null;
  const known = [...config.resources.keys()];
  return `target "${config.name}" (apono) has no resource "${resource}"; add it under targets.${config.name}.resources with its integrationId, resourceIds and permissions (known: ${known.join(", ")})`;
}

export const aponoStarter: TargetStarter = {
  name: "apono",
  yaml: [
    "    type: apono",
    `    tokenEnv: ${APONO_TOKEN_ENV}                # an Apono API token; or tokenFile`,
    "    resources:",
    "      prod-postgres:                     # the name rules use",
    "        integrationId: INTEGRATION_ID    # from the Apono app, or GET /api/v2/integrations",
    "        resourceIds: [RESOURCE_ID]",
    "        permissions: [ReadOnly]",
  ],
  env: [APONO_TOKEN_ENV],
  resources: ["    resources: [prod-postgres]           # names from the target's resources map"],
};
