import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  rateLimited,
  startFakeIncidentio,
  type FakeIncidentio,
  type FakeIncidentioOptions,
} from "./incidentio.js";

// The fake itself, against incident.io's documented behaviour: what a client sees on the wire.

const KEY = "inc_test_0123456789abcdef";
const AUTH = { Authorization: `Bearer ${KEY}` };

type Body = Record<string, unknown>;
type Entry = Record<string, unknown> & { user?: Record<string, unknown> };
type Entries = { final: Entry[]; overrides: Entry[]; scheduled: Entry[] };

async function get(
  fake: FakeIncidentio,
  pathAndQuery: string,
  headers: Record<string, string> = AUTH,
): Promise<{ status: number; headers: Headers; body: Body }> {
  const res = await fetch(fake.url + pathAndQuery, { headers });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text === "" ? {} : (JSON.parse(text) as Body) };
}

const entriesQuery = (id: string, start: string, end: string) =>
  `/v2/schedule_entries?schedule_id=${id}&entry_window_start=${encodeURIComponent(start)}&entry_window_end=${encodeURIComponent(end)}`;

const base: FakeIncidentioOptions = {
  key: KEY,
  users: [
    { id: "U1ALICE", name: "Alice", email: "alice@example.com", slackUserId: "U02ALICE" },
    { id: "U2BOB", name: "Bob", email: "bob@example.com", emailInEntries: false },
    { id: "U3CAROL", name: "Carol" },
  ],
  schedules: [
    {
      id: "01SCHEDPRIMARY",
      name: "Primary",
      scheduled: [
        { userId: "U1ALICE", start: "2026-11-22T09:00:00Z", end: "2026-11-23T09:00:00Z" },
        { userId: "U2BOB", start: "2026-11-23T09:00:00Z", end: "2026-11-24T09:00:00Z" },
      ],
      // Bob takes 12:00-18:00 of Alice's day
      overrides: [
        { userId: "U2BOB", start: "2026-11-22T12:00:00Z", end: "2026-11-22T18:00:00Z", id: "OVR1" },
      ],
    },
    { id: "01SCHEDSECOND", name: "Secondary", scheduled: [] },
  ],
};

describe("fake incident.io", () => {
  let fake: FakeIncidentio;
  before(async () => {
    fake = await startFakeIncidentio(base);
  });
  after(() => fake.close());

  it("401s without the Bearer key, with incident.io's error envelope", async () => {
    const none = await get(fake, "/v2/schedules", {});
    assert.equal(none.status, 401);
    assert.equal(none.body.type, "authentication_error");
    assert.equal(none.body.status, 401);
    assert.equal(typeof none.body.request_id, "string");
    assert.deepEqual(none.body.errors, [
      { code: "missing_authorization_material", message: "No authorization material provided in request" },
    ]);
    for (const auth of [`Bearer ${KEY}x`, `Token token=${KEY}`, KEY, `bearer${KEY}`]) {
      const res = await get(fake, "/v2/schedules", { Authorization: auth });
      assert.equal(res.status, 401, auth);
      assert.equal(res.body.type, "authentication_error");
    }
  });

  it("computes final from scheduled and overrides; entries overlap the window and come back whole", async () => {
    const res = await get(
      fake,
      entriesQuery("01SCHEDPRIMARY", "2026-11-22T10:00:00Z", "2026-11-23T10:00:00Z"),
    );
    assert.equal(res.status, 200);
    assert.equal(res.body.pagination_meta, undefined);
    const e = res.body.schedule_entries as Entries;
    const brief = (list: Entry[]) => list.map((x) => [x.user?.id, x.start_at, x.end_at]);
    assert.deepEqual(brief(e.final), [
      ["U1ALICE", "2026-11-22T09:00:00.000000Z", "2026-11-22T12:00:00.000000Z"],
      ["U2BOB", "2026-11-22T12:00:00.000000Z", "2026-11-22T18:00:00.000000Z"],
      ["U1ALICE", "2026-11-22T18:00:00.000000Z", "2026-11-23T09:00:00.000000Z"],
      ["U2BOB", "2026-11-23T09:00:00.000000Z", "2026-11-24T09:00:00.000000Z"],
    ]);
    assert.deepEqual(brief(e.scheduled), [
      ["U1ALICE", "2026-11-22T09:00:00.000000Z", "2026-11-23T09:00:00.000000Z"],
      ["U2BOB", "2026-11-23T09:00:00.000000Z", "2026-11-24T09:00:00.000000Z"],
    ]);
    assert.deepEqual(brief(e.overrides), [
      ["U2BOB", "2026-11-22T12:00:00.000000Z", "2026-11-22T18:00:00.000000Z"],
    ]);
    // entry_id: absent on scheduled entries, the override's id on overrides
    assert.ok(e.scheduled.every((x) => !("entry_id" in x) && typeof x.fingerprint === "string"));
    assert.equal(e.overrides[0]?.entry_id, "OVR1");
    assert.equal(e.final[1]?.entry_id, "OVR1");
    // embedded users: email unless the user has none or emailInEntries is false
    assert.deepEqual(e.final[0]?.user, {
      id: "U1ALICE",
      name: "Alice",
      email: "alice@example.com",
      role: "viewer",
      slack_user_id: "U02ALICE",
    });
    assert.deepEqual(e.final[1]?.user, { id: "U2BOB", name: "Bob", role: "viewer" });
    // an entry that ends exactly at the window start does not overlap
    const later = await get(
      fake,
      entriesQuery("01SCHEDPRIMARY", "2026-11-24T09:00:00Z", "2026-11-25T09:00:00Z"),
    );
    assert.deepEqual((later.body.schedule_entries as Entries).final, []);
    assert.deepEqual(fake.unexpected, []);
  });

  it("422s a missing schedule_id (recorded), 404s an unknown schedule, 422s a bad or too long window", async () => {
    const missing = await get(fake, "/v2/schedule_entries?entry_window_start=2026-11-22T10:00:00Z");
    assert.equal(missing.status, 422);
    assert.equal(missing.body.type, "validation_error");
    assert.deepEqual((missing.body.errors as Body[])[0]?.source, { field: "schedule_id" });
    assert.equal(fake.unexpected.length, 1);
    fake.unexpected.length = 0;

    const unknown = await get(fake, entriesQuery("01NOPE", "2026-11-22T10:00:00Z", "2026-11-23T10:00:00Z"));
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.type, "not_found");

    const badTime = await get(fake, entriesQuery("01SCHEDPRIMARY", "tomorrow", "2026-11-23T10:00:00Z"));
    assert.equal(badTime.status, 422);
    const reversed = await get(
      fake,
      entriesQuery("01SCHEDPRIMARY", "2026-11-23T10:00:00Z", "2026-11-22T10:00:00Z"),
    );
    assert.equal(reversed.status, 422);
    const long = await get(
      fake,
      entriesQuery("01SCHEDPRIMARY", "2026-01-01T00:00:00Z", "2026-04-03T00:00:00Z"),
    );
    assert.equal(long.status, 422);
    assert.equal(fake.unexpected.length, 3);
    fake.unexpected.length = 0;
  });

  it("404s an unknown path and records it", async () => {
    const res = await get(fake, "/v2/oncall");
    assert.equal(res.status, 404);
    assert.deepEqual(fake.unexpected, ["GET /v2/oncall: no such endpoint in the fake"]);
    fake.unexpected.length = 0;
  });

  it("GET /v2/users/{id}: email only when the user has one; 404 for an unknown user", async () => {
    const bob = await get(fake, "/v2/users/U2BOB");
    assert.equal((bob.body.user as Body).email, "bob@example.com");
    const carol = await get(fake, "/v2/users/U3CAROL");
    assert.equal(carol.status, 200);
    assert.equal("email" in (carol.body.user as Body), false);
    const nobody = await get(fake, "/v2/users/U9NOBODY");
    assert.equal(nobody.status, 404);
  });

  it("GET /v2/schedules pages with page_size and the after cursor; next_shifts only up to 25 a page", async () => {
    const first = await get(fake, "/v2/schedules?page_size=1");
    assert.deepEqual(
      (first.body.schedules as Body[]).map((s) => s.id),
      ["01SCHEDPRIMARY"],
    );
    assert.deepEqual(first.body.pagination_meta, {
      after: "01SCHEDPRIMARY",
      page_size: 1,
      total_record_count: 2,
    });
    assert.ok("next_shifts" in ((first.body.schedules as Body[])[0] as Body));
    const second = await get(fake, "/v2/schedules?page_size=1&after=01SCHEDPRIMARY");
    assert.deepEqual(
      (second.body.schedules as Body[]).map((s) => s.name),
      ["Secondary"],
    );
    assert.deepEqual(second.body.pagination_meta, { page_size: 1, total_record_count: 2 });
    const big = await get(fake, "/v2/schedules?page_size=100");
    assert.equal("next_shifts" in ((big.body.schedules as Body[])[0] as Body), false);
    const tooBig = await get(fake, "/v2/schedules?page_size=251");
    assert.equal(tooBig.status, 422);
    fake.unexpected.length = 0;
  });
});

describe("fake incident.io: the cursor paging quirk", () => {
  const hours = Array.from({ length: 30 }, (_, i) => ({
    userId: i % 2 === 0 ? "U1ALICE" : "U2BOB",
    start: new Date(Date.parse("2026-11-22T00:00:00Z") + i * 3_600_000).toISOString(),
    end: new Date(Date.parse("2026-11-22T00:00:00Z") + (i + 1) * 3_600_000).toISOString(),
  }));
  let fake: FakeIncidentio;
  before(async () => {
    fake = await startFakeIncidentio({
      ...base,
      pageSize: 7,
      schedules: [{ id: "01HOURLY", name: "Hourly", scheduled: hours }],
    });
  });
  after(() => fake.close());

  it("hands out an opaque cursor to send back as entry_window_start, until pagination_meta is absent", async () => {
    const start = "2026-11-22T00:00:00Z";
    const end = "2026-11-23T00:00:00Z";
    let query = entriesQuery("01HOURLY", start, end);
    const final: Entry[] = [];
    let pages = 0;
    for (;;) {
      const res = await get(fake, query);
      assert.equal(res.status, 200);
      pages++;
      final.push(...(res.body.schedule_entries as Entries).final);
      const meta = res.body.pagination_meta as { after: string; after_url: string } | undefined;
      if (!meta) break;
      assert.equal(typeof meta.after, "string");
      assert.ok(meta.after_url.includes(encodeURIComponent(meta.after)));
      query = entriesQuery("01HOURLY", meta.after, end);
    }
    // 24 final + 24 scheduled entries overlap the window: 48 entries, 7 a page
    assert.equal(pages, 7);
    assert.equal(final.length, 24);
    assert.deepEqual(
      final.map((e) => e.start_at),
      hours.slice(0, 24).map((h) => h.start.replace(".000Z", ".000000Z")),
    );
    assert.deepEqual(fake.unexpected, []);
  });

  it("after_url works as is", async () => {
    const res = await get(fake, entriesQuery("01HOURLY", "2026-11-22T00:00:00Z", "2026-11-23T00:00:00Z"));
    const meta = res.body.pagination_meta as { after_url: string };
    const next = await fetch(meta.after_url, { headers: AUTH });
    assert.equal(next.status, 200);
  });

  it("rejects a cursor sent with another entry_window_end (recorded)", async () => {
    const res = await get(fake, entriesQuery("01HOURLY", "2026-11-22T00:00:00Z", "2026-11-23T00:00:00Z"));
    const { after: cursor } = res.body.pagination_meta as { after: string };
    const bad = await get(fake, entriesQuery("01HOURLY", cursor, "2026-11-23T01:00:00Z"));
    assert.equal(bad.status, 422);
    assert.equal(fake.unexpected.length, 1);
    fake.unexpected.length = 0;
  });
});

describe("fake incident.io: rate limits and faults", () => {
  it("over the limit: 429 with Retry-After, X-RateLimit-* and the documented body", async () => {
    const fake = await startFakeIncidentio({ ...base, rateLimitPerMinute: 2 });
    try {
      const ok = await get(fake, "/v2/schedules");
      assert.equal(ok.headers.get("x-ratelimit-limit"), "2, 2;window=60");
      assert.equal(ok.headers.get("x-ratelimit-remaining"), "1");
      assert.equal(ok.headers.get("x-ratelimit-used"), "1");
      assert.match(ok.headers.get("x-ratelimit-reset") ?? "", /^\d{10}$/);
      await get(fake, "/v2/schedules");
      const limited = await get(fake, "/v2/schedules");
      assert.equal(limited.status, 429);
      assert.match(limited.headers.get("retry-after") ?? "", /^\d+$/);
      assert.equal(limited.body.type, "too_many_requests");
      assert.equal(limited.body.status, 429);
      assert.equal((limited.body.rate_limit as Body).remaining, 0);
      assert.match(
        String((limited.body.rate_limit as Body).retry_after),
        /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/,
      );
      assert.equal((limited.body.errors as Body[])[0]?.code, "too_many_requests");
    } finally {
      await fake.close();
    }
  });

  it("scripted faults: rateLimited(), a JSON body (static or from the normal answer), non-JSON", async () => {
    const fake = await startFakeIncidentio(base);
    try {
      fake.fault("/v2/schedules", rateLimited(3), rateLimited(null));
      const withHeaders = await get(fake, "/v2/schedules");
      assert.equal(withHeaders.status, 429);
      assert.equal(withHeaders.headers.get("retry-after"), "3");
      assert.equal(withHeaders.headers.get("x-ratelimit-remaining"), "0");
      const bare = await get(fake, "/v2/schedules");
      assert.equal(bare.status, 429);
      assert.equal(bare.headers.get("retry-after"), null);
      assert.equal(bare.body.type, "too_many_requests");

      fake.fault(
        "/v2/schedules",
        { kind: "json", body: { nope: true } },
        { kind: "json", from: (_req, normal) => ({ ...(normal as Body), extra: 1 }) },
      );
      assert.deepEqual((await get(fake, "/v2/schedules")).body, { nope: true });
      const derived = await get(fake, "/v2/schedules");
      assert.equal(derived.body.extra, 1);
      assert.equal((derived.body.schedules as Body[]).length, 2);

      fake.fault("/v2/schedules", { kind: "non-json" });
      const html = await fetch(`${fake.url}/v2/schedules`, { headers: AUTH });
      assert.match(html.headers.get("content-type") ?? "", /text\/html/);
      assert.deepEqual(fake.countByPath(), { "/v2/schedules": 5 });
    } finally {
      await fake.close();
    }
  });
});
