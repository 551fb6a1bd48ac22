import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { it } from "node:test";
import { startFakePagerDuty } from "./fakes/pagerduty.js";
import { makeFakeCli, makeTempDir, parseJsonOutput, writeYaml } from "./helpers.js";
import { runMain } from "./harness.js";

// The incident mode: whoever acknowledged an open incident on the listed services gets access from
// the acknowledgement until maxDuration after now; later runs extend it while the incident stays
// open; once it is resolved the grant is revoked (revoke: true).
const TOKEN = "pd-incident-token-31337";

it("ack → grant; still open → extend; resolved → revoke; a service's acknowledgement grants nothing", async () => {
  const { dir, cleanup } = await makeTempDir();
  const binDir = path.join(dir, "bin");
  await mkdir(binDir);
  const grant = await makeFakeCli(binDir, "grant-cmd");
  const revoke = await makeFakeCli(binDir, "revoke-cmd");
  const pd = await startFakePagerDuty({
    token: TOKEN,
    users: [
      { id: "PUSER01", name: "Alice", email: "alice@example.com" },
      { id: "PUSER02", name: "Bob", email: "bob@example.com" },
    ],
    services: [
      { id: "PSVC001", name: "Database" },
      { id: "PSVC002", name: "Web" },
    ],
    incidents: [
      {
        id: "PINC001",
        number: 101,
        title: "Primary database unreachable",
        serviceId: "PSVC001",
        status: "acknowledged",
        createdAt: "2026-11-22T09:20:00Z",
        acknowledgements: [
          { at: "2026-11-22T09:30:00Z", by: { type: "user", userId: "PUSER01" } },
          { at: "2026-11-22T09:31:00Z", by: { type: "service", serviceId: "PSVC001" } },
        ],
      },
      // Acknowledged by an integration only: nobody to give access to.
      {
        id: "PINC002",
        number: 102,
        title: "Replica lag",
        serviceId: "PSVC001",
        status: "acknowledged",
        createdAt: "2026-11-22T09:00:00Z",
        acknowledgements: [{ at: "2026-11-22T09:01:00Z", by: { type: "service", serviceId: "PSVC001" } }],
      },
      // Another service: not this rule's.
      {
        id: "PINC003",
        number: 103,
        title: "Web 500s",
        serviceId: "PSVC002",
        status: "acknowledged",
        createdAt: "2026-11-22T09:00:00Z",
        acknowledgements: [{ at: "2026-11-22T09:05:00Z", by: { type: "user", userId: "PUSER02" } }],
      },
    ],
  });
  const config = await writeYaml(
    path.join(dir, "shiftgrant.yaml"),
    `
version: 1
state: state.json
sources: { pd: { type: pagerduty, baseUrl: "${pd.url}" } }
targets:
  cmd: { type: command, grant: [grant-cmd, "{identity}", "{resource}", "{start}", "{end}", "{reason}"], revoke: [revoke-cmd, "{identity}", "{resource}"] }
rules:
  - name: responders
    source: pd
    incidents: { services: [PSVC001] }
    target: cmd
    resources: [prod-db]
    revoke: true
`,
  );
  const run = (now: string) =>
    runMain(["sync", "-c", config, "--output", "json"], {
      binDir,
      cwd: dir,
      env: { PAGERDUTY_TOKEN: TOKEN },
      now: now,
    });
  const argv = async (cli: typeof grant) => {
    const calls = (await cli.calls()).map((c) => c.argv);
    await cli.reset();
    return calls;
  };
  try {
    // 10:00: alice acknowledged #101 at 09:30: access from now until maxDuration (default 4h) after now.
    const r1 = await run("2026-11-22T10:00:00Z");
    assert.equal(r1.code, 0, r1.stderr);
    assert.deepEqual(await argv(grant), [
      [
        "alice@example.com",
        "prod-db",
        "2026-11-22T10:00:00Z",
        "2026-11-22T14:00:00Z",
        "acknowledged incident #101: Primary database unreachable",
      ],
    ]);
    const query = pd.requests.find((r) => r.path === "/incidents")?.query;
    assert.deepEqual(query?.getAll("statuses[]"), ["acknowledged"]);
    assert.deepEqual(query?.getAll("service_ids[]"), ["PSVC001"]);
    assert.deepEqual(query?.getAll("include[]"), ["acknowledgers"]);

    // 11:00: still open, the grant has 3h left (more than a quarter of 4h): nothing to do.
    const r2 = await run("2026-11-22T11:00:00Z");
    assert.equal(r2.code, 0, r2.stderr);
    assert.deepEqual(await argv(grant), []);

    // 13:30: still open, 30 minutes left: extended until 4h after now.
    const r3 = await run("2026-11-22T13:30:00Z");
    assert.equal(r3.code, 0, r3.stderr);
    assert.deepEqual(await argv(grant), [
      [
        "alice@example.com",
        "prod-db",
        "2026-11-22T14:00:00Z",
        "2026-11-22T17:30:00Z",
        "acknowledged incident #101: Primary database unreachable",
      ],
    ]);
    assert.deepEqual(
      parseJsonOutput(r3.stdout).actions.map((a) => a.kind),
      ["unchanged", "extend"],
    );

    // 14:10: resolved: the grant that is still running is revoked, once.
    const inc = pd.state.incidents.find((i) => i.id === "PINC001");
    assert.ok(inc);
    inc.status = "resolved";
    const r4 = await run("2026-11-22T14:10:00Z");
    assert.equal(r4.code, 0, r4.stderr);
    assert.deepEqual(await argv(grant), []);
    assert.deepEqual(await argv(revoke), [["alice@example.com", "prod-db"]]);
    assert.deepEqual(
      parseJsonOutput(r4.stdout).actions.map((a) => [a.kind, a.identity, a.start, a.end]),
      [["revoke", "alice@example.com", "2026-11-22T14:00:00Z", "2026-11-22T17:30:00Z"]],
    );
    assert.deepEqual(pd.unexpected, []);
  } finally {
    await pd.close();
    await cleanup();
  }
});
