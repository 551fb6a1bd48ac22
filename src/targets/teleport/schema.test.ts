import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { lockTtl, parseMembers, parseRequests } from "./schema.js";

// What tctl prints, as Go's encoding/json writes Teleport's resources (abridged to what is read and
// what is around it).
const LISTED = `[
  {
    "kind": "access_request",
    "version": "v3",
    "metadata": { "name": "a1", "expires": "2026-11-22T10:55:00Z", "revision": "r1" },
    "spec": {
      "user": "alice",
      "roles": ["k8s-admin", "db-admin"],
      "state": 1,
      "created": "2026-11-22T09:55:00.123456789Z",
      "expires": "2026-11-22T17:55:00.123456789Z",
      "max_duration": "2026-11-23T09:55:00Z",
      "session_ttl": "2026-11-22T17:55:00Z",
      "thresholds": [{ "name": "default", "approve": 1, "deny": 1 }]
    }
  },
  { "metadata": { "name": "a2" }, "spec": { "user": "bob", "roles": ["db-admin"], "state": "APPROVED", "expires": "2026-11-22T12:00:00Z" } },
  { "metadata": { "name": "a3" }, "spec": { "user": "carol", "state": 3, "expires": "2026-11-22T12:00:00Z", "resource_ids": [{ "cluster": "c", "kind": "node", "name": "n" }] } },
  { "metadata": { "name": "a4" }, "spec": { "user": "dave", "roles": null, "expires": "2026-11-22T12:00:00Z" } },
  { "metadata": { "name": "a5" }, "spec": { "user": "erin", "roles": ["x"], "state": 7, "expires": "2026-11-22T12:00:00Z" } }
]
`;

describe("parseRequests", () => {
  it("reads id, user, sorted roles, the numeric or named state and the access expiry", () => {
    const parsed = parseRequests(LISTED);
    assert.ok(parsed.ok);
    assert.deepEqual(
      parsed.value.map((r) => [r.id, r.user, r.roles, r.state, r.expires.toISO(), r.pendingUntil?.toISO()]),
      [
        [
          "a1",
          "alice",
          ["db-admin", "k8s-admin"],
          "PENDING",
          "2026-11-22T17:55:00.123Z",
          "2026-11-22T10:55:00.000Z",
        ],
        ["a2", "bob", ["db-admin"], "APPROVED", "2026-11-22T12:00:00.000Z", undefined],
        // A request of resources has no roles; a state left out (0) is NONE; an unknown one too.
        ["a3", "carol", [], "DENIED", "2026-11-22T12:00:00.000Z", undefined],
        ["a4", "dave", [], "NONE", "2026-11-22T12:00:00.000Z", undefined],
        ["a5", "erin", ["x"], "NONE", "2026-11-22T12:00:00.000Z", undefined],
      ],
    );
  });

  it("takes [] and null as no requests", () => {
    assert.deepEqual(parseRequests("[]\n"), { ok: true, value: [] });
    assert.deepEqual(parseRequests("null"), { ok: true, value: [] });
  });

  it("refuses what is not the list, saying what it got", () => {
    assert.deepEqual(parseRequests("Token  Requestor  Metadata\n-----  ---------\n"), {
      ok: false,
      error: "tctl requests ls did not print JSON (Token  Requestor  Metadata)",
    });
    assert.deepEqual(parseRequests(""), {
      ok: false,
      error: "tctl requests ls did not print JSON (nothing)",
    });
    assert.deepEqual(parseRequests('{"kind":"access_request"}'), {
      ok: false,
      error:
        "tctl requests ls printed JSON that is not the list expected (: Invalid input: expected array, received object)",
    });
    const noUser = parseRequests(
      '[{"metadata":{"name":"a"},"spec":{"roles":["r"],"state":1,"expires":"2026-11-22T12:00:00Z"}}]',
    );
    assert.equal(noUser.ok, false);
    assert.match(noUser.ok ? "" : noUser.error, /0\.spec\.user/);
    const badTime = parseRequests(
      '[{"metadata":{"name":"a"},"spec":{"user":"u","state":1,"expires":"soon"}}]',
    );
    assert.match(badTime.ok ? "" : badTime.error, /0\.spec\.expires: not an RFC 3339 time/);
  });
});

describe("parseMembers", () => {
  it("lists the member users of an access list with the end of each membership, not nested lists", () => {
    const out = JSON.stringify([
      {
        kind: "access_list_member",
        metadata: { name: "alice" },
        spec: {
          access_list: "l",
          name: "alice",
          membership_kind: "MEMBERSHIP_KIND_USER",
          expires: "2026-11-22T20:00:00.5Z",
        },
      },
      {
        kind: "access_list_member",
        metadata: { name: "team" },
        spec: { access_list: "l", name: "team", membership_kind: "MEMBERSHIP_KIND_LIST" },
      },
      // Versions before nested lists print no membership_kind: a user.
      { kind: "access_list_member", metadata: { name: "bob" }, spec: { access_list: "l", name: "bob" } },
      // Go's zero time: a membership without an end.
      {
        kind: "access_list_member",
        metadata: { name: "carol" },
        spec: { access_list: "l", name: "carol", expires: "0001-01-01T00:00:00Z" },
      },
    ]);
    const parsed = parseMembers(out);
    assert.ok(parsed.ok);
    assert.deepEqual(
      parsed.value.map((m) => [m.name, m.expires?.toISO() ?? null]),
      [
        ["alice", "2026-11-22T20:00:00.500Z"],
        ["bob", null],
        ["carol", null],
      ],
    );
    assert.deepEqual(parseMembers("[]"), { ok: true, value: [] });
    assert.deepEqual(parseMembers("No members found for access list l"), {
      ok: false,
      error: "tctl acl users ls did not print JSON (No members found for access list l)",
    });
  });
});

describe("lockTtl", () => {
  it("is whole minutes rounded up, at least one, in Go's duration syntax", () => {
    assert.equal(lockTtl(40 * 60_000), "40m");
    assert.equal(lockTtl(40 * 60_000 + 1), "41m");
    assert.equal(lockTtl(10 * 3_600_000 + 45 * 60_000), "10h45m");
    assert.equal(lockTtl(8 * 3_600_000), "8h0m");
    assert.equal(lockTtl(1), "1m");
    assert.equal(lockTtl(0), "1m");
    assert.equal(lockTtl(-3_600_000), "1m");
  });
});
