/**
 * The identity passed to a target must be a plain email: letters, digits and `. _ % + - '` before a
 * single `@`, a dotted domain after, never starting with `-` or `.`. Anything else (an email crafted
 * to look like a flag, or to carry a shell command) is never passed on.
 */
const PLAIN_EMAIL = /^(?![-.])[a-z0-9._%+'-]+@(?![-.])[a-z0-9-]+(\.[a-z0-9-]+)+$/i;

export function normalizeEmail(email: string): string {
  return email.trim().replace(/[A-Z]+/g, (c) => c.toLowerCase());
}

export function isPlainEmail(value: string): boolean {
  return value.length <= 254 && PLAIN_EMAIL.test(value);
}

export type IdentityResult = { ok: true; identity: string } | { ok: false; identity: string; reason: string };

/**
 * Trim, lower-case, map through `identities`, then validate what would be passed on. Lower-casing
 * touches ASCII letters only: some other letters lower-case to ASCII (the Kelvin sign to "k"), and a
 * look-alike must never become someone else's address.
 */
export function resolveIdentity(email: string, identities: ReadonlyMap<string, string>): IdentityResult {
  const normalized = normalizeEmail(email);
  const identity = identities.get(normalized) ?? normalized;
  if (isPlainEmail(identity)) return { ok: true, identity };
  const mapped = identity !== normalized ? ` maps to ${JSON.stringify(identity)}, which` : "";
  return {
    ok: false,
    identity: email,
    reason: `${JSON.stringify(email)}${mapped} is not a plain email address; it is never passed to a target`,
  };
}
