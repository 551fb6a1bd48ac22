import { createHash, generateKeyPairSync, type JsonWebKey } from "node:crypto";
import { base64url, newJti, readSigningKey, signJwt, type SigningKey } from "../../core/private-key.js";
import { HttpError, type HttpClient } from "../../infra/http.js";
import { OKTA_SCOPES } from "./config.js";

/** A client assertion lives this long; Okta refuses one that lives more than an hour. */
const ASSERTION_SECONDS = 5 * 60;
/** A token with less than this left is fetched anew before a request. */
const REFRESH_BEFORE_MS = 60_000;

type AccessToken = { value: string; dpop: boolean; expiresAt: number };

/** A token request Okta refused, or answered with something that is not a token: every call fails with it. */
export class OktaTokenError extends Error {}

export type OktaOAuth = {
  /** The headers of one attempt of a request: the token, and a DPoP proof made for this attempt. */
  authorize(token: AccessToken, method: string, url: URL): Record<string, string>;
  /** The run's token: fetched once, again when it nears its end or after `forget`. */
  token(): Promise<AccessToken>;
  /** Okta refused this token (401): the next `token()` fetches another. */
  forget(token: AccessToken): void;
};

/**
 * OAuth 2.0 for Okta's Management API with a service app: client credentials, authenticated by a
 * JWT signed with the app's private key (private_key_jwt, the only method Okta takes for Okta
 * scopes), at the org authorization server `{orgUrl}/oauth2/v1/token`.
 *
 * NOTE: Okta requires DPoP by default for service apps made since 2024, and says so only by
 * refusing a token request. So every token request carries a DPoP proof, signed with a key pair made
 * for this run (ES256), which Okta ignores where the app does not require DPoP; Okta's `token_type`
 * then says which scheme the token takes: `DPoP` (each API request carries a fresh proof bound to
 * the token by `ath`) or `Bearer`. The first proof carries no nonce: Okta answers 400
 * `use_dpop_nonce` with the nonce in `dpop-nonce`, and the request is made again with it.
 *
 * Not Okta's SDK: it reads OKTA_CLIENT_* variables and okta.yaml files behind the config's back,
 * turns token-endpoint errors into a later 401, signs DPoP proofs with RS256 only, and retries by
 * its own rules. This is a few dozen lines over shiftgrant's HTTP client (its retries, timeouts and
 * rate-limit waits) with node:crypto signing.
 */
export function createOktaOAuth(opts: {
  orgUrl: string;
  clientId: string;
  keyId: string | null;
  /** The key file's text (PEM or JWK), read and checked when the secrets were read. */
  privateKey: string;
  http: HttpClient;
  timeoutMs: number;
  redactor?: { add(secret: string): void };
}): OktaOAuth {
  const tokenUrl = new URL(`${opts.orgUrl}/oauth2/v1/token`);
  let signing: SigningKey | null = null;
  let dpopKey: { key: SigningKey; jwk: JsonWebKey } | null = null;
  let current: AccessToken | null = null;
  let pending: Promise<AccessToken> | null = null;
  let failure: Error | null = null;

  const clientKey = (): SigningKey => {
    if (signing) return signing;
    const k = readSigningKey(opts.privateKey);
    // The file was checked when it was read; this only guards against its being another now.
    if ("problem" in k) throw new OktaTokenError(`the private key ${k.problem}`);
    signing = { ...k, kid: k.kid ?? opts.keyId };
    return signing;
  };

  const proofKey = () => {
    if (dpopKey) return dpopKey;
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const jwk = publicKey.export({ format: "jwk" });
    dpopKey = { key: { key: privateKey, alg: "ES256", kid: null }, jwk };
    return dpopKey;
  };

  /** A DPoP proof for one request: `htu` is the URL without its query, its path decoded. */
  const proof = (method: string, url: URL, extra: Record<string, string> = {}): string => {
    const k = proofKey();
    // NOTE: Okta compares `htu` with the request's path after decoding it: a login's `%40` must be
    // `@` in the proof, or Okta refuses it ("'htu' claim in the DPoP proof JWT is invalid").
    const htu = `${url.origin}${url.pathname.split("/").map(safeDecode).join("/")}`;
    return signJwt(
      k.key,
      { htm: method, htu, iat: Math.floor(Date.now() / 1000), jti: newJti(), ...extra },
      { typ: "dpop+jwt", jwk: k.jwk },
    );
  };

  const assertion = (): string => {
    const now = Math.floor(Date.now() / 1000);
    return signJwt(clientKey(), {
      aud: tokenUrl.toString(),
      iss: opts.clientId,
      sub: opts.clientId,
      iat: now,
      exp: now + ASSERTION_SECONDS,
      jti: newJti(),
    });
  };

  const request = async (nonce: string | null): Promise<AccessToken> => {
    // Read here, not in `fresh`: an unusable key must fail the request, not be retried as a
    // network error.
    clientKey();
    const res = await opts.http.request("POST", tokenUrl, {
      headers: { Accept: "application/json" },
      timeoutMs: opts.timeoutMs,
      form: {
        grant_type: "client_credentials",
        scope: OKTA_SCOPES.join(" "),
        client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
      },
      // An assertion and a proof are each taken once: a retry after a 429 or a 5xx makes new ones.
      fresh: () => ({
        form: { client_assertion: assertion() },
        headers: { DPoP: proof("POST", tokenUrl, nonce ? { nonce } : {}) },
      }),
    });
    const b = res.body as { token_type?: unknown; access_token?: unknown; expires_in?: unknown } | null;
    if (!b || typeof b.access_token !== "string" || !b.access_token)
      throw new OktaTokenError(
        `POST ${tokenUrl.pathname}: ${res.status} but the answer holds no access_token`,
      );
    const type = typeof b.token_type === "string" ? b.token_type.toLowerCase() : "";
    if (type !== "dpop" && type !== "bearer")
      throw new OktaTokenError(
        `POST ${tokenUrl.pathname}: a token of type ${String(b.token_type)}, neither DPoP nor Bearer`,
      );
    opts.redactor?.add(b.access_token);
    const seconds = typeof b.expires_in === "number" && b.expires_in > 0 ? b.expires_in : 3600;
    return { value: b.access_token, dpop: type === "dpop", expiresAt: Date.now() + seconds * 1000 };
  };

  const fetchToken = async (): Promise<AccessToken> => {
    try {
      return await request(null);
    } catch (err) {
      const nonce = err instanceof HttpError ? err.headers.get("dpop-nonce") : undefined;
      if (err instanceof HttpError && nonce && oauthError(err.body)?.error === "use_dpop_nonce") {
        try {
          return await request(nonce);
        } catch (again) {
          throw tokenError(again);
        }
      }
      throw tokenError(err);
    }
  };

  return {
    authorize(token, method, url): Record<string, string> {
      if (!token.dpop) return { Authorization: `Bearer ${token.value}` };
      const ath = base64url(createHash("sha256").update(token.value).digest());
      return { Authorization: `DPoP ${token.value}`, DPoP: proof(method, url, { ath }) };
    },
    async token() {
      // A token request that failed fails every call of the run alike: it is not asked again.
      if (failure) throw failure;
      if (current && current.expiresAt - Date.now() > REFRESH_BEFORE_MS) return current;
      pending ??= fetchToken()
        .then(
          (t) => (current = t),
          (err: unknown) => {
            failure = err instanceof Error ? err : new Error(String(err));
            throw failure;
          },
        )
        .finally(() => {
          pending = null;
        });
      return pending;
    },
    forget(token) {
      if (current === token) current = null;
    },
  };
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function oauthError(body: unknown): { error: string; description: string } | null {
  if (!body || typeof body !== "object") return null;
  const b = body as { error?: unknown; error_description?: unknown };
  if (typeof b.error !== "string") return null;
  return { error: b.error, description: typeof b.error_description === "string" ? b.error_description : "" };
}

/** Why no token came, and what to change in Okta or in the config. */
function tokenError(err: unknown): Error {
  if (err instanceof OktaTokenError) return err;
  if (!(err instanceof HttpError)) return err instanceof Error ? err : new Error(String(err));
  const o = oauthError(err.body);
  if (!o) return new OktaTokenError(`could not get an access token: ${err.message}`);
  const head = `could not get an access token: POST /oauth2/v1/token: ${err.status ?? "no answer"} ${o.error}${o.description ? ` (${o.description})` : ""}`;
  const hint =
    o.error === "invalid_client"
      ? ": check oauth.clientId, and that the service app's public keys hold the public half of oauth.privateKeyFile (and its key id)"
      : o.error === "invalid_scope"
        ? `: grant the scopes ${OKTA_SCOPES.join(" and ")} to the service app (its Okta API Scopes tab; only a super admin can)`
        : o.error === "invalid_dpop_proof"
          ? ": Okta refused the DPoP proof; check this machine's clock"
          : "";
  return new OktaTokenError(`${head}${hint}`);
}
