// Renders docs/configuration.md from the config's JSON Schema (schema/shiftgrant.schema.json, itself
// generated from the zod schema), so that the reference lists exactly the keys shiftgrant accepts,
// with the descriptions written once beside each key in the code. The prose around the tables lives
// here, in CONFIG_DOC_INTRO and CONFIG_DOC_OUTRO; the tables are derived. It reads the JSON Schema
// rather than the zod objects so that it does not depend on where in src/ each schema is defined.

/** The part of JSON Schema (draft 2020-12, as zod writes it) that the reference reads. */
export type JsonSchema = {
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
  definitions?: Record<string, JsonSchema>;
  description?: string;
  type?: string | string[];
  const?: unknown;
  enum?: unknown[];
  default?: unknown;
  pattern?: string;
  minLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
};

/** Where the prose about each kind of adapter lives, for the links under its tables. */
const ADAPTER_PAGES: Record<string, { title: string; one: string; page: string }> = {
  sources: { title: "Sources", one: "source", page: "sources.md" },
  targets: { title: "Targets", one: "target", page: "targets.md" },
  "notify.channels": { title: "Notification channels", one: "channel", page: "notifications.md" },
};

type Row = { key: string; type: string; required: boolean; fallback: string; description: string };

/** zod writes MAX_SAFE_INTEGER as the bound of an unbounded `.int()`: it says nothing to a reader. */
const UNBOUNDED = Number.MAX_SAFE_INTEGER;

function resolve(root: JsonSchema, node: JsonSchema): JsonSchema {
  let current = node;
  for (let hops = 0; current.$ref !== undefined; hops++) {
    const m = /^#\/(\$defs|definitions)\/(.+)$/.exec(current.$ref);
    const target = m
      ? root[m[1] as "$defs" | "definitions"]?.[decodeURIComponent(m[2] as string)]
      : undefined;
    if (!target || hops > 32) throw new Error(`cannot resolve ${current.$ref} in the JSON Schema`);
    const { $ref: _ref, ...rest } = current;
    current = { ...target, ...rest };
  }
  return current;
}

const variantsOf = (node: JsonSchema): JsonSchema[] | undefined => node.oneOf ?? node.anyOf;

const isObjectWithKeys = (node: JsonSchema) => node.properties !== undefined;

/** A markdown table cell: one line, no column break. */
function cell(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").replaceAll("|", "\\|");
}

const code = (v: unknown) => `\`${typeof v === "string" ? v : JSON.stringify(v)}\``;

/** "string", "integer 1–32", "list of string (at least 1)", "map of string to string", … */
function describeType(root: JsonSchema, raw: JsonSchema): string {
  const node = resolve(root, raw);
  if (node.const !== undefined) return code(node.const);
  if (node.enum) return node.enum.map(code).join(" or ");
  const variants = variantsOf(node)?.map((v) => resolve(root, v));
  if (variants) {
    const kinds = variants.map((v) =>
      v.properties?.type ? resolve(root, v.properties.type).const : undefined,
    );
    if (kinds.every((k) => typeof k === "string"))
      return `object by \`type\` (${kinds.map(code).join(", ")})`;
    return variants.map((v) => describeType(root, v)).join(" or ");
  }
  const types = Array.isArray(node.type) ? node.type : node.type ? [node.type] : [];
  const parts: string[] = [];
  if (types.includes("array")) {
    const of = node.items ? describeType(root, node.items) : "anything";
    parts.push(`list${node.minItems ? ` (at least ${node.minItems})` : ""} of ${of}`);
  } else if (types.includes("object") && !isObjectWithKeys(node)) {
    const values =
      typeof node.additionalProperties === "object"
        ? describeType(root, node.additionalProperties)
        : "anything";
    parts.push(`map of name to ${values}`);
  } else if (types.includes("object")) {
    parts.push("object");
  } else {
    parts.push(types.length > 0 ? types.join(" or ") : "any");
  }
  const lo = node.minimum;
  const hi = node.maximum !== undefined && node.maximum < UNBOUNDED ? node.maximum : undefined;
  if (lo !== undefined && hi !== undefined) parts.push(`${lo}–${hi}`);
  else if (lo !== undefined) parts.push(`≥ ${lo}`);
  else if (hi !== undefined) parts.push(`≤ ${hi}`);
  if (node.minLength) parts.push("not empty");
  if (node.pattern) parts.push(`matching ${code(node.pattern)}`);
  return parts.join(", ");
}

/**
 * One row per key; an object with keys of its own (`http`, `incidents`) is spelled out as
 * `parent.key` rows, and a list of such objects as `parent[].key`, so that every accepted key is
 * listed. `skip` names keys documented in a section of their own.
 */
function rows(root: JsonSchema, raw: JsonSchema, prefix = "", skip: ReadonlySet<string> = new Set()): Row[] {
  const node = resolve(root, raw);
  const required = new Set(node.required ?? []);
  return Object.entries(node.properties ?? {}).flatMap(([name, rawChild]) => {
    if (skip.has(name)) return [];
    const child = resolve(root, rawChild);
    const key = `${prefix}${name}`;
    const row: Row = {
      key,
      type: describeType(root, child),
      required: required.has(name),
      fallback: child.default === undefined ? "" : code(child.default),
      description: child.description ?? "",
    };
    if (isObjectWithKeys(child)) return [row, ...rows(root, child, `${key}.`)];
    const items = child.items ? resolve(root, child.items) : undefined;
    if (items && isObjectWithKeys(items)) return [row, ...rows(root, items, `${key}[].`)];
    return [row];
  });
}

/** The default column appears only in a table where some key has a default in the schema. */
function table(list: Row[]): string {
  const defaults = list.some((r) => r.fallback !== "");
  const head = defaults
    ? "| key | type | required | default | description |\n| --- | --- | --- | --- | --- |\n"
    : "| key | type | required | description |\n| --- | --- | --- | --- |\n";
  const line = (r: Row) =>
    [
      `\`${r.key}\``,
      cell(r.type),
      r.required ? "yes" : "",
      ...(defaults ? [cell(r.fallback)] : []),
      cell(r.description),
    ]
      .map((c) => (c === "" ? " " : ` ${c} `))
      .join("|");
  return `${head}${list.map((r) => `|${line(r)}|`).join("\n")}\n`;
}

/** A key whose value is a map of named entries, each one of several types told apart by `type`. */
function adapterVariants(root: JsonSchema, raw: JsonSchema): JsonSchema[] | undefined {
  const node = resolve(root, raw);
  if (typeof node.additionalProperties !== "object") return undefined;
  const variants = variantsOf(resolve(root, node.additionalProperties));
  return variants?.map((v) => resolve(root, v));
}

function discriminator(root: JsonSchema, variant: JsonSchema): string {
  const type = variant.properties?.type;
  const value = type ? resolve(root, type).const : undefined;
  if (typeof value !== "string") throw new Error("a variant without a `type` constant in the JSON Schema");
  return value;
}

function adapterSections(root: JsonSchema, key: string, variants: JsonSchema[]): string {
  const about = ADAPTER_PAGES[key] ?? { title: key, one: "entry", page: "" };
  const types = variants.map((v) => discriminator(root, v));
  const more = about.page
    ? ` What each type does, and the rights its key needs: [${about.page}](${about.page}).`
    : "";
  const parts = [
    `## ${about.title}\n\n\`${key}\` maps a name of your choice (letters, digits, \`.\`, \`_\`, \`-\`) to one ` +
      `${about.one}; its \`type\` is one of ${types.map(code).join(", ")} and decides which other keys it takes.${more}\n`,
  ];
  variants.forEach((variant, i) => {
    const type = types[i] as string;
    const intro = variant.description ? `${variant.description}\n\n` : "";
    const link = about.page ? `More: [${about.page}, \`${type}\`](${about.page}#${type}).\n` : "";
    parts.push(`### \`${type}\`\n\n${intro}${table(rows(root, variant, "", new Set(["type"])))}\n${link}`);
  });
  return parts.join("\n");
}

/** Adapters one level down (`notify.channels`): a section each, after the top-level ones. */
function nestedAdapters(root: JsonSchema, props: Record<string, JsonSchema>): string[] {
  return Object.entries(props).flatMap(([k, raw]) => {
    const node = resolve(root, raw);
    return Object.entries(node.properties ?? {}).flatMap(([sub, s]) => {
      const variants = adapterVariants(root, s);
      return variants ? [adapterSections(root, `${k}.${sub}`, variants)] : [];
    });
  });
}

/** docs/configuration.md for this JSON Schema: the prose, then one table per part of the config. */
export function renderConfigurationDoc(schema: JsonSchema): string {
  const top = resolve(schema, schema);
  const props = top.properties ?? {};
  const adapters = Object.keys(props).filter((k) => adapterVariants(schema, props[k] as JsonSchema));
  const lists = Object.keys(props).filter((k) => {
    const items = resolve(schema, props[k] as JsonSchema).items;
    return items !== undefined && isObjectWithKeys(resolve(schema, items));
  });
  const own = new Set([...adapters, ...lists]);
  const topRows = rows(schema, top, "", own);
  for (const k of own) {
    const node = resolve(schema, props[k] as JsonSchema);
    topRows.push({
      key: k,
      type: describeType(schema, node),
      required: (top.required ?? []).includes(k),
      fallback: "",
      description: `${node.description ? `${node.description} ` : ""}See [below](#${k}).`,
    });
  }
  const sections = [
    GENERATED_NOTE,
    CONFIG_DOC_INTRO,
    `## Top level\n\n${table(topRows)}`,
    ...lists.map((k) => {
      const node = resolve(schema, props[k] as JsonSchema);
      const intro = k === "rules" ? RULES_INTRO : "";
      return `## \`${k}\`\n\n${intro}${table(rows(schema, node.items as JsonSchema, `${k}[].`))}`;
    }),
    ...adapters.map((k) => adapterSections(schema, k, adapterVariants(schema, props[k] as JsonSchema) ?? [])),
    ...nestedAdapters(schema, props),
    CONFIG_DOC_OUTRO,
  ];
  return `${sections.map((s) => s.trimEnd()).join("\n\n")}\n`;
}

const GENERATED_NOTE =
  "<!-- Generated by `npm run docs` from schema/shiftgrant.schema.json. Edit the key descriptions in the\n" +
  "     zod schemas under src/ (their `.meta({ description })`) and the prose in scripts/config-doc.ts,\n" +
  "     then run `npm run schema && npm run docs`; test/docs.test.ts fails while this file is stale. -->";

const CONFIG_DOC_INTRO = `# Configuration reference

The config is YAML or JSON. Relative paths (\`state\`, \`audit\`, a rota's \`path\`, \`tokenFile\`, a
command starting with \`./\`) are relative to the config file, so cron's working directory does not
matter; a path starting with \`~/\` is in the home directory of the user running shiftgrant.
\`-c\` defaults to \`$SHIFTGRANT_CONFIG\`, then \`./shiftgrant.yaml\`; \`shiftgrant init\` writes a
commented starter, and \`shiftgrant validate\` checks one (see [commands.md](commands.md)).

A JSON Schema of the config ships in
[\`schema/shiftgrant.schema.json\`](../schema/shiftgrant.schema.json); with the YAML language
server, put \`# yaml-language-server: $schema=<path to it>\` on the first line for completion and
checks in your editor. The tables below are generated from the same schema, so they list every key
shiftgrant accepts, and nothing else.

Durations (\`window\`, \`lead\`, \`grace\`, \`maxDuration\`, timeouts): \`500ms\`, \`90s\`, \`30m\`,
\`12h\`, \`7d\`, \`2w\`, or ISO 8601 (\`PT12H\`, \`P7D\`). A bare number (\`15\`) is an error: say
\`15m\`. Sizes (\`http.maxResponseBytes\`): \`KB\`, \`MB\`, \`GB\` (binary units), or a number of bytes.

## A complete example

\`\`\`yaml
version: 1                       # required
window: 24h                      # default look-ahead of sync
state: /var/lib/shiftgrant/state.json   # the ledger; default ./shiftgrant-state.json beside the config
audit: /var/log/shiftgrant/audit.jsonl  # optional append-only audit log
maxChanges: 50                   # optional guard, as --max-changes
concurrency: 4                   # parallel requests per source (default 4)
http:                            # optional; the defaults suit PagerDuty
  timeout: 30s                   # per attempt
  retries: 4                     # on 408, 429, 5xx and network errors
  backoff: 1s                    # base of the exponential backoff (full jitter)
  maxRetryWait: 60s              # a server asking to wait longer fails the request
  maxResponseBytes: 50MB         # a longer answer fails the request (KB, MB, GB: binary units)
identities:                      # optional: source email -> identity in the access tool
  alice@corp.example: alice@ops.example

sources:
  pd:
    type: pagerduty
    tokenEnv: PAGERDUTY_TOKEN    # the default; or tokenFile: /run/secrets/pd
    baseUrl: https://api.pagerduty.com   # EU: https://api.eu.pagerduty.com
  rota:
    type: file
    path: rota.yaml

targets:
  sdm:
    type: strongdm
    command: sdm                 # default "sdm"
    tokenEnv: SDM_ADMIN_TOKEN    # the default; passed to sdm as SDM_ADMIN_TOKEN, in its environment only
    concurrency: 4               # calls in flight (default 4)
    timeout: 60s                 # per call (default 60s)
  script:
    type: command
    grant:  ["/usr/local/bin/grant", "{identity}", "{resource}", "{start}", "{end}"]
    revoke: ["/usr/local/bin/revoke", "{identity}", "{resource}"]
  teleport:
    type: teleport
    args: ["--auth-server", "proxy.example.com:443", "-i", "/opt/machine-id/identity"]
  access-api:
    type: http
    url: https://access.example.com/api/grants
    tokenEnv: ACCESS_API_TOKEN
    revoke: true

rules:
  - name: dba-prod
    source: pd
    schedules: [PABC123, "DBA Primary"]  # ids, or exact names (case-insensitive)
    escalationLevels: [1]               # optional, pagerduty only
    target: sdm
    resources: [prod-postgres, prod-mysql]
    lead: 15m                           # the grant starts this long before the shift (default 0)
    grace: 15m                          # and ends this long after it (default 0)
    maxDuration: 24h                    # longest single grant; later runs extend (default: the window + lead + grace)
    revoke: false                       # revoke grants whose shift disappeared (default false)
  - name: incident-responders           # the incident mode: no schedules, incidents instead
    source: pd
    incidents: { services: [PSVC123] }  # whoever acknowledged an open incident on these services
    target: teleport
    resources: [prod-k8s]
    maxDuration: 4h                     # access until 4h after now (the default), extended while open
    revoke: true                        # revoked once the incident is resolved
\`\`\`

In short:

| key | meaning |
| --- | --- |
| \`version\` | \`1\` |
| \`window\` | default length of the window (\`--window\`) |
| \`state\` | the ledger file; its lock is \`<state>.lock\` |
| \`audit\` | JSON-lines audit log, one line per applied or failed action |
| \`maxChanges\` | apply nothing when grants + extends + revokes exceed it (exit 6) |
| \`concurrency\` | requests in flight per source |
| \`http\` | \`timeout\`, \`retries\`, \`backoff\`, \`maxRetryWait\`, \`maxResponseBytes\` for every HTTP source (and the \`http\` target) |
| \`identities\` | map of source email → target identity (both plain emails; keys are matched case-insensitively) |
| \`sources.NAME\` | \`type\` plus the type's keys (below) |
| \`targets.NAME\` | \`type\` plus the type's keys (below), \`concurrency\`, \`timeout\` |
| \`rules[]\` | \`name\`, \`source\`, \`schedules\` (or \`incidents\`), \`target\`, \`resources\`, and optional \`escalationLevels\`, \`lead\`, \`grace\`, \`maxDuration\`, \`revoke\` |

How \`lead\`, \`grace\`, \`maxDuration\` and \`revoke\` shape the grants, and how re-runs extend them:
[how-it-works.md](how-it-works.md). The rota file's own format: [sources.md, \`file\`](sources.md#file).`;

const RULES_INTRO = `Each rule reads the shifts of its \`schedules\` (or, PagerDuty only, the acknowledgers of its
\`incidents\`) from one source and grants each person on call its \`resources\` on one target. A rule
names either \`schedules\` or \`incidents\`, not both. Without \`maxDuration\`, no grant is longer than
the window plus the rule's \`lead\` and \`grace\`; in the incident mode \`maxDuration\` defaults to 4h.

`;

const CONFIG_DOC_OUTRO = `## Rules for a config you can trust

- **Secrets are never written in the config**: only \`tokenEnv\` (the name of an environment
  variable) or \`tokenFile\` (a file holding the token, e.g. a mounted secret). A literal \`token:\` key
  is an error that says so.
- **A token is one line**: one trailing newline and surrounding spaces are dropped; any other line
  break or control character is refused at load (exit 2, \`unusable secret: …\`), naming the variable
  or the file and its config key, never the value. A \`tokenFile\` must be a regular file (a symlink to
  one is fine) of at most 64 KB: a FIFO, a device (\`/dev/zero\`) or a directory is refused at once,
  without reading it. A missing variable is \`missing secret: PAGERDUTY_TOKEN is not set
  (sources.pd.tokenEnv)\`; every secret problem is listed at once.
- **Unknown keys are errors**, with a suggestion: \`rules[0].resouces: unknown key (did you mean
  "resources"?)\`. A typo never silently disables a rule.
- **Every error names its path, and all are reported at once**:
  \`rules[1].target: unknown target "sdn" (did you mean "sdm"?)\`.
- Names of sources, targets and rules use letters, digits, \`.\`, \`_\` and \`-\`. Resources must not
  start with \`-\`.
- \`baseUrl\` must be \`https://\`; plain \`http://\` is accepted only for \`127.0.0.1\` and \`localhost\`
  (tests, local proxies).
- The config, the rota and their folders should be writable, and token files readable, only by the
  user shiftgrant runs as (or root): see [deployment.md](deployment.md).`;
