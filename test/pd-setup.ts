import {
  startFakePagerDuty,
  type FakeOncall,
  type FakePagerDuty,
  type FakePagerDutyOptions,
  type FakeUser,
} from "./fakes/pagerduty.js";
import { startScenario, type FakeCli, type Scenario } from "./e2e-setup.js";

/**
 * A PagerDuty + strongDM setup for integration tests: a fake PagerDuty on 127.0.0.1, a fake `sdm`
 * first on PATH, and a config with two rules (one schedule by name, one by id with a level filter).
 */
export const PD_TOKEN = "pd-test-token-9f8e7d6c5b4a";
export const SDM_TOKEN = "sdm-admin-token-1a2b3c4d5e6f";
export const NOW = "2026-11-22T10:00:00Z";

export const USERS: FakeUser[] = [
  { id: "PUSER01", name: "Alice", email: "  Alice@Example.com " },
  { id: "PUSER02", name: "Bob", email: "bob@example.com" },
  { id: "PUSER03", name: "Carol", email: "carol@example.com", omitEmailInInclude: true },
];
export const SCHEDULES = [
  { id: "PSCHED1", name: "DBA Primary", escalationPolicyIds: ["PEP0001"] },
  { id: "PSCHED2", name: "Platform", escalationPolicyIds: ["PEP0001", "PEP0002"] },
];
export const ONCALLS: FakeOncall[] = [
  // Started before the window: PagerDuty returns it whole; the grant starts now.
  {
    userId: "PUSER01",
    scheduleId: "PSCHED1",
    escalationPolicyId: "PEP0001",
    level: 1,
    start: "2026-11-22T09:00:00Z",
    end: "2026-11-23T09:00:00Z",
  },
  // Starts inside the window, ends after it: granted whole.
  {
    userId: "PUSER02",
    scheduleId: "PSCHED1",
    escalationPolicyId: "PEP0001",
    level: 1,
    start: "2026-11-23T09:00:00Z",
    end: "2026-11-24T09:00:00Z",
  },
  // Same shift through two escalation policies at two levels: one grant.
  {
    userId: "PUSER03",
    scheduleId: "PSCHED2",
    escalationPolicyId: "PEP0001",
    level: 1,
    start: "2026-11-22T12:00:00Z",
    end: "2026-11-22T20:00:00Z",
  },
  {
    userId: "PUSER03",
    scheduleId: "PSCHED2",
    escalationPolicyId: "PEP0002",
    level: 2,
    start: "2026-11-22T12:00:00Z",
    end: "2026-11-22T20:00:00Z",
  },
  // Level 2 only: filtered out by escalationLevels [1].
  {
    userId: "PUSER02",
    scheduleId: "PSCHED2",
    escalationPolicyId: "PEP0002",
    level: 2,
    start: "2026-11-22T20:00:00Z",
    end: "2026-11-23T04:00:00Z",
  },
];

export const EXPECTED_ARGV = [
  [
    "admin",
    "users",
    "grant-temporary",
    "--from",
    "2026-11-22T10:00:00Z",
    "--until",
    "2026-11-23T09:15:00Z",
    "prod-postgres",
    "alice@example.com",
  ],
  [
    "admin",
    "users",
    "grant-temporary",
    "--from",
    "2026-11-23T09:00:00Z",
    "--until",
    "2026-11-24T09:15:00Z",
    "prod-postgres",
    "bob@example.com",
  ],
  [
    "admin",
    "users",
    "grant-temporary",
    "--from",
    "2026-11-22T11:45:00Z",
    "--until",
    "2026-11-22T20:00:00Z",
    "prod-k8s",
    "carol@example.com",
  ],
];

export type Env = {
  dir: string;
  binDir: string;
  config: string;
  sdm: FakeCli;
  pd: FakePagerDuty;
  run: Scenario<FakePagerDuty>["run"];
  cleanup: () => Promise<void>;
};

export async function setup(
  fake: Partial<FakePagerDutyOptions> = {},
  extraConfig = "",
  http = "{ backoff: 10ms, retries: 2, timeout: 2s }",
): Promise<Env> {
  const s = await startScenario({
    startFake: () =>
      startFakePagerDuty({
        token: PD_TOKEN,
        users: structuredClone(USERS),
        schedules: structuredClone(SCHEDULES),
        oncalls: structuredClone(ONCALLS),
        ...fake,
      }),
    clis: ["sdm"],
    env: { PAGERDUTY_TOKEN: PD_TOKEN, SDM_ADMIN_TOKEN: SDM_TOKEN },
    now: NOW,
    command: ["sync"],
    config: (pd) => `
version: 1
window: 24h
state: state.json
audit: audit.jsonl
http: ${http}
sources:
  pd:
    type: pagerduty
    baseUrl: ${pd.url}
targets:
  sdm:
    type: strongdm
rules:
  - name: dba
    source: pd
    schedules: ["dba primary"]
    target: sdm
    resources: [prod-postgres]
    grace: 15m
  - name: platform
    source: pd
    schedules: [PSCHED2]
    escalationLevels: [1]
    target: sdm
    resources: [prod-k8s]
    lead: 15m
${extraConfig}`,
  });
  return { ...s, sdm: s.clis.sdm as FakeCli, pd: s.fake };
}
