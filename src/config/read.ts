import { readFile } from "node:fs/promises";
import path from "node:path";
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type YAMLError } from "yaml";
import { ConfigError } from "../errors.js";
import { describe, formatPath, isMapping } from "./document.js";

/**
 * Finds the config file: `-c`, then `$SHIFTGRANT_CONFIG`, then `./shiftgrant.yaml`. An empty value
 * counts as unset (cron lines often export `SHIFTGRANT_CONFIG=` with nothing after it).
 */
export function configPath(flag: string | undefined, env: NodeJS.ProcessEnv, cwd: string): string {
  const chosen = [flag, env.SHIFTGRANT_CONFIG].find((v) => v !== undefined && v.trim() !== "");
  return path.resolve(cwd, chosen ?? "shiftgrant.yaml");
}

/** The config file's text; a file that cannot be read is a ConfigError that says what to do. */
export async function readConfigText(file: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT"
        ? "no such file; pass the config with -c FILE or set SHIFTGRANT_CONFIG (the default is ./shiftgrant.yaml)"
        : code === "EISDIR"
          ? "is a directory, not a config file; pass the file with -c FILE"
          : code === "EACCES"
            ? "permission denied; the user running shiftgrant cannot read it"
            : `cannot read it (${code ?? String(err)})`;
    throw new ConfigError([`${file}: ${why}`]);
  }
}

/**
 * YAML (or JSON, which is YAML) to a mapping. Syntax errors and duplicate keys are all reported at
 * once, in file order; anything but a mapping at the top is refused.
 */
export function parseText(text: string, file: string): Record<string, unknown> {
  // NOTE: the YAML library's own duplicate-key check compares each key with every earlier key of its
  // mapping (20,000 identities took half a minute); duplicateKeys() does it in one pass.
  const lines = new LineCounter();
  const yaml = parseDocument(text, { prettyErrors: true, uniqueKeys: false, lineCounter: lines });
  const found: { offset: number; problem: string }[] = yaml.errors.map((e) => ({
    offset: e.pos[0],
    problem: yamlProblem(e),
  }));
  for (const d of duplicateKeys(yaml.contents)) {
    const { line, col } = lines.linePos(d.offset);
    found.push({
      offset: d.offset,
      problem: `${formatPath(d.path)}: duplicate key (line ${line}, column ${col}); a key may appear only once in a mapping`,
    });
  }
  if (found.length > 0) {
    const problems = found.sort((a, b) => a.offset - b.offset).map((f) => f.problem);
    throw new ConfigError([...new Set(problems)], file);
  }
  let doc: unknown;
  try {
    doc = yaml.toJS();
  } catch (err) {
    throw new ConfigError(
      [`not valid YAML or JSON: ${err instanceof Error ? err.message : String(err)}`],
      file,
    );
  }
  if (doc === null || doc === undefined) {
    throw new ConfigError(["the file is empty; a config needs version: 1, sources, targets and rules"], file);
  }
  if (!isMapping(doc)) {
    throw new ConfigError(
      [
        `the config must be a mapping (key: value) with version, sources, targets and rules, not ${describe(doc)}`,
      ],
      file,
    );
  }
  return doc;
}

function yamlProblem(err: YAMLError): string {
  const pos = err.linePos?.[0];
  const where = pos ? `line ${pos.line}, column ${pos.col}: ` : "";
  const msg = (err.message.split("\n")[0] ?? "").replace(/ at line \d+, column \d+:?$/, "");
  return `${where}not valid YAML or JSON: ${msg}`;
}

/**
 * Every key written a second time in its mapping, with its path and where it is written. Keys are
 * compared as the YAML library would (scalars by value, so `1` and `"1"` differ); aliases are not
 * followed, so their targets are checked once, where they are written.
 */
function duplicateKeys(root: unknown): { path: (string | number)[]; offset: number }[] {
  const out: { path: (string | number)[]; offset: number }[] = [];
  const walk = (node: unknown, at: (string | number)[]): void => {
    if (isMap(node)) {
      const seen = new Set<unknown>();
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? pair.key : null;
        const name = key ? String(key.value) : String(pair.key);
        if (key) {
          if (seen.has(key.value)) out.push({ path: [...at, name], offset: key.range?.[0] ?? 0 });
          else seen.add(key.value);
        }
        walk(pair.value, [...at, name]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => walk(item, [...at, i]));
    }
  };
  walk(root, []);
  return out;
}
