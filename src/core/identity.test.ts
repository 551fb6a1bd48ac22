import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isGithubLogin, isPlainEmail, isTeleportUser, normalizeEmail, resolveIdentity } from "./identity.js";

const NONE = new Map<string, string>();

describe("isPlainEmail", () => {
  const plain = [
    "alice@example.com",
    "alice+oncall@example.com",
    "o'brien@example.com",
    "alice%ops@example.com",
    "alice.b.smith@example.com",
    "a_b-c@example.com",
    "alice@eu.ops.example.co.uk",
    "alice@my-company.example",
    "1234@example.com",
    "ALICE@EXAMPLE.COM",
  ];
  for (const email of plain) {
    it(`accepts ${email}`, () => assert.equal(isPlainEmail(email), true));
  }

  const rejected: [string, string][] = [
    ["a flag", "--admin-token=x@evil.com"],
    ["a short flag", "-a@x.com"],
    ["command substitution", "$(touch pwned)@x.com"],
    ["backticks", "`id`@x.com"],
    ["a space", "a b@x.com"],
    ["a leading dot", ".a@x.com"],
    ["a domain starting with -", "a@-x.com"],
    ["a domain starting with .", "a@.x.com"],
    ["a domain without a dot", "a@x"],
    ["two @", "a@@x.com"],
    ["two @ apart", "a@b@x.com"],
    ["a shell command after it", "a@x.com;rm -rf /"],
    ["a pipe", "a@x.com|id"],
    ["a newline inside", "a\n@x.com"],
    ["a newline after the domain", "a@x.com\nb"],
    ["a trailing newline (not trimmed here)", "a@x.com\n"],
    ["a NUL byte", "a@x.com\u0000"],
    ["an empty string", ""],
    ["no local part", "@x.com"],
    ["no domain", "a@"],
    ["an empty domain label", "a@x..com"],
    ["a trailing dot", "a@x.com."],
    ["a quote", 'a"b@x.com'],
    ["a slash", "a/b@x.com"],
    ["non-ASCII letters", "älice@example.com"],
    ["a glob", "*@x.com"],
    ["too long", `${"a".repeat(250)}@x.com`],
  ];
  for (const [what, value] of rejected) {
    it(`rejects ${what}: ${JSON.stringify(value)}`, () => assert.equal(isPlainEmail(value), false));
  }
});

describe("normalizeEmail", () => {
  it("trims and lower-cases", () => {
    assert.equal(normalizeEmail("  Alice.Smith@Example.COM\n"), "alice.smith@example.com");
  });
});

describe("resolveIdentity", () => {
  it("passes a plain email, trimmed and lower-cased", () => {
    assert.deepEqual(resolveIdentity(" Alice@Example.com\t", NONE), {
      ok: true,
      identity: "alice@example.com",
    });
  });

  it("applies the identities map after normalizing", () => {
    const map = new Map([["alice@corp.example", "alice@ops.example"]]);
    assert.deepEqual(resolveIdentity("ALICE@Corp.Example ", map), {
      ok: true,
      identity: "alice@ops.example",
    });
    assert.deepEqual(resolveIdentity("bob@corp.example", map), { ok: true, identity: "bob@corp.example" });
  });

  it("can map a source email that is not plain to one that is", () => {
    const map = new Map([["alice smith@corp.example", "alice@ops.example"]]);
    assert.deepEqual(resolveIdentity("Alice Smith@corp.example", map), {
      ok: true,
      identity: "alice@ops.example",
    });
  });

  it("validates a mapped value too", () => {
    const map = new Map([["alice@corp.example", "--admin-token=x@evil.com"]]);
    const r = resolveIdentity("alice@corp.example", map);
    assert.equal(r.ok, false);
  });

  const hostile = [
    "--admin-token=x@evil.com",
    "$(touch pwned)@x.com",
    "`id`@x.com",
    "a@x.com;rm -rf /",
    "a\n@x.com",
    "-a@x.com",
    "",
  ];
  for (const email of hostile) {
    it(`skips ${JSON.stringify(email)} with a reason, never passing it on`, () => {
      const r = resolveIdentity(email, NONE);
      assert.equal(r.ok, false);
      assert.ok(!r.ok && r.reason.includes("is not a plain email address"), JSON.stringify(r));
    });
  }

  it("does not turn a non-ASCII look-alike into someone else's ASCII email (the Kelvin sign lower-cases to k)", () => {
    const r = resolveIdentity("\u212Aate@example.com", NONE);
    assert.equal(r.ok, false, JSON.stringify(r));
  });
});

describe("isTeleportUser", () => {
  for (const name of ["alice", "alice@example.com", "Alice.Smith", "svc_ops-1", "o'neil", "x=y+z%1"]) {
    it(`accepts ${name}`, () => assert.equal(isTeleportUser(name), true));
  }
  for (const name of [
    "",
    "-alice",
    ".hidden",
    "a b",
    "a\nb",
    "a/b",
    "a:b",
    "$(id)",
    "a;b",
    "x".repeat(256),
  ]) {
    it(`rejects ${JSON.stringify(name.slice(0, 20))}`, () => assert.equal(isTeleportUser(name), false));
  }

  it("is the kind of the teleport-user targets: a mapped name passes, a flag never does", () => {
    const own = new Map([
      ["alice@example.com", "alice"],
      ["bob@example.com", "--roles=admin"],
    ]);
    assert.deepEqual(resolveIdentity("Alice@Example.com", NONE, { identities: own, kind: "teleport-user" }), {
      ok: true,
      identity: "alice",
    });
    const bad = resolveIdentity("bob@example.com", NONE, { identities: own, kind: "teleport-user" });
    assert.equal(bad.ok, false);
    assert.match(!bad.ok ? bad.reason : "", /maps to "--roles=admin", which is not a Teleport user name/);
  });
});

describe("GitHub logins (the github target's identity kind)", () => {
  it("takes 1-39 letters, digits or single hyphens, not at either end", () => {
    for (const ok of ["a", "alice-gh", "A1-b2-C3", "x".repeat(39)]) assert.equal(isGithubLogin(ok), true, ok);
    for (const bad of [
      "",
      "-alice",
      "alice-",
      "al--ice",
      "x".repeat(40),
      "alice_gh",
      "alice@example.com",
      "al ice",
      "ålice",
    ])
      assert.equal(isGithubLogin(bad), false, bad);
  });

  it("lower-cases a mapped login (GitHub compares them without case); an unmapped email is skipped with the way out", () => {
    const own = new Map([["alice@example.com", "Alice-GH"]]);
    assert.deepEqual(resolveIdentity("Alice@Example.com", NONE, { identities: own, kind: "github-login" }), {
      ok: true,
      identity: "alice-gh",
    });
    const r = resolveIdentity("bob@example.com", NONE, { identities: own, kind: "github-login" });
    assert.deepEqual(r, {
      ok: false,
      identity: "bob@example.com",
      reason:
        '"bob@example.com" is not a GitHub login (map the email to one in identities:, or use saml: true); it is never passed to a target',
    });
  });
});
