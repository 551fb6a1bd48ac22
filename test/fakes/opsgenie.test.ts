import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startFakeOpsgenie, type FakeOpsgenie, type FakeOpsgenieOptions } from "./opsgenie.js";

// The fake itself: strict auth, the Opsgenie envelope, timeline windows, team scoping, rate limits.
const KEY = "og-fake-key-0000";
const AUTH = { Authorization: `GenieKey ${KEY}` };
const S1 = "a1b2c3d4-0000-4000-8000-000000000001";
const S2 = "a1b2c3d4-0000-4000-8000-000000000002";

type Body = Record<string, unknown> & {
  data?: Record<string, unknown> & { finalTimeline?: { rotations: Record<string, unknown>[] } };
};

async function get(
  fake: FakeOpsgenie,
  pathAndQuery: string,
  headers: Record<string, string> = AUTH,
): Promise<{ status: number; headers: Headers; body: Body }> {
  const res = await fetch(fake.url + pathAndQuery, { headers });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text === "" ? {} : (JSON.parse(text) as Body) };
}

const base: FakeOpsgenieOptions = {
  key: KEY,
  users: [
    { id: "u-alice", username: "alice@example.com", fullName: "Alice" },
    { id: "u-bob", username: "bob@example.com" },
    { id: "u-carol", username: "carol@example.com" },
  ],
  teams: [
    { id: "t-sre", name: "SRE", memberIds: ["u-bob", "u-carol"], adminIds: ["u-bob"] },
    { id: "t-web", name: "Web", memberIds: ["u-alice"] },
  ],
  schedules: [
    {
      id: S1,
      name: "DBA Primary",
      timezone: "Europe/Berlin",
      ownerTeamId: "t-sre",
      rotations: [
        {
          id: "r-weekly",
          name: "Weekly",
          periods: [
            {
              start: "2026-11-16T08:00:00Z",
              end: "2026-11-22T12:00:00Z",
              recipient: { type: "user", userId: "u-alice" },
            },
            {
              start: "2026-11-22T12:00:00Z",
              end: "2026-11-22T18:00:00Z",
              type: "override",
              recipient: { type: "user", userId: "u-carol" },
            },
            {
              start: "2026-11-22T18:00:00Z",
              end: "2026-11-23T08:00:00Z",
              type: "forwarding",
              fromUserId: "u-alice",
              recipient: { type: "user", userId: "u-bob" },
            },
          ],
        },
        {
          id: "r-team",
          name: "Team",
          order: 2,
          periods: [
            {
              start: "2026-12-01T00:00:00Z",
              end: "2026-12-02T00:00:00Z",
              recipient: { type: "team", teamId: "t-sre" },
            },
          ],
        },
      ],
    },
    { id: S2, name: "Web", ownerTeamId: "t-web", rotations: [] },
  ],
};

describe("fake Opsgenie", () => {
  let fake: FakeOpsgenie;
  before(async () => {
    fake = await startFakeOpsgenie(structuredClone(base));
  });
  after(() => fake.close());

  it("refuses a wrong or missing key with 401 and the Opsgenie error envelope", async () => {
    const wrong: Record<string, string>[] = [
      { Authorization: "GenieKey nope" },
      { Authorization: `Bearer ${KEY}` },
      {},
    ];
    for (const headers of wrong) {
      const res = await get(fake, "/v2/schedules", headers);
      assert.equal(res.status, 401);
      assert.equal(typeof res.body.message, "string");
      assert.equal(res.body.took, 0);
      assert.match(String(res.body.requestId), /^[0-9a-f-]{36}$/);
      assert.equal(res.headers.get("x-request-id"), res.body.requestId);
    }
  });

  it("lists schedules with the envelope and expandable", async () => {
    const res = await get(fake, "/v2/schedules");
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.expandable, ["rotation"]);
    assert.equal(typeof res.body.took, "number");
    assert.deepEqual(
      (res.body.data as unknown as { id: string; name: string; ownerTeam: unknown }[]).map((s) => [
        s.id,
        s.name,
        s.ownerTeam,
      ]),
      [
        [S1, "DBA Primary", { id: "t-sre", name: "SRE" }],
        [S2, "Web", { id: "t-web", name: "Web" }],
      ],
    );
  });

  it("computes the timeline window from date, interval and intervalUnit in the schedule's zone", async () => {
    // 10:00Z on the 22nd is 11:00 in Berlin: the day starts at 23:00Z on the 21st.
    const days = await get(
      fake,
      `/v2/schedules/${S1}/timeline?identifierType=id&interval=2&intervalUnit=days&date=2026-11-22T10:00:00Z`,
    );
    assert.equal(days.status, 200);
    assert.equal(days.body.data?.startDate, "2026-11-21T23:00:00Z");
    assert.equal(days.body.data?.endDate, "2026-11-23T23:00:00Z");
    assert.deepEqual(days.body.data?._parent, { id: S1, name: "DBA Primary", enabled: true });
    assert.deepEqual(days.body.expandable, ["base", "forwarding", "override"]);
    const periods = days.body.data?.finalTimeline?.rotations[0]?.periods as Record<string, unknown>[];
    assert.deepEqual(periods, [
      // cut at the timeline's start
      {
        startDate: "2026-11-21T23:00:00Z",
        endDate: "2026-11-22T12:00:00Z",
        type: "default",
        recipient: { id: "u-alice", type: "user", name: "alice@example.com" },
      },
      {
        startDate: "2026-11-22T12:00:00Z",
        endDate: "2026-11-22T18:00:00Z",
        type: "override",
        recipient: { id: "u-carol", type: "user", name: "carol@example.com" },
      },
      {
        startDate: "2026-11-22T18:00:00Z",
        endDate: "2026-11-23T08:00:00Z",
        type: "forwarding",
        recipient: { id: "u-bob", type: "user", name: "bob@example.com" },
        fromUser: "alice@example.com",
      },
    ]);
    // a rotation with nothing in the window comes without periods
    assert.deepEqual(days.body.data?.finalTimeline?.rotations[1], { id: "r-team", name: "Team", order: 2 });

    // defaults: one week from the Monday (Berlin) that holds the date
    const week = await get(fake, `/v2/schedules/${S1}/timeline?date=2026-11-22T10:00:00Z`);
    assert.equal(week.body.data?.startDate, "2026-11-15T23:00:00Z");
    assert.equal(week.body.data?.endDate, "2026-11-22T23:00:00Z");

    const month = await get(
      fake,
      `/v2/schedules/DBA%20Primary/timeline?identifierType=name&intervalUnit=months&date=2026-11-22T10:00:00%2B01:00`,
    );
    assert.equal(month.body.data?.startDate, "2026-10-31T23:00:00Z");
    assert.equal(month.body.data?.endDate, "2026-11-30T23:00:00Z");
    const team = month.body.data?.finalTimeline?.rotations[1]?.periods;
    assert.equal(team, undefined);
    assert.deepEqual(fake.unexpected, []);
  });

  it("renders team recipients with their name, and expands teams through /v2/teams/{id}", async () => {
    const tl = await get(
      fake,
      `/v2/schedules/${S1}/timeline?interval=1&intervalUnit=days&date=2026-12-01T00:00:00Z`,
    );
    const rot = tl.body.data?.finalTimeline?.rotations[1] as { periods: Record<string, unknown>[] };
    assert.deepEqual(rot.periods[0]?.recipient, { id: "t-sre", type: "team", name: "SRE" });
    const team = await get(fake, "/v2/teams/t-sre?identifierType=id");
    assert.equal(team.status, 200);
    assert.deepEqual(team.body.data, {
      id: "t-sre",
      name: "SRE",
      description: "",
      members: [
        { user: { id: "u-bob", username: "bob@example.com" }, role: "admin" },
        { user: { id: "u-carol", username: "carol@example.com" }, role: "user" },
      ],
    });
    const user = await get(fake, "/v2/users/alice@example.com");
    assert.equal((user.body.data as { id: string }).id, "u-alice");
  });

  it("answers 400 for unknown or bad parameters, 404 for unknown paths, and records them", async () => {
    const before = fake.unexpected.length;
    const cases: [string, number][] = [
      [`/v2/schedules/${S1}/timeline?since=2026-11-22T00:00:00Z`, 400],
      [`/v2/schedules/${S1}/timeline?intervalUnit=hours`, 400],
      [`/v2/schedules/${S1}/timeline?interval=0`, 400],
      // an unencoded "+" arrives as a space
      [`/v2/schedules/${S1}/timeline?date=2026-11-22T10:00:00+01:00`, 400],
      [`/v2/schedules/${S1}/on-calls`, 404],
      ["/v1/json/schedule", 404],
    ];
    for (const [path, status] of cases) {
      const res = await get(fake, path);
      assert.equal(res.status, status, path);
      assert.equal(typeof res.body.message, "string");
      assert.equal(typeof res.body.requestId, "string");
    }
    assert.equal(fake.unexpected.length - before, cases.length);
    const missing = await get(fake, "/v2/schedules/nope/timeline");
    assert.equal(missing.status, 404);
    fake.unexpected.length = 0;
  });

  it("plays scripted faults once each, in order, including 429 with and without headers", async () => {
    const path = `/v2/schedules/${S2}/timeline`;
    fake.fault(
      path,
      { kind: "throttle", periodSec: 60 },
      { kind: "throttle", headers: false },
      { kind: "non-json" },
    );
    const a = await get(fake, path);
    assert.equal(a.status, 429);
    assert.equal(a.headers.get("x-ratelimit-state"), "THROTTLED");
    assert.equal(a.headers.get("x-ratelimit-reason"), "ACCOUNT");
    assert.equal(a.headers.get("x-ratelimit-period-in-sec"), "60");
    const b = await fetch(fake.url + path, { headers: AUTH });
    assert.equal(b.status, 429);
    assert.equal(b.headers.get("x-ratelimit-state"), null);
    assert.equal(await b.text(), "");
    const c = await fetch(fake.url + path, { headers: AUTH });
    assert.match(c.headers.get("content-type") ?? "", /text\/html/);
    await c.text();
    assert.equal((await get(fake, path)).status, 200);
    assert.deepEqual(fake.countByPath()[path], 4);
  });
});

describe("fake Opsgenie: team-scoped key and rate limit", () => {
  it("a team's key sees only its team's schedules; others are 403 code 40301", async () => {
    const fake = await startFakeOpsgenie({ ...structuredClone(base), keyTeamId: "t-web" });
    try {
      const list = await get(fake, "/v2/schedules");
      assert.deepEqual(
        (list.body.data as unknown as { id: string }[]).map((s) => s.id),
        [S2],
      );
      const other = await get(fake, `/v2/schedules/${S1}/timeline`);
      assert.equal(other.status, 403);
      assert.equal(other.body.code, 40301);
      assert.equal((await get(fake, "/v2/teams/t-sre")).status, 403);
      assert.equal((await get(fake, `/v2/schedules/${S2}/timeline`)).status, 200);
    } finally {
      await fake.close();
    }
  });

  it("throttles past the limit with the X-RateLimit-* headers", async () => {
    let now = Date.parse("2026-11-22T10:00:00Z");
    const fake = await startFakeOpsgenie({
      ...structuredClone(base),
      rateLimit: { limit: 2, periodSec: 1, reason: "INTEGRATION" },
      now: () => now,
    });
    try {
      assert.equal((await get(fake, "/v2/schedules")).status, 200);
      const ok = await get(fake, "/v2/schedules");
      assert.equal(ok.headers.get("x-ratelimit-state"), "OK");
      const limited = await get(fake, "/v2/schedules");
      assert.equal(limited.status, 429);
      assert.equal(limited.headers.get("x-ratelimit-state"), "THROTTLED");
      assert.equal(limited.headers.get("x-ratelimit-reason"), "INTEGRATION");
      assert.equal(limited.headers.get("x-ratelimit-period-in-sec"), "1");
      now += 1001;
      assert.equal((await get(fake, "/v2/schedules")).status, 200);
    } finally {
      await fake.close();
    }
  });

  it("caps the timeline at maxTimelineDays when asked to", async () => {
    const fake = await startFakeOpsgenie({ ...structuredClone(base), maxTimelineDays: 3 });
    try {
      const res = await get(
        fake,
        `/v2/schedules/${S2}/timeline?interval=8&intervalUnit=days&date=2026-11-22T10:00:00Z`,
      );
      assert.equal(res.body.data?.startDate, "2026-11-22T00:00:00Z");
      assert.equal(res.body.data?.endDate, "2026-11-25T00:00:00Z");
    } finally {
      await fake.close();
    }
  });
});
