import type { ExitCode } from "../errors.js";
import { loadConfig } from "../config/load.js";
import { formatUtc } from "../core/time.js";
import { listHeld } from "../plan/held.js";
import { table } from "../report/render.js";
import { readLedger } from "../state/ledger.js";
import { capabilitiesOf } from "../targets/index.js";
import type { CommandDeps } from "./context.js";

export type GrantsOptions = { config: string; output: "text" | "json" };

/**
 * What the ledger says is held now, per target, resource and identity, and until when: pre-existing
 * access and overdue expiries marked. Reads the ledger (and its journal) only: no lock, no call.
 */
export async function runGrants(opts: GrantsOptions, deps: CommandDeps): Promise<ExitCode> {
  const config = await loadConfig(opts.config);
  const now = deps.now().toUTC();
  const { grants } = await readLedger(config.state);
  const expires = (target: string) => {
    const t = config.targets.get(target);
    return t ? capabilitiesOf(t).expires : true;
  };
  const rows = listHeld(grants, expires, now);
  if (opts.output === "json") {
    const doc = {
      version: 1,
      now: formatUtc(now),
      state: config.state,
      grants: rows.map(({ grant: g, overdue }) => ({
        target: g.target,
        resource: g.resource,
        identity: g.identity,
        rule: g.rule,
        start: formatUtc(g.start),
        end: formatUtc(g.end),
        preexisting: g.preexisting === true,
        overdue,
      })),
    };
    deps.stdout.write(deps.redactor.redact(`${JSON.stringify(doc, null, 2)}\n`));
    return 0;
  }
  const lines = [`shiftgrant grants: what ${config.state} holds at ${formatUtc(now)}`, ""];
  if (rows.length === 0) lines.push("The ledger holds no grant.");
  else {
    const body = rows.map(({ grant: g, overdue }) => [
      g.target,
      g.resource,
      g.identity,
      formatUtc(g.start),
      formatUtc(g.end),
      g.rule,
      [
        g.preexisting ? "pre-existing: had it before; never removed" : "",
        overdue ? "overdue: ended, not expired yet; the next sync expires it" : "",
      ]
        .filter(Boolean)
        .join("; "),
    ]);
    for (const l of table(["TARGET", "RESOURCE", "IDENTITY", "START", "END", "RULE", "NOTE"], body))
      lines.push(`  ${l}`);
    const overdue = rows.filter((r) => r.overdue).length;
    const pre = rows.filter((r) => r.grant.preexisting).length;
    lines.push(
      "",
      `${rows.length} grant${rows.length === 1 ? "" : "s"}, ${pre} pre-existing, ${overdue} overdue`,
    );
  }
  deps.stdout.write(deps.redactor.redact(`${lines.join("\n")}\n`));
  return 0;
}
