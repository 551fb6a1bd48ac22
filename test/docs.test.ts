import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import type { JsonSchema } from "../scripts/config-doc.js";
import { renderConfigurationDoc } from "../scripts/config-doc.js";
import { typesWithoutRow, withCapabilityTable } from "../scripts/capabilities-doc.js";
import { ROOT } from "./helpers.js";

// The docs are part of the product: the configuration reference is generated from the schema so it
// cannot drift, the README stays a short manual, and no link inside the repository leads nowhere.

const read = (p: string) => readFileSync(path.join(ROOT, p), "utf8");
const schemaFile = () => JSON.parse(read("schema/shiftgrant.schema.json")) as JsonSchema;

describe("docs/targets.md: the capability table", () => {
  it("is the one computed from the targets' declarations (run `npm run docs` if not)", () => {
    const doc = read("docs/targets.md");
    assert.equal(doc, withCapabilityTable(doc));
  });

  it("has a row for every target type", () => {
    assert.deepEqual(typesWithoutRow(), []);
  });
});

describe("docs/configuration.md", () => {
  it("is the one generated from schema/shiftgrant.schema.json (run `npm run docs` if not)", () => {
    assert.equal(read("docs/configuration.md"), renderConfigurationDoc(schemaFile()));
  });

  it("lists every key of every source and target type, with its description", () => {
    const doc = read("docs/configuration.md");
    const schema = schemaFile();
    for (const section of ["sources", "targets"] as const) {
      const map = schema.properties?.[section]?.additionalProperties as JsonSchema;
      const variants = map.oneOf ?? map.anyOf ?? [];
      assert.ok(variants.length >= 4, section);
      for (const v of variants) {
        const type = v.properties?.type?.const as string;
        const table = doc.slice(doc.indexOf(`### \`${type}\``)).split("\n### ")[0] as string;
        for (const [key, prop] of Object.entries(v.properties ?? {})) {
          if (key === "type") continue;
          const row = table.split("\n").find((l) => l.startsWith(`| \`${key}\` |`));
          assert.ok(row, `${section}.${type}.${key} is not listed`);
          if (prop.description) assert.ok(row.includes(prop.description.replaceAll("|", "\\|")), row);
        }
      }
    }
  });
});

describe("the configuration reference generator", () => {
  const base: JsonSchema = {
    type: "object",
    required: ["version", "targets"],
    properties: {
      version: { type: "number", const: 1 },
      limits: {
        type: "object",
        properties: { timeout: { type: "string", description: "Per attempt | per call.", default: "30s" } },
      },
      targets: {
        type: "object",
        additionalProperties: {
          oneOf: [
            {
              type: "object",
              required: ["type", "url"],
              properties: {
                type: { type: "string", const: "hook" },
                url: { $ref: "#/$defs/url" },
                retries: { type: "integer", minimum: 0, maximum: 10, description: "Retries on 5xx." },
              },
            },
          ],
        },
      },
      rules: {
        type: "array",
        minItems: 1,
        items: { type: "object", properties: { name: { type: "string", description: "A name." } } },
      },
    },
    $defs: { url: { type: "string", description: "Where to post." } },
  };

  it("writes a row per key, nested keys spelled out, a section per target type, $ref resolved", () => {
    const doc = renderConfigurationDoc(base);
    assert.match(doc, /^\| `limits\.timeout` \| string \| \| `30s` \| Per attempt \\\| per call\. \|$/m);
    assert.match(doc, /^\| `rules` \| list \(at least 1\) of object \| \| \| See \[below\]\(#rules\)\. \|$/m);
    assert.match(doc, /^## `rules`$/m);
    assert.match(doc, /^\| `rules\[\]\.name` \| string \| \| A name\. \|$/m);
    assert.match(doc, /^### `hook`$/m);
    assert.match(doc, /^\| `url` \| string \| yes \| Where to post\. \|$/m);
    assert.match(doc, /^\| `retries` \| integer, 0–10 \| \| Retries on 5xx\. \|$/m);
    assert.match(
      doc,
      /^\| `targets` \| map of name to object by `type` \(`hook`\) \| yes \| \| See \[below\]\(#targets\)\. \|$/m,
    );
  });

  it("picks up a description added to the schema, so the committed page goes stale", () => {
    const before = renderConfigurationDoc(base);
    const changed = structuredClone(base);
    (changed.$defs?.url as JsonSchema).description = "The receiver's endpoint.";
    const after = renderConfigurationDoc(changed);
    assert.notEqual(after, before);
    assert.match(after, /^\| `url` \| string \| yes \| The receiver's endpoint\. \|$/m);
  });

  it("refuses a reference it cannot resolve rather than leaving a key out", () => {
    const broken = structuredClone(base);
    broken.$defs = {};
    assert.throws(() => renderConfigurationDoc(broken), /cannot resolve #\/\$defs\/url/);
  });
});

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of withoutCode(markdown).matchAll(/^#{1,6} (.+)$/gm)) {
    const s = slug(m[1] as string);
    const n = seen.get(s) ?? 0;
    out.add(n === 0 ? s : `${s}-${n}`);
    seen.set(s, n + 1);
  }
  return out;
}

const withoutCode = (markdown: string) => markdown.replace(/^```[\s\S]*?^```/gm, "");

const pages = () => [
  "README.md",
  "ARCHITECTURE.md",
  ...readdirSync(path.join(ROOT, "docs"))
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`),
];

describe("the README and docs/", () => {
  it("link only to files and headings that exist", () => {
    const broken: string[] = [];
    for (const page of pages()) {
      for (const m of withoutCode(read(page)).matchAll(/\]\(([^)\s]+)\)/g)) {
        const link = m[1] as string;
        if (/^[a-z]+:/.test(link)) continue;
        const [file, anchor] = link.split("#") as [string, string | undefined];
        const target = file === "" ? page : path.normalize(path.join(path.dirname(page), file));
        if (!existsSync(path.join(ROOT, target))) {
          broken.push(`${page}: ${link} (no file ${target})`);
          continue;
        }
        if (anchor !== undefined && !anchors(read(target)).has(anchor))
          broken.push(`${page}: ${link} (no heading #${anchor} in ${target})`);
      }
    }
    assert.deepEqual(broken, []);
  });

  it("cover every page from the README, and docs/ holds the reference pages", () => {
    const readme = read("README.md");
    for (const page of pages().filter((p) => p.startsWith("docs/")))
      assert.ok(readme.includes(`](${page}`), `the README does not link ${page}`);
    for (const page of [
      "configuration",
      "commands",
      "sources",
      "targets",
      "output",
      "deployment",
      "failure-behaviour",
      "troubleshooting",
      "metrics",
      "development",
      "how-it-works",
      "contract",
    ])
      assert.ok(existsSync(path.join(ROOT, "docs", `${page}.md`)), `docs/${page}.md is missing`);
  });

  it("keep the README a short manual (under 15 KB): the reference belongs in docs/", () => {
    const size = statSync(path.join(ROOT, "README.md")).size;
    assert.ok(size < 15 * 1024, `README.md is ${size} bytes`);
  });

  it("have a section in docs/sources.md and docs/targets.md for every adapter folder", () => {
    for (const [dir, page] of [
      ["src/sources", "docs/sources.md"],
      ["src/targets", "docs/targets.md"],
    ] as const) {
      const headings = anchors(read(page));
      for (const e of readdirSync(path.join(ROOT, dir), { withFileTypes: true }))
        if (e.isDirectory()) assert.ok(headings.has(e.name), `${page} has no section for ${e.name}`);
    }
  });
});
