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

export const GITHUB_TOKEN_ENV = "GITHUB_TOKEN";
export const GITHUB_API_URL = "https://api.github.com";

/** An organisation's login: letters, digits and single hyphens, as GitHub allows them. */
const ORG_LOGIN = /^(?!-)(?!.*--)[A-Za-z0-9-]{1,39}(?<!-)$/;

const numericId = (what: string) =>
  z
    .union([z.number().int().positive(), z.string().regex(/^\d+$/, `${what}: digits only`)])
    .transform((v) => String(v));

export const githubSchema = z.strictObject({
  type: z.literal("github").meta({
    description:
      "GitHub: team memberships in one organisation; shiftgrant removes each one once its shift (plus grace) has ended. RESOURCE is a team slug.",
  }),
  org: z.string().regex(ORG_LOGIN, "a GitHub organisation's login, e.g. example-org").meta({
    description: "The organisation whose teams the rules name (its login, as in github.com/ORG).",
  }),
  baseUrl: baseUrl.optional().meta({
    description: `REST API base URL (default ${GITHUB_API_URL}); GitHub Enterprise Server: https://HOST/api/v3. https only; plain http is allowed for 127.0.0.1 and localhost (tests, local proxies).`,
  }),
  app: z
    .strictObject({
      appId: numericId("appId").meta({ description: "The GitHub App's id (its settings page: App ID)." }),
      installationId: numericId("installationId").meta({
        description: "The id of the App's installation on the organisation (in the installation's URL).",
      }),
      privateKeyFile: z.string().min(1).meta({
        description:
          "The App's private key (.pem, as GitHub hands it out), relative to the config file; it signs the App's JWT, which is exchanged for an installation token.",
      }),
    })
    .optional()
    .meta({
      description:
        "Authenticate as a GitHub App installation (recommended) instead of with a token. The App needs the Organization permission Members: read and write, nothing else.",
    }),
  ...tokenFields(
    GITHUB_TOKEN_ENV,
    "A token of an organisation owner: fine-grained with the Organization permission Members: read and write, or classic with admin:org. Not with app.",
  ),
  saml: z.boolean().optional().meta({
    description:
      "Look up the GitHub login of each email no identities map names among the organisation's SAML-linked identities (nameId = the email), once per run.",
  }),
  ...targetFields,
  concurrency: targetFields.concurrency.meta({
    description:
      "Calls in flight at once (default 1: GitHub counts concurrent requests towards its secondary rate limit and asks for them one at a time).",
  }),
});

/** How shiftgrant authenticates to GitHub. The key or token itself is in `secret`. */
export type GithubAuth = { kind: "app"; appId: string; installationId: string } | { kind: "token" };

export type GithubConfig = TargetCommon & {
  type: "github";
  org: string;
  /** Without a trailing slash. */
  baseUrl: string;
  auth: GithubAuth;
  saml: boolean;
  /** The token, or (with `app`) the App's private key file. */
  secret: SecretRef;
};

export function normalizeGithub(raw: z.output<typeof githubSchema>, ctx: NormalizeContext): GithubConfig {
  const url = raw.baseUrl ?? GITHUB_API_URL;
  if (raw.baseUrl !== undefined) checkUrl(raw.baseUrl, `${ctx.at}.baseUrl`, ctx.problems);
  let auth: GithubAuth = { kind: "token" };
  let secret: SecretRef;
  if (raw.app) {
    if (raw.tokenEnv !== undefined || raw.tokenFile !== undefined)
      ctx.problems.push(`${ctx.at}: set app (a GitHub App) or tokenEnv/tokenFile (a token), not both`);
    auth = { kind: "app", appId: raw.app.appId, installationId: raw.app.installationId };
    secret = {
      tokenEnv: "",
      tokenFile: ctx.resolvePath(raw.app.privateKeyFile, `${ctx.at}.app.privateKeyFile`),
      privateKey: { key: "app.privateKeyFile" },
    };
  } else {
    secret = resolveSecret(raw, GITHUB_TOKEN_ENV, ctx);
  }
  return {
    ...normalizeTargetFields(raw, ctx),
    concurrency: raw.concurrency ?? 1,
    type: raw.type,
    org: raw.org,
    baseUrl: url.replace(/\/+$/, ""),
    auth,
    saml: raw.saml ?? false,
    secret,
  };
}

export const githubStarter: TargetStarter = {
  name: "github",
  yaml: [
    "    type: github",
    "    org: example-org",
    `    tokenEnv: ${GITHUB_TOKEN_ENV}            # Members: read and write; or app: {appId, installationId, privateKeyFile}`,
  ],
  env: [GITHUB_TOKEN_ENV],
  resources: ["    resources: [oncall]                  # team slugs in the organisation"],
};
