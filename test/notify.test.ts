import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { parseConfig } from "../src/config/load.js";
import { eventId } from "../src/notify/event.js";
import { simulateDay } from "./day.js";
import { dayFixture } from "./days/command.js";
import { startReceiver } from "./fakes/receiver.js";
import { startSlack } from "./fakes/slack.js";
import { runMain } from "./harness.js";
import { assertNoSecret, makeTempDir } from "./helpers.js";

const SLACK_TOKEN = "xoxb-1111-2222-notify-secret";
const HOOK_TOKEN = "hook-token-notify-secret";
const USERS = { "alice@example.com": "UALICE", "bob@example.com": "UBOB" };

type Receiver = Awaited<ReturnType<typeof startReceiver>>;

/** The webhook documents received since the last call, one line each: type, kind, identity. */
function takeHooks(r: Receiver, seen: { n: number }): string[] {
  const out = r.requests
    .slice(seen.n)
    .filter((q) => q.path === "/events")
    .map((q) => {
      const e = (q.body as { event: Record<string, string> }).event;
      return `webhook ${q.method} ${e.type} ${e.kind} ${e.identity ?? e.rule ?? ""}`.trimEnd();
    });
  seen.n = r.requests.length;
  return out;
}

describe("notifications: a simulated day", () => {
  it("tells each grant, end and failure once, to the channel and the person, and nothing on an unchanged run", async () => {
    const slack = await startSlack({ token: SLACK_TOKEN, users: USERS, channels: ["#oncall-access"] });
    const hook = await startReceiver({ token: HOOK_TOKEN });
    const day = await dayFixture();
    const seen = { n: 0 };
    try {
      const runs = await simulateDay(
        {
          ...day,
          env: { SLACK_BOT_TOKEN: SLACK_TOKEN, HOOK_TOKEN },
          calls: async () => [...(await day.calls()), ...slack.take(), ...takeHooks(hook, seen)],
        },
        {
          only: ["00:00", "00:15", "12:00", "13:00", "13:15", "16:00"],
          notify: {
            channels: {
              team: { type: "slack", channel: "#oncall-access", dm: true, baseUrl: slack.url },
              audit: {
                type: "webhook",
                url: `${hook.url}/events`,
                tokenEnv: "HOOK_TOKEN",
                events: ["granted", "ended"],
              },
            },
          },
        },
      );
      const G = (who: string, from: string, until: string, rule: string) =>
        `Access granted: ${who}@example.com to ops on t | from 2026-11-22 ${from} UTC until ${until} UTC | why: on call: ${rule} (rota) (rule ${rule})`;
      const byRun = Object.fromEntries(runs.map((r) => [r.at, [`exit ${r.code}`, ...r.calls]]));
      assert.deepEqual(byRun, {
        "00:00": [
          "exit 0",
          "grant-cmd alice@example.com ops 2026-11-22T00:00:00Z 2026-11-22T12:15:00Z",
          `chat.postMessage #oncall-access: ${G("alice", "00:00", "2026-11-22 12:15", "primary")}`,
          "users.lookupByEmail alice@example.com",
          "conversations.open UALICE",
          `chat.postMessage DUALICE: ${G("alice", "00:00", "2026-11-22 12:15", "primary")}`,
          "chat.postMessage #oncall-access: Access extended: alice@example.com to ops on t | now until 2026-11-22 14:00 UTC (it was until 2026-11-22 12:15 UTC) | why: on call: dba (rota) (rule dba)",
          "chat.postMessage DUALICE: Access extended: alice@example.com to ops on t | now until 2026-11-22 14:00 UTC (it was until 2026-11-22 12:15 UTC) | why: on call: dba (rota) (rule dba)",
          "chat.postMessage #oncall-access: shiftgrant: 2 granted, 0 ended, 0 failed",
          "webhook POST granted grant alice@example.com",
          "webhook POST granted extend alice@example.com",
        ],
        // Nothing changed: nothing is sent.
        "00:15": ["exit 0"],
        "12:00": [
          "exit 0",
          "grant-cmd bob@example.com ops 2026-11-22T12:00:00Z 2026-11-23T00:15:00Z",
          `chat.postMessage #oncall-access: ${G("bob", "12:00", "2026-11-23 00:15", "primary")}`,
          "users.lookupByEmail bob@example.com",
          "conversations.open UBOB",
          `chat.postMessage DUBOB: ${G("bob", "12:00", "2026-11-23 00:15", "primary")}`,
          "chat.postMessage #oncall-access: shiftgrant: 1 granted, 0 ended, 0 failed",
          "webhook POST granted grant bob@example.com",
        ],
        // The swap: bob's grant is cut, carol's begins; carol has no Slack user (her DM is skipped).
        "13:00": [
          "exit 0",
          "grant-cmd carol@example.com ops 2026-11-22T13:00:00Z 2026-11-23T00:15:00Z",
          "chat.postMessage #oncall-access: Access cut short: bob@example.com to ops on t | from 2026-11-22 12:00 UTC until 2026-11-22 13:15 UTC | why: on call: primary (rota) (rule primary)",
          "users.lookupByEmail bob@example.com",
          "conversations.open UBOB",
          "chat.postMessage DUBOB: Access cut short: bob@example.com to ops on t | from 2026-11-22 12:00 UTC until 2026-11-22 13:15 UTC | why: on call: primary (rota) (rule primary)",
          `chat.postMessage #oncall-access: ${G("carol", "13:00", "2026-11-23 00:15", "primary")}`,
          "users.lookupByEmail carol@example.com",
          "chat.postMessage #oncall-access: shiftgrant: 2 granted, 0 ended, 0 failed",
          "webhook POST granted shorten bob@example.com",
          "webhook POST granted grant carol@example.com",
        ],
        "13:15": [
          "exit 0",
          "revoke-cmd bob@example.com ops",
          "chat.postMessage #oncall-access: Access ended: bob@example.com from ops on t | expired; it was granted from 2026-11-22 12:00 UTC until 2026-11-22 13:15 UTC | why: the grant's end has passed (rule primary)",
          "users.lookupByEmail bob@example.com",
          "conversations.open UBOB",
          "chat.postMessage DUBOB: Access ended: bob@example.com from ops on t | expired; it was granted from 2026-11-22 12:00 UTC until 2026-11-22 13:15 UTC | why: the grant's end has passed (rule primary)",
          "chat.postMessage #oncall-access: shiftgrant: 0 granted, 1 ended, 0 failed",
          "webhook POST ended expire bob@example.com",
        ],
        // The overdue expiry of alice's 14:00 end is made at 16:00, with dave's grant.
        "16:00": [
          "exit 0",
          "grant-cmd dave@example.com ops 2026-11-22T16:00:00Z 2026-11-22T20:00:00Z",
          "revoke-cmd alice@example.com ops",
          "chat.postMessage #oncall-access: Access ended: alice@example.com from ops on t | expired; it was granted from 2026-11-22 00:00 UTC until 2026-11-22 14:00 UTC | why: the grant's end has passed (rule dba)",
          "users.lookupByEmail alice@example.com",
          "conversations.open UALICE",
          "chat.postMessage DUALICE: Access ended: alice@example.com from ops on t | expired; it was granted from 2026-11-22 00:00 UTC until 2026-11-22 14:00 UTC | why: the grant's end has passed (rule dba)",
          `chat.postMessage #oncall-access: ${G("dave", "16:00", "2026-11-22 20:00", "dba")}`,
          "users.lookupByEmail dave@example.com",
          "chat.postMessage #oncall-access: shiftgrant: 1 granted, 1 ended, 0 failed",
          "webhook POST ended expire alice@example.com",
          "webhook POST granted grant dave@example.com",
        ],
      });
      for (const r of runs) await assertNoSecret([SLACK_TOKEN, HOOK_TOKEN], [r.stderr]);
    } finally {
      await day.close();
      await slack.close();
      await hook.close();
    }
  });
});

const NOW = "2026-11-22T09:00:00Z";
/** The id of alice's grant: a hash of run-independent facts, the same in Slack and the webhook. */
const ALICE_ID = eventId(["granted", "grant", "api", "db", "alice@example.com", NOW, "2026-11-22T17:00:00Z"]);
const SCHEDULE = "<!channel> & <@U1> primary";

describe("notifications: delivery, crashes, dry runs, failures", () => {
  let slack: Awaited<ReturnType<typeof startSlack>>;
  let receiver: Receiver;
  before(async () => {
    slack = await startSlack({ token: SLACK_TOKEN, users: USERS, channels: ["#oncall-access"] });
    receiver = await startReceiver({ token: HOOK_TOKEN });
  });
  after(async () => {
    await slack.close();
    await receiver.close();
  });

  /** A config dir: alice and bob on call 09:00-17:00 on a schedule whose name tries to mention everyone. */
  async function setup(channel: Record<string, unknown> = {}) {
    const { dir, cleanup } = await makeTempDir("shiftgrant-notify-");
    const rota = [
      "shifts:",
      `  - { schedule: ${JSON.stringify(SCHEDULE)}, email: alice@example.com, start: ${NOW}, end: 2026-11-22T17:00:00Z }`,
      `  - { schedule: backup, email: bob@example.com, start: ${NOW}, end: 2026-11-22T17:00:00Z }`,
      "",
    ].join("\n");
    await writeFile(path.join(dir, "rota.yaml"), rota);
    const config = {
      version: 1,
      state: "state.json",
      sources: { rota: { type: "file", path: "rota.yaml" } },
      targets: { api: { type: "http", url: `${receiver.url}/grants`, tokenEnv: "ACCESS_TOKEN" } },
      rules: [
        { name: "oncall", source: "rota", schedules: [SCHEDULE, "backup"], target: "api", resources: ["db"] },
      ],
      notify: {
        channels: {
          team: { type: "slack", channel: "#oncall-access", dm: true, baseUrl: slack.url, ...channel },
          hook: {
            type: "webhook",
            url: `${receiver.url}/events`,
            tokenEnv: "ACCESS_TOKEN",
            events: ["granted"],
          },
        },
      },
    };
    const file = path.join(dir, "shiftgrant.json");
    await writeFile(file, JSON.stringify(config));
    const env = { SLACK_BOT_TOKEN: SLACK_TOKEN, ACCESS_TOKEN: HOOK_TOKEN };
    return { dir, file, env, state: path.join(dir, "state.json"), cleanup };
  }
  const seen = { n: 0 };
  const requests = () => {
    const out = receiver.requests.slice(seen.n).map((q) => `${q.method} ${q.path}`);
    seen.n = receiver.requests.length;
    return out;
  };
  const GRANT = (who: "alice" | "bob") =>
    `Access granted: ${who}@example.com to db on api | from 2026-11-22 09:00 UTC until 2026-11-22 17:00 UTC | why: on call: ${who === "alice" ? "&lt;!channel&gt; &amp; &lt;@U1&gt; primary" : "backup"} (rota) (rule oncall)`;

  it("a run stopped after its first message leaves the others pending; the next run sends only those, the one after nothing", async () => {
    const s = await setup();
    try {
      const ac = new AbortController();
      slack.onPost((n) => n === 1 && ac.abort("SIGTERM"));
      const stop = { signal: ac.signal, graceful: () => undefined, onHardStop: () => () => undefined };
      const first = await runMain(["sync", "-c", s.file, "--output", "json"], { now: NOW, env: s.env, stop });
      slack.onPost(null);
      assert.equal(first.code, 143, first.stderr);
      const doc = JSON.parse(first.stdout) as Record<string, unknown>;
      assert.equal(
        doc.stopped,
        "SIGTERM received: 6 notifications were not sent (they stay pending; the next run sends them)",
      );
      assert.deepEqual(doc.notifications, {
        channels: {
          team: { sent: 1, failed: 0, skipped: 0, required: false },
          hook: { sent: 0, failed: 0, skipped: 0, required: false },
        },
      });
      assert.deepEqual(requests(), ["POST /grants", "POST /grants"]);
      assert.deepEqual(slack.take(), [`chat.postMessage #oncall-access: ${GRANT("alice")}`]);
      // What Slack received is escaped in the fallback and in the blocks: no mention can fire.
      const posted = slack.calls.at(-1)?.args ?? {};
      assert.deepEqual(posted.blocks, [
        {
          type: "section",
          text: {
            type: "mrkdwn",
            text: `*${GRANT("alice").split(" | ")[0]}*\n${GRANT("alice").split(" | ").slice(1).join("\n")}`,
          },
        },
        {
          type: "context",
          elements: [
            {
              type: "mrkdwn",
              text: `shiftgrant · event ${ALICE_ID}`,
            },
          ],
        },
      ]);
      assert.ok(!JSON.stringify(slack.calls).includes("<!channel>"));
      // The ledger says delivered exactly what was delivered. Its notices are in the order the
      // grants finished (alice's and bob's POSTs run side by side): compared sorted.
      const ledger = JSON.parse(await readFile(s.state, "utf8")) as {
        notices: { event: { type: string; identity?: string }; pending: string[]; done: string[] }[];
      };
      assert.deepEqual(
        ledger.notices
          .map(
            (n) =>
              `${n.event.type} ${n.event.identity ?? "-"} pending=${n.pending.join(",")} done=${n.done.join(",")}`,
          )
          .sort(),
        [
          "granted alice@example.com pending=team.dm,hook done=team",
          "granted bob@example.com pending=team,team.dm,hook done=",
          "summary - pending=team done=",
        ],
      );

      const second = await runMain(["sync", "-c", s.file, "--output", "json"], { now: NOW, env: s.env });
      assert.equal(second.code, 0, second.stderr);
      assert.deepEqual((JSON.parse(second.stdout) as Record<string, unknown>).notifications, {
        channels: {
          team: { sent: 4, failed: 0, skipped: 0, required: false },
          hook: { sent: 2, failed: 0, skipped: 0, required: false },
        },
      });
      assert.deepEqual(slack.take(), [
        "users.lookupByEmail alice@example.com",
        "conversations.open UALICE",
        `chat.postMessage DUALICE: ${GRANT("alice")}`,
        `chat.postMessage #oncall-access: ${GRANT("bob")}`,
        "users.lookupByEmail bob@example.com",
        "conversations.open UBOB",
        `chat.postMessage DUBOB: ${GRANT("bob")}`,
        "chat.postMessage #oncall-access: shiftgrant: 2 granted, 0 ended, 0 failed",
      ]);
      const hooks = receiver.requests
        .slice(seen.n)
        .map((q) => q.body as { version: number; event: Record<string, unknown> });
      assert.deepEqual(requests(), ["POST /events", "POST /events"]);
      assert.deepEqual(hooks[0], {
        version: 1,
        event: {
          id: ALICE_ID,
          type: "granted",
          kind: "grant",
          at: "2026-11-22T09:00:00Z",
          rule: "oncall",
          target: "api",
          resource: "db",
          identity: "alice@example.com",
          start: "2026-11-22T09:00:00Z",
          end: "2026-11-22T17:00:00Z",
          reason: `on call: ${SCHEDULE} (rota)`,
          text: `Access granted: alice@example.com to db on api\nfrom 2026-11-22 09:00 UTC until 2026-11-22 17:00 UTC\nwhy: on call: ${SCHEDULE} (rota) (rule oncall)`,
        },
      });
      assert.equal(receiver.requests.at(-1)?.headers.authorization, `Bearer ${HOOK_TOKEN}`);

      // Nothing changed: nothing is sent, and the ledger keeps what was told.
      const third = await runMain(["sync", "-c", s.file, "--output", "json"], {
        now: "2026-11-22T09:15:00Z",
        env: s.env,
      });
      assert.equal(third.code, 0, third.stderr);
      assert.deepEqual(slack.take(), []);
      assert.deepEqual(requests(), []);
      for (const r of [first, second, third])
        await assertNoSecret([SLACK_TOKEN, HOOK_TOKEN], [r.stdout, r.stderr], [s.state]);
    } finally {
      await s.cleanup();
    }
  });

  it("a dry run lists the messages it would send and sends nothing (no token needed)", async () => {
    const s = await setup();
    try {
      const res = await runMain(["sync", "-c", s.file, "--dry-run", "--output", "json"], {
        now: NOW,
        env: {},
      });
      assert.equal(res.code, 0, res.stderr);
      const n = (
        JSON.parse(res.stdout) as {
          notifications: { messages: { channel: string; type: string; text: string }[] };
        }
      ).notifications;
      assert.deepEqual(
        n.messages.map((m) => `${m.channel} ${m.type}`),
        [
          "team granted",
          "team.dm granted",
          "hook granted",
          "team granted",
          "team.dm granted",
          "hook granted",
          "team summary",
        ],
      );
      assert.equal(
        n.messages[1]?.text,
        `slack team → direct message to alice@example.com: ${GRANT("alice").replace(/ \| /g, " — ")}`,
      );
      assert.deepEqual(slack.take(), []);
      assert.deepEqual(requests(), []);
      const text = await runMain(["sync", "-c", s.file, "--dry-run"], { now: NOW, env: {} });
      assert.match(
        text.stdout,
        /notifications \(dry run: 7 message\(s\), none sent\):\n {2}slack team → #oncall-access: Access granted: alice@example\.com/,
      );
      assert.deepEqual(slack.take(), []);
    } finally {
      await s.cleanup();
    }
  });

  it("rate limits are waited out through our sleep; a refused token fails the messages, and exits 4 only when required", async () => {
    const limited = await setup();
    const refused = await setup();
    const required = await setup({ required: true });
    try {
      slack.fail("chat.postMessage", { status: 429, retryAfter: 3 }, { error: "ratelimited" });
      const ok = await runMain(["sync", "-c", limited.file, "--output", "json"], {
        now: NOW,
        env: limited.env,
      });
      assert.equal(ok.code, 0, ok.stderr);
      assert.deepEqual(ok.sleeps, [3000, 1000]);
      assert.equal(slack.take().filter((l) => l.startsWith("chat.postMessage")).length, 7);
      requests();

      const metrics = path.join(refused.dir, "metrics.prom");
      const wrong = { ...refused.env, SLACK_BOT_TOKEN: "xoxb-wrong-token-notify" };
      const bad = await runMain(["sync", "-c", refused.file, "--output", "json", "--metrics-file", metrics], {
        now: NOW,
        env: wrong,
      });
      assert.equal(bad.code, 0, bad.stderr);
      assert.deepEqual((JSON.parse(bad.stdout) as Record<string, unknown>).notifications, {
        channels: {
          team: { sent: 0, failed: 5, skipped: 0, required: false },
          hook: { sent: 2, failed: 0, skipped: 0, required: false },
        },
      });
      assert.match(
        bad.stderr,
        /"channel":"team","error":"Slack refused the token \(invalid_auth\): check the bot token in tokenEnv\/tokenFile","event":"[0-9a-f]{24}","level":"warn","message":"notification failed; the next run tries again"/,
      );
      const prom = await readFile(metrics, "utf8");
      assert.match(prom, /shiftgrant_last_run_notifications\{channel="team",result="failed"\} 5\n/);
      assert.match(prom, /shiftgrant_last_run_notifications\{channel="hook",result="sent"\} 2\n/);
      await assertNoSecret(
        [SLACK_TOKEN, HOOK_TOKEN, "xoxb-wrong-token-notify"],
        [bad.stdout, bad.stderr],
        [refused.state, metrics],
      );
      slack.take();
      // The token fixed, the next run sends what failed, once.
      const retry = await runMain(["sync", "-c", refused.file, "--output", "json"], {
        now: NOW,
        env: refused.env,
      });
      assert.equal(retry.code, 0, retry.stderr);
      assert.equal(slack.take().filter((l) => l.startsWith("chat.postMessage")).length, 5);

      const req = await runMain(["sync", "-c", required.file, "--output", "json"], { now: NOW, env: wrong });
      assert.equal(req.code, 4, req.stderr);
      assert.equal((JSON.parse(req.stdout) as { exitCode: number }).exitCode, 4);
      assert.match(req.stderr, /a required notification channel could not be told; the run exits 4/);
      // The grants were made all the same.
      assert.deepEqual(
        requests().filter((r) => r.endsWith("/grants")),
        ["POST /grants", "POST /grants", "POST /grants", "POST /grants"],
      );
      slack.take();
      requests();
    } finally {
      await limited.cleanup();
      await refused.cleanup();
      await required.cleanup();
    }
  });

  it("validate --online checks each channel without posting: Slack's auth.test, the webhook's HEAD", async () => {
    const s = await setup();
    try {
      // The http target's own check (HEAD url) is not what this test is about.
      receiver.allow("HEAD /grants");
      const ok = await runMain(["validate", "-c", s.file, "--online"], { env: s.env });
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
      assert.match(
        ok.stdout,
        /ok {4}notify team: Slack accepts the token: workspace Example, bot user shiftgrant\n/,
      );
      assert.match(ok.stdout, /ok {4}notify hook: http:\/\/127\.0\.0\.1:\d+ answers \(HEAD: 405\)\n/);
      const bad = await runMain(["validate", "-c", s.file, "--online"], {
        env: { ...s.env, SLACK_BOT_TOKEN: "xoxb-wrong-token-notify" },
      });
      assert.equal(bad.code, 2);
      assert.match(
        bad.stdout,
        /FAIL {2}notify team: Slack refused the token \(invalid_auth\): check the bot token in tokenEnv\/tokenFile\n/,
      );
      assert.deepEqual(slack.take(), ["auth.test", "auth.test"]);
      assert.deepEqual(
        requests().filter((r) => r.includes("/events")),
        ["HEAD /events", "HEAD /events"],
      );
      await assertNoSecret(
        [SLACK_TOKEN, HOOK_TOKEN, "xoxb-wrong-token-notify"],
        [ok.stdout, ok.stderr, bad.stdout, bad.stderr],
      );
    } finally {
      await s.cleanup();
    }
  });
});

describe("notifications: config", () => {
  const parse = (notify: unknown) => {
    const doc = {
      version: 1,
      sources: { rota: { type: "file", path: "rota.yaml" } },
      targets: { t: { type: "command", grant: ["g"] } },
      rules: [{ name: "oncall", source: "rota", schedules: ["p"], target: "t", resources: ["db"] }],
      notify,
    };
    try {
      return parseConfig(JSON.stringify(doc), "/etc/shiftgrant.json");
    } catch (err) {
      return (err as { problems?: string[] }).problems ?? [String(err)];
    }
  };
  it("a short config works; every mistake is named with its path", () => {
    const ok = parse({ events: ["failed"], channels: { team: { type: "slack", channel: "#ops" } } });
    assert.ok(!Array.isArray(ok));
    const team = ok.channels.get("team");
    assert.deepEqual(team && { ...team, events: [...(team.events ?? [])] }, {
      name: "team",
      type: "slack",
      events: ["failed"],
      rules: null,
      required: false,
      timeoutMs: 30_000,
      secret: { tokenEnv: "SLACK_BOT_TOKEN", tokenFile: null },
      channel: "#ops",
      dm: false,
      baseUrl: "https://slack.com/api/",
    });
    assert.deepEqual(
      parse({
        channels: {
          a: { type: "slack" },
          b: { type: "webhook", url: "http://hooks.example.com/x", rules: ["oncal"] },
          c: { type: "slack", dm: true, events: ["grant"], token: "xoxb-1" },
          d: { type: "teams" },
        },
      }),
      [
        "notify.channels.c.events[0]: expected one of: granted, ended, failed, summary",
        "notify.channels.c.token: secrets are never written in the config; put the token in an environment variable and set tokenEnv: NAME, or in a file and set tokenFile: /path/to/file",
        'notify.channels.d.type: unknown type "teams"; use one of: slack, webhook',
        "notify.channels.a: set channel (where to post), dm: true (message each person), or both",
        'notify.channels.b.url: "http://hooks.example.com/x" must use https:// (plain http is allowed only for 127.0.0.1 and localhost)',
        'notify.channels.b.rules: unknown rule "oncal" (did you mean "oncall"?)',
      ],
    );
  });
});
