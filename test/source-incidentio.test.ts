import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { DateTime } from "luxon";
import { createHttpClient } from "../src/infra/http.js";
import { createIncidentioSource } from "../src/sources/incidentio/index.js";
import type { ApiSourceConfig } from "../src/config/load.js";
import {
  rateLimited,
  startFakeIncidentio,
  type FakeIncEntry,
  type FakeIncidentio,
  type FakeIncidentioOptions,
  type FakeIncSchedule,
  type FakeIncUser,
} from "./fakes/incidentio.js";
import { assertNoSecret, parseJsonOutput } from "./helpers.js";
import { startScenario, type FakeCli, type Scenario } from "./e2e-setup.js";
import type { MainResult } from "./harness.js";

/** A shift's instant as luxon's ISO form in UTC (what the assertions below were written against). */
const iso = (ms: number) => DateTime.fromMillis(ms, { zone: "utc" }).toISO();

// End to end: the built CLI against a fake incident.io on 127.0.0.1 and a fake grant command first
// on PATH. Build first: npx tsc -p tsconfig.build.json

const KEY = "inc_live_test_key_5f4e3d2c1b0a9988";
const NOW = "2026-11-22T10:00:00Z";
const DBA = "01JDBAPRIMARY0000000000001";
const PLATFORM = "01JPLATFORM000000000000002";

const USERS: FakeIncUser[] = [
  { id: "01USERALICE000000000000001", name: "Alice", email: "Alice@Example.com" },
  { id: "01USERBOB00000000000000002", name: "Bob", email: "bob@example.com" },
  // Entries embed Carol without her email: one GET /v2/users/{id}, however often she is on call.
  { id: "01USERCAROL000000000000003", name: "Carol", email: "carol@example.com", emailInEntries: false },
  { id: "01USERDAVE0000000000000004", name: "Dave", email: "dave@example.com" },
];
const [ALICE, BOB, CAROL, DAVE] = USERS.map((u) => u.id) as [string, string, string, string];

const SCHEDULES: FakeIncSchedule[] = [
  {
    id: DBA,
    name: "DBA Primary",
    // A daily rota (handover 09:00): Alice, then Bob...
    scheduled: [
      { userId: ALICE, start: "2026-11-22T09:00:00Z", end: "2026-11-23T09:00:00Z" },
      { userId: BOB, start: "2026-11-23T09:00:00Z", end: "2026-11-24T09:00:00Z" },
    ],
    // ...but Dave covers 12:00-18:00 of Alice's day: final differs from scheduled.
    overrides: [{ userId: DAVE, start: "2026-11-22T12:00:00Z", end: "2026-11-22T18:00:00Z" }],
  },
  {
    id: PLATFORM,
    name: "Platform",
    scheduled: [
      { userId: CAROL, start: "2026-11-22T08:00:00Z", end: "2026-11-22T14:00:00Z" },
      // the same shift on a second layer: one shift, not two
      { userId: CAROL, start: "2026-11-22T08:00:00Z", end: "2026-11-22T14:00:00Z", layerId: "L2" },
      // Alice is on two schedules
      { userId: ALICE, start: "2026-11-22T14:00:00Z", end: "2026-11-22T20:00:00Z" },
      { userId: CAROL, start: "2026-11-22T20:00:00Z", end: "2026-11-23T02:00:00Z", fingerprint: false },
    ],
  },
  { id: "01JUNUSED0000000000000003", name: "Security", scheduled: [] },
];

type Env = {
  dir: string;
  config: string;
  grant: FakeCli;
  inc: FakeIncidentio;
  run: Scenario<FakeIncidentio>["run"];
  cleanup: () => Promise<void>;
};

async function setup(
  fake: Partial<FakeIncidentioOptions> = {},
  opts: { rules?: string; http?: string } = {},
): Promise<Env> {
  const s = await startScenario({
    startFake: () =>
      startFakeIncidentio({
        key: KEY,
        users: structuredClone(USERS),
        schedules: structuredClone(SCHEDULES),
        // 4 entries (of the three lists together) a page: every schedule above takes two pages
        pageSize: 4,
        ...fake,
      }),
    clis: ["grant-access"],
    env: { INCIDENTIO_API_KEY: KEY },
    now: NOW,
    config: (inc) => `
version: 1
window: 24h
state: state.json
audit: audit.jsonl
http: ${opts.http ?? "{ backoff: 10ms, retries: 2, timeout: 2s }"}
sources:
  inc:
    type: incidentio
    baseUrl: ${inc.url}
targets:
  script:
    type: command
    grant: [grant-access, "{identity}", "{resource}", "{start}", "{end}", "{reason}"]
rules:
${
  opts.rules ??
  `  - name: dba
    source: inc
    schedules: ["dba primary"]
    target: script
    resources: [prod-db]
  - name: platform
    source: inc
    schedules: [${PLATFORM}]
    target: script
    resources: [prod-k8s]`
}
`,
  });
  return { ...s, grant: s.clis["grant-access"] as FakeCli, inc: s.fake };
}

const DBA_REASON = "on call: DBA Primary (incident.io)";
const PLATFORM_REASON = "on call: Platform (incident.io)";

const EXPECTED_ARGV = [
  ["alice@example.com", "prod-db", "2026-11-22T10:00:00Z", "2026-11-22T12:00:00Z", DBA_REASON],
  ["dave@example.com", "prod-db", "2026-11-22T12:00:00Z", "2026-11-22T18:00:00Z", DBA_REASON],
  ["alice@example.com", "prod-db", "2026-11-22T18:00:00Z", "2026-11-23T09:00:00Z", DBA_REASON],
  ["bob@example.com", "prod-db", "2026-11-23T09:00:00Z", "2026-11-24T09:00:00Z", DBA_REASON],
  ["carol@example.com", "prod-k8s", "2026-11-22T10:00:00Z", "2026-11-22T14:00:00Z", PLATFORM_REASON],
  ["alice@example.com", "prod-k8s", "2026-11-22T14:00:00Z", "2026-11-22T20:00:00Z", PLATFORM_REASON],
  ["carol@example.com", "prod-k8s", "2026-11-22T20:00:00Z", "2026-11-23T02:00:00Z", PLATFORM_REASON],
];

const sortArgv = (list: string[][]) => [...list].sort((a, b) => a.join(" ").localeCompare(b.join(" ")));

describe("sync: incident.io to a command", () => {
  let env: Env;
  let res: MainResult;
  before(async () => {
    env = await setup();
    res = await env.run(["sync", "--output", "json"]);
  });
  after(() => env.cleanup());

  it("exits 0 and runs exactly the expected grant commands (final entries: overrides applied)", async () => {
    assert.equal(res.code, 0, res.stderr);
    const calls = await env.grant.calls();
    assert.deepEqual(sortArgv(calls.map((c) => c.argv)), sortArgv(EXPECTED_ARGV));
  });

  it("prints the JSON report document, field for field", () => {
    const doc = parseJsonOutput(res.stdout);
    assert.deepEqual(doc.window, { since: "2026-11-22T10:00:00Z", until: "2026-11-23T10:00:00Z" });
    assert.deepEqual(doc.errors, []);
    assert.deepEqual(doc.summary, {
      grant: 7,
      extend: 0,
      shorten: 0,
      revoke: 0,
      expire: 0,
      unchanged: 0,
      wait: 0,
      skip: 0,
      failed: 0,
    });
    const rows = doc.actions.map((a) => [a.rule, a.identity, a.resource, a.start, a.end, a.reason]);
    assert.deepEqual(
      sortArgv(rows as string[][]),
      sortArgv(
        EXPECTED_ARGV.map(([identity, resource, start, end, reason]) => [
          resource === "prod-db" ? "dba" : "platform",
          identity as string,
          resource as string,
          start as string,
          end as string,
          reason as string,
        ]),
      ),
    );
    for (const a of doc.actions) {
      assert.deepEqual(Object.keys(a).sort(), [
        "end",
        "identity",
        "kind",
        "reason",
        "resource",
        "rule",
        "start",
        "status",
        "target",
      ]);
      assert.equal(a.kind, "grant");
      assert.equal(a.status, "applied");
      assert.equal(a.target, "script");
    }
  });

  it("reads incident.io with one schedule listing, the cursor paging, and one lookup for Carol", () => {
    assert.deepEqual(env.inc.unexpected, []);
    assert.deepEqual(env.inc.countByPath(), {
      "/v2/schedules": 1,
      "/v2/schedule_entries": 4,
      [`/v2/users/${CAROL}`]: 1,
    });
    for (const r of env.inc.requests) {
      assert.equal(r.headers.authorization, `Bearer ${KEY}`);
      assert.equal(r.headers.accept, "application/json");
    }
    const list = env.inc.requests.find((r) => r.path === "/v2/schedules");
    assert.equal(list?.query.get("page_size"), "100");
    for (const id of [DBA, PLATFORM]) {
      const reqs = env.inc.requests.filter(
        (r) => r.path === "/v2/schedule_entries" && r.query.get("schedule_id") === id,
      );
      assert.equal(reqs.length, 2, id);
      const [first, second] = reqs as [(typeof reqs)[number], (typeof reqs)[number]];
      assert.deepEqual([...first.query.keys()].sort(), [
        "entry_window_end",
        "entry_window_start",
        "schedule_id",
      ]);
      assert.equal(first.query.get("entry_window_start"), "2026-11-22T10:00:00Z");
      assert.equal(first.query.get("entry_window_end"), "2026-11-23T10:00:00Z");
      // the next page: the opaque cursor in entry_window_start, the original end
      assert.notEqual(second.query.get("entry_window_start"), "2026-11-22T10:00:00Z");
      assert.doesNotMatch(second.query.get("entry_window_start") ?? "", /^\d{4}-/);
      assert.equal(second.query.get("entry_window_end"), "2026-11-23T10:00:00Z");
    }
  });

  it("never lets the key out: not in stdout, stderr, the ledger, the audit log, or the command's argv and env", async () => {
    const calls = await env.grant.calls();
    await assertNoSecret(
      [KEY],
      [res.stdout, res.stderr, ...calls.map((c) => JSON.stringify(c))],
      [path.join(env.dir, "state.json"), path.join(env.dir, "audit.jsonl")],
    );
    for (const c of calls) assert.equal(c.env.INCIDENTIO_API_KEY, undefined);
  });

  it("a second run grants nothing new", async () => {
    await env.grant.reset();
    const again = await env.run(["sync", "--output", "json"]);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(await env.grant.calls(), []);
    assert.equal(parseJsonOutput(again.stdout).summary.unchanged, 7);
  });
});

describe("oncall and schedules with incident.io", () => {
  let env: Env;
  before(async () => {
    env = await setup();
  });
  after(() => env.cleanup());

  it("oncall --output json: every shift, whole, in UTC, level null", async () => {
    const res = await env.run(["oncall", "--output", "json"]);
    assert.equal(res.code, 0, res.stderr);
    const doc = JSON.parse(res.stdout) as {
      window: unknown;
      shifts: Record<string, unknown>[];
      errors: unknown[];
    };
    assert.deepEqual(doc.window, { since: "2026-11-22T10:00:00Z", until: "2026-11-23T10:00:00Z" });
    assert.deepEqual(doc.errors, []);
    const dba = { id: DBA, name: "DBA Primary" };
    const platform = { id: PLATFORM, name: "Platform" };
    const shift = (rule: string, email: string, schedule: object, start: string, end: string) => ({
      rule,
      source: "inc",
      identity: email.toLowerCase(),
      email,
      schedule,
      level: null,
      start,
      end,
    });
    assert.deepEqual(doc.shifts, [
      shift("dba", "Alice@Example.com", dba, "2026-11-22T09:00:00Z", "2026-11-22T12:00:00Z"),
      shift("dba", "dave@example.com", dba, "2026-11-22T12:00:00Z", "2026-11-22T18:00:00Z"),
      shift("dba", "Alice@Example.com", dba, "2026-11-22T18:00:00Z", "2026-11-23T09:00:00Z"),
      shift("dba", "bob@example.com", dba, "2026-11-23T09:00:00Z", "2026-11-24T09:00:00Z"),
      shift("platform", "carol@example.com", platform, "2026-11-22T08:00:00Z", "2026-11-22T14:00:00Z"),
      shift("platform", "Alice@Example.com", platform, "2026-11-22T14:00:00Z", "2026-11-22T20:00:00Z"),
      shift("platform", "carol@example.com", platform, "2026-11-22T20:00:00Z", "2026-11-23T02:00:00Z"),
    ]);
    await assertNoSecret([KEY], [res.stdout, res.stderr]);
  });

  it("schedules --query: case-insensitive substring of the name", async () => {
    const res = await env.run(["schedules", "--query", "PLAT", "--output", "json"]);
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(JSON.parse(res.stdout), {
      version: 1,
      exitCode: 0,
      schedules: [{ source: "inc", id: PLATFORM, name: "Platform" }],
      errors: [],
    });
    const all = await env.run(["schedules"]);
    assert.equal(all.code, 0, all.stderr);
    for (const s of SCHEDULES) {
      assert.match(all.stdout, new RegExp(s.id));
      assert.match(all.stdout, new RegExp(s.name));
    }
    assert.deepEqual(env.inc.unexpected, []);
  });

  it("schedules pages through every schedule (page_size 100, the after cursor)", async () => {
    const many: FakeIncSchedule[] = Array.from({ length: 230 }, (_, i) => ({
      id: `01JMANY${String(i).padStart(19, "0")}`,
      name: `Team ${i}`,
    }));
    const big = await setup({ schedules: many });
    try {
      const res = await big.run(["schedules", "--output", "json"]);
      assert.equal(res.code, 0, res.stderr);
      const doc = JSON.parse(res.stdout) as { schedules: { id: string }[] };
      assert.deepEqual(
        doc.schedules.map((s) => s.id),
        many.map((s) => s.id),
      );
      assert.deepEqual(
        big.inc.requests.map((r) => [r.query.get("page_size"), r.query.get("after")]),
        [
          ["100", null],
          ["100", many[99]?.id],
          ["100", many[199]?.id],
        ],
      );
      assert.deepEqual(big.inc.unexpected, []);
    } finally {
      await big.cleanup();
    }
  });

  it("a name that matches no schedule, or several, fails only the rules that name it, saying what to do", async () => {
    const twins = await setup(
      {
        schedules: [
          ...structuredClone(SCHEDULES),
          { id: "01JTWIN00000000000000000A1", name: "Twin" },
          { id: "01JTWIN00000000000000000B2", name: "twin" },
        ],
      },
      {
        rules: `  - { name: twins, source: inc, schedules: [Twin], target: script, resources: [x] }
  - { name: typo, source: inc, schedules: [Plattform], target: script, resources: [x] }
  - { name: platform, source: inc, schedules: [platform], target: script, resources: [prod-k8s] }`,
      },
    );
    try {
      const res = await twins.run(["sync", "--dry-run", "--output", "json"]);
      assert.equal(res.code, 3, res.stderr);
      const doc = parseJsonOutput(res.stdout);
      assert.deepEqual(doc.errors, [
        {
          rule: "twins",
          source: "inc",
          message: `2 incident.io schedules are named "Twin" (01JTWIN00000000000000000A1, 01JTWIN00000000000000000B2): use the id`,
        },
        {
          rule: "typo",
          source: "inc",
          message:
            'no incident.io schedule has the id or name "Plattform": `shiftgrant schedules --source inc` lists them',
        },
      ]);
      assert.equal(doc.summary.grant, 3);
      assert.ok(doc.actions.every((a) => a.rule === "platform"));
    } finally {
      await twins.cleanup();
    }
  });
});

// Each case has its own fake and its own run: they run side by side.
describe("incident.io failures", { concurrency: true }, () => {
  it("a key incident.io refuses: exit 3, a clear message, nothing planned, the key not shown", async () => {
    const env = await setup();
    try {
      const res = await env.run(["sync", "--output", "json"], { INCIDENTIO_API_KEY: "inc_wrong_key_000111" });
      assert.equal(res.code, 3, res.stderr);
      const doc = parseJsonOutput(res.stdout);
      assert.deepEqual(doc.actions, []);
      assert.deepEqual(
        doc.errors.map((e) => e.rule),
        ["dba", "platform"],
      );
      assert.equal(
        doc.errors[0]?.message,
        "GET /v2/schedules: 401 The API key provided is not valid: incident.io did not accept the API key in $INCIDENTIO_API_KEY",
      );
      assert.deepEqual(await env.grant.calls(), []);
      assert.deepEqual(env.inc.countByPath(), { "/v2/schedules": 1 });
      await assertNoSecret(["inc_wrong_key_000111", KEY], [res.stdout, res.stderr]);
    } finally {
      await env.cleanup();
    }
  });

  it("a 429 with Retry-After: waits the second asked (not the 10ms backoff), retries, succeeds", async () => {
    const env = await setup();
    try {
      env.inc.fault("/v2/schedule_entries", rateLimited(1));
      const res = await env.run(["sync", "--dry-run", "--output", "json"]);
      assert.equal(res.code, 0, res.stderr);
      // The second asked; the later waits pace the spent budget until its reset (no real time here).
      assert.equal(res.sleeps[0], 1000);
      const doc = parseJsonOutput(res.stdout);
      assert.equal(doc.summary.grant, 7);
      assert.deepEqual(doc.errors, []);
      const entries = env.inc.requests.filter((r) => r.path === "/v2/schedule_entries");
      assert.equal(entries.length, 5); // 4 pages + the retried one
      const limited = entries[0] as (typeof entries)[number];
      const retry = entries.find(
        (r, i) =>
          i > 0 &&
          r.query.get("schedule_id") === limited.query.get("schedule_id") &&
          r.query.get("entry_window_start") === limited.query.get("entry_window_start"),
      );
      assert.ok(retry, "the limited request was retried");
      assert.deepEqual(env.inc.unexpected, []);
    } finally {
      await env.cleanup();
    }
  });

  it("a 429 that outlasts the retries: exit 3, nothing planned", async () => {
    const env = await setup({}, { http: "{ backoff: 10ms, retries: 1, timeout: 2s }" });
    try {
      env.inc.fault("/v2/schedules", rateLimited(null), rateLimited(null));
      const res = await env.run(["sync", "--dry-run", "--output", "json"]);
      assert.equal(res.code, 3, res.stderr);
      const doc = parseJsonOutput(res.stdout);
      assert.deepEqual(doc.actions, []);
      assert.match(
        doc.errors[0]?.message ?? "",
        /^GET \/v2\/schedules: 429 Too many requests.* after 2 tries$/,
      );
    } finally {
      await env.cleanup();
    }
  });

  const malformed: { name: string; fault: Parameters<FakeIncidentio["fault"]>[1]; message: RegExp }[] = [
    {
      name: "no schedule_entries.final",
      fault: { kind: "json", body: { schedule_entries: { scheduled: [] } } },
      message:
        /GET \/v2\/schedule_entries \(schedule \w+\): malformed response: no "schedule_entries\.final" list/,
    },
    {
      name: "an entry that ends before it starts",
      fault: {
        kind: "json",
        body: {
          schedule_entries: {
            final: [
              {
                start_at: "2026-11-22T12:00:00.000000Z",
                end_at: "2026-11-22T11:00:00.000000Z",
                user: { id: "U1", email: "a@example.com" },
              },
            ],
          },
        },
      },
      message:
        /malformed response: schedule_entries\.final\[0\] ends \(2026-11-22T11:00:00\.000000Z\) before it starts/,
    },
    {
      name: "an entry whose start is not a time",
      fault: {
        kind: "json",
        body: { schedule_entries: { final: [{ start_at: "soon", end_at: "2026-11-22T11:00:00Z" }] } },
      },
      message: /schedule_entries\.final\[0\]\.start_at "soon" is not an ISO 8601 time/,
    },
    {
      name: "a body that is not JSON",
      fault: { kind: "non-json" },
      message: /GET \/v2\/schedule_entries: 200 but the body is not JSON \(text\/html/,
    },
    {
      name: "a cursor that does not advance",
      fault: {
        kind: "json",
        from: (req, normal) => ({
          ...(normal as object),
          pagination_meta: { after: req.query.get("entry_window_start"), after_url: "x" },
        }),
      },
      message:
        /malformed response: the pagination cursor did not advance \("2026-11-22T10:00:00Z" came back again\)/,
    },
  ];
  for (const m of malformed) {
    it(`a malformed answer (${m.name}): exit 3, the rules plan nothing, the message says what was wrong`, async () => {
      const env = await setup();
      try {
        env.inc.fault("/v2/schedule_entries", m.fault);
        const res = await env.run(["sync", "--output", "json"]);
        assert.equal(res.code, 3, res.stderr);
        const doc = parseJsonOutput(res.stdout);
        assert.deepEqual(doc.actions, []);
        assert.equal(doc.errors.length, 2);
        assert.match(doc.errors[0]?.message ?? "", m.message);
        assert.deepEqual(await env.grant.calls(), []);
      } finally {
        await env.cleanup();
      }
    });
  }

  it("an on-call user incident.io has no email for: exit 3, naming the user and what to do", async () => {
    const users = [...structuredClone(USERS), { id: "01USERERIN0000000000000005", name: "Erin" }];
    const schedules = structuredClone(SCHEDULES);
    (schedules[1] as FakeIncSchedule).overrides = [
      { userId: "01USERERIN0000000000000005", start: "2026-11-22T15:00:00Z", end: "2026-11-22T16:00:00Z" },
    ];
    const env = await setup({ users, schedules });
    try {
      const res = await env.run(["sync", "--dry-run", "--output", "json"]);
      assert.equal(res.code, 3, res.stderr);
      const doc = parseJsonOutput(res.stdout);
      assert.deepEqual(doc.actions, []);
      assert.equal(
        doc.errors[0]?.message,
        'incident.io user "Erin" (01USERERIN0000000000000005) is on call for "Platform" but has no email address in incident.io; add one there so that access can be granted',
      );
    } finally {
      await env.cleanup();
    }
  });
});

describe("the incident.io source, called directly", () => {
  const http = () =>
    createHttpClient(
      { timeoutMs: 2000, retries: 1, backoffMs: 10, maxRetryWaitMs: 2000 },
      { log: { error() {}, warn() {}, info() {}, debug() {} } as never },
    );
  const config = (url: string): ApiSourceConfig => ({
    name: "inc",
    type: "incidentio",
    secret: { tokenEnv: "INCIDENTIO_API_KEY", tokenFile: null },
    baseUrl: url,
  });

  it("one shift per (schedule, user, start, end): concurrent identical entries on two layers are one", async () => {
    const inc = await startFakeIncidentio({ key: KEY, users: USERS, schedules: SCHEDULES });
    try {
      const source = createIncidentioSource(config(inc.url), {
        http: http(),
        token: KEY,
        concurrency: 2,
        log: {} as never,
      });
      const shifts = await source.fetchShifts(
        [{ id: PLATFORM, name: "Platform" }],
        DateTime.fromISO(NOW, { zone: "utc" }),
        DateTime.fromISO("2026-11-23T10:00:00Z", { zone: "utc" }),
      );
      assert.deepEqual(
        shifts.map((s) => [s.email, iso(s.start), iso(s.end)]),
        [
          ["carol@example.com", "2026-11-22T08:00:00.000Z", "2026-11-22T14:00:00.000Z"],
          ["Alice@Example.com", "2026-11-22T14:00:00.000Z", "2026-11-22T20:00:00.000Z"],
          ["carol@example.com", "2026-11-22T20:00:00.000Z", "2026-11-23T02:00:00.000Z"],
        ],
      );
      // the fake did send Carol's 08:00-14:00 twice (two layers)
      const raw = (await (
        await fetch(
          `${inc.url}/v2/schedule_entries?schedule_id=${PLATFORM}&entry_window_start=${NOW}&entry_window_end=2026-11-23T10:00:00Z`,
          { headers: { Authorization: `Bearer ${KEY}` } },
        )
      ).json()) as { schedule_entries: { final: { start_at: string; user: { id: string } }[] } };
      assert.equal(
        raw.schedule_entries.final.filter(
          (e) => e.user.id === CAROL && e.start_at.startsWith("2026-11-22T08"),
        ).length,
        2,
      );
      assert.deepEqual(inc.countByPath(), { "/v2/schedule_entries": 2, [`/v2/users/${CAROL}`]: 1 });
    } finally {
      await inc.close();
    }
  });

  it("reads a window longer than 90 days in pieces of at most 90, de-duplicating an entry across a cut", async () => {
    const long: FakeIncEntry = { userId: ALICE, start: "2026-03-25T00:00:00Z", end: "2026-04-05T00:00:00Z" };
    const inc = await startFakeIncidentio({
      key: KEY,
      users: USERS,
      schedules: [{ id: DBA, name: "DBA Primary", scheduled: [long] }],
    });
    try {
      const source = createIncidentioSource(config(inc.url), {
        http: http(),
        token: KEY,
        concurrency: 2,
        log: {} as never,
      });
      const since = DateTime.fromISO("2026-01-01T00:00:00Z", { zone: "utc" });
      const until = DateTime.fromISO("2026-07-20T00:00:00Z", { zone: "utc" });
      const shifts = await source.fetchShifts([{ id: DBA, name: "DBA Primary" }], since, until);
      assert.deepEqual(
        shifts.map((s) => [s.email, iso(s.start), iso(s.end), s.level, s.reason]),
        [
          [
            "Alice@Example.com",
            "2026-03-25T00:00:00.000Z",
            "2026-04-05T00:00:00.000Z",
            null,
            "on call: DBA Primary (incident.io)",
          ],
        ],
      );
      // The pieces are read two at a time: the order they reach the fake is not theirs.
      const windows = inc.requests
        .map((r) => [r.query.get("entry_window_start"), r.query.get("entry_window_end")])
        .sort((a, b) => String(a[0]).localeCompare(String(b[0])));
      assert.deepEqual(windows, [
        ["2026-01-01T00:00:00Z", "2026-04-01T00:00:00Z"],
        ["2026-04-01T00:00:00Z", "2026-06-30T00:00:00Z"],
        ["2026-06-30T00:00:00Z", "2026-07-20T00:00:00Z"],
      ]);
      assert.deepEqual(inc.unexpected, []);
    } finally {
      await inc.close();
    }
  });
});

describe("requests for a 7-day window over 10 schedules", () => {
  it("prints them by path", async () => {
    const users: FakeIncUser[] = Array.from({ length: 20 }, (_, i) => ({
      id: `01USER${String(i).padStart(20, "0")}`,
      name: `User ${i}`,
      email: `user${i}@example.com`,
      // every fifth user's entries come without the email
      emailInEntries: i % 5 !== 0,
    }));
    const start = Date.parse("2026-11-22T09:00:00Z") - 86_400_000;
    const schedules: FakeIncSchedule[] = Array.from({ length: 10 }, (_, s) => ({
      id: `01JSCHED${String(s).padStart(18, "0")}`,
      name: `Team ${s}`,
      // daily handovers over 9 days, two users taking turns, plus one override a schedule
      scheduled: Array.from({ length: 9 }, (_, d) => ({
        userId: (users[(2 * s + (d % 2)) % users.length] as FakeIncUser).id,
        start: new Date(start + d * 86_400_000).toISOString(),
        end: new Date(start + (d + 1) * 86_400_000).toISOString(),
      })),
      overrides: [
        {
          userId: (users[(2 * s + 5) % users.length] as FakeIncUser).id,
          start: new Date(start + 2 * 86_400_000 + 3_600_000).toISOString(),
          end: new Date(start + 2 * 86_400_000 + 5 * 3_600_000).toISOString(),
        },
      ],
    }));
    const rules = schedules
      .map(
        (s) =>
          `  - { name: r${s.id.slice(-2)}, source: inc, schedules: [${s.id}], target: script, resources: [db] }`,
      )
      .join("\n");
    const env = await setup({ users, schedules, pageSize: 50 }, { rules });
    try {
      const res = await env.run(["oncall", "--window", "7d", "--output", "json"]);
      assert.equal(res.code, 0, res.stderr);
      const counts = env.inc.countByPath(true);
      assert.equal(counts["/v2/schedules"], 1);
      assert.equal(counts["/v2/schedule_entries"], 10);
      assert.equal(counts["/v2/users/{id}"], 4);
      assert.deepEqual(env.inc.unexpected, []);
      console.log(`incident.io, 7 days x 10 schedules: requests by path ${JSON.stringify(counts)}`);
    } finally {
      await env.cleanup();
    }
  });
});
