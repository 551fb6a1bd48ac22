import assert from "node:assert/strict";
import path from "node:path";
import { describe, it } from "node:test";
import type { Fault } from "./fakes/pagerduty.js";
import { assertNoSecret, parseJsonOutput } from "./helpers.js";
import { PD_TOKEN, SDM_TOKEN, setup } from "./pd-setup.js";

// Fault injection against the fake PagerDuty: each fault's outcome, and how many requests it took.
// Backoff is 10ms and timeouts short, so the whole suite takes seconds.

type Case = {
  name: string;
  faults: Fault[];
  http?: string;
  code: number;
  oncallsRequests: number;
  grants: number;
  message?: RegExp;
  /**
   * The first wait the run asks for (exact: from the server's headers). Later ones pace the rest of
   * the spent budget until its reset, which the harness's sleep never reaches: they take no time.
   */
  firstSleep?: number;
};

const CASES: Case[] = [
  {
    name: "429 with Retry-After: waits the seconds asked, then succeeds",
    faults: [{ kind: "status", status: 429, headers: { "retry-after": "1" } }],
    code: 0,
    oncallsRequests: 2,
    grants: 3,
    firstSleep: 1000,
  },
  {
    name: "429 with ratelimit-reset: waits until the reset, then succeeds",
    faults: [
      {
        kind: "status",
        status: 429,
        headers: { "ratelimit-limit": "960", "ratelimit-remaining": "0", "ratelimit-reset": "1" },
      },
    ],
    code: 0,
    oncallsRequests: 2,
    grants: 3,
    firstSleep: 1000,
  },
  {
    name: "a bare 429 (no headers, no body): backs off, then succeeds",
    faults: [{ kind: "status", status: 429, body: "" }],
    code: 0,
    oncallsRequests: 2,
    grants: 3,
  },
  {
    name: "500, 502, 503 then success: retried with backoff",
    http: "{ backoff: 10ms, retries: 3, timeout: 2s }",
    faults: [
      { kind: "status", status: 500 },
      { kind: "status", status: 502 },
      { kind: "status", status: 503 },
    ],
    code: 0,
    oncallsRequests: 4,
    grants: 3,
  },
  {
    name: "503 forever: the source fails after its retries, exit 3, no grant",
    faults: Array<Fault>(5).fill({ kind: "status", status: 503 }),
    code: 3,
    oncallsRequests: 3,
    grants: 0,
    message: /^GET \/oncalls: 503 Internal Server Error after 3 tries$/,
  },
  {
    name: "a Retry-After longer than maxRetryWait fails at once",
    faults: [{ kind: "status", status: 429, headers: { "retry-after": "3600" } }],
    code: 3,
    oncallsRequests: 1,
    grants: 0,
    message: /the server asks to wait 3600s, longer than the 60s allowed/,
  },
  {
    name: "a hung connection: times out, retried, then succeeds",
    http: "{ backoff: 10ms, retries: 2, timeout: 300ms }",
    faults: [{ kind: "hang" }],
    code: 0,
    oncallsRequests: 2,
    grants: 3,
  },
  {
    name: "hung every time: exit 3 after the retries, saying it timed out",
    http: "{ backoff: 10ms, retries: 1, timeout: 300ms }",
    faults: [{ kind: "hang" }, { kind: "hang" }],
    code: 3,
    oncallsRequests: 2,
    grants: 0,
    message: /^GET \/oncalls: no answer from 127\.0\.0\.1:\d+ within 300ms after 2 tries$/,
  },
  {
    name: "a connection reset: retried, then succeeds",
    faults: [{ kind: "reset" }],
    code: 0,
    oncallsRequests: 2,
    grants: 3,
  },
  {
    name: "truncated JSON: the source fails (nothing planned from half a page), exit 3",
    faults: [{ kind: "truncated" }],
    code: 3,
    oncallsRequests: 1,
    grants: 0,
    message:
      /^GET \/oncalls: 200 but the body is not JSON \(application\/json, \d+ bytes, cut short or malformed\)$/,
  },
  {
    name: "a body cut off mid-transfer: retried, then succeeds",
    faults: [{ kind: "premature-close" }],
    code: 0,
    oncallsRequests: 2,
    grants: 3,
  },
  {
    name: "a 200 that is not JSON (an HTML error page): exit 3",
    faults: [{ kind: "non-json" }],
    code: 3,
    oncallsRequests: 1,
    grants: 0,
    message: /^GET \/oncalls: 200 but the body is not JSON \(text\/html, \d+ bytes\)$/,
  },
  {
    name: "a page that says more: true but is empty: exit 3, not an endless loop",
    faults: [{ kind: "lie-more" }],
    code: 3,
    oncallsRequests: 1,
    grants: 0,
    message:
      /^GET \/oncalls: inconsistent paging at offset 0: a page with no entries says there are more \(more: true\); nothing is planned from this answer/,
  },
  {
    name: "a 400 (not retryable): fails at once",
    faults: [
      {
        kind: "status",
        status: 400,
        body: JSON.stringify({ error: { message: "Invalid Input Provided", code: 2001 } }),
      },
    ],
    code: 3,
    oncallsRequests: 1,
    grants: 0,
    message: /^GET \/oncalls: 400 Invalid Input Provided$/,
  },
];

describe("fault injection: PagerDuty", () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const env = await setup({}, "", c.http);
      env.pd.fault("/oncalls", ...c.faults);
      try {
        const res = await env.run(["--output", "json"]);
        assert.equal(res.code, c.code, res.stderr);
        assert.equal(env.pd.countByPath()["/oncalls"], c.oncallsRequests);
        assert.equal((await env.sdm.calls()).length, c.grants);
        const doc = parseJsonOutput(res.stdout);
        if (c.message) {
          assert.deepEqual(
            doc.errors.map((e) => e.rule),
            ["dba", "platform"],
          );
          for (const e of doc.errors) assert.match(e.message, c.message);
          assert.deepEqual(doc.actions, []);
        } else {
          assert.deepEqual(doc.errors, []);
        }
        if (c.firstSleep !== undefined) assert.equal(res.sleeps[0], c.firstSleep);
        await assertNoSecret(
          [PD_TOKEN, SDM_TOKEN],
          [res.stdout, res.stderr],
          [path.join(env.dir, "state.json"), path.join(env.dir, "audit.jsonl")],
        );
      } finally {
        await env.cleanup();
      }
    });
  }

  it("a token echoed back in an error body is redacted from the output and the logs", async () => {
    const env = await setup();
    env.pd.fault("/oncalls", {
      kind: "status",
      status: 401,
      body: JSON.stringify({
        error: {
          message: `Authentication failed for Token token=${PD_TOKEN} (${encodeURIComponent(PD_TOKEN)})`,
          code: 2006,
        },
      }),
    });
    try {
      const res = await env.run(["--output", "json", "--log-level", "debug"]);
      assert.equal(res.code, 3);
      const doc = parseJsonOutput(res.stdout);
      assert.match(doc.errors[0]?.message ?? "", /Authentication failed for Token token=\[REDACTED\]/);
      await assertNoSecret([PD_TOKEN], [res.stdout, res.stderr]);
    } finally {
      await env.cleanup();
    }
  });

  it("a token with a quote and a backslash, echoed back in a JSON error, leaks in no spelling: JSON and text output, JSON and text logs", async () => {
    const token = 'pd"tok\\en-5e1f9a';
    const env = await setup({ token });
    const echo = {
      kind: "status" as const,
      status: 401,
      body: JSON.stringify({
        error: { message: `Authentication failed for Token token=${token} ("${token}")`, code: 2006 },
      }),
    };
    env.pd.fault("/oncalls", echo, echo);
    try {
      const runs = [
        ["--output", "json", "--log-format", "text"],
        ["--output", "text", "--log-format", "json"],
      ];
      for (const args of runs) {
        const res = await env.run([...args, "--log-level", "debug"], { PAGERDUTY_TOKEN: token });
        assert.equal(res.code, 3, res.stderr);
        // The echo reached both streams, redacted.
        assert.match(res.stdout, /Authentication failed for Token token=\[REDACTED\]/);
        assert.match(res.stderr, /Authentication failed for Token token=\[REDACTED\]/);
        await assertNoSecret([token], [res.stdout, res.stderr]);
      }
      assert.deepEqual(env.pd.countByPath(), { "/schedules": 2, "/oncalls": 2 });
    } finally {
      await env.cleanup();
    }
  });

  it("a response body over the cap fails the source at once (exit 3), read no further and not retried", async () => {
    const MB = 1024 * 1024;
    const env = await setup({}, "", "{ backoff: 10ms, retries: 2, timeout: 20s, maxResponseBytes: 64KB }");
    try {
      // Streamed without a length: the read stops once past 64 KB.
      env.pd.fault("/oncalls", { kind: "huge", bytes: 100 * MB });
      const streamed = await env.run(["--output", "json"]);
      assert.equal(streamed.code, 3, streamed.stderr);
      const doc = parseJsonOutput(streamed.stdout);
      assert.deepEqual(doc.actions, []);
      assert.deepEqual(
        doc.errors.map((e) => [e.rule, e.message]),
        [
          ["dba", "GET /oncalls: response over 64 KB (http.maxResponseBytes)"],
          ["platform", "GET /oncalls: response over 64 KB (http.maxResponseBytes)"],
        ],
      );
      assert.equal(env.pd.countByPath()["/oncalls"], 1);
      assert.ok(env.pd.streamed < 100 * MB, `the fake sent ${env.pd.streamed} bytes`);

      // With the default cap (50 MB), a length announced over it is refused before reading.
      const { readFile, writeFile } = await import("node:fs/promises");
      await writeFile(
        env.config,
        (await readFile(env.config, "utf8")).replace(", maxResponseBytes: 64KB", ""),
      );
      env.pd.fault("/oncalls", { kind: "huge", bytes: 100 * MB, announce: true });
      const announced = await env.run(["--output", "json"]);
      assert.equal(announced.code, 3, announced.stderr);
      assert.deepEqual(
        parseJsonOutput(announced.stdout).errors.map((e) => e.message),
        Array(2).fill("GET /oncalls: response over 50 MB (http.maxResponseBytes)"),
      );
      assert.equal(env.pd.countByPath()["/oncalls"], 2);
      assert.deepEqual(await env.sdm.calls(), []);
    } finally {
      await env.cleanup();
    }
  });

  it("a source failure leaves the other source's rules running", async () => {
    const env = await setup(
      {},
      `  - name: rota-rule
    source: rota
    schedules: [primary]
    target: sdm
    resources: [staging]
`,
    );
    const { writeFile, readFile } = await import("node:fs/promises");
    await writeFile(
      path.join(env.dir, "rota.yaml"),
      "shifts:\n  - { schedule: primary, email: dan@example.com, start: 2026-11-22T11:00:00Z, end: 2026-11-22T15:00:00Z }\n",
    );
    const cfg = await readFile(env.config, "utf8");
    await writeFile(
      env.config,
      cfg.replace("targets:", "  rota:\n    type: file\n    path: rota.yaml\ntargets:"),
    );
    env.pd.fault("/oncalls", ...Array<Fault>(3).fill({ kind: "status", status: 503 }));
    try {
      const res = await env.run(["--output", "json"]);
      assert.equal(res.code, 3, res.stderr);
      assert.deepEqual(
        (await env.sdm.calls()).map((c) => c.argv),
        [
          [
            "admin",
            "users",
            "grant-temporary",
            "--from",
            "2026-11-22T11:00:00Z",
            "--until",
            "2026-11-22T15:00:00Z",
            "staging",
            "dan@example.com",
          ],
        ],
      );
    } finally {
      await env.cleanup();
    }
  });
});
