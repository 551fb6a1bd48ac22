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

/**
 * A Teleport user name as shiftgrant passes it on. Teleport itself takes almost any non-empty name
 * (local users, and SSO users named after their email or login); this is the part of that which is
 * safe as one argument: letters, digits and `. _ @ % + ' = -`, not starting with `-` or `.` (a flag,
 * a path), at most 255 characters. Every plain email is one. Case is kept: Teleport's names are
 * case-sensitive.
 */
const TELEPORT_USER = /^(?![-.])[A-Za-z0-9._@%+'=-]{1,255}$/;

export function isTeleportUser(value: string): boolean {
  return TELEPORT_USER.test(value);
}

/**
 * What a valid identity is, per kind of access system. Each target states its kind; an identity that
 * is not valid for it is never passed to it. A kind is added here (a GitHub login) with its check,
 * its name (`noun`, where kinds are listed) and the words that say what it takes (`describe`).
 */
export const IDENTITY_KINDS = {
  email: {
    valid: isPlainEmail,
    noun: "a plain email address",
    describe: "a plain email address",
  },
  "teleport-user": {
    valid: isTeleportUser,
    noun: "a Teleport user name",
    describe:
      "a Teleport user name (letters, digits and . _ @ % + ' = -, not starting with - or ., at most 255 characters)",
  },
} satisfies Record<string, { valid: (value: string) => boolean; noun: string; describe: string }>;

export type IdentityKind = keyof typeof IDENTITY_KINDS;

/** Valid for some target: what a ledger entry may hold (the ledger does not know its target's kind). */
export function isKnownIdentity(value: string): boolean {
  return Object.values(IDENTITY_KINDS).some((k) => k.valid(value));
}

export type IdentityResult = { ok: true; identity: string } | { ok: false; identity: string; reason: string };

/**
 * Trim, lower-case, map through `identities`, then validate what would be passed on. Lower-casing
 * touches ASCII letters only: some other letters lower-case to ASCII (the Kelvin sign to "k"), and a
 * look-alike must never become someone else's address.
 */
export function resolveIdentity(
  email: string,
  identities: ReadonlyMap<string, string>,
  target: { identities?: ReadonlyMap<string, string>; kind?: IdentityKind } = {},
): IdentityResult {
  const normalized = normalizeEmail(email);
  const global = identities.get(normalized) ?? normalized;
  // A target's own map wins over the global one; its keys are source emails, or what the global map
  // made of them.
  const identity = target.identities?.get(normalized) ?? target.identities?.get(global) ?? global;
  const kind = IDENTITY_KINDS[target.kind ?? "email"];
  if (kind.valid(identity)) return { ok: true, identity };
  const mapped = identity !== normalized ? ` maps to ${JSON.stringify(identity)}, which` : "";
  return {
    ok: false,
    identity: email,
    reason: `${JSON.stringify(email)}${mapped} is not ${kind.describe}; it is never passed to a target`,
  };
}
