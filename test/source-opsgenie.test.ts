import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import {
  startFakeOpsgenie,
  type FakeOgSchedule,
  type FakeOpsgenie,
  type FakeOpsgenieOptions,
} from "./fakes/opsgenie.js";
import { assertNoSecret, parseJsonOutput } from "./helpers.js";
import { startScenario, type FakeCli, type Scenario } from "./e2e-setup.js";
import type { MainResult } from "./harness.js";

// End to end: the built CLI against a fake Opsgenie on 127.0.0.1 and a `command` target whose
// grant command is a fake CLI first on PATH.
const KEY = "og-key-5b1e0c7a-93d2-4f6e-a8b4-2c9d0e1f3a57";
const NOW = "2026-11-22T10:00:00Z";
const DBA = "0c4f8a1e-6d2b-4a9c-9e3f-000000000001";
const PLATFORM = "0c4f8a1e-6d2b-4a9c-9e3f-000000000002";
const OTHER = "0c4f8a1e-6d2b-4a9c-9e3f-000000000003";

const USERS = [
  { id: "u-alice", username: "Alice@Example.com" },
  { id: "u-bob", username: "bob@example.com" },
  { id: "u-carol", username: "carol@example.com" },
  { id: "u-dave", username: "dave@example.com" },
  { id: "u-erin", username: "erin@example.com" },
];
const TEAMS = [{ id: "t-sre", name: "SRE", memberIds: ["u-erin", "u-dave"] }];

// The final timeline as Opsgenie computes it (rotation, then the override cut into it).
const SCHEDULES: FakeOgSchedule[] = [
  {
    id: DBA,
    name: "DBA Primary",
    timezone: "Europe/Berlin",
    rotations: [
      {
        id: "r-dba-weekly",
        name: "Weekly",
        periods: [
          // Started before the window: returned whole (cut only at the timeline's own start).
          {
            start: "2026-11-16T08:00:00Z",
            end: "2026-11-22T12:00:00Z",
            recipient: { type: "user", userId: "u-alice" },
          },
          // An override: carol covers six hours of alice's week.
          {
            start: "2026-11-22T12:00:00Z",
            end: "2026-11-22T18:00:00Z",
            type: "override",
            recipient: { type: "user", userId: "u-carol" },
          },
          {
            start: "2026-11-22T18:00:00Z",
            end: "2026-11-23T08:00:00Z",
            recipient: { type: "user", userId: "u-alice" },
          },
          // Starts in the window, ends long after it: Opsgenie returns it cut at the timeline's end.
          {
            start: "2026-11-23T08:00:00Z",
            end: "2026-11-30T08:00:00Z",
            recipient: { type: "user", userId: "u-bob" },
          },
        ],
      },
    ],
  },
  {
    id: PLATFORM,
    name: "Platform",
    timezone: "America/New_York",
    rotations: [
      {
        id: "r-plat-day",
        name: "Day",
        order: 1,
        periods: [
          // bob forwards his shift to dave: dave is the one paged.
          {
            start: "2026-11-22T02:00:00Z",
            end: "2026-11-22T14:00:00Z",
            type: "forwarding",
            fromUserId: "u-bob",
            recipient: { type: "user", userId: "u-dave" },
          },
          // alice again: one person on two schedules.
          {
            start: "2026-11-22T14:00:00Z",
            end: "2026-11-23T02:00:00Z",
            recipient: { type: "user", userId: "u-alice" },
          },
        ],
      },
      {
        id: "r-plat-team",
        name: "Follow the sun",
        order: 2,
        periods: [
          // A team as the participant: reported, nobody granted.
          {
            start: "2026-11-23T02:00:00Z",
            end: "2026-11-23T14:00:00Z",
            recipient: { type: "team", teamId: "t-sre" },
          },
          // "none" as the participant: nobody on call.
          { start: "2026-11-23T14:00:00Z", end: "2026-11-24T02:00:00Z", recipient: { type: "none" } },
        ],
      },
    ],
  },
  { id: OTHER, name: "Platform Shadow", rotations: [] },
];

const GRANT = ["grant-cmd", "{identity}", "{resource}", "{start}", "{end}", "{reason}"];

type Env = {
  dir: string;
  binDir: string;
  config: string;
  og: FakeOpsgenie;
  grant: FakeCli;
  run: Scenario<FakeOpsgenie>["run"];
  cleanup: () => Promise<void>;
};

/** `rules` replaces the two default rules; `sources` adds sources (`{url}` is the fake's URL). */
async function setup(fake: Partial<FakeOpsgenieOptions> = {}, rules?: string, sources = ""): Promise<Env> {
  const s = await startScenario({
    startFake: () =>
      startFakeOpsgenie({
        key: KEY,
        users: structuredClone(USERS),
        teams: structuredClone(TEAMS),
        schedules: structuredClone(SCHEDULES),
        ...fake,
      }),
    clis: ["grant-cmd"],
    env: { OPSGENIE_API_KEY: KEY },
    now: NOW,
    config: (og) => `
version: 1
window: 24h
state: state.json
audit: audit.jsonl
http: { backoff: 10ms, retries: 2, timeout: 2s }
sources:
  og:
    type: opsgenie
    baseUrl: ${og.url}
${sources.replaceAll("{url}", og.url)}
targets:
  cmd:
    type: command
    grant: ${JSON.stringify(GRANT)}
rules:
${
  rules ??
  `  - name: dba
    source: og
    schedules: ["dba primary"]
    target: cmd
    resources: [prod-db]
    grace: 15m
  - name: platform
    source: og
    schedules: [${PLATFORM}]
    target: cmd
    resources: [prod-k8s]
    lead: 15m`
}
`,
  });
  return { ...s, grant: s.clis["grant-cmd"] as FakeCli, og: s.fake };
}

const DBA_REASON = "on call: DBA Primary (opsgenie)";
const PLATFORM_REASON = "on call: Platform (opsgenie)";
const EXPECTED_ARGV = [
  ["alice@example.com", "prod-db", "2026-11-22T10:00:00Z", "2026-11-22T12:15:00Z", DBA_REASON],
  ["carol@example.com", "prod-db", "2026-11-22T12:00:00Z", "2026-11-22T18:15:00Z", DBA_REASON],
  ["alice@example.com", "prod-db", "2026-11-22T18:00:00Z", "2026-11-23T08:15:00Z", DBA_REASON],
  // Cut by Opsgenie at the timeline's end (three Berlin days from the read's start: the window
  // widened by the rules' grace and lead takes interval=3), and by shiftgrant at the window plus
  // grace (24h 15m) from its start; later runs extend it.
  ["bob@example.com", "prod-db", "2026-11-23T08:00:00Z", "2026-11-24T08:15:00Z", DBA_REASON],
  ["dave@example.com", "prod-k8s", "2026-11-22T10:00:00Z", "2026-11-22T14:00:00Z", PLATFORM_REASON],
  ["alice@example.com", "prod-k8s", "2026-11-22T13:45:00Z", "2026-11-23T02:00:00Z", PLATFORM_REASON],
];
const sortArgv = (a: string[][]) => [...a].sort((x, y) => x.join(" ").localeCompare(y.join(" ")));

describe("Opsgenie, end to end", { concurrency: true }, () => {
  describe("sync: Opsgenie to a command", { concurrency: 1 }, () => {
    let env: Env;
    let res: MainResult;
    before(async () => {
      env = await setup();
      res = await env.run(["sync", "--output", "json"]);
    });
    after(() => env.cleanup());

    it("exits 0 and runs exactly the expected grant commands (override, forwarding, two schedules)", async () => {
      assert.equal(res.code, 0, res.stderr);
      const calls = await env.grant.calls();
      assert.deepEqual(sortArgv(calls.map((c) => c.argv)), sortArgv(EXPECTED_ARGV));
    });

    it("prints the JSON document with one action per grant", () => {
      const doc = parseJsonOutput(res.stdout);
      assert.equal(doc.dryRun, false);
      assert.deepEqual(doc.window, { since: NOW, until: "2026-11-23T10:00:00Z" });
      assert.deepEqual(doc.errors, []);
      assert.deepEqual(
        doc.actions.map((a) => [a.kind, a.rule, a.resource, a.identity, a.start, a.end, a.reason, a.status]),
        [
          [
            "grant",
            "dba",
            "prod-db",
            "alice@example.com",
            NOW,
            "2026-11-22T12:15:00Z",
            DBA_REASON,
            "applied",
          ],
          [
            "grant",
            "dba",
            "prod-db",
            "alice@example.com",
            "2026-11-22T18:00:00Z",
            "2026-11-23T08:15:00Z",
            DBA_REASON,
            "applied",
          ],
          [
            "grant",
            "dba",
            "prod-db",
            "bob@example.com",
            "2026-11-23T08:00:00Z",
            "2026-11-24T08:15:00Z",
            DBA_REASON,
            "applied",
          ],
          [
            "grant",
            "dba",
            "prod-db",
            "carol@example.com",
            "2026-11-22T12:00:00Z",
            "2026-11-22T18:15:00Z",
            DBA_REASON,
            "applied",
          ],
          [
            "grant",
            "platform",
            "prod-k8s",
            "alice@example.com",
            "2026-11-22T13:45:00Z",
            "2026-11-23T02:00:00Z",
            PLATFORM_REASON,
            "applied",
          ],
          [
            "grant",
            "platform",
            "prod-k8s",
            "dave@example.com",
            NOW,
            "2026-11-22T14:00:00Z",
            PLATFORM_REASON,
            "applied",
          ],
        ],
      );
      assert.deepEqual(doc.summary, {
        grant: 6,
        extend: 0,
        shorten: 0,
        revoke: 0,
        expire: 0,
        unchanged: 0,
        wait: 0,
        skip: 0,
        failed: 0,
      });
    });

    it("reports the team participant on stderr and grants none of its members", async () => {
      assert.match(res.stderr, /participant that is not a user/);
      assert.match(res.stderr, /team SRE/);
      assert.match(res.stderr, /Platform/);
      const who = (await env.grant.calls()).map((c) => c.argv[0]);
      assert.ok(!who.includes("erin@example.com"));
    });

    it("reads Opsgenie with one listing and one timeline request per schedule, GenieKey auth", () => {
      assert.deepEqual(env.og.unexpected, []);
      assert.deepEqual(env.og.countByPath(), {
        "/v2/schedules": 1,
        [`/v2/schedules/${DBA}/timeline`]: 1,
        [`/v2/schedules/${PLATFORM}/timeline`]: 1,
      });
      for (const r of env.og.requests) assert.equal(r.headers.authorization, `GenieKey ${KEY}`);
      const tl = env.og.requests.find((r) => r.path.endsWith("/timeline"));
      assert.deepEqual(Object.fromEntries(tl?.query ?? []), {
        identifierType: "id",
        // The window read is [now - grace, now + 24h + lead]: a grant in its grace period still counts.
        interval: "3",
        intervalUnit: "days",
        date: "2026-11-22T09:45:00Z",
      });
    });

    it("leaks the key into neither output, the grant argv and env, the ledger nor the audit log", async () => {
      const calls = await env.grant.calls();
      await assertNoSecret(
        [KEY],
        [res.stdout, res.stderr, ...calls.map((c) => JSON.stringify(c))],
        [path.join(env.dir, "state.json"), path.join(env.dir, "audit.jsonl")],
      );
    });

    it("a second run issues nothing", async () => {
      await env.grant.reset();
      const again = await env.run(["sync", "--output", "json"]);
      assert.equal(again.code, 0, again.stderr);
      assert.deepEqual(await env.grant.calls(), []);
      assert.equal(parseJsonOutput(again.stdout).summary.unchanged, 6);
    });
  });

  describe("Opsgenie: schedules and oncall", { concurrency: true }, () => {
    let env: Env;
    before(async () => {
      env = await setup();
    });
    after(() => env.cleanup());

    it("schedules --query lists matching schedules (case-insensitive substring)", async () => {
      const res = await env.run(["schedules", "--source", "og", "--query", "PLATFORM", "--output", "json"]);
      assert.equal(res.code, 0, res.stderr);
      assert.deepEqual(JSON.parse(res.stdout), {
        version: 1,
        exitCode: 0,
        schedules: [
          { source: "og", id: PLATFORM, name: "Platform" },
          { source: "og", id: OTHER, name: "Platform Shadow" },
        ],
        errors: [],
      });
      await assertNoSecret([KEY], [res.stdout, res.stderr]);
    });

    it("oncall --output json prints the shifts whole, in UTC, with no level", async () => {
      const res = await env.run(["oncall", "--output", "json"]);
      assert.equal(res.code, 0, res.stderr);
      const doc = JSON.parse(res.stdout) as { shifts: Record<string, unknown>[]; errors: unknown[] };
      assert.deepEqual(doc.errors, []);
      const dba = { id: DBA, name: "DBA Primary" };
      const plat = { id: PLATFORM, name: "Platform" };
      assert.deepEqual(
        doc.shifts.map((s) => [s.rule, s.identity, s.email, s.schedule, s.level, s.start, s.end]),
        [
          // cut at the timeline's start: the day (Berlin) that holds the window's start
          [
            "dba",
            "alice@example.com",
            "Alice@Example.com",
            dba,
            null,
            "2026-11-21T23:00:00Z",
            "2026-11-22T12:00:00Z",
          ],
          [
            "dba",
            "carol@example.com",
            "carol@example.com",
            dba,
            null,
            "2026-11-22T12:00:00Z",
            "2026-11-22T18:00:00Z",
          ],
          [
            "dba",
            "alice@example.com",
            "Alice@Example.com",
            dba,
            null,
            "2026-11-22T18:00:00Z",
            "2026-11-23T08:00:00Z",
          ],
          [
            "dba",
            "bob@example.com",
            "bob@example.com",
            dba,
            null,
            "2026-11-23T08:00:00Z",
            "2026-11-24T23:00:00Z",
          ],
          [
            "platform",
            "dave@example.com",
            "dave@example.com",
            plat,
            null,
            "2026-11-22T05:00:00Z",
            "2026-11-22T14:00:00Z",
          ],
          [
            "platform",
            "alice@example.com",
            "Alice@Example.com",
            plat,
            null,
            "2026-11-22T14:00:00Z",
            "2026-11-23T02:00:00Z",
          ],
        ],
      );
    });
  });

  describe("Opsgenie: paging, failures, rate limits", { concurrency: true }, () => {
    it("a window the timeline does not cover in one answer is fetched again from where it stopped", async () => {
      const env = await setup({ maxTimelineDays: 3 });
      try {
        const res = await env.run([
          "sync",
          "--dry-run",
          "--output",
          "json",
          "--window",
          "7d",
          "--rule",
          "dba",
        ]);
        assert.equal(res.code, 0, res.stderr);
        const tl = env.og.requests.filter((r) => r.path === `/v2/schedules/${DBA}/timeline`);
        assert.deepEqual(
          tl.map((r) => [r.query.get("date"), r.query.get("interval")]),
          [
            // The read starts `grace` (15m) before the window, and reaches `lead` past its end.
            ["2026-11-22T09:45:00Z", "9"],
            // Berlin days: the first answer ran 2026-11-21T23:00Z + 3 days
            ["2026-11-24T23:00:00Z", "6"],
            ["2026-11-27T23:00:00Z", "3"],
          ],
        );
        // bob's week was cut in three by the timeline bounds; the planner joins the pieces.
        const doc = parseJsonOutput(res.stdout);
        assert.deepEqual(
          doc.actions.map((a) => [a.identity, a.start, a.end]),
          [
            ["alice@example.com", NOW, "2026-11-22T12:15:00Z"],
            ["alice@example.com", "2026-11-22T18:00:00Z", "2026-11-23T08:15:00Z"],
            ["bob@example.com", "2026-11-23T08:00:00Z", "2026-11-30T08:15:00Z"],
            ["carol@example.com", "2026-11-22T12:00:00Z", "2026-11-22T18:15:00Z"],
          ],
        );
        assert.deepEqual(env.og.unexpected, []);
      } finally {
        await env.cleanup();
      }
    });

    it("a refused key fails the source: exit 3, a message naming the request, nothing run", async () => {
      const env = await setup();
      try {
        const res = await env.run(["sync", "--output", "json"], { OPSGENIE_API_KEY: "wrong-key-0000" });
        assert.equal(res.code, 3, res.stderr);
        const doc = parseJsonOutput(res.stdout);
        assert.deepEqual(doc.actions, []);
        assert.deepEqual(
          doc.errors.map((e) => [e.rule, e.source]),
          [
            ["dba", "og"],
            ["platform", "og"],
          ],
        );
        const message = doc.errors[0]?.message ?? "";
        assert.match(message, /^GET \/v2\/schedules: 401 Could not authenticate/);
        assert.match(message, /\$OPSGENIE_API_KEY/);
        assert.deepEqual(await env.grant.calls(), []);
        assert.equal(env.og.countByPath()["/v2/schedules"], 1, "a 401 is not retried");
        await assertNoSecret(["wrong-key-0000", KEY], [res.stdout, res.stderr]);
      } finally {
        await env.cleanup();
      }
    });

    it("a team-scoped key that cannot read a schedule fails the source with a 403 that says why", async () => {
      const env = await setup({
        keyTeamId: "t-sre",
        schedules: structuredClone(SCHEDULES).map((s) => ({ ...s, ownerTeamId: "t-sre" })),
      });
      try {
        // The listing is the team's, so it resolves; the timeline read is refused (the schedule moved).
        env.og.fault(`/v2/schedules/${DBA}/timeline`, {
          kind: "status",
          status: 403,
          body: JSON.stringify({ message: "Forbidden", code: 40301, took: 0.001, requestId: "r-1" }),
        });
        const res = await env.run(["sync", "--dry-run", "--output", "json"]);
        assert.equal(res.code, 3);
        const message = parseJsonOutput(res.stdout).errors[0]?.message ?? "";
        assert.match(message, new RegExp(`^GET /v2/schedules/${DBA}/timeline: 403 Forbidden`));
        assert.match(message, /team's API integration/);
      } finally {
        await env.cleanup();
      }
    });

    it("429s (with the X-RateLimit-* headers, and bare) are retried and the run succeeds", async () => {
      const env = await setup();
      try {
        env.og.fault(
          `/v2/schedules/${DBA}/timeline`,
          { kind: "throttle", periodSec: 1 },
          { kind: "throttle", headers: false },
        );
        env.og.fault("/v2/schedules", { kind: "throttle" });
        const res = await env.run(["sync", "--dry-run", "--output", "json"]);
        assert.equal(res.code, 0, res.stderr);
        assert.equal(parseJsonOutput(res.stdout).summary.grant, 6);
        assert.deepEqual(env.og.countByPath(), {
          "/v2/schedules": 2,
          [`/v2/schedules/${DBA}/timeline`]: 3,
          [`/v2/schedules/${PLATFORM}/timeline`]: 1,
        });
        assert.match(res.stderr, /429/);
      } finally {
        await env.cleanup();
      }
    });

    it("a malformed answer fails its source with a clear message, and that source plans nothing", async () => {
      // Three sources on the same fake, one malformed answer each: one run shows all three messages.
      const env = await setup(
        {},
        `  - { name: m1, source: og1, schedules: [${DBA}], target: cmd, resources: [db] }
  - { name: m2, source: og2, schedules: [${PLATFORM}], target: cmd, resources: [db] }
  - { name: m3, source: og3, schedules: [${OTHER}], target: cmd, resources: [db] }`,
        ["og1", "og2", "og3"].map((n) => `  ${n}: { type: opsgenie, baseUrl: "{url}" }`).join("\n"),
      );
      try {
        env.og.fault(`/v2/schedules/${DBA}/timeline`, {
          kind: "body",
          body: { data: { startDate: NOW, endDate: "2026-11-24T00:00:00Z" } },
        });
        const period = {
          startDate: "2026-11-23T00:00:00Z",
          endDate: "2026-11-22T00:00:00Z",
          type: "default",
          recipient: { id: "u", type: "user", name: "x@example.com" },
        };
        env.og.fault(`/v2/schedules/${PLATFORM}/timeline`, {
          kind: "body",
          body: {
            data: {
              startDate: "2026-11-22T00:00:00Z",
              endDate: "2026-11-24T00:00:00Z",
              finalTimeline: { rotations: [{ id: "r", name: "R", periods: [period] }] },
            },
          },
        });
        env.og.fault(`/v2/schedules/${OTHER}/timeline`, { kind: "non-json" });
        const res = await env.run(["sync", "--output", "json"]);
        assert.equal(res.code, 3, res.stderr);
        const doc = parseJsonOutput(res.stdout);
        assert.deepEqual(doc.actions, []);
        assert.deepEqual(
          doc.errors.map((e) => [e.rule, e.source, e.message]),
          [
            ["m1", "og1", `GET /v2/schedules/${DBA}/timeline: malformed response: no data.finalTimeline`],
            [
              "m2",
              "og2",
              `GET /v2/schedules/${PLATFORM}/timeline: malformed response: ` +
                "data.finalTimeline.rotations[0].periods[0] starts (2026-11-23T00:00:00Z) after it ends (2026-11-22T00:00:00Z)",
            ],
            [
              "m3",
              "og3",
              `GET /v2/schedules/${OTHER}/timeline: 200 but the body is not JSON (text/html, 79 bytes)`,
            ],
          ],
        );
        assert.deepEqual(await env.grant.calls(), []);
      } finally {
        await env.cleanup();
      }
    });

    it("an unknown or ambiguous schedule name fails only its rule, with what to do", async () => {
      const schedules = [
        ...structuredClone(SCHEDULES),
        { id: "dup-1", name: "Twin", rotations: [] },
        { id: "dup-2", name: "twin", rotations: [] },
      ];
      const env = await setup(
        { schedules },
        `  - { name: typo, source: og, schedules: ["DBA Primry"], target: cmd, resources: [db] }
  - { name: twin, source: og, schedules: [Twin], target: cmd, resources: [db] }
  - { name: ok, source: og, schedules: [${PLATFORM}], target: cmd, resources: [db] }`,
      );
      try {
        const res = await env.run(["sync", "--dry-run", "--output", "json"]);
        assert.equal(res.code, 3, res.stderr);
        const doc = parseJsonOutput(res.stdout);
        assert.deepEqual(doc.errors, [
          {
            rule: "typo",
            source: "og",
            message:
              'no Opsgenie schedule has the id or name "DBA Primry" (of 5 the key can see): run `shiftgrant schedules --source og` to list them',
          },
          {
            rule: "twin",
            source: "og",
            message: '2 Opsgenie schedules are named "Twin" (dup-1, dup-2): use the id',
          },
        ]);
        assert.deepEqual(
          doc.actions.map((a) => [a.rule, a.identity]),
          [
            ["ok", "alice@example.com"],
            ["ok", "dave@example.com"],
          ],
        );
      } finally {
        await env.cleanup();
      }
    });

    it("requests for a 7-day window over 10 schedules", async () => {
      const ids = Array.from(
        { length: 10 },
        (_, i) => `9e0d7c6b-0000-4000-8000-${String(i).padStart(12, "0")}`,
      );
      const schedules: FakeOgSchedule[] = ids.map((id, i) => ({
        id,
        name: `Team ${i}`,
        timezone: "Europe/Berlin",
        rotations: [
          {
            id: `r${i}`,
            name: "Daily",
            periods: Array.from({ length: 9 }, (_, d) => ({
              start: `2026-11-${String(21 + d).padStart(2, "0")}T08:00:00Z`,
              end: `2026-11-${String(22 + d).padStart(2, "0")}T08:00:00Z`,
              recipient: { type: "user" as const, userId: USERS[(i + d) % USERS.length]?.id ?? "u-alice" },
            })),
          },
        ],
      }));
      const env = await setup(
        { schedules },
        `  - { name: all, source: og, schedules: [${ids.map((_, i) => `"Team ${i}"`).join(", ")}], target: cmd, resources: [db] }`,
      );
      try {
        const res = await env.run(["sync", "--dry-run", "--output", "json", "--window", "7d"]);
        assert.equal(res.code, 0, res.stderr);
        const counts = env.og.countByPath();
        assert.equal(counts["/v2/schedules"], 1);
        assert.equal(Object.keys(counts).length, 11);
        assert.ok(ids.every((id) => counts[`/v2/schedules/${id}/timeline`] === 1));
        assert.deepEqual(env.og.unexpected, []);
        const grouped = {
          "GET /v2/schedules": 1,
          "GET /v2/schedules/{id}/timeline": env.og.requests.length - 1,
        };
        console.log(
          `Opsgenie, 7-day window over 10 schedules: ${env.og.requests.length} requests ${JSON.stringify(grouped)}; by path ${JSON.stringify(counts)}`,
        );
      } finally {
        await env.cleanup();
      }
    });
  });
});
