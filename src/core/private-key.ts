import { createPrivateKey, randomUUID, sign, type JsonWebKey, type KeyObject } from "node:crypto";

/** The JWS algorithms shiftgrant signs with: RSA (PKCS #1 v1.5) and ECDSA, SHA-2. */
export type JwsAlgorithm = "RS256" | "RS384" | "RS512" | "ES256" | "ES384" | "ES512";

/** A private key read from a file, ready to sign JWTs: its algorithm and its key id, if it names one. */
export type SigningKey = { key: KeyObject; alg: JwsAlgorithm; kid: string | null };

const EC_ALG: Record<string, JwsAlgorithm> = { "P-256": "ES256", "P-384": "ES384", "P-521": "ES512" };
const RSA_ALGS = new Set<string>(["RS256", "RS384", "RS512"]);

/**
 * Reads a private key written as PEM (PKCS #8, PKCS #1 or SEC 1) or as a JWK (one key, or a key set
 * holding exactly one): what vendors' consoles hand out for service apps. RSA keys sign with RS256
 * (or the JWK's `alg`), EC keys with the ES algorithm of their curve. The problem, when there is one,
 * describes the file's kind, never its content.
 */
export function readSigningKey(text: string): SigningKey | { problem: string } {
  const trimmed = text.trim();
  if (trimmed === "") return { problem: "is empty" };
  if (trimmed.startsWith("{")) return readJwk(trimmed);
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(trimmed))
    return { problem: "holds an encrypted private key; store it decrypted (readable only by shiftgrant)" };
  if (/-----BEGIN (RSA )?PUBLIC KEY-----|-----BEGIN CERTIFICATE-----/.test(trimmed))
    return { problem: "holds a public key or a certificate, not the private key" };
  if (!/-----BEGIN (RSA |EC )?PRIVATE KEY-----/.test(trimmed))
    return { problem: "is not a private key in PEM (-----BEGIN PRIVATE KEY-----) or JWK (JSON) form" };
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: trimmed, format: "pem" });
  } catch {
    return { problem: "holds a PEM block that is not a readable private key" };
  }
  return withAlgorithm(key, null, null);
}

function readJwk(text: string): SigningKey | { problem: string } {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return { problem: "is not valid JSON, nor a PEM private key" };
  }
  if (doc && typeof doc === "object" && Array.isArray((doc as { keys?: unknown }).keys)) {
    const keys = (doc as { keys: unknown[] }).keys;
    if (keys.length !== 1)
      return { problem: `is a JWK set of ${keys.length} keys; keep only the one shiftgrant signs with` };
    doc = keys[0];
  }
  if (!doc || typeof doc !== "object") return { problem: "is not a JWK (a JSON object with kty)" };
  const jwk = doc as Record<string, unknown>;
  if (jwk.kty !== "RSA" && jwk.kty !== "EC")
    return { problem: `is a JWK of kty ${JSON.stringify(jwk.kty ?? null)}; an RSA or EC key is needed` };
  if (typeof jwk.d !== "string")
    return { problem: "is a public JWK (no private part d); save the private key the console showed" };
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: jwk as JsonWebKey, format: "jwk" });
  } catch {
    return { problem: "is a JWK that is not a readable private key" };
  }
  return withAlgorithm(
    key,
    typeof jwk.alg === "string" ? jwk.alg : null,
    typeof jwk.kid === "string" && jwk.kid ? jwk.kid : null,
  );
}

function withAlgorithm(
  key: KeyObject,
  alg: string | null,
  kid: string | null,
): SigningKey | { problem: string } {
  if (key.asymmetricKeyType === "rsa") {
    if (alg !== null && !RSA_ALGS.has(alg)) return { problem: `is an RSA key with alg ${alg}; use RS256` };
    return { key, alg: (alg as JwsAlgorithm | null) ?? "RS256", kid };
  }
  if (key.asymmetricKeyType === "ec") {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    const named =
      curve === "prime256v1"
        ? "P-256"
        : curve === "secp384r1"
          ? "P-384"
          : curve === "secp521r1"
            ? "P-521"
            : "";
    const ecAlg = EC_ALG[named];
    if (!ecAlg)
      return { problem: `is an EC key on the curve ${curve ?? "unknown"}; use P-256, P-384 or P-521` };
    return { key, alg: ecAlg, kid };
  }
  return { problem: `is a ${key.asymmetricKeyType ?? "unknown"} key; an RSA or EC key is needed` };
}

/** base64url without padding, as JWS wants it. */
export function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString("base64url");
}

/**
 * A compact JWS (a signed JWT) of `claims`, with `header` added to `alg` (and `kid` where the key
 * names one). ECDSA signatures are the raw r||s JWS wants, not DER.
 */
export function signJwt(
  k: SigningKey,
  claims: Record<string, unknown>,
  header: Record<string, unknown> = {},
): string {
  const head = { ...header, alg: k.alg, ...(k.kid ? { kid: k.kid } : {}) };
  const input = `${base64url(JSON.stringify(head))}.${base64url(JSON.stringify(claims))}`;
  const hash = `sha${k.alg.slice(2)}`;
  const sig = k.alg.startsWith("ES")
    ? sign(hash, Buffer.from(input), { key: k.key, dsaEncoding: "ieee-p1363" })
    : sign(hash, Buffer.from(input), k.key);
  return `${input}.${base64url(sig)}`;
}

/** A JWT id that is never reused. */
export function newJti(): string {
  return randomUUID();
}

/**
 * The parts of a key file worth redacting: every run of base64 or base64url long enough to be key
 * material (PEM lines, JWK members), so that no piece of it can leak even where the whole cannot.
 */
export function keyMaterial(text: string): string[] {
  return [text.trim(), ...text.split(/[^A-Za-z0-9+/=_-]+/).filter((s) => s.length >= 16)];
}
