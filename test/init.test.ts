import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { Ajv2020 } from "ajv/dist/2020.js";
import { parse } from "yaml";
import { starterConfig, starterEnv } from "../src/commands/init.js";
import { SOURCE_TYPES, TARGET_TYPES } from "../src/config/defaults.js";
import { parseConfig } from "../src/config/load.js";
import { sourceSchema, targetSchema } from "../src/config/schema.js";
import { resolveSecrets } from "../src/config/secrets.js";
import { SecretSet } from "../src/core/redact.js";
import { startFakePagerDuty, type FakePagerDuty } from "./fakes/pagerduty.js";
import { makeTempDir, ROOT, writeYaml } from "./helpers.js";
import { runMain } from "./harness.js";

// `shiftgrant init` writes a starter config that is valid as written, given its tokens; `schedules`
// works on a config that has only its sources, so that the ids can be looked up before the rules
// are written.

const SCHEMA = JSON.parse(
  readFileSync(path.join(ROOT, "schema", "shiftgrant.schema.json"), "utf8"),
) as object;
const validateSchema = new Ajv2020({ allErrors: true, strict: false }).compile(SCHEMA);

describe("starter configs", () => {
  it("cover every source and target type the config accepts", () => {
    const types = (u: { options: readonly { shape: { type: { value: unknown } } }[] }) =>
      u.options.map((o) => o.shape.type.value).sort();
    assert.deepEqual([...SOURCE_TYPES].sort(), types(sourceSchema));
    assert.deepEqual([...TARGET_TYPES].sort(), types(targetSchema));
  });

  for (const source of SOURCE_TYPES) {
    for (const target of TARGET_TYPES) {
      it(`--source ${source} --target ${target}: valid for the schema and the loader, given its tokens`, async () => {
        const text = starterConfig(source, target);
        assert.ok(validateSchema(parse(text)), JSON.stringify(validateSchema.errors));
        const config = parseConfig(text, "/etc/shiftgrant/shiftgrant.yaml");
        assert.deepEqual(
          [...config.sources.values()].map((s) => s.type),
          [source],
        );
        assert.deepEqual(
          [...config.targets.values()].map((t) => t.type),
          [target],
        );
        assert.equal(config.rules.length, 1);
        const env = Object.fromEntries(starterEnv(source, target).map((v) => [v, `token-of-${v}`]));
        const secrets = await resolveSecrets(config, env, new SecretSet());
        assert.equal(secrets.size, Object.keys(env).length, "every token it needs is one starterEnv names");
        // Its comments say what to do next.
        assert.match(text, /^# .*shiftgrant schedules -c THIS_FILE/m);
      });
    }
  }
});

describe("shiftgrant init", { concurrency: true }, () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => ({ dir, cleanup } = await makeTempDir("shiftgrant-init-")));
  after(() => cleanup());

  it("writes ./shiftgrant.yaml (pagerduty → strongdm by default), which validate accepts", async () => {
    const cwd = path.join(dir, "default");
    await mkdir(cwd);
    const r = await runMain(["init"], { cwd });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "");
    assert.equal(
      r.stdout,
      [
        "wrote shiftgrant.yaml (source pagerduty, target strongdm). Next:",
        "  set PAGERDUTY_TOKEN and SDM_ADMIN_TOKEN (never in the file)",
        "  shiftgrant schedules -c shiftgrant.yaml    # the schedules to name in the rule",
        "  shiftgrant validate -c shiftgrant.yaml",
        "  shiftgrant sync -c shiftgrant.yaml --dry-run",
        "",
      ].join("\n"),
    );
    assert.equal(
      await readFile(path.join(cwd, "shiftgrant.yaml"), "utf8"),
      starterConfig("pagerduty", "strongdm"),
    );
    const v = await runMain(["validate"], { cwd, env: { PAGERDUTY_TOKEN: "pd", SDM_ADMIN_TOKEN: "sdm" } });
    assert.equal(v.code, 0, v.stderr);
    assert.match(
      v.stdout,
      /is valid:\n {2}1 source\(s\): pagerduty \(pagerduty\)\n {2}1 target\(s\): sdm \(strongdm\)/,
    );
  });

  it("prints the config on stdout with -o -, and nothing else", async () => {
    const r = await runMain(["init", "--source", "file", "--target", "command", "-o", "-"], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, starterConfig("file", "command"));
    assert.equal(r.stderr, "");
  });

  it("refuses to overwrite a file without --force, and overwrites it with --force", async () => {
    const file = path.join(dir, "existing.yaml");
    await writeFile(file, "mine\n");
    const r = await runMain(["init", "-o", "existing.yaml", "--target", "http"], { cwd: dir });
    assert.equal(r.code, 2);
    assert.equal(r.stdout, "");
    assert.ok(
      r.stderr.includes(
        `${file} already exists; pass --force to overwrite it, or -o another file (-o - prints the config)`,
      ),
      r.stderr,
    );
    assert.equal(await readFile(file, "utf8"), "mine\n", "the file is untouched");

    const forced = await runMain(["init", "-o", "existing.yaml", "--target", "http", "--force"], {
      cwd: dir,
    });
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(await readFile(file, "utf8"), starterConfig("pagerduty", "http"));
    assert.match(forced.stdout, /set PAGERDUTY_TOKEN and ACCESS_API_TOKEN/);
  });

  it("refuses an unknown source or target, listing the choices", async () => {
    const r = await runMain(["init", "--source", "victorops", "-o", "-"], { cwd: dir });
    assert.equal(r.code, 2);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /Allowed choices are pagerduty, opsgenie, incidentio, file/);
    const t = await runMain(["init", "--target", "jira", "-o", "-"], { cwd: dir });
    assert.equal(t.code, 2);
    assert.match(t.stderr, /Allowed choices are strongdm, teleport, command, http, okta, github/);
  });

  it("says so when the folder to write in does not exist", async () => {
    const r = await runMain(["init", "-o", "no/such/dir/shiftgrant.yaml"], { cwd: dir });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /cannot write .*no\/such\/dir\/shiftgrant\.yaml: its directory does not exist/);
  });
});

describe("shiftgrant schedules on a config with sources only", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let pd: FakePagerDuty;
  let config: string;
  const TOKEN = "pd-token-schedules-5e1f";

  before(async () => {
    ({ dir, cleanup } = await makeTempDir("shiftgrant-schedules-"));
    pd = await startFakePagerDuty({
      token: TOKEN,
      users: [],
      schedules: [
        { id: "PSCHED1", name: "DBA Primary", escalationPolicyIds: [] },
        { id: "PSCHED2", name: "Platform", escalationPolicyIds: [] },
      ],
      oncalls: [],
    });
    // What `init` writes, before the rules are filled in: here only the sources section.
    config = await writeYaml(
      path.join(dir, "shiftgrant.yaml"),
      `
version: 1
sources:
  pd: { type: pagerduty, baseUrl: "${pd.url}" }
`,
    );
  });
  after(async () => {
    await pd.close();
    await cleanup();
  });

  it("lists the schedules (exit 0) without asking for targets, rules or their tokens", async () => {
    const r = await runMain(["schedules", "-c", config, "--output", "json"], {
      env: { PAGERDUTY_TOKEN: TOKEN },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), {
      version: 1,
      exitCode: 0,
      schedules: [
        { source: "pd", id: "PSCHED1", name: "DBA Primary" },
        { source: "pd", id: "PSCHED2", name: "Platform" },
      ],
      errors: [],
    });
    assert.deepEqual(pd.countByPath(), { "/schedules": 1 });
    assert.equal(pd.requests[0]?.headers.authorization, `Token token=${TOKEN}`);
    assert.deepEqual(pd.unexpected, []);
  });

  it("still checks the sources it reads, and sync and validate still want the rest", async () => {
    const r = await runMain(["schedules", "-c", config], { env: {} });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /missing secret: PAGERDUTY_TOKEN is not set \(sources\.pd\.tokenEnv\)/);
    const v = await runMain(["validate", "-c", config, "--log-format", "text"], {
      env: { PAGERDUTY_TOKEN: TOKEN },
    });
    assert.equal(v.code, 2);
    assert.match(v.stderr, /targets: missing \(required\)\n {2}- rules: missing \(required\)/);
  });
});
