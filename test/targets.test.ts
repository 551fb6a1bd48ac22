import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, it } from "node:test";
import { startReceiver } from "./fakes/receiver.js";
import { makeFakeTctl } from "./fakes/tctl.js";
import { assertNoSecret, makeTempDir, parseJsonOutput, writeYaml } from "./helpers.js";
import { runMain } from "./harness.js";

// The teleport and http targets, through the CLI, with a rota file as the source and the clock
// moved between runs (each run is given its clock), as cron would move it.

const sortArgv = (a: string[][]) => [...a].sort((x, y) => x.join(" ").localeCompare(y.join(" ")));

const rota = (shifts: [string, string, string][]) =>
  `shifts:\n${shifts.map(([email, start, end]) => `  - { schedule: primary, email: ${email}, start: ${start}, end: ${end} }`).join("\n")}\n`;

describe("teleport target: access-list membership through tctl", () => {
  it("grants now, waits for a future shift, extends with a later expiry, revokes a swapped shift", async () => {
    const { dir, cleanup } = await makeTempDir();
    const binDir = path.join(dir, "bin");
    await mkdir(binDir);
    const tctl = await makeFakeTctl(binDir, ["prod-access"]);
    const config = await writeYaml(
      path.join(dir, "shiftgrant.yaml"),
      `
version: 1
state: state.json
sources: { rota: { type: file, path: rota.yaml } }
targets:
  tp:
    type: teleport
    args: ["--auth-server", "proxy.example.com:443", "-i", "/opt/machine-id/identity"]
rules:
  - { name: oncall, source: rota, schedules: [primary], target: tp, resources: [prod-access], revoke: true }
`,
    );
    const run = (now: string) =>
      runMain(["sync", "-c", config, "--output", "json"], { binDir, cwd: dir, now: now });
    const prefix = [
      "--auth-server",
      "proxy.example.com:443",
      "-i",
      "/opt/machine-id/identity",
      "acl",
      "users",
    ];
    try {
      await writeFile(
        path.join(dir, "rota.yaml"),
        rota([
          ["alice@example.com", "2026-11-22T08:00:00Z", "2026-11-22T20:00:00Z"],
          ["bob@example.com", "2026-11-22T20:00:00Z", "2026-11-23T08:00:00Z"],
        ]),
      );
      // 10:00: alice now; bob's shift starts at 20:00 and a membership cannot start later: wait.
      const r1 = await run("2026-11-22T10:00:00Z");
      assert.equal(r1.code, 0, r1.stderr);
      // Before a first grant: is alice a member already, for good (no end)?
      assert.deepEqual(await tctl.calls(), [
        [...prefix, "ls", "prod-access", "--format=json"],
        [
          ...prefix,
          "add",
          "prod-access",
          "alice@example.com",
          "2026-11-22T20:00:00Z",
          "on call: primary (rota)",
        ],
      ]);
      const doc1 = parseJsonOutput(r1.stdout);
      assert.deepEqual(
        doc1.actions.map((a) => [a.kind, a.identity, a.status]),
        [
          ["grant", "alice@example.com", "applied"],
          ["wait", "bob@example.com", "skipped"],
        ],
      );
      assert.match(String(doc1.actions[1]?.reason), /tp cannot schedule a grant that starts later/);

      // 20:00: bob's shift has begun: granted.
      await tctl.resetCalls();
      const r2 = await run("2026-11-22T20:00:00Z");
      assert.equal(r2.code, 0, r2.stderr);
      assert.deepEqual(await tctl.calls(), [
        [...prefix, "ls", "prod-access", "--format=json"],
        [
          ...prefix,
          "add",
          "prod-access",
          "bob@example.com",
          "2026-11-23T08:00:00Z",
          "on call: primary (rota)",
        ],
      ]);

      // 21:00: bob's shift grew to 12:00: the same upsert with the later expiry.
      await writeFile(
        path.join(dir, "rota.yaml"),
        rota([
          ["alice@example.com", "2026-11-22T08:00:00Z", "2026-11-22T20:00:00Z"],
          ["bob@example.com", "2026-11-22T20:00:00Z", "2026-11-23T12:00:00Z"],
        ]),
      );
      await tctl.resetCalls();
      const r3 = await run("2026-11-22T21:00:00Z");
      assert.equal(r3.code, 0, r3.stderr);
      assert.deepEqual(await tctl.calls(), [
        [
          ...prefix,
          "add",
          "prod-access",
          "bob@example.com",
          "2026-11-23T12:00:00Z",
          "on call: primary (rota)",
        ],
      ]);
      assert.deepEqual(
        parseJsonOutput(r3.stdout).actions.map((a) => [a.kind, a.start, a.end]),
        [
          ["unchanged", "2026-11-22T20:00:00Z", "2026-11-23T08:00:00Z"],
          ["extend", "2026-11-23T08:00:00Z", "2026-11-23T12:00:00Z"],
        ],
      );

      // 22:00: carol took bob's shift: bob is removed, carol added.
      await writeFile(
        path.join(dir, "rota.yaml"),
        rota([
          ["alice@example.com", "2026-11-22T08:00:00Z", "2026-11-22T20:00:00Z"],
          ["carol@example.com", "2026-11-22T20:00:00Z", "2026-11-23T12:00:00Z"],
        ]),
      );
      await tctl.resetCalls();
      const r4 = await run("2026-11-22T22:00:00Z");
      assert.equal(r4.code, 0, r4.stderr);
      assert.deepEqual((await tctl.calls()).sort(), [
        [
          ...prefix,
          "add",
          "prod-access",
          "carol@example.com",
          "2026-11-23T12:00:00Z",
          "on call: primary (rota)",
        ],
        [...prefix, "ls", "prod-access", "--format=json"],
        [...prefix, "rm", "prod-access", "bob@example.com"],
      ]);
      assert.deepEqual(await tctl.members(), [
        {
          list: "prod-access",
          user: "alice@example.com",
          expires: "2026-11-22T20:00:00Z",
          reason: "on call: primary (rota)",
        },
        {
          list: "prod-access",
          user: "carol@example.com",
          expires: "2026-11-23T12:00:00Z",
          reason: "on call: primary (rota)",
        },
      ]);

      // And nothing more once everything is in place.
      await tctl.resetCalls();
      const r5 = await run("2026-11-22T23:00:00Z");
      assert.equal(r5.code, 0, r5.stderr);
      assert.deepEqual(await tctl.calls(), []);
    } finally {
      await cleanup();
    }
  });

  it("an override that hands the rest of a shift to someone else cuts the membership in place (shorten)", async () => {
    const { dir, cleanup } = await makeTempDir();
    const binDir = path.join(dir, "bin");
    await mkdir(binDir);
    const tctl = await makeFakeTctl(binDir, ["prod-access"]);
    const config = (revoke: boolean) =>
      writeYaml(
        path.join(dir, "shiftgrant.yaml"),
        `
version: 1
state: state.json
sources: { rota: { type: file, path: rota.yaml } }
targets: { tp: { type: teleport } }
rules:
  - { name: oncall, source: rota, schedules: [primary], target: tp, resources: [prod-access], grace: 15m, revoke: ${revoke} }
`,
      );
    const run = (now: string) =>
      runMain(["sync", "-c", path.join(dir, "shiftgrant.yaml"), "--output", "json"], {
        binDir,
        cwd: dir,
        now: now,
      });
    const ledgerEnds = async () =>
      (
        JSON.parse(await readFile(path.join(dir, "state.json"), "utf8")) as {
          grants: { identity: string; start: string; end: string }[];
        }
      ).grants.map((g) => `${g.identity} ${g.start} ${g.end}`);
    const reason = "on call: primary (rota)";
    try {
      for (const revoke of [false, true]) {
        await rm(path.join(dir, "state.json"), { force: true });
        await config(revoke);
        // 09:00: alice's 8-hour shift begins: a membership until 17:00 plus grace.
        await writeFile(
          path.join(dir, "rota.yaml"),
          rota([["alice@example.com", "2026-11-22T09:00:00Z", "2026-11-22T17:00:00Z"]]),
        );
        await tctl.resetCalls();
        const r1 = await run("2026-11-22T09:00:00Z");
        assert.equal(r1.code, 0, r1.stderr);
        assert.deepEqual(await tctl.calls(), [
          ["acl", "users", "ls", "prod-access", "--format=json"],
          ["acl", "users", "add", "prod-access", "alice@example.com", "2026-11-22T17:15:00Z", reason],
        ]);

        // 10:00: an override gives the rest of the shift to bob.
        await writeFile(
          path.join(dir, "rota.yaml"),
          rota([
            ["alice@example.com", "2026-11-22T09:00:00Z", "2026-11-22T10:00:00Z"],
            ["bob@example.com", "2026-11-22T10:00:00Z", "2026-11-22T17:00:00Z"],
          ]),
        );
        await tctl.resetCalls();
        const r2 = await run("2026-11-22T10:00:00Z");
        assert.equal(r2.code, 0, r2.stderr);
        const doc = parseJsonOutput(r2.stdout);
        if (!revoke) {
          // Nothing is cut, and the plan says so.
          assert.deepEqual(await tctl.calls(), [
            ["acl", "users", "ls", "prod-access", "--format=json"],
            ["acl", "users", "add", "prod-access", "bob@example.com", "2026-11-22T17:15:00Z", reason],
          ]);
          assert.deepEqual(
            doc.actions.map((a) => [a.kind, a.identity, a.end, a.reason, a.status]),
            [
              [
                "unchanged",
                "alice@example.com",
                "2026-11-22T17:15:00Z",
                `${reason} (kept until 2026-11-22T17:15:00Z; shift now ends at 2026-11-22T10:15:00Z)`,
                "skipped",
              ],
              ["grant", "bob@example.com", "2026-11-22T17:15:00Z", reason, "applied"],
            ],
          );
          assert.deepEqual(await ledgerEnds(), [
            "alice@example.com 2026-11-22T09:00:00Z 2026-11-22T17:15:00Z",
            "bob@example.com 2026-11-22T10:00:00Z 2026-11-22T17:15:00Z",
          ]);
          continue;
        }
        // alice's membership gets the earlier expiry (1 hour plus grace): the same upsert.
        assert.deepEqual(sortArgv(await tctl.calls()), [
          ["acl", "users", "add", "prod-access", "alice@example.com", "2026-11-22T10:15:00Z", reason],
          ["acl", "users", "add", "prod-access", "bob@example.com", "2026-11-22T17:15:00Z", reason],
          ["acl", "users", "ls", "prod-access", "--format=json"],
        ]);
        assert.deepEqual(
          doc.actions.map((a) => [a.kind, a.identity, a.start, a.end, a.reason, a.status]),
          [
            [
              "shorten",
              "alice@example.com",
              "2026-11-22T09:00:00Z",
              "2026-11-22T10:15:00Z",
              `${reason} (was until 2026-11-22T17:15:00Z; shift now ends at 2026-11-22T10:15:00Z)`,
              "applied",
            ],
            ["grant", "bob@example.com", "2026-11-22T10:00:00Z", "2026-11-22T17:15:00Z", reason, "applied"],
          ],
        );
        assert.equal(doc.summary.shorten, 1);
        assert.deepEqual(
          // The fake keeps members in the order of their last upsert, and the two calls run side by side.
          (await tctl.members()).map((m) => `${m.user} ${m.expires}`).sort(),
          ["alice@example.com 2026-11-22T10:15:00Z", "bob@example.com 2026-11-22T17:15:00Z"],
        );
        // The ledger's end moved with it, so the next run has nothing to do.
        assert.deepEqual(await ledgerEnds(), [
          "alice@example.com 2026-11-22T09:00:00Z 2026-11-22T10:15:00Z",
          "bob@example.com 2026-11-22T10:00:00Z 2026-11-22T17:15:00Z",
        ]);
        await tctl.resetCalls();
        const r3 = await run("2026-11-22T10:05:00Z");
        assert.equal(r3.code, 0, r3.stderr);
        assert.deepEqual(await tctl.calls(), []);
        assert.deepEqual(
          parseJsonOutput(r3.stdout).actions.map((a) => [a.kind, a.identity, a.end]),
          [
            ["unchanged", "alice@example.com", "2026-11-22T10:15:00Z"],
            ["unchanged", "bob@example.com", "2026-11-22T17:15:00Z"],
          ],
        );
      }
    } finally {
      await cleanup();
    }
  });

  it("a member for good (no end) is left alone; one with an end is granted as usual", async () => {
    const { dir, cleanup } = await makeTempDir();
    const binDir = path.join(dir, "bin");
    await mkdir(binDir);
    const tctl = await makeFakeTctl(binDir, ["prod-access"]);
    try {
      // Someone added dave for good, and erin until 11:00, by hand.
      execFileSync(path.join(binDir, "tctl"), ["acl", "users", "add", "prod-access", "dave@example.com"]);
      execFileSync(path.join(binDir, "tctl"), [
        "acl",
        "users",
        "add",
        "prod-access",
        "erin@example.com",
        "2026-11-22T11:00:00Z",
      ]);
      await tctl.resetCalls();
      const config = await writeYaml(
        path.join(dir, "shiftgrant.yaml"),
        `
version: 1
state: state.json
sources: { rota: { type: file, path: rota.yaml } }
targets:
  tp: { type: teleport, concurrency: 1 }
rules:
  - { name: oncall, source: rota, schedules: [dave, erin], target: tp, resources: [prod-access], revoke: true }
`,
      );
      const shifts = (end: string) =>
        writeFile(
          path.join(dir, "rota.yaml"),
          `shifts:
  - { schedule: dave, email: dave@example.com, start: 2026-11-22T08:00:00Z, end: ${end} }
  - { schedule: erin, email: erin@example.com, start: 2026-11-22T08:00:00Z, end: ${end} }
`,
        );
      const run = (now: string) =>
        runMain(["sync", "-c", config, "--output", "json"], { binDir, cwd: dir, now });
      await shifts("2026-11-22T20:00:00Z");
      const r1 = await run("2026-11-22T10:00:00Z");
      assert.equal(r1.code, 0, r1.stderr);
      assert.deepEqual(
        parseJsonOutput(r1.stdout).actions.map((a) => [a.kind, a.identity, a.status]),
        [
          ["skip", "dave@example.com", "skipped"],
          ["grant", "erin@example.com", "applied"],
        ],
      );
      assert.deepEqual(await tctl.calls(), [
        ["acl", "users", "ls", "prod-access", "--format=json"],
        ["acl", "users", "ls", "prod-access", "--format=json"],
        [
          "acl",
          "users",
          "add",
          "prod-access",
          "erin@example.com",
          "2026-11-22T20:00:00Z",
          "on call: erin (rota)",
        ],
      ]);
      // 12:00: both shifts were cut to 11:00: erin's membership goes; dave's, with no end, stays.
      await shifts("2026-11-22T11:00:00Z");
      await tctl.resetCalls();
      const r2 = await run("2026-11-22T12:00:00Z");
      assert.equal(r2.code, 0, r2.stderr);
      assert.deepEqual(await tctl.calls(), [["acl", "users", "rm", "prod-access", "erin@example.com"]]);
      assert.deepEqual(
        (await tctl.members()).map((m) => [m.user, m.expires]),
        [["dave@example.com", null]],
      );
    } finally {
      await cleanup();
    }
  });

  it("an unknown access list fails the action with tctl's message (exit 4)", async () => {
    const { dir, cleanup } = await makeTempDir();
    const binDir = path.join(dir, "bin");
    await mkdir(binDir);
    await makeFakeTctl(binDir, ["other-list"]);
    const config = await writeYaml(
      path.join(dir, "shiftgrant.yaml"),
      `
version: 1
state: state.json
sources: { rota: { type: file, path: rota.yaml } }
targets: { tp: { type: teleport } }
rules:
  - { name: oncall, source: rota, schedules: [primary], target: tp, resources: [prod-access] }
`,
    );
    await writeFile(
      path.join(dir, "rota.yaml"),
      rota([["alice@example.com", "2026-11-22T08:00:00Z", "2026-11-22T20:00:00Z"]]),
    );
    try {
      const res = await runMain(["sync", "-c", config, "--output", "json"], {
        binDir,
        cwd: dir,
        now: "2026-11-22T10:00:00Z",
      });
      assert.equal(res.code, 4, res.stderr);
      assert.equal(
        parseJsonOutput(res.stdout).actions[0]?.error,
        'could not check for existing access: tctl exited with code 1: ERROR: access_list "prod-access" not found',
      );
    } finally {
      await cleanup();
    }
  });
});

describe("http target: POST to grant, DELETE url/{key} to revoke", () => {
  const TOKEN = "http-target-token-55aa77";
  const expectedKey = (rule: string, resource: string, identity: string, start: string, end: string) =>
    createHash("sha256")
      .update(JSON.stringify([rule, resource, identity, start, end]))
      .digest("hex")
      .slice(0, 32);

  async function setupHttp() {
    const receiver = await startReceiver({ token: TOKEN });
    const { dir, cleanup } = await makeTempDir();
    const config = await writeYaml(
      path.join(dir, "shiftgrant.yaml"),
      `
version: 1
state: state.json
audit: audit.jsonl
http: { backoff: 10ms, retries: 2 }
sources: { rota: { type: file, path: rota.yaml } }
targets:
  api:
    type: http
    url: ${receiver.url}/grants
    tokenEnv: ACCESS_TOKEN
    headersFromEnv: { X-Org-Id: ORG_ID }
    revoke: true
rules:
  - { name: oncall, source: rota, schedules: [primary], target: api, resources: [prod-db], revoke: true }
`,
    );
    await writeFile(
      path.join(dir, "rota.yaml"),
      rota([["alice@example.com", "2026-11-22T08:00:00Z", "2026-11-22T20:00:00Z"]]),
    );
    const run = (now = "2026-11-22T10:00:00Z") =>
      runMain(["sync", "-c", config, "--output", "json"], {
        cwd: dir,
        env: { ACCESS_TOKEN: TOKEN, ORG_ID: "org-42" },
        now: now,
      });
    return {
      dir,
      receiver,
      run,
      cleanup: async () => {
        await receiver.close();
        await cleanup();
      },
    };
  }

  it("posts the exact body with a stable key, the bearer token and the extra header", async () => {
    const env = await setupHttp();
    try {
      const res = await env.run();
      assert.equal(res.code, 0, res.stderr);
      assert.equal(env.receiver.requests.length, 1);
      const req = env.receiver.requests[0];
      assert.equal(req?.method, "POST");
      assert.equal(req?.path, "/grants");
      assert.equal(req?.headers.authorization, `Bearer ${TOKEN}`);
      assert.equal(req?.headers["x-org-id"], "org-42");
      assert.equal(req?.headers["content-type"], "application/json");
      assert.deepEqual(req?.body, {
        identity: "alice@example.com",
        resource: "prod-db",
        start: "2026-11-22T10:00:00Z",
        end: "2026-11-22T20:00:00Z",
        rule: "oncall",
        reason: "on call: primary (rota)",
        key: expectedKey(
          "oncall",
          "prod-db",
          "alice@example.com",
          "2026-11-22T10:00:00Z",
          "2026-11-22T20:00:00Z",
        ),
      });
      await assertNoSecret(
        [TOKEN],
        [res.stdout, res.stderr],
        [path.join(env.dir, "state.json"), path.join(env.dir, "audit.jsonl")],
      );
    } finally {
      await env.cleanup();
    }
  });

  it("the same grant issued again (a lost ledger) carries the same key, so the receiver de-duplicates it", async () => {
    const env = await setupHttp();
    try {
      assert.equal((await env.run()).code, 0);
      await rm(path.join(env.dir, "state.json"));
      assert.equal((await env.run()).code, 0);
      const keys = env.receiver.requests.map((r) => (r.body as { key: string }).key);
      assert.equal(keys.length, 2);
      assert.equal(keys[0], keys[1]);
      assert.equal(env.receiver.grants.size, 1);
    } finally {
      await env.cleanup();
    }
  });

  it("a 503 is retried and the grant applied; a 422 fails the action (exit 4) and is retried next run", async () => {
    const env = await setupHttp();
    try {
      env.receiver.failNext(503);
      const ok = await env.run();
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(env.receiver.requests.length, 2);

      await rm(path.join(env.dir, "state.json"));
      env.receiver.failNext(422);
      const bad = await env.run();
      assert.equal(bad.code, 4);
      assert.equal(parseJsonOutput(bad.stdout).actions[0]?.error, "POST /grants: 422");
      const again = await env.run();
      assert.equal(again.code, 0);
      assert.equal(env.receiver.requests.length, 4);
    } finally {
      await env.cleanup();
    }
  });

  it("any 2xx is success whatever the body: 200 text/plain, 202 with no body; the next run posts nothing", async () => {
    const env = await setupHttp();
    try {
      env.receiver.answerNext({ status: 200, contentType: "text/plain", body: "OK" });
      const plain = await env.run();
      assert.equal(plain.code, 0, plain.stderr);
      assert.equal(parseJsonOutput(plain.stdout).actions[0]?.status, "applied");
      const again = await env.run();
      assert.equal(again.code, 0, again.stderr);
      assert.deepEqual(
        parseJsonOutput(again.stdout).actions.map((a) => a.kind),
        ["unchanged"],
      );
      assert.equal(env.receiver.requests.length, 1);

      await rm(path.join(env.dir, "state.json"));
      env.receiver.answerNext({ status: 202, body: "" });
      const empty = await env.run();
      assert.equal(empty.code, 0, empty.stderr);
      assert.equal(parseJsonOutput(empty.stdout).actions[0]?.status, "applied");
      assert.equal(env.receiver.requests.length, 2);
    } finally {
      await env.cleanup();
    }
  });

  it("a DELETE answered 404 is success (already gone): recorded as revoked, not retried", async () => {
    const env = await setupHttp();
    try {
      assert.equal((await env.run()).code, 0);
      env.receiver.grants.clear(); // removed on the receiver's side meanwhile
      await writeFile(
        path.join(env.dir, "rota.yaml"),
        rota([["bob@example.com", "2026-11-22T08:00:00Z", "2026-11-22T20:00:00Z"]]),
      );
      const res = await env.run("2026-11-22T11:00:00Z");
      assert.equal(res.code, 0, res.stderr);
      assert.deepEqual(
        parseJsonOutput(res.stdout)
          .actions.map((a) => [a.kind, a.identity, a.status])
          .sort(),
        [
          ["grant", "bob@example.com", "applied"],
          ["revoke", "alice@example.com", "applied"],
        ],
      );
      assert.deepEqual(env.receiver.requests.map((r) => r.method).sort(), ["DELETE", "POST", "POST"]);
      const next = await env.run("2026-11-22T12:00:00Z");
      assert.equal(next.code, 0, next.stderr);
      assert.deepEqual(
        parseJsonOutput(next.stdout).actions.map((a) => [a.kind, a.identity]),
        [["unchanged", "bob@example.com"]],
      );
      assert.equal(env.receiver.requests.length, 3);
    } finally {
      await env.cleanup();
    }
  });

  it("a swapped shift is revoked with DELETE url/{key} of the grant it ends", async () => {
    const env = await setupHttp();
    try {
      assert.equal((await env.run()).code, 0);
      await writeFile(
        path.join(env.dir, "rota.yaml"),
        rota([["bob@example.com", "2026-11-22T08:00:00Z", "2026-11-22T20:00:00Z"]]),
      );
      const res = await env.run("2026-11-22T11:00:00Z");
      assert.equal(res.code, 0, res.stderr);
      const calls = env.receiver.requests.slice(1).map((r) => `${r.method} ${r.path}`);
      const aliceKey = expectedKey(
        "oncall",
        "prod-db",
        "alice@example.com",
        "2026-11-22T10:00:00Z",
        "2026-11-22T20:00:00Z",
      );
      assert.deepEqual(calls.sort(), [`DELETE /grants/${aliceKey}`, "POST /grants"]);
      assert.deepEqual(
        [...env.receiver.grants.keys()],
        [expectedKey("oncall", "prod-db", "bob@example.com", "2026-11-22T11:00:00Z", "2026-11-22T20:00:00Z")],
      );
    } finally {
      await env.cleanup();
    }
  });

  it("expires: false: one POST, an extension posts nothing, and the expire DELETEs the key that was posted", async () => {
    const receiver = await startReceiver({ token: TOKEN });
    const { dir, cleanup } = await makeTempDir();
    try {
      const config = await writeYaml(
        path.join(dir, "shiftgrant.yaml"),
        `
version: 1
state: state.json
sources: { rota: { type: file, path: rota.yaml } }
targets:
  api: { type: http, url: ${receiver.url}/grants, tokenEnv: ACCESS_TOKEN, revoke: true, expires: false }
rules:
  - { name: oncall, source: rota, schedules: [primary], target: api, resources: [prod-db] }
`,
      );
      const shift = (end: string) =>
        writeFile(path.join(dir, "rota.yaml"), rota([["alice@example.com", "2026-11-22T08:00:00Z", end]]));
      const run = (now: string) =>
        runMain(["sync", "-c", config, "--output", "json"], { cwd: dir, env: { ACCESS_TOKEN: TOKEN }, now });
      const calls = () => receiver.requests.map((r) => `${r.method} ${r.path}`);
      const kinds = (stdout: string) =>
        parseJsonOutput(stdout).actions.map((a) => `${a.kind} ${a.start} ${a.end} ${a.status}`);

      await shift("2026-11-22T20:00:00Z");
      const first = await run("2026-11-22T10:00:00Z");
      assert.equal(first.code, 0, first.stderr);
      assert.deepEqual(calls(), ["POST /grants"]);
      const posted = expectedKey(
        "oncall",
        "prod-db",
        "alice@example.com",
        "2026-11-22T10:00:00Z",
        "2026-11-22T20:00:00Z",
      );
      assert.deepEqual([...receiver.grants.keys()], [posted]);

      // The shift grows by two hours: the membership simply stays; the ledger records the new end.
      await shift("2026-11-22T22:00:00Z");
      const grown = await run("2026-11-22T19:00:00Z");
      assert.equal(grown.code, 0, grown.stderr);
      assert.deepEqual(kinds(grown.stdout), [
        "unchanged 2026-11-22T10:00:00Z 2026-11-22T20:00:00Z skipped",
        "extend 2026-11-22T20:00:00Z 2026-11-22T22:00:00Z applied",
      ]);
      assert.deepEqual(calls(), ["POST /grants"], "an extension posts nothing");

      // Past the new end: the expire removes what was posted, by the key the POST carried.
      const after = await run("2026-11-22T22:30:00Z");
      assert.equal(after.code, 0, after.stderr);
      assert.deepEqual(kinds(after.stdout), ["expire 2026-11-22T10:00:00Z 2026-11-22T22:00:00Z applied"]);
      assert.deepEqual(calls(), ["POST /grants", `DELETE /grants/${posted}`]);
      assert.deepEqual([...receiver.grants.keys()], []);

      const quiet = await run("2026-11-22T23:00:00Z");
      assert.equal(quiet.code, 0, quiet.stderr);
      assert.deepEqual(calls(), ["POST /grants", `DELETE /grants/${posted}`]);
    } finally {
      await receiver.close();
      await cleanup();
    }
  });
});
