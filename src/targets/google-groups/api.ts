import { readFile } from "node:fs/promises";
import type { cloudidentity_v1 } from "@googleapis/cloudidentity";
import type { AuthClient, gaxios } from "google-auth-library";

/**
 * The Cloud Identity Groups API through Google's own client (`@googleapis/cloudidentity`) and
 * credentials (`google-auth-library`: Application Default Credentials, the token exchange and its
 * refresh), both loaded on the first call so that other commands do not pay for them.
 */

export const GROUPS_SCOPE = "https://www.googleapis.com/auth/cloud-identity.groups";
/** Where google-auth-library sends a service account's signed JWT, whatever its key file says. */
const GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token";

const RETRIES = 4;
const BACKOFF_MS = 1_000;
const MAX_RETRY_WAIT_MS = 60_000;

export type Membership = cloudidentity_v1.Schema$Membership;

export type GroupsApiOptions = {
  /** The API root, without a trailing slash. */
  baseUrl: string;
  timeoutMs: number;
  env: NodeJS.ProcessEnv;
  sleep: (ms: number) => Promise<void>;
  random?: () => number;
};

export type GroupsApi = {
  /** `groups:lookup`: a group's email to its name, `groups/{id}`. */
  lookupGroup(email: string): Promise<string>;
  /** `memberships:lookup`: the membership's name, or null where Google answers 404 (not a member). */
  lookupMembership(group: string, email: string): Promise<string | null>;
  getMembership(name: string): Promise<Membership>;
  /** `POST groups/{id}/memberships`: the long-running operation Google answers with. */
  create(group: string, email: string, expireTime: string): Promise<cloudidentity_v1.Schema$Operation>;
  /** `modifyMembershipRoles`: the MEMBER role's expiry, the only role Google lets expire. */
  setExpiry(name: string, expireTime: string): Promise<Membership | undefined>;
  /** `DELETE memberships/{id}`; false where Google answers 404 (gone already). */
  remove(name: string): Promise<boolean>;
  /** Every membership of a group, page by page. */
  list(group: string): Promise<Membership[]>;
  /** The account the credentials are for (a token is fetched: they are proven). */
  whoAmI(): Promise<string>;
  /** A failed call in one line: Google's status and message, and what to do. */
  describe(err: unknown): string;
};

/**
 * The credentials, from `GOOGLE_APPLICATION_CREDENTIALS` (a service account key, or a workload
 * identity federation config) where set, else Google's well-known places (gcloud's ADC file, the
 * metadata server). The key file's `token_uri` is honoured: google-auth-library 10 always posts a
 * service account's JWT to Google's endpoint, so such requests are sent to the key's own.
 */
export function createGroupsApi(opts: GroupsApiOptions): GroupsApi {
  const random = opts.random ?? Math.random;
  let ready: Promise<{ ci: cloudidentity_v1.Cloudidentity; client: AuthClient }> | null = null;
  const tokenUrls = [GOOGLE_TOKEN_URL];

  const backoff = (err: gaxios.GaxiosError, attempt: number): number => {
    const header = err.response?.headers.get("retry-after");
    const seconds = header !== undefined && header !== null ? Number(header) : NaN;
    if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, MAX_RETRY_WAIT_MS);
    return Math.floor(random() * Math.min(MAX_RETRY_WAIT_MS, BACKOFF_MS * 2 ** attempt));
  };

  const init = async () => {
    const keyFile = opts.env.GOOGLE_APPLICATION_CREDENTIALS;
    const tokenUri = keyFile ? await keyTokenUri(keyFile) : null;
    if (tokenUri) tokenUrls.push(tokenUri);
    const [{ GoogleAuth }, { cloudidentity }] = await Promise.all([
      import("google-auth-library"),
      import("@googleapis/cloudidentity"),
    ]);
    const auth = new GoogleAuth({ scopes: [GROUPS_SCOPE], ...(keyFile ? { keyFilename: keyFile } : {}) });
    const client = await auth.getClient();
    // Every request, the token exchange included, with the target's timeout and shiftgrant's retry
    // policy: the waits go through the run's sleep.
    client.transporter.interceptors.request.add({
      resolved: async (config) => {
        if (tokenUri && String(config.url) === GOOGLE_TOKEN_URL) config.url = new URL(tokenUri);
        config.timeout = opts.timeoutMs;
        config.retry = true;
        config.retryConfig = {
          ...config.retryConfig,
          retry: RETRIES,
          // A create that is retried after a lost answer meets a 409, which the target handles.
          httpMethodsToRetry: ["GET", "POST", "DELETE"],
          retryBackoff: async (err) =>
            opts.sleep(backoff(err, err.config.retryConfig?.currentRetryAttempt ?? 0)),
        };
        return config;
      },
    });
    // The client above is the one GoogleAuth keeps and signs every API request with. googleapis-common
    // carries its own copy of google-auth-library, whose types differ only in private members; it
    // calls nothing of `auth` but request() and getUniverseDomain(), which both copies have.
    const sdkAuth = auth as unknown as cloudidentity_v1.Options["auth"];
    return { ci: cloudidentity({ version: "v1", auth: sdkAuth, rootUrl: `${opts.baseUrl}/` }), client };
  };
  const api = () => (ready ??= init());

  return {
    async lookupGroup(email) {
      const { ci } = await api();
      const res = await ci.groups.lookup({ "groupKey.id": email });
      if (!res.data.name) throw new Error(`groups:lookup ${email}: Google's answer has no group name`);
      return res.data.name;
    },
    async lookupMembership(group, email) {
      const { ci } = await api();
      try {
        const res = await ci.groups.memberships.lookup({ parent: group, "memberKey.id": email });
        if (!res.data.name) throw new Error(`memberships:lookup ${email}: Google's answer has no name`);
        return res.data.name;
      } catch (err) {
        if (statusOf(err) === 404) return null;
        throw err;
      }
    },
    async getMembership(name) {
      const { ci } = await api();
      return (await ci.groups.memberships.get({ name })).data;
    },
    async create(group, email, expireTime) {
      const { ci } = await api();
      const res = await ci.groups.memberships.create({
        parent: group,
        requestBody: {
          preferredMemberKey: { id: email },
          roles: [{ name: "MEMBER", expiryDetail: { expireTime } }],
        },
      });
      return res.data;
    },
    async setExpiry(name, expireTime) {
      const { ci } = await api();
      const res = await ci.groups.memberships.modifyMembershipRoles({
        name,
        requestBody: {
          updateRolesParams: [
            {
              // The one field the API reference allows here, in its own spelling.
              fieldMask: "expiry_detail.expire_time",
              membershipRole: { name: "MEMBER", expiryDetail: { expireTime } },
            },
          ],
        },
      });
      return res.data.membership;
    },
    async remove(name) {
      const { ci } = await api();
      try {
        const res = await ci.groups.memberships.delete({ name });
        const failed = res.data.done ? res.data.error : undefined;
        if (failed) throw new Error(`DELETE ${name}: ${failed.message ?? `operation error ${failed.code}`}`);
        return true;
      } catch (err) {
        if (statusOf(err) === 404) return false;
        throw err;
      }
    },
    async list(group) {
      const { ci } = await api();
      const out: Membership[] = [];
      let pageToken: string | undefined;
      for (let pages = 0; ; pages++) {
        if (pages >= 1000) throw new Error(`${group}/memberships: more than 1000 pages; stopped`);
        const res = await ci.groups.memberships.list({
          parent: group,
          // FULL: the roles, so that owners and managers are told apart (at most 500 a page).
          view: "FULL",
          pageSize: 500,
          ...(pageToken ? { pageToken } : {}),
        });
        out.push(...(res.data.memberships ?? []));
        pageToken = res.data.nextPageToken ?? undefined;
        if (!pageToken) return out;
      }
    },
    describe: (err) => describeGoogleError(err, tokenUrls),
    async whoAmI() {
      const { client } = await api();
      await client.getAccessToken();
      const email = (client as { email?: unknown }).email;
      return typeof email === "string" ? email : "the Application Default Credentials";
    },
  };
}

/**
 * The `token_uri` of a service account key file, where it is not Google's own (https, or plain http
 * on this machine only: the signed JWT goes there). Null for other credential files, which carry
 * their own endpoints and which google-auth-library follows.
 */
async function keyTokenUri(file: string): Promise<string | null> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, "utf8"));
  } catch (err) {
    const why =
      err instanceof SyntaxError ? "is not JSON" : ((err as NodeJS.ErrnoException).code ?? "cannot be read");
    throw new CredentialsError(
      `GOOGLE_APPLICATION_CREDENTIALS names ${file}, which ${why === "ENOENT" ? "does not exist" : why === "is not JSON" ? why : `cannot be read (${why})`}: point it at the service account key (or workload identity config) file`,
    );
  }
  const key = (json && typeof json === "object" ? json : {}) as { type?: unknown; token_uri?: unknown };
  if (typeof key.type !== "string")
    throw new CredentialsError(
      `${file} (GOOGLE_APPLICATION_CREDENTIALS) has no "type": it is not a Google credentials file (a service account key, or a workload identity config)`,
    );
  if (key.type !== "service_account" || typeof key.token_uri !== "string") return null;
  if (key.token_uri === GOOGLE_TOKEN_URL) return null;
  let u: URL;
  try {
    u = new URL(key.token_uri);
  } catch {
    throw new CredentialsError(`the token_uri of ${file} is not a URL`);
  }
  const local = u.hostname === "127.0.0.1" || u.hostname === "localhost" || u.hostname === "[::1]";
  if (u.protocol !== "https:" && !(u.protocol === "http:" && local))
    throw new CredentialsError(
      `the token_uri of ${file} must use https:// (plain http is allowed only for 127.0.0.1 and localhost)`,
    );
  return u.toString();
}

/** Why the credentials file `GOOGLE_APPLICATION_CREDENTIALS` names cannot be used, or null. */
export async function credentialsFileProblem(file: string | undefined): Promise<string | null> {
  if (file === undefined) return null;
  if (file.trim() === "")
    return "GOOGLE_APPLICATION_CREDENTIALS is set but empty: name the service account key file, or unset it to use gcloud's credentials or the metadata server";
  try {
    await keyTokenUri(file);
    return null;
  } catch (err) {
    if (err instanceof CredentialsError) return err.message;
    throw err;
  }
}

/** The credentials could not be used at all (a missing or unreadable key file). */
export class CredentialsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CredentialsError";
  }
}

/** The HTTP status of a failed call, where it has one. */
export function statusOf(err: unknown): number | null {
  if (!err || typeof err !== "object") return null;
  const e = err as { status?: unknown; response?: { status?: unknown } };
  if (typeof e.status === "number") return e.status;
  return typeof e.response?.status === "number" ? e.response.status : null;
}

/** Google's error body: `{error: {code, message, status}}` for the API, `{error, error_description}` for OAuth. */
export function googleError(err: unknown): { status: string | null; message: string } {
  const data = (err as { response?: { data?: unknown } } | null)?.response?.data;
  if (data && typeof data === "object") {
    const e = (data as { error?: unknown; error_description?: unknown }).error;
    if (e && typeof e === "object") {
      const o = e as { status?: unknown; message?: unknown };
      return {
        status: typeof o.status === "string" ? o.status : null,
        message: typeof o.message === "string" ? o.message : "",
      };
    }
    if (typeof e === "string") {
      const d = (data as { error_description?: unknown }).error_description;
      return { status: e, message: typeof d === "string" ? d : "" };
    }
  }
  return { status: null, message: err instanceof Error ? err.message : String(err) };
}

/**
 * A failed call in one line for the action's error: Google's status and message, and what to do. No
 * header or credential is ever part of it.
 */
export function describeGoogleError(err: unknown, tokenUrls: readonly string[]): string {
  if (err instanceof CredentialsError) return err.message;
  const url = (err as { config?: { url?: unknown } } | null)?.config?.url;
  const where = typeof url === "string" ? url : url instanceof URL ? url.href : null;
  const status = statusOf(err);
  const g = googleError(err);
  if (where !== null && tokenUrls.includes(where))
    return `the token endpoint refused the credentials (${status ?? "no answer"} ${g.status ?? ""}${g.message ? `: ${g.message}` : ""}): check that the service account key in GOOGLE_APPLICATION_CREDENTIALS is current (not deleted or disabled)`.replace(
      "  ",
      " ",
    );
  if (status === null) {
    const m = err instanceof Error ? err.message : String(err);
    if (/default credentials/i.test(m))
      return `no Google credentials: set GOOGLE_APPLICATION_CREDENTIALS to a service account key file, or run where workload identity provides them (${m})`;
    return m;
  }
  const hint =
    status === 401
      ? " (the credentials were refused: check GOOGLE_APPLICATION_CREDENTIALS)"
      : status === 403
        ? " (the service account must be an owner or manager of this group, or hold the Groups Admin role; a group outside the customer cannot be managed)"
        : g.status === "FAILED_PRECONDITION"
          ? " (expiring memberships need Google Workspace Enterprise Standard or Plus, Enterprise for Education, or Cloud Identity Premium)"
          : "";
  return `${status} ${g.status ?? ""}${g.message ? `: ${g.message}` : ""}${hint}`.replace(/ +:/, ":");
}
