import { test } from "node:test";
import assert from "node:assert/strict";
import {
  PD_ACCEPT,
  startFakePagerDuty,
  type FakeOncall,
  type FakePagerDuty,
  type FakePagerDutyOptions,
} from "./pagerduty.js";

const TOKEN = "u+fake-token";
const HEADERS = { Accept: PD_ACCEPT, Authorization: `Token token=${TOKEN}` };

type Body = Record<string, unknown> & { error?: { message: string; code?: number } };

async function get(
  fake: FakePagerDuty,
  pathAndQuery: string,
  headers: Record<string, string> = HEADERS,
): Promise<{ status: number; headers: Headers; body: Body }> {
  const res = await fetch(fake.url + pathAndQuery, { headers });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text === "" ? {} : (JSON.parse(text) as Body) };
}

const base: FakePagerDutyOptions = {
  token: TOKEN,
  users: [
    { id: "PALICE", name: "Alice Adams", email: "alice@example.com" },
    { id: "PBOB", name: "Bob Brown", email: "bob@example.com", omitEmailInInclude: true },
    { id: "PCAROL", name: "Carol Chen", email: "carol@example.com" },
  ],
  schedules: [
    { id: "PSCHED1", name: "Platform Primary", timeZone: "Europe/Berlin", escalationPolicyIds: ["PEP1"] },
    { id: "PSCHED2", name: "Platform Secondary", escalationPolicyIds: ["PEP1"] },
    { id: "PLONELY", name: "Database shadow", escalationPolicyIds: [] },
  ],
  oncalls: [
    // starts before the window used below: must come back whole
    {
      userId: "PALICE",
      scheduleId: "PSCHED1",
      escalationPolicyId: "PEP1",
      level: 1,
      start: "2026-11-21T09:00:00Z",
      end: "2026-11-22T09:00:00Z",
    },
    {
      userId: "PBOB",
      scheduleId: "PSCHED1",
      escalationPolicyId: "PEP1",
      level: 1,
      start: "2026-11-22T09:00:00Z",
      end: "2026-11-23T09:00:00Z",
    },
    {
      userId: "PCAROL",
      scheduleId: "PSCHED2",
      escalationPolicyId: "PEP1",
      level: 2,
      start: "2026-11-22T00:00:00Z",
      end: "2026-11-29T00:00:00Z",
      scheduleType: "schedule_v3_reference",
    },
    // ends exactly at the window start: excluded
    {
      userId: "PCAROL",
      scheduleId: "PSCHED1",
      escalationPolicyId: "PEP1",
      level: 1,
      start: "2026-11-20T09:00:00Z",
      end: "2026-11-21T09:00:00Z",
    },
    // direct user target: permanent, no schedule
    { userId: "PCAROL", scheduleId: null, escalationPolicyId: "PEP2", level: 3, start: null, end: null },
    // schedule in no escalation policy: never listed by /oncalls
    {
      userId: "PALICE",
      scheduleId: "PLONELY",
      escalationPolicyId: "PEP9",
      level: 1,
      start: "2026-11-21T00:00:00Z",
      end: "2026-11-30T00:00:00Z",
    },
  ],
  finalEntries: [
    { scheduleId: "PLONELY", userId: "PALICE", start: "2026-11-21T00:00:00Z", end: "2026-11-22T12:00:00Z" },
    { scheduleId: "PLONELY", userId: "PBOB", start: "2026-11-22T12:00:00Z", end: "2026-11-24T00:00:00Z" },
  ],
  incidents: [
    {
      id: "PINC1",
      number: 101,
      title: "DB down",
      serviceId: "PSVC1",
      status: "acknowledged",
      acknowledgements: [{ at: "2026-11-21T10:00:00Z", by: { type: "user", userId: "PALICE" } }],
      createdAt: "2026-11-21T09:55:00Z",
    },
    {
      id: "PINC2",
      number: 102,
      title: "Disk full",
      serviceId: "PSVC2",
      status: "acknowledged",
      acknowledgements: [{ at: "2026-11-21T11:00:00Z", by: { type: "service", serviceId: "PSVC2" } }],
      createdAt: "2026-11-21T10:55:00Z",
    },
    {
      id: "PINC3",
      number: 103,
      title: "Old",
      serviceId: "PSVC1",
      status: "resolved",
      acknowledgements: [{ at: "2026-11-21T12:00:00Z", by: { type: "user", userId: "PBOB" } }],
      createdAt: "2026-11-21T11:55:00Z",
    },
  ],
  services: [{ id: "PSVC2", name: "Storage" }],
};

const WINDOW = "since=2026-11-21T09:00:00Z&until=2026-11-22T12:00:00Z";

async function withFake(
  opts: Partial<FakePagerDutyOptions>,
  fn: (fake: FakePagerDuty) => Promise<void>,
): Promise<void> {
  const fake = await startFakePagerDuty({ ...base, ...opts });
  try {
    await fn(fake);
  } finally {
    await fake.close();
  }
}

type OncallOut = {
  user: Record<string, unknown>;
  schedule: Record<string, unknown> | null;
  escalation_policy: Record<string, unknown>;
  escalation_level: number;
  start: string | null;
  end: string | null;
};
const oncallsOf = (b: Body): OncallOut[] => b.oncalls as OncallOut[];

test("auth: 401 for a wrong or missing token, 406 for a wrong Accept; no Content-Type needed", async () => {
  await withFake({}, async (fake) => {
    for (const authorization of [
      undefined,
      `Token token=nope`,
      `Bearer ${TOKEN}`,
      `Token token="${TOKEN}"`,
    ]) {
      const headers: Record<string, string> = { Accept: PD_ACCEPT };
      if (authorization !== undefined) headers.Authorization = authorization;
      const r = await get(fake, `/users/PALICE`, headers);
      assert.equal(r.status, 401);
      assert.deepEqual(r.body, { error: { message: "Authentication failed", code: 2006 } });
      assert.match(r.headers.get("content-type") ?? "", /^application\/json/);
    }
    assert.deepEqual(fake.unexpected, []);

    const r406 = await get(fake, `/users/PALICE`, {
      Accept: "application/json",
      Authorization: HEADERS.Authorization,
    });
    assert.equal(r406.status, 406);
    assert.equal(fake.unexpected.length, 1);
    fake.unexpected.length = 0;

    const ok = await get(fake, `/users/PALICE`);
    assert.equal(ok.status, 200);
    assert.equal((ok.body.user as { email: string }).email, "alice@example.com");
    assert.deepEqual(fake.unexpected, []);
    assert.equal(fake.requests.length, 6);
    assert.equal(fake.requests[5]?.headers["content-type"], undefined);
  });
});

test("paging: 250 entries at limit 100 take 3 pages; total only with total=true; default limit 25", async () => {
  const many: FakeOncall[] = Array.from({ length: 250 }, (_, i) => ({
    userId: "PALICE",
    scheduleId: "PSCHED1",
    escalationPolicyId: "PEP1",
    level: 1,
    start: new Date(Date.UTC(2026, 10, 1) + i * 3_600_000).toISOString(),
    end: new Date(Date.UTC(2026, 10, 1) + (i + 1) * 3_600_000).toISOString(),
  }));
  await withFake({ oncalls: many }, async (fake) => {
    const q =
      "/oncalls?schedule_ids[]=PSCHED1&since=2026-11-01T00:00:00Z&until=2026-11-30T00:00:00Z&time_zone=UTC";
    const seen: string[] = [];
    const mores: boolean[] = [];
    for (let offset = 0, more = true; more; offset += 100) {
      const r = await get(fake, `${q}&limit=100&offset=${offset}`);
      assert.equal(r.status, 200);
      assert.equal(r.body.limit, 100);
      assert.equal(r.body.offset, offset);
      assert.equal(r.body.total, null);
      more = r.body.more as boolean;
      mores.push(more);
      for (const o of oncallsOf(r.body)) seen.push(o.start ?? "");
    }
    assert.deepEqual(mores, [true, true, false]);
    assert.equal(seen.length, 250);
    assert.equal(new Set(seen).size, 250);
    assert.equal(seen[0], "2026-11-01T00:00:00Z");

    const withTotal = await get(fake, `${q}&total=true`);
    assert.equal(withTotal.body.total, 250);
    assert.equal(withTotal.body.limit, 25);
    assert.equal(oncallsOf(withTotal.body).length, 25);
    assert.deepEqual(fake.unexpected, []);
    assert.deepEqual(fake.countByPath(), { "/oncalls": 4 });
  });
});

test("paging limits: limit 101, offset+limit > 10000 and non-integers are 400 code 2001", async () => {
  await withFake({}, async (fake) => {
    const r101 = await get(fake, `/oncalls?limit=101`);
    assert.equal(r101.status, 400);
    assert.equal(r101.body.error?.code, 2001);
    assert.equal(fake.unexpected.length, 1);

    assert.equal((await get(fake, `/schedules?limit=100&offset=9901`)).status, 400);
    assert.equal((await get(fake, `/schedules?limit=100&offset=9900`)).status, 200);
    assert.equal((await get(fake, `/schedules?limit=abc`)).status, 400);
    assert.equal((await get(fake, `/schedules?offset=1.5`)).status, 400);
    assert.equal((await get(fake, `/incidents?limit=200&date_range=all`)).status, 400);
    assert.equal(fake.unexpected.length, 5);
    fake.allow(/^GET \/(oncalls|schedules|incidents)\?\S+: 400 Invalid Input Provided: (limit|offset)/);
  });
});

test("oncalls: overlap returns whole entries, null schedule/start/end, EP-less schedules never listed", async () => {
  await withFake({}, async (fake) => {
    const r = await get(fake, `/oncalls?time_zone=UTC&${WINDOW}`);
    assert.equal(r.status, 200);
    const got = oncallsOf(r.body).map((o) => [o.user.id, o.schedule?.id ?? null, o.start, o.end]);
    assert.deepEqual(got, [
      ["PCAROL", null, null, null],
      ["PALICE", "PSCHED1", "2026-11-21T09:00:00Z", "2026-11-22T09:00:00Z"],
      ["PCAROL", "PSCHED2", "2026-11-22T00:00:00Z", "2026-11-29T00:00:00Z"],
      ["PBOB", "PSCHED1", "2026-11-22T09:00:00Z", "2026-11-23T09:00:00Z"],
    ]);
    const first = oncallsOf(r.body)[1];
    assert.deepEqual(first?.user, {
      id: "PALICE",
      type: "user_reference",
      summary: "Alice Adams",
      self: `${fake.url}/users/PALICE`,
      html_url: "https://shiftgrant-fake.pagerduty.com/users/PALICE",
    });
    assert.equal(first?.schedule?.type, "schedule_reference");
    assert.equal(first?.escalation_policy.type, "escalation_policy_reference");
    assert.equal(first?.escalation_level, 1);
    assert.equal(oncallsOf(r.body)[2]?.schedule?.type, "schedule_v3_reference");

    // the schedule filter drops null-schedule entries unless "null" is listed
    const filtered = await get(
      fake,
      `/oncalls?time_zone=UTC&${WINDOW}&schedule_ids[]=PSCHED1&schedule_ids[]=PLONELY`,
    );
    assert.deepEqual(
      oncallsOf(filtered.body).map((o) => o.user.id),
      ["PALICE", "PBOB"],
    );
    const withNull = await get(fake, `/oncalls?time_zone=UTC&${WINDOW}&schedule_ids[]=null`);
    assert.deepEqual(
      oncallsOf(withNull.body).map((o) => o.escalation_level),
      [3],
    );
    const byUser = await get(fake, `/oncalls?${WINDOW}&user_ids[]=PBOB&escalation_policy_ids[]=PEP1`);
    assert.deepEqual(
      oncallsOf(byUser.body).map((o) => o.user.id),
      ["PBOB"],
    );

    // an instant query (since = until) matches start <= t < end
    const instant = await get(
      fake,
      `/oncalls?since=2026-11-22T09:00:00Z&until=2026-11-22T09:00:00Z&user_ids[]=PALICE`,
    );
    assert.deepEqual(oncallsOf(instant.body), []);

    // earliest: one entry per (EP, level, user)
    fake.state.oncalls.push({
      userId: "PBOB",
      scheduleId: "PSCHED1",
      escalationPolicyId: "PEP1",
      level: 1,
      start: "2026-11-24T09:00:00Z",
      end: "2026-11-25T09:00:00Z",
    });
    const week = "since=2026-11-22T10:00:00Z&until=2026-11-29T00:00:00Z&user_ids[]=PBOB";
    assert.equal(oncallsOf((await get(fake, `/oncalls?${week}`)).body).length, 2);
    assert.equal(oncallsOf((await get(fake, `/oncalls?${week}&earliest=true`)).body).length, 1);
    assert.deepEqual(fake.unexpected, []);
  });
});

test("oncalls: since/until validation (2004, 2005) and unknown include/param", async () => {
  await withFake({ now: () => Date.parse("2026-11-22T10:00:00Z") }, async (fake) => {
    const bad = await get(fake, `/oncalls?since=yesterday&until=2026-11-22T00:00:00Z`);
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error?.code, 2004);
    // an unencoded "+" arrives as a space: invalid
    assert.equal((await get(fake, `/oncalls?since=2026-11-22T04:00:00+05:00`)).body.error?.code, 2004);
    const back = await get(fake, `/oncalls?since=2026-11-22T00:00:00Z&until=2026-11-21T00:00:00Z`);
    assert.equal(back.body.error?.code, 2005);
    const long = await get(fake, `/oncalls?since=2026-11-01T00:00:00Z&until=2027-02-01T00:00:00Z`);
    assert.equal(long.body.error?.code, 2005);
    // until defaults to now, so a future since alone is until < since
    assert.equal((await get(fake, `/oncalls?since=2026-11-23T00:00:00Z`)).body.error?.code, 2005);
    assert.equal((await get(fake, `/oncalls?include[]=teams`)).status, 400);
    assert.equal((await get(fake, `/oncalls?time_zone=Mars/Olympus`)).status, 400);
    assert.equal(fake.unexpected.length, 7);
    fake.unexpected.length = 0;

    // since=until=now by default; exactly 90 days is fine
    const now = await get(fake, `/oncalls?time_zone=UTC`);
    assert.deepEqual(
      oncallsOf(now.body).map((o) => o.user.id),
      ["PCAROL", "PCAROL", "PBOB"],
    );
    assert.equal(
      (await get(fake, `/oncalls?since=2026-09-01T00:00:00Z&until=2026-11-30T00:00:00Z`)).status,
      200,
    );
    assert.deepEqual(fake.unexpected, []);

    // unknown / unbracketed params are ignored like the real API but recorded
    const loose = await get(fake, `/oncalls?schedule_ids=PSCHED1`);
    assert.equal(loose.status, 200);
    assert.equal(fake.unexpected.length, 1);
    assert.match(fake.unexpected[0] ?? "", /schedule_ids/);
    fake.allow('unknown query parameter "schedule_ids"');
  });
});

test("oncalls: include[]=users embeds the full user with email, except omitEmailInInclude", async () => {
  await withFake({}, async (fake) => {
    const r = await get(
      fake,
      `/oncalls?${WINDOW}&schedule_ids[]=PSCHED1&include[]=users&include[]=schedules`,
    );
    const [alice, bob] = oncallsOf(r.body);
    assert.equal(alice?.user.type, "user");
    assert.equal(alice?.user.email, "alice@example.com");
    assert.equal(alice?.user.name, "Alice Adams");
    assert.equal(alice?.user.role, "user");
    assert.equal(alice?.user.time_zone, "America/New_York");
    assert.equal(bob?.user.type, "user");
    assert.equal("email" in (bob?.user ?? {}), false);
    assert.equal(alice?.schedule?.type, "schedule");
    assert.equal(alice?.schedule?.time_zone, "Europe/Berlin");
    const eps = await get(fake, `/oncalls?${WINDOW}&user_ids[]=PBOB&include[]=escalation_policies`);
    assert.equal(oncallsOf(eps.body)[0]?.escalation_policy.type, "escalation_policy");

    const follow = await get(fake, `/users/PBOB`);
    assert.equal((follow.body.user as { email: string }).email, "bob@example.com");
    assert.deepEqual(fake.unexpected, []);
  });
});

test("time zones: account default, time_zone param, UTC as Z, forceTimeZone", async () => {
  await withFake({}, async (fake) => {
    const q = `/oncalls?${WINDOW}&user_ids[]=PBOB`;
    assert.equal(oncallsOf((await get(fake, q)).body)[0]?.start, "2026-11-22T04:00:00-05:00");
    const tokyo = oncallsOf((await get(fake, `${q}&time_zone=Asia/Tokyo`)).body)[0];
    assert.deepEqual([tokyo?.start, tokyo?.end], ["2026-11-22T18:00:00+09:00", "2026-11-23T18:00:00+09:00"]);
    assert.equal(
      oncallsOf((await get(fake, `${q}&time_zone=Etc/UTC`)).body)[0]?.start,
      "2026-11-22T09:00:00Z",
    );
    // zero offset but not a UTC zone: "+00:00", not "Z"
    assert.equal(
      oncallsOf((await get(fake, `${q}&time_zone=Europe/London`)).body)[0]?.start,
      "2026-11-22T09:00:00+00:00",
    );
    // offset-less since/until are read in the requested zone
    const naive = await get(
      fake,
      `/oncalls?user_ids[]=PBOB&since=2026-11-22T04:30:00&until=2026-11-22T04:30:00`,
    );
    assert.equal(oncallsOf(naive.body).length, 1);
    assert.deepEqual(fake.unexpected, []);
  });
  await withFake({ forceTimeZone: "Asia/Kolkata", accountTimeZone: "UTC" }, async (fake) => {
    const r = await get(fake, `/oncalls?${WINDOW}&user_ids[]=PBOB&time_zone=UTC`);
    assert.equal(oncallsOf(r.body)[0]?.start, "2026-11-22T14:30:00+05:30");
    assert.deepEqual(fake.unexpected, []);
  });
});

test("schedules: query is a case-insensitive name match, with paging", async () => {
  await withFake({}, async (fake) => {
    const r = await get(fake, `/schedules?query=PLATFORM&limit=1`);
    assert.equal(r.status, 200);
    const schedules = r.body.schedules as Record<string, unknown>[];
    assert.equal(schedules.length, 1);
    assert.equal(schedules[0]?.name, "Platform Primary");
    assert.equal(schedules[0]?.type, "schedule");
    assert.equal(schedules[0]?.time_zone, "Europe/Berlin");
    assert.deepEqual(
      (schedules[0]?.escalation_policies as { id: string; type: string }[]).map((e) => [e.id, e.type]),
      [["PEP1", "escalation_policy_reference"]],
    );
    assert.equal(r.body.more, true);
    const page2 = await get(fake, `/schedules?query=platform&limit=1&offset=1`);
    assert.equal((page2.body.schedules as { name: string }[])[0]?.name, "Platform Secondary");
    assert.equal(page2.body.more, false);
    assert.equal(((await get(fake, `/schedules?query=nothing`)).body.schedules as unknown[]).length, 0);
    assert.deepEqual(fake.unexpected, []);
  });
});

test("schedules/{id}: final entries truncated at the window unless overflow=true; 404 for unknown", async () => {
  await withFake({}, async (fake) => {
    const w = "since=2026-11-22T00:00:00Z&until=2026-11-23T00:00:00Z";
    const r = await get(fake, `/schedules/PLONELY?${w}&time_zone=UTC`);
    assert.equal(r.status, 200);
    const s = r.body.schedule as {
      id: string;
      escalation_policies: unknown[];
      final_schedule: {
        name: string;
        rendered_coverage_percentage: number;
        rendered_schedule_entries: { start: string; end: string; user: Record<string, unknown> }[];
      };
    };
    assert.equal(s.id, "PLONELY");
    assert.deepEqual(s.escalation_policies, []);
    assert.equal(s.final_schedule.name, "Final Schedule");
    assert.equal(s.final_schedule.rendered_coverage_percentage, 100);
    assert.deepEqual(s.final_schedule.rendered_schedule_entries, [
      {
        start: "2026-11-22T00:00:00Z",
        end: "2026-11-22T12:00:00Z",
        user: { id: "PALICE", type: "user_reference", summary: "Alice Adams" },
      },
      {
        start: "2026-11-22T12:00:00Z",
        end: "2026-11-23T00:00:00Z",
        user: { id: "PBOB", type: "user_reference", summary: "Bob Brown" },
      },
    ]);
    const whole = await get(fake, `/schedules/PLONELY?${w}&time_zone=UTC&overflow=true`);
    const entries = (whole.body.schedule as typeof s).final_schedule.rendered_schedule_entries;
    assert.deepEqual(
      entries.map((e) => [e.start, e.end]),
      [
        ["2026-11-21T00:00:00Z", "2026-11-22T12:00:00Z"],
        ["2026-11-22T12:00:00Z", "2026-11-24T00:00:00Z"],
      ],
    );
    // default zone is the account zone for a schedule without one
    const ny = await get(fake, `/schedules/PLONELY?${w}`);
    assert.equal(
      (ny.body.schedule as typeof s).final_schedule.rendered_schedule_entries[0]?.start,
      "2026-11-21T19:00:00-05:00",
    );

    const missing = await get(fake, `/schedules/PNOPE?${w}`);
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.body, { error: { message: "Not Found", code: 2100 } });
    assert.deepEqual(fake.unexpected, []);
  });
});

test("users/{id}: full user, 404 code 2100 for unknown", async () => {
  await withFake({}, async (fake) => {
    const r = await get(fake, `/users/PCAROL`);
    assert.equal(r.status, 200);
    const u = r.body.user as Record<string, unknown>;
    assert.equal(u.type, "user");
    assert.equal(u.email, "carol@example.com");
    assert.equal(u.self, `${fake.url}/users/PCAROL`);
    const missing = await get(fake, `/users/PNOBODY`);
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.body, { error: { message: "Not Found", code: 2100 } });
    assert.deepEqual(fake.unexpected, []);
  });
});

test("incidents: statuses/service filters, acknowledgers include, window", async () => {
  await withFake({ now: () => Date.parse("2026-11-22T10:00:00Z") }, async (fake) => {
    type Inc = {
      id: string;
      status: string;
      incident_number: number;
      service: Record<string, unknown>;
      acknowledgements: { at: string; acknowledger: Record<string, unknown> }[];
    };
    const plain = await get(fake, `/incidents?statuses[]=acknowledged&time_zone=UTC`);
    const incs = plain.body.incidents as Inc[];
    assert.deepEqual(
      incs.map((i) => i.id),
      ["PINC1", "PINC2"],
    );
    assert.deepEqual(incs[0]?.acknowledgements[0], {
      at: "2026-11-21T10:00:00Z",
      acknowledger: {
        id: "PALICE",
        type: "user_reference",
        summary: "Alice Adams",
        self: `${fake.url}/users/PALICE`,
        html_url: "https://shiftgrant-fake.pagerduty.com/users/PALICE",
      },
    });
    assert.equal(incs[1]?.acknowledgements[0]?.acknowledger.type, "service_reference");
    assert.equal(incs[0]?.service.type, "service_reference");

    const full = await get(
      fake,
      `/incidents?statuses[]=acknowledged&statuses[]=resolved&include[]=acknowledgers&include[]=services&service_ids[]=PSVC2&service_ids[]=PSVC1`,
    );
    const fincs = full.body.incidents as Inc[];
    assert.deepEqual(
      fincs.map((i) => [i.id, i.status, i.acknowledgements.length]),
      [
        ["PINC1", "acknowledged", 1],
        ["PINC2", "acknowledged", 1],
        ["PINC3", "resolved", 0],
      ],
    );
    const userAck = fincs[0]?.acknowledgements[0]?.acknowledger;
    assert.equal(userAck?.type, "user");
    assert.equal(userAck?.email, "alice@example.com");
    assert.deepEqual(
      Object.fromEntries(
        Object.entries(fincs[1]?.acknowledgements[0]?.acknowledger ?? {}).filter(
          ([k]) =>
            k !== "self" &&
            k !== "html_url" &&
            k !== "description" &&
            k !== "status" &&
            k !== "escalation_policy",
        ),
      ),
      { id: "PSVC2", type: "service", name: "Storage", summary: "Storage" },
    );
    // the spec's Service schema requires escalation_policy on the full service
    assert.equal(
      (fincs[1]?.acknowledgements[0]?.acknowledger.escalation_policy as { type?: string } | undefined)?.type,
      "escalation_policy_reference",
    );
    assert.equal(fincs[0]?.service.type, "service");

    const svc = await get(fake, `/incidents?service_ids[]=PSVC1`);
    assert.deepEqual(
      (svc.body.incidents as Inc[]).map((i) => i.id),
      ["PINC1", "PINC3"],
    );
    const early = await get(fake, `/incidents?since=2026-11-21T00:00:00Z&until=2026-11-21T10:00:00Z`);
    assert.deepEqual(
      (early.body.incidents as Inc[]).map((i) => i.id),
      ["PINC1"],
    );
    // default window: the last month
    fake.state.incidents.push({
      id: "PANCIENT",
      number: 1,
      title: "ancient",
      serviceId: "PSVC1",
      status: "triggered",
      acknowledgements: [],
      createdAt: "2026-01-01T00:00:00Z",
    });
    assert.equal(((await get(fake, `/incidents`)).body.incidents as Inc[]).length, 3);
    assert.equal(((await get(fake, `/incidents?date_range=all`)).body.incidents as Inc[]).length, 4);
    assert.deepEqual(fake.unexpected, []);

    assert.equal((await get(fake, `/incidents?statuses[]=open`)).status, 400);
    assert.equal(
      (await get(fake, `/incidents?since=2026-01-01T00:00:00Z&until=2026-11-01T00:00:00Z`)).status,
      400,
    );
    assert.equal(fake.unexpected.length, 2);
    fake.allow('statuses[] value "open"', "cannot exceed 6 months");
  });
});

test("faults: status (default, custom, bare), hang, reset, truncated, premature-close, non-json, lie-more", async () => {
  await withFake({}, async (fake) => {
    fake.fault(
      "/oncalls",
      { kind: "status", status: 429, headers: { "retry-after": "1" } },
      { kind: "status", status: 503 },
      { kind: "status", status: 429, body: "" },
    );
    fake.fault(
      /^\/users\//,
      { kind: "hang" },
      { kind: "reset" },
      { kind: "truncated" },
      { kind: "premature-close" },
    );
    fake.fault("/schedules", { kind: "non-json" }, { kind: "lie-more" });

    const r429 = await get(fake, `/oncalls`);
    assert.equal(r429.status, 429);
    assert.equal(r429.headers.get("retry-after"), "1");
    assert.deepEqual(r429.body, { error: { message: "Rate Limit Exceeded", code: 2020 } });
    const r503 = await get(fake, `/oncalls`);
    assert.equal(r503.status, 503);
    assert.deepEqual(r503.body, { error: { message: "Internal Server Error" } });
    const bare = await fetch(`${fake.url}/oncalls`, { headers: HEADERS });
    assert.equal(bare.status, 429);
    assert.equal(await bare.text(), "");
    assert.equal(bare.headers.get("ratelimit-limit"), null);
    assert.equal((await get(fake, `/oncalls`)).status, 200); // faults are used up

    await assert.rejects(
      fetch(`${fake.url}/users/PALICE`, { headers: HEADERS, signal: AbortSignal.timeout(100) }),
      (e: Error) => e.name === "TimeoutError",
    );
    await assert.rejects(fetch(`${fake.url}/users/PALICE`, { headers: HEADERS }), TypeError);
    const trunc = await fetch(`${fake.url}/users/PALICE`, { headers: HEADERS });
    assert.equal(trunc.status, 200);
    const text = await trunc.text();
    assert.ok(text.startsWith('{"user":{"id":"PALICE"'));
    assert.throws(() => JSON.parse(text), SyntaxError);
    const cut = await fetch(`${fake.url}/users/PALICE`, { headers: HEADERS });
    assert.equal(cut.status, 200);
    await assert.rejects(cut.text(), TypeError);

    const html = await fetch(`${fake.url}/schedules`, { headers: HEADERS });
    assert.equal(html.status, 200);
    assert.match(html.headers.get("content-type") ?? "", /^text\/html/);
    assert.match(await html.text(), /<html>/);
    const lie = await get(fake, `/schedules?limit=100&offset=200`);
    assert.deepEqual(lie.body, { schedules: [], limit: 100, offset: 200, more: true, total: null });

    assert.equal((await get(fake, `/users/PALICE`)).status, 200);
    assert.deepEqual(fake.countByPath(), { "/oncalls": 4, "/users/PALICE": 5, "/schedules": 2 });
    assert.deepEqual(fake.unexpected, []);
  });
});

test("page lies: the true answer at one offset, cut short, with another total or another more", async () => {
  await withFake({}, async (fake) => {
    const q = "/oncalls?since=2026-11-20T00:00:00Z&until=2026-11-25T00:00:00Z&limit=1";
    const truth = await get(fake, `${q}&offset=0&total=true`);
    assert.equal((truth.body.oncalls as unknown[]).length, 1);
    assert.equal(truth.body.more, true);
    assert.equal(typeof truth.body.total, "number");

    fake.lie("/oncalls", 1, { kind: "short", keep: 0 });
    fake.lie("/oncalls", 0, { kind: "total", total: 1 });
    fake.lie("/oncalls", 0, { kind: "more", more: false });
    const short = await get(fake, `${q}&offset=1`);
    assert.deepEqual([short.body.oncalls, short.body.more, short.body.offset], [[], true, 1]);
    const total = await get(fake, `${q}&offset=0&total=true`);
    assert.deepEqual({ ...total.body, total: 1 }, { ...truth.body, total: 1 });
    assert.equal(total.body.total, 1);
    const more = await get(fake, `${q}&offset=0&total=true`);
    assert.deepEqual(more.body, { ...truth.body, more: false });
    // Each lie is used once: the next answer is the truth again.
    assert.deepEqual((await get(fake, `${q}&offset=0&total=true`)).body, truth.body);
    assert.deepEqual(fake.unexpected, []);
  });
});

test("huge: a 200 JSON body of the given size, streamed; with announce, its length announced", async () => {
  await withFake({}, async (fake) => {
    fake.fault(
      "/oncalls",
      { kind: "huge", bytes: 300_000 },
      { kind: "huge", bytes: 200_000, announce: true },
    );
    const streamed = await fetch(`${fake.url}/oncalls`, { headers: HEADERS });
    assert.equal(streamed.headers.get("content-length"), null);
    const body = (await streamed.json()) as Body;
    assert.deepEqual(
      { ...body, pad: "" },
      { oncalls: [], limit: 100, offset: 0, more: false, total: 0, pad: "" },
    );
    const announced = await fetch(`${fake.url}/oncalls`, { headers: HEADERS });
    assert.equal(announced.headers.get("content-length"), "200000");
    assert.equal((await announced.text()).length, 200_000);
    assert.equal(JSON.stringify(body).length, 300_000);
  });
});

test("rate limit: 5/min, the 6th request is 429 with ratelimit-* headers; the window slides", async () => {
  let now = Date.parse("2026-11-22T10:00:00Z");
  await withFake({ rateLimitPerMinute: 5, now: () => now }, async (fake) => {
    for (let i = 0; i < 5; i++) {
      const r = await get(fake, `/users/PALICE`);
      assert.equal(r.status, 200);
      assert.equal(r.headers.get("ratelimit-limit"), "5");
      assert.equal(r.headers.get("ratelimit-remaining"), String(4 - i));
      assert.equal(r.headers.get("ratelimit-reset"), String(60 - i)); // until the oldest leaves the window
      now += 1000;
    }
    const limited = await get(fake, `/users/PALICE`);
    assert.equal(limited.status, 429);
    assert.deepEqual(limited.body, { error: { message: "Rate Limit Exceeded", code: 2020 } });
    assert.equal(limited.headers.get("ratelimit-limit"), "5");
    assert.equal(limited.headers.get("ratelimit-remaining"), "0");
    assert.equal(limited.headers.get("ratelimit-reset"), "55");
    now += 55_000; // the first request leaves the window
    const again = await get(fake, `/users/PALICE`);
    assert.equal(again.status, 200);
    assert.equal(again.headers.get("ratelimit-remaining"), "0");
    assert.deepEqual(fake.unexpected, []);
  });
});

test("unexpected: unknown paths and methods are 404 and recorded; latency is applied", async () => {
  await withFake({ latencyMs: 30 }, async (fake) => {
    const t0 = Date.now();
    const r = await get(fake, `/oncallz`);
    assert.ok(Date.now() - t0 >= 25);
    assert.equal(r.status, 404);
    assert.deepEqual(r.body, { error: { message: "Not Found", code: 2100 } });
    const post = await fetch(`${fake.url}/oncalls`, { method: "POST", headers: HEADERS, body: "{}" });
    assert.equal(post.status, 404);
    await post.text();
    assert.equal(fake.unexpected.length, 2);
    assert.match(fake.unexpected[0] ?? "", /GET \/oncallz/);
    assert.match(fake.unexpected[1] ?? "", /POST \/oncalls/);
    assert.deepEqual(fake.countByPath(), { "/oncallz": 1, "/oncalls": 1 });
    assert.equal(fake.requests[1]?.method, "POST");
    fake.allow("no such endpoint in the fake");
  });
});

test("strict: close() fails on anything unexpected the test did not allow, and lists it", async () => {
  const fake = await startFakePagerDuty(base);
  await (await fetch(`${fake.url}/oncallz`, { headers: HEADERS })).text();
  await (await fetch(`${fake.url}/schedules?limit=101`, { headers: HEADERS })).text();
  fake.allow("limit cannot exceed 100");
  await assert.rejects(fake.close(), {
    message:
      "the fake server got 1 unexpected request(s):\n  - GET /oncallz: no such endpoint in the fake\n" +
      "(fix the client or the test; a test that sends these on purpose says so with fake.allow(...))",
  });
});

test("fake state errors are loud: unknown user in oncalls is a 500 and recorded", async () => {
  await withFake({}, async (fake) => {
    fake.state.oncalls = [
      { userId: "PGHOST", scheduleId: null, escalationPolicyId: "PEP1", level: 1, start: null, end: null },
    ];
    const r = await get(fake, `/oncalls`);
    assert.equal(r.status, 500);
    assert.equal(fake.unexpected.length, 1);
    assert.match(fake.unexpected[0] ?? "", /unknown user PGHOST/);
    fake.allow("unknown user PGHOST");
  });
});
