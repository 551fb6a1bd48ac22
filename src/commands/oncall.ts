import { DateTime } from "luxon";
import { loadConfig } from "../config/load.js";
import { resolveSecrets } from "../config/secrets.js";
import { selectRules } from "../config/select-rules.js";
import { formatUtc } from "../core/time.js";
import { resolveWindow } from "../config/window.js";
import { EXIT, type ExitCode } from "../errors.js";
import { sanitizeForTerminal } from "../core/redact.js";
import { resolveIdentity } from "../core/identity.js";
import { table } from "../report/render.js";
import { fetchRuleShifts } from "../fetch/fetch.js";
import { buildSources, type CommandDeps } from "./context.js";

export type OncallOptions = {
  config: string;
  since?: string | undefined;
  until?: string | undefined;
  window?: string | undefined;
  rules: string[];
  output: "text" | "json";
};

/**
 * The resolved on-call shifts of the window, per rule: who, schedule, level, start, end. No plan, no
 * target, no ledger. Times in the viewer's local zone on a terminal, UTC in JSON.
 */
export async function runOncall(opts: OncallOptions, deps: CommandDeps): Promise<ExitCode> {
  const config = await loadConfig(opts.config);
  const now = deps.now().toUTC();
  const window = resolveWindow(opts, config.window, now);
  const rules = selectRules(config, opts.rules);
  const sourceNames = new Set(rules.map((r) => r.source));
  const secrets = await resolveSecrets(config, deps.env, deps.redactor, {
    sources: sourceNames,
    targets: new Set(),
  });
  const { sources } = buildSources(config, sourceNames, secrets, deps);
  const fetched = await fetchRuleShifts(config, rules, sources, window, deps.log, now);

  const rows = rules.flatMap((r) =>
    (fetched.shifts.get(r.name) ?? [])
      .map((s) => {
        const id = resolveIdentity(s.email, config.identities);
        return { rule: r.name, source: r.source, identity: id.identity, valid: id.ok, shift: s };
      })
      .sort((a, b) => a.shift.start - b.shift.start || cmp(a.identity, b.identity)),
  );

  const code: ExitCode = fetched.errors.length > 0 ? EXIT.source : EXIT.ok;
  let out: string;
  if (opts.output === "json") {
    const doc = {
      version: 1,
      exitCode: code,
      window: { since: formatUtc(window.since), until: formatUtc(window.until) },
      shifts: rows.map((r) => ({
        rule: r.rule,
        source: r.source,
        identity: r.identity,
        email: r.shift.email,
        schedule: r.shift.schedule,
        level: r.shift.level,
        start: formatUtc(r.shift.start),
        end: formatUtc(r.shift.end),
        ...(r.valid ? {} : { invalid: "not a plain email address; never passed to a target" }),
      })),
      errors: fetched.errors,
    };
    out = `${JSON.stringify(doc, null, 2)}\n`;
  } else {
    const zone = DateTime.local().zoneName ?? "UTC";
    const local = (t: DateTime | number) =>
      (typeof t === "number" ? DateTime.fromMillis(t) : t).setZone(zone).toFormat("ccc yyyy-MM-dd HH:mm");
    const lines = [`on call ${local(window.since)} → ${local(window.until)} (${zone})`, ""];
    // A rule whose source failed is not a rule with nobody on call: only rules that were read count.
    const answered = rules.filter((r) => !fetched.errors.some((e) => e.rule === r.name));
    if (rows.length === 0) {
      if (fetched.errors.length === 0) lines.push("No one is on call in this window.");
      else if (answered.length > 0)
        lines.push("No one is on call in this window under the rules whose source answered.");
      else lines.push("Nothing is known: the source of every rule failed.");
    } else {
      lines.push(
        ...table(
          ["RULE", "WHO", "SCHEDULE", "LEVEL", "START", "END"],
          rows.map((r) => [
            r.rule,
            r.valid ? r.identity : `${r.identity} (invalid)`,
            r.shift.schedule.name === r.shift.schedule.id
              ? r.shift.schedule.id
              : `${r.shift.schedule.name} (${r.shift.schedule.id})`,
            r.shift.level === null ? "-" : String(r.shift.level),
            local(r.shift.start),
            local(r.shift.end),
          ]),
        ),
      );
    }
    for (const e of fetched.errors) lines.push(`error: rule ${e.rule} (source ${e.source}): ${e.message}`);
    out = `${lines.map(sanitizeForTerminal).join("\n")}\n`;
  }
  deps.stdout.write(deps.redactor.redact(out));
  return code;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
