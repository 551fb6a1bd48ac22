import assert from "node:assert/strict";
import { createPublicKey, generateKeyPairSync, verify } from "node:crypto";
import { it } from "node:test";
import { readSigningKey, signJwt } from "./private-key.js";

it("private keys: PEM (PKCS #8, PKCS #1, SEC 1) and JWK (or a set of one) sign JWTs that verify; others are refused by kind", () => {
  const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 });
  const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const forms = [
    [rsa.privateKey.export({ type: "pkcs8", format: "pem" }).toString(), "RS256", null, rsa.publicKey],
    [rsa.privateKey.export({ type: "pkcs1", format: "pem" }).toString(), "RS256", null, rsa.publicKey],
    [ec.privateKey.export({ type: "sec1", format: "pem" }).toString(), "ES256", null, ec.publicKey],
    [JSON.stringify({ ...ec.privateKey.export({ format: "jwk" }), kid: "k1" }), "ES256", "k1", ec.publicKey],
    [
      JSON.stringify({ keys: [{ ...rsa.privateKey.export({ format: "jwk" }), alg: "RS384" }] }),
      "RS384",
      null,
      rsa.publicKey,
    ],
  ] as const;
  for (const [text, alg, kid, pub] of forms) {
    const k = readSigningKey(text);
    assert.ok(!("problem" in k), JSON.stringify(k));
    assert.deepEqual([k.alg, k.kid], [alg, kid]);
    const jwt = signJwt(k, { iss: "x" }, { typ: "JWT" });
    const [h, c, sig] = jwt.split(".") as [string, string, string];
    assert.deepEqual(JSON.parse(Buffer.from(h, "base64url").toString()), {
      typ: "JWT",
      alg,
      ...(kid ? { kid } : {}),
    });
    const hash = `sha${alg.slice(2)}`;
    const ok = alg.startsWith("ES")
      ? verify(
          hash,
          Buffer.from(`${h}.${c}`),
          { key: pub, dsaEncoding: "ieee-p1363" },
          Buffer.from(sig, "base64url"),
        )
      : verify(hash, Buffer.from(`${h}.${c}`), pub, Buffer.from(sig, "base64url"));
    assert.ok(ok, alg);
  }
  const refused = (text: string) => {
    const k = readSigningKey(text);
    return "problem" in k ? k.problem : "accepted";
  };
  const encrypted = rsa.privateKey
    .export({ type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase: "pw" })
    .toString();
  assert.deepEqual(
    [
      "",
      "hello",
      encrypted,
      rsa.publicKey.export({ type: "spki", format: "pem" }).toString(),
      JSON.stringify(createPublicKey(ec.privateKey).export({ format: "jwk" })),
      JSON.stringify({ keys: [] }),
      "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n",
    ].map(refused),
    [
      "is empty",
      "is not a private key in PEM (-----BEGIN PRIVATE KEY-----) or JWK (JSON) form",
      "holds an encrypted private key; store it decrypted (readable only by shiftgrant)",
      "holds a public key or a certificate, not the private key",
      "is a public JWK (no private part d); save the private key the console showed",
      "is a JWK set of 0 keys; keep only the one shiftgrant signs with",
      "holds a PEM block that is not a readable private key",
    ],
  );
});
