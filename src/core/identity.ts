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
 * A GitHub login: 1-39 letters, digits or single hyphens, not starting or ending with a hyphen.
 * GitHub compares logins without case, so they are kept lower-cased (an `exclusive` team's listing
 * and a mapped value written `Alice-GH` are then the same person).
 */
const GITHUB_LOGIN = /^(?!-)(?!.*--)[a-z0-9-]{1,39}(?<!-)$/i;

export function isGithubLogin(value: string): boolean {
  return GITHUB_LOGIN.test(value);
}

type IdentityKindRule = {
  valid: (value: string) => boolean;
  /** Its name, where kinds are listed. */
  noun: string;
  /** What it takes, where a value is refused. */
  describe: string;
  /** What to do about a value that is not valid, said where a source email was not (mapped to) one. */
  hint?: string;
  /** How the system compares identities of this kind, applied before the check (default: as is). */
  normalize?: (value: string) => string;
};

/**
 * What a valid identity is, per kind of access system. Each target states its kind; an identity that
 * is not valid for it is never passed to it. A kind is added here with its check, its name (`noun`,
 * where kinds are listed) and the words that say what it takes (`describe`).
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
  "github-login": {
    valid: isGithubLogin,
    noun: "a GitHub login",
    describe: "a GitHub login",
    hint: "map the email to one in identities:, or use saml: true",
    normalize: (v: string) => v.replace(/[A-Z]+/g, (c) => c.toLowerCase()),
  },
} satisfies Record<string, IdentityKindRule>;

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
  const mapped = target.identities?.get(normalized) ?? target.identities?.get(global) ?? global;
  const kind: IdentityKindRule = IDENTITY_KINDS[target.kind ?? "email"];
  const identity = kind.normalize ? kind.normalize(mapped) : mapped;
  if (kind.valid(identity)) return { ok: true, identity };
  const to = identity !== normalized ? ` maps to ${JSON.stringify(identity)}, which` : "";
  return {
    ok: false,
    identity: email,
    reason: `${JSON.stringify(email)}${to} is not ${kind.describe}${kind.hint ? ` (${kind.hint})` : ""}; it is never passed to a target`,
  };
}
