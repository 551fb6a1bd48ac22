import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { SourceConfig } from "../sources/index.js";
import {
  exclusiveNeedsMemberList,
  escalationLevelsSupported,
  escalationLevelsWithSchedules,
  incidentsSupported,
  knownSource,
  knownTarget,
  resourcesAreArguments,
  RULE_CHECKS,
  schedulesOrIncidents,
  uniqueName,
  type RuleCheckContext,
} from "./rules.js";
import type { RawRule } from "./schema.js";

const secret = { tokenEnv: "T", tokenFile: null };
const sources = new Map<string, SourceConfig>([
  ["pd", { name: "pd", type: "pagerduty", secret, baseUrl: "https://api.pagerduty.com" }],
  ["og", { name: "og", type: "opsgenie", secret, baseUrl: "https://api.opsgenie.com" }],
]);

const context = (rules: (Partial<RawRule> | undefined)[], index = rules.length - 1): RuleCheckContext => ({
  at: `rules[${index}]`,
  index,
  rules,
  sources,
  defined: { sources: ["pd", "og"], targets: ["sdm"] },
  written: {
    schedules: rules[index]?.schedules !== undefined,
    incidents: rules[index]?.incidents !== undefined,
  },
});

/** The problems of one check on the last of these rules. */
const check = (fn: (r: Partial<RawRule>, ctx: RuleCheckContext) => string[], ...rules: Partial<RawRule>[]) =>
  fn(rules[rules.length - 1] as Partial<RawRule>, context(rules));

describe("rule checks", () => {
  it("uniqueName: a name another, earlier rule has", () => {
    assert.deepEqual(check(uniqueName, { name: "a" }, { name: "b" }), []);
    assert.deepEqual(check(uniqueName, { name: "a" }, { name: "a" }), [
      'rules[1].name: another rule is already named "a"; rule names must be unique',
    ]);
  });

  it("knownSource and knownTarget: a name not defined, with the closest one", () => {
    assert.deepEqual(check(knownSource, { source: "pd" }), []);
    assert.deepEqual(check(knownSource, { source: "pdd" }), [
      'rules[0].source: unknown source "pdd" (did you mean "pd"?)',
    ]);
    assert.deepEqual(check(knownTarget, { target: "vault" }), [
      'rules[0].target: unknown target "vault" (targets defined: sdm)',
    ]);
  });

  it("schedulesOrIncidents: one of them, not both", () => {
    assert.deepEqual(check(schedulesOrIncidents, { schedules: ["P1"] }), []);
    assert.deepEqual(check(schedulesOrIncidents, { schedules: ["P1"], incidents: { services: ["S"] } }), [
      "rules[0]: give schedules or incidents, not both (a rule follows a rota or incidents)",
    ]);
    assert.deepEqual(check(schedulesOrIncidents, {}), [
      "rules[0].schedules: list the schedules whose on-call people get access (or incidents: { services: [...] })",
    ]);
  });

  it("incidentsSupported and escalationLevelsSupported: only sources whose definition says so", () => {
    assert.deepEqual(check(incidentsSupported, { source: "pd", incidents: { services: ["S"] } }), []);
    assert.deepEqual(check(incidentsSupported, { source: "og", incidents: { services: ["S"] } }), [
      'rules[0].incidents: only pagerduty sources have incidents (source "og" is opsgenie)',
    ]);
    assert.deepEqual(check(escalationLevelsSupported, { source: "og", escalationLevels: [1] }), [
      'rules[0].escalationLevels: only pagerduty sources have escalation levels (source "og" is opsgenie); remove it',
    ]);
  });

  it("escalationLevelsWithSchedules: not with incidents", () => {
    assert.deepEqual(
      check(escalationLevelsWithSchedules, { incidents: { services: ["S"] }, escalationLevels: [1] }),
      ["rules[0].escalationLevels: applies to schedules, not incidents; remove it"],
    );
  });

  it("resourcesAreArguments: no leading dash, no control characters", () => {
    assert.deepEqual(check(resourcesAreArguments, { resources: ["db", "-rf", "a\nb"] }), [
      'rules[0].resources[1]: "-rf" must not start with "-" (a target\'s CLI would read it as a flag) or contain control characters',
      'rules[0].resources[2]: "a\\nb" must not start with "-" (a target\'s CLI would read it as a flag) or contain control characters',
    ]);
  });

  it("a rule that passes every check", () => {
    const rule: Partial<RawRule> = {
      name: "r",
      source: "pd",
      schedules: ["P1"],
      target: "sdm",
      resources: ["db"],
    };
    assert.deepEqual(
      RULE_CHECKS.flatMap((c) => c(rule, context([rule]))),
      [],
    );
  });
});

describe("target checks", () => {
  it("exclusiveNeedsMemberList: refused on a type whose definition does not list members", () => {
    const at = "targets.cmd";
    assert.deepEqual(exclusiveNeedsMemberList({ type: "command", grant: ["g"] }, { at }), []);
    assert.deepEqual(
      exclusiveNeedsMemberList({ type: "command", grant: ["g"], exclusive: ["ops"] }, { at }),
      [
        "targets.cmd.exclusive: a command target cannot list a resource's members, so shiftgrant cannot own its membership; remove exclusive (it needs a target that lists members: okta, github)",
      ],
    );
    assert.deepEqual(
      exclusiveNeedsMemberList(
        { type: "okta", orgUrl: "https://example.okta.com", exclusive: ["ops"] },
        { at },
      ),
      [],
    );
    assert.deepEqual(
      exclusiveNeedsMemberList({ type: "github", org: "acme", exclusive: ["oncall"] }, { at }),
      [],
    );
    // Written but empty is still the key on a type that cannot honour it.
    assert.equal(exclusiveNeedsMemberList({ type: "teleport", exclusive: [] }, { at }).length, 1);
  });
});
