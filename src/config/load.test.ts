import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { ConfigError } from "../errors.js";
import { DEFAULT_HTTP } from "../infra/http.js";
import { configPath, loadConfig, parseConfig, type Config } from "./load.js";

const FILE = "/tmp/x/shiftgrant.yaml";

/** A small valid config; each bad-input case below changes one thing in it. */
const BASE = `
version: 1
sources:
  pd:
    type: pagerduty
targets:
  sdm:
    type: strongdm
rules:
  - name: dba
    source: pd
    schedules: [PABC123]
    target: sdm
    resources: [prod-db]
`;

function problemsOf(text: string): string[] {
  try {
    parseConfig(text, FILE);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    assert.equal(err.exitCode, 2);
    return err.problems;
  }
  assert.fail("the config was accepted");
}

describe("parseConfig: a full valid config", () => {
  const FULL_YAML = `
# every section, with defaults left out where they exist
version: 1
window: 12h
state: state/ledger.json
audit: /var/log/shiftgrant/audit.jsonl
maxChanges: 50
concurrency: 8
http:
  timeout: 10s
  retries: 2
  maxResponseBytes: 2MB
identities:
  " Alice@Corp.Example": Alice@Ops.Example
sources:
  pd:
    type: pagerduty
  eu:
    type: pagerduty
    tokenFile: secrets/pd-eu
    baseUrl: https://api.eu.pagerduty.com/
  rota:
    type: file
    path: rota.yaml
targets:
  sdm:
    type: strongdm
  sdm2:
    type: strongdm
    command: /opt/sdm/bin/sdm
    tokenEnv: OTHER_SDM_TOKEN
    grantArgs: [admin, users, grant-temporary, "--from={start}", "--until={end}", "{resource}", "{identity}"]
    concurrency: 2
    timeout: 2m
  script:
    type: command
    grant: ["./grant.sh", "{identity}", "{resource}", "{start}", "{end}", "{duration}", "{rule}", "{reason}"]
    revoke: ["/usr/local/bin/revoke", "{identity}", "{resource}"]
    env: [GRANT_API_URL]
rules:
  - name: dba-prod
    source: pd
    schedules: [PABC123, "DBA Primary"]
    escalationLevels: [1]
    target: sdm
    resources: [prod-postgres, prod-mysql, prod-postgres]
    lead: 15m
    grace: PT15M
    maxDuration: 24h
    revoke: true
  - name: rota-script
    source: rota
    schedules: [primary]
    target: script
    resources: [staging]
`;

  function checkFull(c: Config): void {
    assert.equal(c.file, FILE);
    assert.equal(c.window.ms, 12 * 3_600_000);
    assert.equal(c.state, "/tmp/x/state/ledger.json");
    assert.equal(c.audit, "/var/log/shiftgrant/audit.jsonl");
    assert.equal(c.maxChanges, 50);
    assert.equal(c.concurrency, 8);
    assert.deepEqual(c.http, {
      timeoutMs: 10_000,
      retries: 2,
      backoffMs: DEFAULT_HTTP.backoffMs,
      maxRetryWaitMs: DEFAULT_HTTP.maxRetryWaitMs,
      maxResponseBytes: 2 * 1024 * 1024,
    });
    assert.deepEqual([...c.identities], [["alice@corp.example", "alice@ops.example"]]);

    assert.deepEqual(c.sources.get("pd"), {
      name: "pd",
      type: "pagerduty",
      secret: { tokenEnv: "PAGERDUTY_TOKEN", tokenFile: null },
      baseUrl: "https://api.pagerduty.com",
    });
    assert.deepEqual(c.sources.get("eu"), {
      name: "eu",
      type: "pagerduty",
      secret: { tokenEnv: "PAGERDUTY_TOKEN", tokenFile: "/tmp/x/secrets/pd-eu" },
      baseUrl: "https://api.eu.pagerduty.com",
    });
    assert.deepEqual(c.sources.get("rota"), { name: "rota", type: "file", path: "/tmp/x/rota.yaml" });

    assert.deepEqual(c.targets.get("sdm"), {
      name: "sdm",
      concurrency: 4,
      timeoutMs: 60_000,
      type: "strongdm",
      command: "sdm",
      secret: { tokenEnv: "SDM_ADMIN_TOKEN", tokenFile: null },
      grantArgs: null,
      identities: new Map(),
      exclusive: [],
    });
    assert.deepEqual(c.targets.get("sdm2"), {
      name: "sdm2",
      concurrency: 2,
      timeoutMs: 120_000,
      type: "strongdm",
      command: "/opt/sdm/bin/sdm",
      secret: { tokenEnv: "OTHER_SDM_TOKEN", tokenFile: null },
      grantArgs: [
        "admin",
        "users",
        "grant-temporary",
        "--from={start}",
        "--until={end}",
        "{resource}",
        "{identity}",
      ],
      identities: new Map(),
      exclusive: [],
    });
    assert.deepEqual(c.targets.get("script"), {
      name: "script",
      concurrency: 4,
      timeoutMs: 60_000,
      type: "command",
      grant: [
        "/tmp/x/grant.sh",
        "{identity}",
        "{resource}",
        "{start}",
        "{end}",
        "{duration}",
        "{rule}",
        "{reason}",
      ],
      revoke: ["/usr/local/bin/revoke", "{identity}", "{resource}"],
      secret: null,
      env: ["GRANT_API_URL"],
      expires: true,
      identities: new Map(),
      exclusive: [],
    });

    assert.deepEqual(c.rules, [
      {
        name: "dba-prod",
        source: "pd",
        schedules: ["PABC123", "DBA Primary"],
        incidents: null,
        escalationLevels: [1],
        target: "sdm",
        resources: ["prod-postgres", "prod-mysql"],
        leadMs: 15 * 60_000,
        graceMs: 15 * 60_000,
        maxDurationMs: 24 * 3_600_000,
        revoke: true,
      },
      {
        name: "rota-script",
        source: "rota",
        schedules: ["primary"],
        incidents: null,
        escalationLevels: null,
        target: "script",
        resources: ["staging"],
        leadMs: 0,
        graceMs: 0,
        maxDurationMs: null,
        revoke: false,
      },
    ]);
  }

  it("normalizes the YAML form", () => {
    checkFull(parseConfig(FULL_YAML, FILE));
  });

  it("normalizes the same config written as JSON", async () => {
    const { parse } = await import("yaml");
    const json = JSON.stringify(parse(FULL_YAML), null, "\t");
    checkFull(parseConfig(json, FILE));
  });

  it("fills every default", () => {
    const c = parseConfig(BASE, FILE);
    assert.equal(c.window.ms, 24 * 3_600_000);
    assert.equal(c.window.text, "24h");
    assert.equal(c.state, "/tmp/x/shiftgrant-state.json");
    assert.equal(c.audit, null);
    assert.equal(c.maxChanges, null);
    assert.equal(c.concurrency, 4);
    assert.deepEqual(c.http, DEFAULT_HTTP);
    assert.equal(c.identities.size, 0);
    const pd = c.sources.get("pd");
    assert.ok(pd?.type === "pagerduty");
    assert.deepEqual(pd.secret, { tokenEnv: "PAGERDUTY_TOKEN", tokenFile: null });
    assert.equal(pd.baseUrl, "https://api.pagerduty.com");
    const sdm = c.targets.get("sdm");
    assert.ok(sdm?.type === "strongdm");
    assert.equal(sdm.command, "sdm");
    assert.equal(sdm.concurrency, 4);
    assert.equal(sdm.timeoutMs, 60_000);
    assert.deepEqual(sdm.secret, { tokenEnv: "SDM_ADMIN_TOKEN", tokenFile: null });
    const rule = c.rules[0];
    assert.ok(rule);
    assert.equal(rule.leadMs, 0);
    assert.equal(rule.graceMs, 0);
    assert.equal(rule.maxDurationMs, null);
    assert.equal(rule.revoke, false);
    assert.equal(rule.escalationLevels, null);
  });

  it("resolves relative paths against the config's directory, wherever it is run from", () => {
    const c = parseConfig(
      `
version: 1
state: ../var/state.json
sources:
  rota: { type: file, path: ./rotas/rota.yaml }
targets:
  sdm: { type: strongdm, command: ./bin/sdm, tokenFile: sdm-token }
  script: { type: command, grant: ["../scripts/grant.sh", "{identity}"], revoke: ["revoke-tool", "{identity}"] }
rules:
  - { name: r, source: rota, schedules: [s], target: script, resources: [x] }
`,
      "/etc/shiftgrant/conf/shiftgrant.yaml",
    );
    assert.equal(c.state, "/etc/shiftgrant/var/state.json");
    assert.deepEqual(c.sources.get("rota"), {
      name: "rota",
      type: "file",
      path: "/etc/shiftgrant/conf/rotas/rota.yaml",
    });
    const sdm = c.targets.get("sdm");
    assert.ok(sdm?.type === "strongdm");
    assert.equal(sdm.command, "/etc/shiftgrant/conf/bin/sdm");
    assert.equal(sdm.secret.tokenFile, "/etc/shiftgrant/conf/sdm-token");
    const script = c.targets.get("script");
    assert.ok(script?.type === "command");
    assert.deepEqual(script.grant, ["/etc/shiftgrant/scripts/grant.sh", "{identity}"]);
    // a bare name is looked up on PATH
    assert.deepEqual(script.revoke, ["revoke-tool", "{identity}"]);
  });

  it("reads ~/ at the start of a path as the home directory", () => {
    const c = parseConfig(
      `
version: 1
state: ~/.local/state/shiftgrant/state.json
audit: ~/audit.jsonl
sources:
  rota: { type: file, path: ~/rotas/rota.yaml }
targets:
  script: { type: command, grant: ["~/bin/grant", "{identity}"], tokenFile: ~/.grant-token }
rules:
  - { name: r, source: rota, schedules: [s], target: script, resources: [x] }
`,
      "/etc/shiftgrant/shiftgrant.yaml",
      { home: "/home/ops" },
    );
    assert.equal(c.state, "/home/ops/.local/state/shiftgrant/state.json");
    assert.equal(c.audit, "/home/ops/audit.jsonl");
    assert.deepEqual(c.sources.get("rota"), {
      name: "rota",
      type: "file",
      path: "/home/ops/rotas/rota.yaml",
    });
    const script = c.targets.get("script");
    assert.ok(script?.type === "command");
    assert.deepEqual(script.grant, ["/home/ops/bin/grant", "{identity}"]);
    assert.equal(script.secret?.tokenFile, "/home/ops/.grant-token");
    // only a leading "~/" is special: "~x" and "a/~/b" are ordinary relative paths
    const other = parseConfig(`state: ~x/state.json\n${BASE}`, FILE, { home: "/home/ops" });
    assert.equal(other.state, "/tmp/x/~x/state.json");
  });

  it("allows plain http for 127.0.0.1 and localhost", () => {
    for (const url of ["http://127.0.0.1:1234", "http://localhost:8080/", "http://[::1]:9000"]) {
      const c = parseConfig(BASE.replace("type: pagerduty", `type: pagerduty\n    baseUrl: "${url}"`), FILE);
      const pd = c.sources.get("pd");
      assert.ok(pd?.type === "pagerduty");
      assert.equal(pd.baseUrl, url.replace(/\/$/, ""));
    }
  });

  it("accepts exactly 90 days as the window, and 1s durations", () => {
    assert.equal(parseConfig(`window: 90d\n${BASE}`, FILE).window.ms, 90 * 86_400_000);
  });

  it("accepts a $schema key (for editors)", () => {
    assert.doesNotThrow(() => parseConfig(`$schema: ./schema/shiftgrant.schema.json\n${BASE}`, FILE));
  });
});

describe("parseConfig: bad input, each with its exact message", () => {
  /** [what, config text, the exact problems] */
  const cases: [string, string, string[]][] = [
    [
      "an unknown top-level key, with a suggestion",
      `windw: 24h\n${BASE}`,
      [`windw: unknown key (did you mean "window"?)`],
    ],
    [
      "an unknown top-level key, listing the keys allowed there",
      `colour: blue\n${BASE}`,
      [
        "colour: unknown key (expected one of: $schema, version, window, state, audit, maxChanges, concurrency, http, identities, sources, targets, rules, notify)",
      ],
    ],
    [
      "an unknown key in a source, with a suggestion",
      BASE.replace("type: pagerduty", "type: pagerduty\n    baseUri: https://api.pagerduty.com"),
      [`sources.pd.baseUri: unknown key (did you mean "baseUrl"?)`],
    ],
    [
      "a key of another source type, listing the keys this type allows",
      BASE.replace("type: pagerduty", "type: pagerduty\n    path: rota.yaml"),
      ["sources.pd.path: unknown key (expected one of: type, tokenEnv, tokenFile, baseUrl)"],
    ],
    [
      "an unknown key in a rule",
      BASE.replace("resources: [prod-db]", "resources: [prod-db]\n    schedule: [X]"),
      [`rules[0].schedule: unknown key (did you mean "schedules"?)`],
    ],
    [
      "a literal token in a source",
      BASE.replace("type: pagerduty", "type: pagerduty\n    token: u+abcdef"),
      [
        "sources.pd.token: secrets are never written in the config; put the token in an environment variable and set tokenEnv: NAME, or in a file and set tokenFile: /path/to/file",
      ],
    ],
    [
      "a literal password in a target",
      BASE.replace("type: strongdm", "type: strongdm\n    password: hunter2"),
      [
        "targets.sdm.password: secrets are never written in the config; put the token in an environment variable and set tokenEnv: NAME, or in a file and set tokenFile: /path/to/file",
      ],
    ],
    [
      "an unknown source type, with a suggestion",
      BASE.replace("type: pagerduty", "type: pagerdutty"),
      [
        `sources.pd.type: unknown source type "pagerdutty" (did you mean "pagerduty"?); use one of: pagerduty, opsgenie, incidentio, file`,
      ],
    ],
    [
      "a source without a type",
      BASE.replace("type: pagerduty", "tokenEnv: PD"),
      ["sources.pd.type: missing; set it to one of: pagerduty, opsgenie, incidentio, file"],
    ],
    [
      "a rule naming an unknown target, with a suggestion",
      BASE.replace("target: sdm", "target: sdn"),
      [`rules[0].target: unknown target "sdn" (did you mean "sdm"?)`],
    ],
    [
      "a rule naming an unknown source, listing the sources",
      BASE.replace("source: pd", "source: pagerduty-main"),
      [`rules[0].source: unknown source "pagerduty-main" (sources defined: pd)`],
    ],
    [
      "two rules with the same name",
      `${BASE}  - { name: dba, source: pd, schedules: [P2], target: sdm, resources: [other-db] }\n`,
      [`rules[1].name: another rule is already named "dba"; rule names must be unique`],
    ],
    [
      "a rule without schedules",
      BASE.replace("    schedules: [PABC123]\n", ""),
      [
        "rules[0].schedules: list the schedules whose on-call people get access (or incidents: { services: [...] })",
      ],
    ],
    [
      "a rule with both schedules and incidents",
      BASE.replace(
        "    schedules: [PABC123]\n",
        "    schedules: [PABC123]\n    incidents: { services: [PSVC123] }\n",
      ),
      ["rules[0]: give schedules or incidents, not both (a rule follows a rota or incidents)"],
    ],
    [
      "a duration without a unit (lead: 15)",
      BASE.replace("resources: [prod-db]", "resources: [prod-db]\n    lead: 15"),
      [`rules[0].lead: 15 has no unit: write e.g. "15m" or "15h"`],
    ],
    [
      "a quoted duration without a unit",
      BASE.replace("resources: [prod-db]", `resources: [prod-db]\n    lead: "15"`),
      [`rules[0].lead: "15" has no unit: write e.g. "15m" or "15h"`],
    ],
    [
      "a negative duration (grace: -5m)",
      BASE.replace("resources: [prod-db]", "resources: [prod-db]\n    grace: -5m"),
      [`rules[0].grace: duration must be positive, got "-5m"`],
    ],
    [
      "a duration in months (maxDuration: P1M)",
      BASE.replace("resources: [prod-db]", "resources: [prod-db]\n    maxDuration: P1M"),
      [`rules[0].maxDuration: durations in months or years are not allowed ("P1M"): use days, e.g. "P30D"`],
    ],
    [
      "an empty duration",
      BASE.replace("resources: [prod-db]", "resources: [prod-db]\n    lead:"),
      [`rules[0].lead: expected a duration like "15m", "12h", "7d" or "PT12H", got null`],
    ],
    [
      "a window over 90 days",
      `window: 91d\n${BASE}`,
      [`window: "91d" is longer than 90 days, the most PagerDuty renders; use 90d or less`],
    ],
    [
      "resources written as a string",
      BASE.replace("resources: [prod-db]", "resources: prod-db"),
      [`rules[0].resources: expected a list, got "prod-db" (write ["prod-db"] for a list of one)`],
    ],
    [
      'a quoted number (concurrency: "4")',
      `concurrency: "4"\n${BASE}`,
      [`concurrency: expected a number, got "4" (write 4 without quotes)`],
    ],
    [
      "a fractional concurrency",
      `concurrency: 1.5\n${BASE}`,
      ["concurrency: expected a whole number, got 1.5"],
    ],
    ["a concurrency of 0", `concurrency: 0\n${BASE}`, ["concurrency: must be at least 1"]],
    ["a concurrency too high", `concurrency: 1000\n${BASE}`, ["concurrency: must be at most 32"]],
    [
      'a word for a boolean (revoke: "yes")',
      BASE.replace("resources: [prod-db]", `resources: [prod-db]\n    revoke: "yes"`),
      [`rules[0].revoke: expected true or false, got "yes"`],
    ],
    [
      'a quoted boolean (revoke: "true")',
      BASE.replace("resources: [prod-db]", `resources: [prod-db]\n    revoke: "true"`),
      [`rules[0].revoke: expected true or false, got "true" (write true without quotes)`],
    ],
    [
      "an empty resources list",
      BASE.replace("resources: [prod-db]", "resources: []"),
      ["rules[0].resources: list at least one resource"],
    ],
    [
      "an empty resource name",
      BASE.replace("resources: [prod-db]", `resources: [prod-db, ""]`),
      ["rules[0].resources[1]: must not be empty"],
    ],
    [
      "a resource that starts with -",
      BASE.replace("resources: [prod-db]", "resources: [prod-db, --all]"),
      [
        `rules[0].resources[1]: "--all" must not start with "-" (a target's CLI would read it as a flag) or contain control characters`,
      ],
    ],
    [
      "a resource with a control character",
      BASE.replace("resources: [prod-db]", `resources: ["prod\\u001b[2Jdb"]`),
      [
        `rules[0].resources[0]: "prod\\u001b[2Jdb" must not start with "-" (a target's CLI would read it as a flag) or contain control characters`,
      ],
    ],
    [
      "a baseUrl over plain http",
      BASE.replace("type: pagerduty", "type: pagerduty\n    baseUrl: http://api.pagerduty.com"),
      [
        `sources.pd.baseUrl: "http://api.pagerduty.com" must use https:// (plain http is allowed only for 127.0.0.1 and localhost)`,
      ],
    ],
    [
      "a baseUrl that is not a URL",
      BASE.replace("type: pagerduty", "type: pagerduty\n    baseUrl: api.pagerduty.com"),
      [`sources.pd.baseUrl: "api.pagerduty.com" is not a URL (e.g. "https://api.pagerduty.com")`],
    ],
    [
      "a baseUrl with credentials in it",
      BASE.replace("type: pagerduty", "type: pagerduty\n    baseUrl: https://user:secret@api.pagerduty.com"),
      [
        "sources.pd.baseUrl: must not contain a user name or password; the token comes from tokenEnv or tokenFile",
      ],
    ],
    [
      "both tokenEnv and tokenFile",
      BASE.replace(
        "type: strongdm",
        "type: strongdm\n    tokenEnv: SDM_TOKEN\n    tokenFile: /run/secrets/sdm",
      ),
      ["targets.sdm: set tokenEnv or tokenFile, not both"],
    ],
    [
      "a tokenEnv that is not a variable name",
      BASE.replace("type: pagerduty", "type: pagerduty\n    tokenEnv: $PAGERDUTY_TOKEN"),
      ["sources.pd.tokenEnv: expected the name of an environment variable, like PAGERDUTY_TOKEN"],
    ],
    [
      "an unknown template placeholder",
      BASE.replace(
        "type: strongdm",
        `type: command\n    grant: ["/usr/local/bin/grant", "{user}", "{resource}"]`,
      ),
      [
        "targets.sdm.grant[1]: unknown placeholder {user} (use {identity} {resource} {start} {end} {duration} {rule} {reason})",
      ],
    ],
    [
      "a placeholder as the executable",
      BASE.replace("type: strongdm", `type: command\n    grant: ["{identity}", "{resource}"]`),
      [`targets.sdm.grant[0]: the executable must be fixed, not a placeholder ("{identity}")`],
    ],
    [
      "a command line written as one string",
      BASE.replace("type: strongdm", `type: command\n    grant: "./grant.sh {identity} {resource}"`),
      [
        `targets.sdm.grant: expected an argv list, not one string: write ["./grant.sh","{identity}","{resource}"] (one item per argument; no shell runs it)`,
      ],
    ],
    [
      "a command target without grant",
      BASE.replace("type: strongdm", "type: command"),
      ["targets.sdm.grant: missing (required)"],
    ],
    [
      "escalationLevels on a file source",
      `
version: 1
sources:
  rota: { type: file, path: rota.yaml }
targets:
  sdm: { type: strongdm }
rules:
  - { name: r, source: rota, schedules: [primary], escalationLevels: [1], target: sdm, resources: [db] }
`,
      [
        `rules[0].escalationLevels: only pagerduty sources have escalation levels (source "rota" is file); remove it`,
      ],
    ],
    [
      "identities mapping to a non-email",
      `identities:\n  alice@corp.example: alice\n  bob@corp.example: "--admin@x.com"\n${BASE}`,
      [
        `identities."alice@corp.example": "alice" is not a plain email address (letters, digits and . _ % + - ' before a single @, then a dotted domain); targets only accept plain emails`,
        `identities."bob@corp.example": "--admin@x.com" is not a plain email address (letters, digits and . _ % + - ' before a single @, then a dotted domain); targets only accept plain emails`,
      ],
    ],
    [
      "the same identity twice in different case, mapped differently",
      `identities:\n  alice@corp.example: alice@ops.example\n  Alice@Corp.Example: alice2@ops.example\n${BASE}`,
      [
        `identities."Alice@Corp.Example": the same email as "alice@corp.example" (emails are compared trimmed and lower-cased), mapped to another identity; keep one`,
      ],
    ],
    [
      "an identity mapped to a number",
      `identities:\n  alice@corp.example: 5\n${BASE}`,
      [`identities."alice@corp.example": expected a string, got 5`],
    ],
    [
      "a source name with a space",
      BASE.replace("  pd:\n", '  "my pd":\n').replace("source: pd", 'source: "my pd"'),
      [`sources."my pd": names use letters, digits, '.', '_' and '-', and start with a letter or digit`],
    ],
    [
      "version: 2",
      BASE.replace("version: 1", "version: 2"),
      ["version: expected 1, got 2: this shiftgrant reads version 1 configs"],
    ],
    [
      "no version",
      BASE.replace("version: 1\n", ""),
      [`version: missing: add "version: 1" at the top of the file`],
    ],
    ["no rules", BASE.slice(0, BASE.indexOf("rules:")) + "rules: []\n", ["rules: list at least one rule"]],
    [
      "missing sections",
      "version: 1\n",
      ["sources: missing (required)", "targets: missing (required)", "rules: missing (required)"],
    ],
    [
      "sources written as a list",
      BASE.replace("  pd:\n    type: pagerduty\n", "  - pd\n"),
      ["sources: expected a mapping (key: value), got a list"],
    ],
    [
      "invalid YAML",
      "version: 1\nsources: {pd: [\n",
      [
        "line 3, column 1: not valid YAML or JSON: Flow sequence in block collection must be sufficiently indented and end with a ]",
        "line 3, column 1: not valid YAML or JSON: Flow map in block collection must be sufficiently indented and end with a }",
      ],
    ],
    [
      "tabs as indentation",
      "version: 1\nsources:\n\tpd: {type: pagerduty}\n",
      ["line 3, column 1: not valid YAML or JSON: Tabs are not allowed as indentation"],
    ],
    [
      "invalid JSON",
      '{"version": 1, "sources": {}',
      ["line 1, column 29: not valid YAML or JSON: Flow map must end with a }"],
    ],
    [
      "YAML that is a list",
      "- version: 1\n- sources: {}\n",
      ["the config must be a mapping (key: value) with version, sources, targets and rules, not a list"],
    ],
    [
      "YAML that is a string",
      "shiftgrant\n",
      [
        `the config must be a mapping (key: value) with version, sources, targets and rules, not "shiftgrant"`,
      ],
    ],
    ["an empty file", "", ["the file is empty; a config needs version: 1, sources, targets and rules"]],
    [
      "a file of comments only",
      "# nothing yet\n",
      ["the file is empty; a config needs version: 1, sources, targets and rules"],
    ],
    [
      "duplicate YAML keys",
      BASE.replace("    type: strongdm\n", "    type: strongdm\n    type: command\n"),
      [`targets.sdm.type: duplicate key (line 9, column 5); a key may appear only once in a mapping`],
    ],
    [
      "duplicate JSON keys",
      '{"version": 1, "version": 1}',
      [`version: duplicate key (line 1, column 16); a key may appear only once in a mapping`],
    ],
    [
      "duplicate keys in a rule and in identities, each with its path, in the order written",
      `${BASE.replace("    target: sdm\n", "    target: sdm\n    target: sdm\n")}identities:
  a@x.example: b@x.example
  "A@x.example": c@x.example
  a@x.example: d@x.example
`,
      [
        `rules[0].target: duplicate key (line 14, column 5); a key may appear only once in a mapping`,
        `identities."a@x.example": duplicate key (line 19, column 3); a key may appear only once in a mapping`,
      ],
    ],
    [
      "a response cap under 1 KB",
      `${BASE}http: { maxResponseBytes: 100 }\n`,
      ["http.maxResponseBytes: a size of at least 1KB is needed, got 100 bytes"],
    ],
    [
      "a response cap in an unknown unit",
      `${BASE}http: { maxResponseBytes: 50 parsecs }\n`,
      ['http.maxResponseBytes: expected a size like "50MB", "512KB" or a number of bytes, got "50 parsecs"'],
    ],
    [
      "an unresolved YAML alias",
      `window: *later\n${BASE}`,
      ["not valid YAML or JSON: Unresolved alias (the anchor must be set before the alias): later"],
    ],
  ];

  for (const [what, text, expected] of cases) {
    it(`refuses ${what}`, () => {
      assert.deepEqual(problemsOf(text), expected);
    });
  }

  it("puts the file and every problem in the error's message", () => {
    try {
      parseConfig(BASE.replace("target: sdm", "target: sdn"), FILE);
      assert.fail("accepted");
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      assert.equal(
        err.message,
        `invalid config ${FILE}:\n  - rules[0].target: unknown target "sdn" (did you mean "sdm"?)`,
      );
    }
  });
});

describe("parseConfig: a large identities map", () => {
  const many = (n: number) =>
    Array.from({ length: n }, (_, i) => `  user${i}@corp.example: user${i}@ops.example`).join("\n");

  it("loads 20,000 identities", () => {
    const config = parseConfig(`${BASE}identities:\n${many(20_000)}\n`, FILE);
    assert.equal(config.identities.size, 20_000);
    assert.equal(config.identities.get("user19999@corp.example"), "user19999@ops.example");
  });

  it("still finds a duplicate among 20,000 identities, with its path and line", () => {
    assert.deepEqual(
      problemsOf(`${BASE}identities:\n${many(20_000)}\n  user7@corp.example: x@ops.example\n`),
      [
        `identities."user7@corp.example": duplicate key (line 20016, column 3); a key may appear only once in a mapping`,
      ],
    );
  });
});

describe("parseConfig: every problem at once", () => {
  it("reports schema problems and reference problems of one config together", () => {
    const text = `
version: 1
windw: 24h
concurrency: "4"
sources:
  pd:
    type: pagerduty
    token: abc
    baseUrl: http://api.pagerduty.com
  og:
    type: opsgenei
targets:
  sdm:
    type: strongdm
    tokenEnv: A
    tokenFile: /b
  script:
    type: command
    grant: ["/bin/grant", "{user}"]
identities:
  a@x.com: not-an-email
rules:
  - name: one
    source: pd
    schedules: [P1]
    target: sdn
    resources: prod-db
    lead: 15
  - name: one
    source: pdd
    schedules: [P2]
    target: sdm
    resources: [-x]
    grace: -5m
  - name: three
    source: pd
    target: script
    resources: [db]
    revoke: "yes"
    maxDuration: P1M
`;
    assert.deepEqual(
      problemsOf(text).sort(),
      [
        `concurrency: expected a number, got "4" (write 4 without quotes)`,
        `identities."a@x.com": "not-an-email" is not a plain email address (letters, digits and . _ % + - ' before a single @, then a dotted domain); targets only accept plain emails`,
        `rules[0].lead: 15 has no unit: write e.g. "15m" or "15h"`,
        `rules[0].resources: expected a list, got "prod-db" (write ["prod-db"] for a list of one)`,
        `rules[0].target: unknown target "sdn" (did you mean "sdm"?)`,
        `rules[1].grace: duration must be positive, got "-5m"`,
        `rules[1].name: another rule is already named "one"; rule names must be unique`,
        `rules[1].resources[0]: "-x" must not start with "-" (a target's CLI would read it as a flag) or contain control characters`,
        `rules[1].source: unknown source "pdd" (did you mean "pd"?)`,
        `rules[2].maxDuration: durations in months or years are not allowed ("P1M"): use days, e.g. "P30D"`,
        `rules[2].revoke: expected true or false, got "yes"`,
        `rules[2].schedules: list the schedules whose on-call people get access (or incidents: { services: [...] })`,
        `sources.og.type: unknown source type "opsgenei" (did you mean "opsgenie"?); use one of: pagerduty, opsgenie, incidentio, file`,
        `sources.pd.baseUrl: "http://api.pagerduty.com" must use https:// (plain http is allowed only for 127.0.0.1 and localhost)`,
        `sources.pd.token: secrets are never written in the config; put the token in an environment variable and set tokenEnv: NAME, or in a file and set tokenFile: /path/to/file`,
        `targets.script.grant[1]: unknown placeholder {user} (use {identity} {resource} {start} {end} {duration} {rule} {reason})`,
        `targets.sdm: set tokenEnv or tokenFile, not both`,
        `windw: unknown key (did you mean "window"?)`,
      ].sort(),
    );
  });

  it("lists the schema's problems in the order they appear in the file", () => {
    const text = `colour: red\n${BASE.replace("resources: [prod-db]", "resources: [prod-db]\n    lead: 15")}zzz: 1\n`;
    assert.deepEqual(problemsOf(text), [
      "colour: unknown key (expected one of: $schema, version, window, state, audit, maxChanges, concurrency, http, identities, sources, targets, rules, notify)",
      `rules[0].lead: 15 has no unit: write e.g. "15m" or "15h"`,
      "zzz: unknown key (expected one of: $schema, version, window, state, audit, maxChanges, concurrency, http, identities, sources, targets, rules, notify)",
    ]);
  });

  it("does not call a reference unknown when only its definition is wrong", () => {
    const problems = problemsOf(BASE.replace("type: strongdm", "type: strongdm\n    colour: red"));
    assert.deepEqual(problems, [
      "targets.sdm.colour: unknown key (expected one of: type, command, tokenEnv, tokenFile, grantArgs, concurrency, timeout, identities, exclusive)",
    ]);
  });
});

describe("parseConfig: the sources scope (for schedules)", () => {
  const SOURCES_ONLY = `
version: 1
http: { timeout: 5s }
sources:
  pd: { type: pagerduty, tokenFile: pd-token }
`;

  it("accepts a config with sources and no targets or rules", () => {
    const c = parseConfig(SOURCES_ONLY, FILE, { scope: "sources" });
    assert.deepEqual(c.sources.get("pd"), {
      name: "pd",
      type: "pagerduty",
      secret: { tokenEnv: "PAGERDUTY_TOKEN", tokenFile: "/tmp/x/pd-token" },
      baseUrl: "https://api.pagerduty.com",
    });
    assert.equal(c.http.timeoutMs, 5000);
    assert.equal(c.targets.size, 0);
    assert.deepEqual(c.rules, []);
  });

  it("ignores half-written targets, rules and other sections", () => {
    const c = parseConfig(
      `${SOURCES_ONLY}targets:\n  sdm: { type: strongdm, tokn: x }\nrules:\n  - { name: dba, source: nope }\nwindw: 3h\n`,
      FILE,
      { scope: "sources" },
    );
    assert.deepEqual([...c.sources.keys()], ["pd"]);
  });

  it("still checks the sources, and says when there are none", () => {
    assert.throws(
      () =>
        parseConfig(`${SOURCES_ONLY.replace("type: pagerduty", "type: pagerdutty")}`, FILE, {
          scope: "sources",
        }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.deepEqual(err.problems, [
          'sources.pd.type: unknown source type "pagerdutty" (did you mean "pagerduty"?); use one of: pagerduty, opsgenie, incidentio, file',
        ]);
        return true;
      },
    );
    assert.throws(
      () => parseConfig("version: 1\ntargets: {}\n", FILE, { scope: "sources" }),
      (err: unknown) => err instanceof ConfigError && err.problems.join() === "sources: missing (required)",
    );
  });

  it("the full scope (sync, validate) still wants targets and rules", () => {
    assert.deepEqual(problemsOf(SOURCES_ONLY), ["targets: missing (required)", "rules: missing (required)"]);
  });
});

describe("loadConfig and configPath", () => {
  it("reads a file and says how to pass one when it is missing", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "shiftgrant-load-"));
    try {
      const file = path.join(dir, "shiftgrant.yaml");
      await writeFile(file, BASE);
      const c = await loadConfig(file);
      assert.equal(c.state, path.join(dir, "shiftgrant-state.json"));

      const missing = path.join(dir, "nope.yaml");
      await assert.rejects(loadConfig(missing), (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.deepEqual(err.problems, [
          `${missing}: no such file; pass the config with -c FILE or set SHIFTGRANT_CONFIG (the default is ./shiftgrant.yaml)`,
        ]);
        return true;
      });

      await mkdir(path.join(dir, "conf.d"));
      await assert.rejects(loadConfig(path.join(dir, "conf.d")), (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.deepEqual(err.problems, [
          `${path.join(dir, "conf.d")}: is a directory, not a config file; pass the file with -c FILE`,
        ]);
        return true;
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("takes -c, then $SHIFTGRANT_CONFIG, then ./shiftgrant.yaml, relative to the working directory", () => {
    assert.equal(configPath("a.yaml", { SHIFTGRANT_CONFIG: "/etc/b.yaml" }, "/w"), "/w/a.yaml");
    assert.equal(configPath(undefined, { SHIFTGRANT_CONFIG: "/etc/b.yaml" }, "/w"), "/etc/b.yaml");
    assert.equal(configPath(undefined, { SHIFTGRANT_CONFIG: "conf/b.yaml" }, "/w"), "/w/conf/b.yaml");
    assert.equal(configPath(undefined, {}, "/w"), "/w/shiftgrant.yaml");
  });

  it("treats an empty $SHIFTGRANT_CONFIG as unset", () => {
    assert.equal(configPath(undefined, { SHIFTGRANT_CONFIG: "" }, "/w"), "/w/shiftgrant.yaml");
    assert.equal(configPath(undefined, { SHIFTGRANT_CONFIG: "  " }, "/w"), "/w/shiftgrant.yaml");
  });
});
