import assert from "node:assert/strict";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, it } from "node:test";
import { startFakeIncidentio } from "./fakes/incidentio.js";
import { startFakeOpsgenie } from "./fakes/opsgenie.js";
import { startFakePagerDuty, type RecordedRequest } from "./fakes/pagerduty.js";
import { assertNoSecret, makeFakeCli, makeTempDir, writeYaml } from "./helpers.js";
import { PD_TOKEN, SCHEDULES, SDM_TOKEN, setup } from "./pd-setup.js";
import { runMain } from "./harness.js";

/** The checklist's lines, in order. */
const checklist = (stdout: string) => stdout.split("\n").filter((l) => /^ {2}(ok|FAIL)/.test(l));
const requestLines = (requests: RecordedRequest[]) =>
  requests.map((r) => `${r.method} ${r.path}?${decodeURIComponent(r.query.toString())}`);

/** Every file under `dir` (relative paths, sorted), to show that validate created nothing. */
async function tree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  return entries.sort();
}

// `validate --online` against the fake PagerDuty and a fake sdm: a checklist, exit 2 on any failure.
describe("validate --online", () => {
  const validate = (
    env: Awaited<ReturnType<typeof setup>>,
    vars: Record<string, string> = {},
    args: string[] = [],
  ) =>
    runMain(["validate", "--online", "-c", env.config, ...args], {
      binDir: env.binDir,
      cwd: env.dir,
      env: { PAGERDUTY_TOKEN: PD_TOKEN, SDM_ADMIN_TOKEN: SDM_TOKEN, ...vars },
    });

  it("with a good key and sdm on PATH: every check passes, exit 0, and nothing is written", async () => {
    const env = await setup();
    try {
      const before = await tree(env.dir);
      const res = await validate(env);
      assert.equal(res.code, 0, res.stderr);
      assert.deepEqual(checklist(res.stdout), [
        "  ok    files: distinct files: the config; the ledger, its lock and journal; the audit log",
        `  ok    state ${env.dir}/state.json: ${env.dir} takes new files; no ledger yet (the first run writes it)`,
        `  ok    lock ${env.dir}/state.json.lock: free; each run creates it beside the ledger`,
        `  ok    audit ${env.dir}/audit.jsonl: no file yet (the run creates it); ${env.dir} takes new files`,
        "  ok    source pd: key works; schedules: dba primary → PSCHED1, PSCHED2",
        `  ok    target sdm: ${env.sdm.path} runs (no version printed); the admin token is set`,
      ]);
      // One cheap read proves the key; then each schedule is read (the name resolved, the id
      // verified), side by side: in whichever order they reach the fake.
      const [keyCheck, ...reads] = requestLines(env.pd.requests);
      assert.equal(keyCheck, "GET /schedules?limit=1");
      assert.deepEqual(reads.sort(), [
        "GET /schedules/PSCHED2?",
        "GET /schedules?query=dba+primary&limit=100&offset=0&total=true",
      ]);
      assert.deepEqual(env.pd.unexpected, []);
      assert.deepEqual(
        (await env.sdm.calls()).map((c) => c.argv),
        [["--version"]],
      );
      // The probe files are gone, and no state, lock or audit file was created.
      assert.deepEqual(await tree(env.dir), [...before, "bin/sdm.calls.jsonl"].sort());
      await assertNoSecret([PD_TOKEN, SDM_TOKEN], [res.stdout, res.stderr]);
    } finally {
      await env.cleanup();
    }
  });

  it("with a bad key: the source check fails, exit 2", async () => {
    const env = await setup();
    try {
      const res = await validate(env, { PAGERDUTY_TOKEN: "not-the-key-42" });
      assert.equal(res.code, 2);
      assert.match(res.stdout, /^ {2}FAIL {2}source pd: GET \/schedules: 401 Authentication failed$/m);
      assert.match(res.stdout, /^1 check\(s\) failed$/m);
      await assertNoSecret(["not-the-key-42", SDM_TOKEN], [res.stdout, res.stderr]);
    } finally {
      await env.cleanup();
    }
  });

  it("with a schedule that does not exist, and sdm missing: both fail, exit 2", async () => {
    const env = await setup({ schedules: [SCHEDULES[1] as (typeof SCHEDULES)[number]] });
    try {
      await rm(env.sdm.path);
      const res = await validate(env);
      assert.equal(res.code, 2);
      assert.match(res.stdout, /^ {2}FAIL {2}source pd: no PagerDuty schedule is named "dba primary"$/m);
      assert.match(
        res.stdout,
        /^ {2}FAIL {2}target sdm: sdm is not found \(set command: to its full path, or fix PATH\)$/m,
      );
      assert.match(res.stdout, /^2 check\(s\) failed$/m);
    } finally {
      await env.cleanup();
    }
  });

  it("an existing ledger, audit log and metrics file: each is read or opened, none is changed", async () => {
    const env = await setup();
    try {
      const ledger = `{\n  "version": 1,\n  "updatedAt": "2026-11-22T09:00:00Z",\n  "grants": []\n}\n`;
      await writeFile(path.join(env.dir, "state.json"), ledger);
      await writeFile(path.join(env.dir, "audit.jsonl"), '{"line":1}\n');
      await writeFile(path.join(env.dir, "metrics.prom"), "# HELP shiftgrant_last_run_timestamp_seconds x\n");
      const before = await tree(env.dir);
      const res = await validate(env, {}, ["--metrics-file", "metrics.prom"]);
      assert.equal(res.code, 0, res.stdout);
      assert.deepEqual(checklist(res.stdout).slice(0, 5), [
        "  ok    files: distinct files: the config; the ledger, its lock and journal; the audit log; the metrics file",
        `  ok    state ${env.dir}/state.json: ${env.dir} takes new files; the ledger reads (0 grants)`,
        `  ok    lock ${env.dir}/state.json.lock: free; each run creates it beside the ledger`,
        `  ok    audit ${env.dir}/audit.jsonl: a regular file that opens for appending`,
        `  ok    metrics ${env.dir}/metrics.prom: ${env.dir} takes new files`,
      ]);
      assert.equal(await readFile(path.join(env.dir, "state.json"), "utf8"), ledger);
      assert.equal(await readFile(path.join(env.dir, "audit.jsonl"), "utf8"), '{"line":1}\n');
      assert.deepEqual(await tree(env.dir), [...before, "bin/sdm.calls.jsonl"].sort());
    } finally {
      await env.cleanup();
    }
  });

  it("a state directory under a regular file cannot be created: state and lock fail naming it, exit 2", async () => {
    const env = await setup();
    try {
      await writeFile(path.join(env.dir, "blocker"), "");
      const res = await validate(env, {}, ["--state", "blocker/state.json"]);
      assert.equal(res.code, 2);
      const blocker = path.join(env.dir, "blocker");
      assert.deepEqual(
        checklist(res.stdout).filter((l) => l.startsWith("  FAIL")),
        [
          `  FAIL  state ${blocker}/state.json: cannot create the state directory ${blocker} (ENOTDIR: not a directory, mkdir '${blocker}'): create it, writable by the user shiftgrant runs as, or point state elsewhere`,
          `  FAIL  lock ${blocker}/state.json.lock: it cannot be created: see the state check`,
        ],
      );
      assert.match(res.stdout, /^2 check\(s\) failed$/m);
    } finally {
      await env.cleanup();
    }
  });

  it("a state directory that does not exist yet passes and is not created", async () => {
    const env = await setup();
    try {
      const before = await tree(env.dir);
      const res = await validate(env, {}, ["--state", "var/lib/state.json"]);
      assert.equal(res.code, 0, res.stdout);
      assert.deepEqual(checklist(res.stdout).slice(1, 3), [
        `  ok    state ${env.dir}/var/lib/state.json: ${env.dir}/var does not exist yet; the run creates it (${env.dir} takes new entries); no ledger yet (the first run writes it)`,
        `  ok    lock ${env.dir}/var/lib/state.json.lock: free; each run creates it beside the ledger`,
      ]);
      assert.deepEqual(await tree(env.dir), [...before, "bin/sdm.calls.jsonl"].sort());
    } finally {
      await env.cleanup();
    }
  });

  it("an audit log, or a lock, that is a directory fails, exit 2", async () => {
    const env = await setup();
    try {
      await mkdir(path.join(env.dir, "audit.jsonl"));
      await mkdir(path.join(env.dir, "state.json.lock"));
      const res = await validate(env);
      assert.equal(res.code, 2);
      assert.deepEqual(
        checklist(res.stdout).filter((l) => l.startsWith("  FAIL")),
        [
          `  FAIL  lock ${env.dir}/state.json.lock: it is a directory, not a regular file: remove it (each run creates its lock beside the ledger)`,
          `  FAIL  audit ${env.dir}/audit.jsonl: the audit log ${env.dir}/audit.jsonl is a directory, not a regular file: point audit at a file`,
        ],
      );
      assert.match(res.stdout, /^2 check\(s\) failed$/m);
    } finally {
      await env.cleanup();
    }
  });

  it("two of the run's files that are one (metrics over the ledger) fail, exit 2", async () => {
    const env = await setup();
    try {
      const res = await validate(env, {}, ["--metrics-file", "state.json"]);
      assert.equal(res.code, 2);
      assert.equal(
        checklist(res.stdout)[0],
        `  FAIL  files: --metrics-file (${env.dir}/state.json) is the same file as the ledger (state) (${env.dir}/state.json): each needs a file of its own`,
      );
      assert.match(res.stdout, /^1 check\(s\) failed$/m);
    } finally {
      await env.cleanup();
    }
  });

  it("--metrics-file in a directory that does not exist fails, exit 2; without --online it is a usage error", async () => {
    const env = await setup();
    try {
      const res = await validate(env, {}, ["--metrics-file", "textfile/shiftgrant.prom"]);
      assert.equal(res.code, 2);
      const dir = path.join(env.dir, "textfile");
      assert.deepEqual(
        checklist(res.stdout).filter((l) => l.startsWith("  FAIL")),
        [
          `  FAIL  metrics ${dir}/shiftgrant.prom: --metrics-file ${dir}/shiftgrant.prom: the directory ${dir} does not exist; create it or fix the path (shiftgrant never creates it)`,
        ],
      );
      const offline = await runMain(["validate", "-c", env.config, "--metrics-file", "m.prom"], {
        cwd: env.dir,
        env: { PAGERDUTY_TOKEN: PD_TOKEN, SDM_ADMIN_TOKEN: SDM_TOKEN },
      });
      assert.equal(offline.code, 2);
      assert.equal(offline.stdout, "");
      assert.match(
        offline.stderr,
        /--metrics-file: checked only by --online; add --online, or leave them out/,
      );
    } finally {
      await env.cleanup();
    }
  });
});

// A PagerDuty source that only an incidents rule uses resolves no schedule: its key is still read.
describe("validate --online: a PagerDuty source used only by an incidents rule", () => {
  const TOKEN = "pd-incidents-only-token-77";
  async function incidentsSetup() {
    const { dir, cleanup } = await makeTempDir();
    const binDir = path.join(dir, "bin");
    await mkdir(binDir);
    await makeFakeCli(binDir, "grant-cmd");
    const pd = await startFakePagerDuty({ token: TOKEN, services: [{ id: "PSVC001", name: "Database" }] });
    const config = await writeYaml(
      path.join(dir, "shiftgrant.yaml"),
      `
version: 1
state: state.json
http: { backoff: 10ms, retries: 2, timeout: 2s }
sources:
  pd:
    type: pagerduty
    baseUrl: ${pd.url}
targets:
  script:
    type: command
    grant: [grant-cmd, "{identity}", "{resource}"]
rules:
  - name: incident-responders
    source: pd
    incidents: { services: [PSVC001] }
    target: script
    resources: [prod-db]
    maxDuration: 4h
`,
    );
    const validate = (token: string) =>
      runMain(["validate", "--online", "-c", config], { binDir, cwd: dir, env: { PAGERDUTY_TOKEN: token } });
    return {
      pd,
      validate,
      cleanup: async () => {
        await pd.close();
        await cleanup();
      },
    };
  }

  it("a bad key fails, exit 2", async () => {
    const env = await incidentsSetup();
    try {
      const res = await env.validate("not-the-key-42");
      assert.equal(res.code, 2);
      assert.match(res.stdout, /^ {2}FAIL {2}source pd: GET \/schedules: 401 Authentication failed$/m);
      assert.match(res.stdout, /^1 check\(s\) failed$/m);
      assert.deepEqual(requestLines(env.pd.requests), ["GET /schedules?limit=1"]);
      await assertNoSecret(["not-the-key-42"], [res.stdout, res.stderr]);
    } finally {
      await env.cleanup();
    }
  });

  it("a good key passes, after one request that proves it", async () => {
    const env = await incidentsSetup();
    try {
      const res = await env.validate(TOKEN);
      assert.equal(res.code, 0, res.stdout);
      assert.match(res.stdout, /^ {2}ok {4}source pd: key works; incidents of services: PSVC001$/m);
      assert.deepEqual(requestLines(env.pd.requests), ["GET /schedules?limit=1"]);
      assert.equal(env.pd.requests[0]?.headers.authorization, `Token token=${TOKEN}`);
      assert.deepEqual(env.pd.unexpected, []);
    } finally {
      await env.cleanup();
    }
  });
});

// Every source type has its own key check: Opsgenie and incident.io read one listing with the key,
// a rota file is read and parsed.
describe("validate --online: Opsgenie, incident.io and rota file sources", () => {
  const OG_KEY = "og-key-0123456789abcdef";
  const INC_KEY = "inc_live_key_0123456789";
  async function threeSources() {
    const { dir, cleanup } = await makeTempDir();
    const binDir = path.join(dir, "bin");
    await mkdir(binDir);
    await makeFakeCli(binDir, "grant-cmd");
    const og = await startFakeOpsgenie({
      key: OG_KEY,
      schedules: [{ id: "og-sched-1", name: "Ops Primary", rotations: [] }],
    });
    const inc = await startFakeIncidentio({
      key: INC_KEY,
      schedules: [
        { id: "01JDBAPRIMARY0000000000001", name: "DBA Primary" },
        { id: "01JPLATFORM000000000000002", name: "Platform" },
      ],
    });
    await writeFile(
      path.join(dir, "rota.yaml"),
      "shifts:\n  - { schedule: primary, email: a@example.com, start: 2026-11-22T09:00:00Z, end: 2026-11-23T09:00:00Z }\n",
    );
    const config = await writeYaml(
      path.join(dir, "shiftgrant.yaml"),
      `
version: 1
state: state.json
http: { backoff: 10ms, retries: 0, timeout: 2s }
sources:
  og:
    type: opsgenie
    baseUrl: ${og.url}
  inc:
    type: incidentio
    baseUrl: ${inc.url}
  rota:
    type: file
    path: rota.yaml
targets:
  script:
    type: command
    grant: [grant-cmd, "{identity}", "{resource}"]
rules:
  - { name: ops, source: og, schedules: [ops primary], target: script, resources: [a] }
  - { name: dba, source: inc, schedules: [dba primary], target: script, resources: [b] }
  - { name: rota, source: rota, schedules: [primary], target: script, resources: [c] }
`,
    );
    const validate = (env: Record<string, string>) =>
      runMain(["validate", "--online", "-c", config], { binDir, cwd: dir, env });
    return {
      dir,
      og,
      inc,
      validate,
      cleanup: async () => {
        await og.close();
        await inc.close();
        await cleanup();
      },
    };
  }

  it("good keys and a good rota: one line each saying what was proved", async () => {
    const env = await threeSources();
    try {
      const res = await env.validate({ OPSGENIE_API_KEY: OG_KEY, INCIDENTIO_API_KEY: INC_KEY });
      assert.equal(res.code, 0, res.stdout);
      assert.deepEqual(
        checklist(res.stdout).filter((l) => l.includes("source ")),
        [
          "  ok    source og: key works (it sees 1 schedule); schedules: ops primary → og-sched-1",
          "  ok    source inc: key works; schedules: dba primary → 01JDBAPRIMARY0000000000001",
          `  ok    source rota: ${env.dir}/rota.yaml reads and parses (1 schedule); schedules: primary`,
        ],
      );
      // The Opsgenie listing serves the check and the name lookup alike.
      assert.deepEqual(requestLines(env.og.requests), ["GET /v2/schedules?"]);
      assert.deepEqual(requestLines(env.inc.requests), [
        "GET /v2/schedules?page_size=1",
        "GET /v2/schedules?page_size=100",
      ]);
      assert.deepEqual([...env.og.unexpected, ...env.inc.unexpected], []);
    } finally {
      await env.cleanup();
    }
  });

  it("bad keys and a broken rota: three failures, exit 2", async () => {
    const env = await threeSources();
    try {
      await writeFile(path.join(env.dir, "rota.yaml"), "shifts: [ {\n");
      const res = await env.validate({ OPSGENIE_API_KEY: "wrong-og", INCIDENTIO_API_KEY: "wrong-inc" });
      assert.equal(res.code, 2);
      const failed = checklist(res.stdout).filter((l) => l.startsWith("  FAIL"));
      assert.equal(failed.length, 3, res.stdout);
      assert.match(
        failed[0] ?? "",
        /^ {2}FAIL {2}source og: GET \/v2\/schedules: 401 .*Opsgenie refused the API key from \$OPSGENIE_API_KEY/,
      );
      assert.match(
        failed[1] ?? "",
        /^ {2}FAIL {2}source inc: GET \/v2\/schedules: 401 .*incident\.io did not accept the API key in \$INCIDENTIO_API_KEY$/,
      );
      assert.match(failed[2] ?? "", /^ {2}FAIL {2}source rota: rota\.yaml: not valid YAML/);
      assert.deepEqual(requestLines(env.inc.requests), ["GET /v2/schedules?page_size=1"]);
      await assertNoSecret(["wrong-og", "wrong-inc"], [res.stdout, res.stderr]);
    } finally {
      await env.cleanup();
    }
  });
});
