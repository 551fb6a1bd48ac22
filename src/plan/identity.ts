/**
 * The identity passed to a target must be a plain email: letters, digits and `. _ % + - '` before a
 * single `@`, a dotted domain after, never starting with `-` or `.`. Anything else (an email crafted
 * to look like a flag, or to carry a shell command) is never passed on.
 */
const PLAIN_EMAIL = /^(?![-.])[a-z0-9._%+'-]+@(?![-.])[a-z0-9-]+(\.[a-z0-9-]+)+$/i;

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export function isPlainEmail(value: string): boolean {
  return value.length <= 254 && PLAIN_EMAIL.test(value);
}

export type IdentityResult = { ok: true; identity: string } | { ok: false; identity: string; reason: string };

/** Trim, lower-case, map through `identities`, then validate. */
export function resolveIdentity(email: string, identities: ReadonlyMap<string, string>): IdentityResult {
  const normalized = normalizeEmail(email);
  const identity = identities.get(normalized) ?? normalized;
  if (isPlainEmail(identity)) return { ok: true, identity };
  return {
    ok: false,
    identity: email,
    reason: `"${email}" is not a plain email address; it is never passed to a target`,
  };
}
