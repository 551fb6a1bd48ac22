import { SOURCES, sourceTypesWith, type SourceConfig } from "../sources/index.js";
import { TARGETS, targetTypesListingMembers, type RawTarget, type TargetConfig } from "../targets/index.js";
import type { RawRule } from "./schema.js";
import { known } from "./suggest.js";

/**
 * The checks across a rule's keys and the rest of the config, one named function each, and those
 * across a target's keys and what its type can do. Each sees the valid fields only (invalid ones are
 * reported already, by the schema) and returns its problems; a config is accepted when no check
 * returns any.
 */

/** What a rule check sees besides the rule. */
export type RuleCheckContext = {
  /** The rule's path, `rules[2]`. */
  at: string;
  index: number;
  /** Every rule as salvaged, to compare with the others. */
  rules: readonly (Partial<RawRule> | undefined)[];
  /** The sources that are valid, resolved. */
  sources: ReadonlyMap<string, SourceConfig>;
  /** The targets that are valid, resolved. */
  targets: ReadonlyMap<string, TargetConfig>;
  /** Every name the config defines, even one whose definition has a problem of its own; null if none could be read. */
  defined: { sources: string[] | null; targets: string[] | null };
  /** Whether the keys are written at all (a value may be written but invalid). */
  written: { schedules: boolean; incidents: boolean };
};

export type RuleCheck = (rule: Partial<RawRule>, ctx: RuleCheckContext) => string[];

/** Rule names key the ledger and the audit log: two rules with one name would share grants. */
export const uniqueName: RuleCheck = (r, { at, index, rules }) =>
  r.name !== undefined && rules.slice(0, index).some((other) => other?.name === r.name)
    ? [`${at}.name: another rule is already named "${r.name}"; rule names must be unique`]
    : [];

export const knownSource: RuleCheck = (r, { at, defined }) =>
  r.source !== undefined && defined.sources && !defined.sources.includes(r.source)
    ? [`${at}.source: unknown source "${r.source}"${known(r.source, defined.sources, "sources")}`]
    : [];

export const knownTarget: RuleCheck = (r, { at, defined }) =>
  r.target !== undefined && defined.targets && !defined.targets.includes(r.target)
    ? [`${at}.target: unknown target "${r.target}"${known(r.target, defined.targets, "targets")}`]
    : [];

/** A rule follows a rota or incidents: exactly one of them. */
export const schedulesOrIncidents: RuleCheck = (r, { at, written }) => {
  if (written.schedules && r.incidents) {
    return [`${at}: give schedules or incidents, not both (a rule follows a rota or incidents)`];
  }
  if (!written.schedules && !written.incidents) {
    return [
      `${at}.schedules: list the schedules whose on-call people get access (or incidents: { services: [...] })`,
    ];
  }
  return [];
};

export const incidentsSupported: RuleCheck = (r, { at, sources }) => {
  const source = r.source === undefined ? undefined : sources.get(r.source);
  return r.incidents && source && !SOURCES[source.type].features.incidents
    ? [
        `${at}.incidents: only ${sourceTypesWith("incidents").join(" and ")} sources have incidents (source "${r.source}" is ${source.type})`,
      ]
    : [];
};

/** Escalation levels belong to schedules; an incident's acknowledger has none. */
export const escalationLevelsWithSchedules: RuleCheck = (r, { at }) =>
  r.incidents && r.escalationLevels
    ? [`${at}.escalationLevels: applies to schedules, not incidents; remove it`]
    : [];

export const escalationLevelsSupported: RuleCheck = (r, { at, sources }) => {
  const source = r.source === undefined ? undefined : sources.get(r.source);
  return r.escalationLevels && source && !SOURCES[source.type].features.escalationLevels
    ? [
        `${at}.escalationLevels: only ${sourceTypesWith("escalationLevels").join(" and ")} sources have escalation levels (source "${r.source}" is ${source.type}); remove it`,
      ]
    : [];
};

/** A resource is one argument of a target's CLI: it must not read as a flag or break a line. */
export const resourcesAreArguments: RuleCheck = (r, { at }) =>
  (r.resources ?? []).flatMap((res, j) =>
    res.startsWith("-") || /[\u0000-\u001f\u007f]/.test(res)
      ? [
          `${at}.resources[${j}]: ${JSON.stringify(res)} must not start with "-" (a target's CLI would read it as a flag) or contain control characters`,
        ]
      : [],
  );

/** A target type whose resources have a syntax of their own (an account and a permission set) checks them. */
export const resourcesValidForTarget: RuleCheck = (r, { at, targets }) => {
  const t = r.target === undefined ? undefined : targets.get(r.target);
  const check = t ? TARGETS[t.type].checkResource : undefined;
  if (!t || !check) return [];
  return (r.resources ?? []).flatMap((res, j) => {
    const problem = check(res);
    return problem ? [`${at}.resources[${j}]: ${problem}`] : [];
  });
};

/** Every rule check, in the order their problems are listed. */
export const RULE_CHECKS: readonly RuleCheck[] = [
  uniqueName,
  knownSource,
  knownTarget,
  schedulesOrIncidents,
  incidentsSupported,
  escalationLevelsWithSchedules,
  escalationLevelsSupported,
  resourcesAreArguments,
  resourcesValidForTarget,
];

/** What a target check sees besides the target as written. */
export type TargetCheckContext = {
  /** The target's path, `targets.sdm`. */
  at: string;
};

export type TargetCheck = (target: RawTarget, ctx: TargetCheckContext) => string[];

/**
 * Owning a resource's whole membership means removing whoever is there and not on call: only a
 * target type that can list a resource's members can do that (its definition declares it).
 */
export const exclusiveNeedsMemberList: TargetCheck = (t, { at }) => {
  if (t.exclusive === undefined || TARGETS[t.type].listsMembers) return [];
  const listing = targetTypesListingMembers();
  return [
    `${at}.exclusive: a ${t.type} target cannot list a resource's members, so shiftgrant cannot own its membership; remove exclusive (it needs a target that lists members${listing.length > 0 ? `: ${listing.join(", ")}` : ""})`,
  ];
};

/** Every target check, in the order their problems are listed. */
export const TARGET_CHECKS: readonly TargetCheck[] = [exclusiveNeedsMemberList];
