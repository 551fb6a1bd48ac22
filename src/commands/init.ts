import { writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { SourceType, TargetType } from "../config/defaults.js";
import { EXIT, UsageError, type ExitCode } from "../errors.js";
import type { CommandDeps } from "./context.js";

export type InitOptions = {
  source: SourceType;
  target: TargetType;
  /** Where to write the config; "-" is stdout. */
  out: string;
  force: boolean;
};

/** The http target has no default token variable: the starter names this one. */
const HTTP_TOKEN_ENV = "ACCESS_API_TOKEN";

/** The JSON Schema shipped beside this installation, for editors that read the modeline. */
const SCHEMA_FILE = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "..",
  "..",
  "schema",
  "shiftgrant.schema.json",
);

/** A source's or target's part of a starter config: its YAML, its token variables, its rule lines. */
type Part = { name: string; yaml: string[]; env: string[]; schedules: string[]; resources: string[] };

const SOURCES: Record<SourceType, Part> = {
  pagerduty: {
    name: "pagerduty",
    yaml: [
      "    type: pagerduty",
      "    tokenEnv: PAGERDUTY_TOKEN            # a read-only REST API key; or tokenFile: /run/secrets/pagerduty",
      "    # baseUrl: https://api.eu.pagerduty.com   # accounts in the EU service region",
    ],
    env: ["PAGERDUTY_TOKEN"],
    schedules: [
      "    schedules: [PABC123]                 # schedule ids or exact names: see `shiftgrant schedules`",
      "    # escalationLevels: [1]              # only people on call at these levels",
    ],
    resources: [],
  },
  opsgenie: {
    name: "opsgenie",
    yaml: [
      "    type: opsgenie",
      "    tokenEnv: OPSGENIE_API_KEY           # an API integration's key with Read access; or tokenFile",
      "    # baseUrl: https://api.eu.opsgenie.com   # accounts in the EU region",
    ],
    env: ["OPSGENIE_API_KEY"],
    schedules: [
      '    schedules: ["Primary_Schedule"]      # schedule names or ids: see `shiftgrant schedules`',
    ],
    resources: [],
  },
  incidentio: {
    name: "incidentio",
    yaml: [
      "    type: incidentio",
      "    tokenEnv: INCIDENTIO_API_KEY         # an API key with a view role only; or tokenFile",
    ],
    env: ["INCIDENTIO_API_KEY"],
    schedules: [
      '    schedules: ["Primary"]               # schedule ids or exact names: see `shiftgrant schedules`',
    ],
    resources: [],
  },
  file: {
    name: "rota",
    yaml: [
      "    type: file",
      "    path: rota.yaml                      # relative to this file; read on every run. For example:",
      "    # shifts:",
      "    #   - { schedule: primary, email: alice@example.com, start: 2026-11-22T09:00:00Z, end: 2026-11-23T09:00:00Z }",
      "    # rotations:",
      "    #   - schedule: primary",
      "    #     members: [alice@example.com, bob@example.com]",
      "    #     start: 2026-01-05T09:00:00     # first handoff, wall time in `timezone`",
      "    #     timezone: Europe/Berlin",
      "    #     length: 7d",
    ],
    env: [],
    schedules: ["    schedules: [primary]                 # the rota's schedule names"],
    resources: [],
  },
};

const TARGETS: Record<TargetType, Part> = {
  strongdm: {
    name: "sdm",
    yaml: [
      "    type: strongdm",
      "    tokenEnv: SDM_ADMIN_TOKEN            # an admin token with Datasource list and grant, User assign and list",
      "    # command: /usr/local/bin/sdm        # the sdm executable, if cron's PATH lacks it",
    ],
    env: ["SDM_ADMIN_TOKEN"],
    schedules: [],
    resources: ["    resources: [prod-postgres]           # strongDM datasource or server names"],
  },
  teleport: {
    name: "teleport",
    yaml: [
      "    type: teleport",
      "    # The Machine ID identity allowed to edit the access lists' members:",
      '    args: ["--auth-server", "proxy.example.com:443", "-i", "/opt/machine-id/identity"]',
      "    # command: /usr/local/bin/tctl       # the tctl executable, if cron's PATH lacks it",
    ],
    env: [],
    schedules: [],
    resources: ["    resources: [prod-access]             # Teleport access list names"],
  },
  command: {
    name: "script",
    yaml: [
      "    type: command",
      "    # argv lists, run without a shell; placeholders: {identity} {resource} {start} {end}",
      "    # {duration} {rule} {reason}. A path starting with ./ is relative to this file.",
      '    grant: ["/usr/local/bin/grant-access", "{identity}", "{resource}", "{start}", "{end}"]',
      '    revoke: ["/usr/local/bin/revoke-access", "{identity}", "{resource}"]',
      "    # tokenEnv: ACCESS_TOKEN             # passed on to the command in its environment",
    ],
    env: [],
    schedules: [],
    resources: ["    resources: [prod-db]                 # passed to the command as {resource}"],
  },
  http: {
    name: "access-api",
    yaml: [
      "    type: http",
      "    url: https://access.example.com/shiftgrant/grants   # POST grants here",
      `    tokenEnv: ${HTTP_TOKEN_ENV}           # sent as Authorization: Bearer …; or tokenFile`,
      "    # revoke: true                       # the endpoint also takes DELETE url/{key}",
    ],
    env: [HTTP_TOKEN_ENV],
    schedules: [],
    resources: ["    resources: [prod-db]                 # sent in each request's body"],
  },
};

/** The environment variables a starter config of these types needs (its tokens). */
export function starterEnv(source: SourceType, target: TargetType): string[] {
  return [...SOURCES[source].env, ...TARGETS[target].env];
}

/** A commented starter config for one source and one target; valid as written, given its tokens. */
export function starterConfig(source: SourceType, target: TargetType): string {
  const s = SOURCES[source];
  const t = TARGETS[target];
  const env = starterEnv(source, target);
  const tokens =
    env.length > 0
      ? `set ${env.join(" and ")} where shiftgrant runs (never in this file)`
      : "nothing to set: this pair needs no token";
  return [
    `# yaml-language-server: $schema=${SCHEMA_FILE}`,
    "#",
    `# shiftgrant: whoever is on call in ${source} gets time-bounded access through ${target}.`,
    `# Written by \`shiftgrant init --source ${source} --target ${target}\`. Next:`,
    `#   1. ${tokens};`,
    "#   2. `shiftgrant schedules -c THIS_FILE` lists the schedules: name yours in the rule below;",
    "#   3. `shiftgrant validate --online -c THIS_FILE`, then `shiftgrant sync -c THIS_FILE --dry-run`.",
    "# Every key is described in docs/configuration.md (shipped with the package).",
    "version: 1",
    "window: 24h                              # how far ahead each run plans",
    "state: shiftgrant-state.json             # the ledger, relative to this file; on a server e.g.",
    "                                         # /var/lib/shiftgrant/state.json (keep it)",
    "# audit: /var/log/shiftgrant/audit.jsonl # an append-only audit log (JSON lines)",
    "# maxChanges: 50                         # apply nothing if a run would change more than this",
    "",
    "sources:",
    `  ${s.name}:`,
    ...s.yaml,
    "",
    "targets:",
    `  ${t.name}:`,
    ...t.yaml,
    "",
    "rules:",
    "  - name: oncall",
    `    source: ${s.name}`,
    ...s.schedules,
    `    target: ${t.name}`,
    ...t.resources,
    "    lead: 15m                            # access starts this long before the shift",
    "    grace: 15m                           # and ends this long after it",
    "    maxDuration: 24h                     # longest single grant; later runs extend it",
    "    # revoke: true                       # revoke grants whose shift was swapped away",
    "",
  ].join("\n");
}

/** Writes a starter config; never over an existing file unless --force. */
export async function runInit(opts: InitOptions, deps: CommandDeps): Promise<ExitCode> {
  const text = starterConfig(opts.source, opts.target);
  if (opts.out === "-") {
    deps.stdout.write(text);
    return EXIT.ok;
  }
  const file = path.resolve(deps.cwd, opts.out);
  try {
    // "wx" refuses an existing file atomically: no window between a check and the write.
    await writeFile(file, text, { flag: opts.force ? "w" : "wx" });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EEXIST") {
      throw new UsageError(
        `${file} already exists; pass --force to overwrite it, or -o another file (-o - prints the config)`,
      );
    }
    if (code === "ENOENT") throw new UsageError(`cannot write ${file}: its directory does not exist`);
    if (code === "EISDIR") throw new UsageError(`cannot write ${file}: it is a directory; pass -o FILE`);
    if (code === "EACCES") throw new UsageError(`cannot write ${file}: permission denied`);
    throw err;
  }
  const env = starterEnv(opts.source, opts.target);
  const shown = file.startsWith(`${deps.cwd}${path.sep}`) ? path.relative(deps.cwd, file) : file;
  deps.stdout.write(
    [
      `wrote ${shown} (source ${opts.source}, target ${opts.target}). Next:`,
      ...(env.length > 0 ? [`  set ${env.join(" and ")} (never in the file)`] : []),
      `  shiftgrant schedules -c ${shown}    # the schedules to name in the rule`,
      `  shiftgrant validate -c ${shown}`,
      `  shiftgrant sync -c ${shown} --dry-run`,
      "",
    ].join("\n"),
  );
  return EXIT.ok;
}
