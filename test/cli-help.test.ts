import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { PassThrough } from "node:stream";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { main } from "../src/main.js";
import { makeTempDir, ROOT, writeYaml } from "./helpers.js";
import { runMain } from "./harness.js";

// What an operator reads and types: --help (exit codes, environment, examples), --quiet and
// --verbose, and shell completion generated from the same program.

const run = promisify(execFile);
const NOW = "2026-11-22T10:00:00Z";

/** The lines of one section of a help text ("Exit codes:", "Commands:", …), up to the next blank line. */
function section(help: string, title: string): string[] {
  const lines = help.split("\n");
  const start = lines.indexOf(title);
  assert.ok(start >= 0, `no "${title}" section in:\n${help}`);
  const end = lines.indexOf("", start);
  return lines.slice(start + 1, end < 0 ? undefined : end);
}

/** Command names and option flags as commander's own help lists them (not the completion model). */
function helpNames(help: string, title: string): string[] {
  return section(help, title)
    .map((l) => /^ {2}(\S+)/.exec(l)?.[1])
    .filter((w): w is string => w !== undefined);
}

function optionFlags(help: string): string[] {
  return section(help, "Options:").flatMap((l) => {
    const m = /^ {2}(-\w)?(?:, )?(--[\w-]+)?/.exec(l);
    return [m?.[1], m?.[2]].filter((f): f is string => f !== undefined);
  });
}

function hasShell(name: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

describe("--help", () => {
  let help: string;
  before(async () => {
    const r = await runMain(["--help"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "");
    help = r.stdout;
  });

  it("lists every exit code of the table in docs/output.md, with its meaning", () => {
    const doc = readFileSync(path.join(ROOT, "docs", "output.md"), "utf8");
    const table = doc.slice(doc.indexOf("## Exit codes"));
    const rows = [...table.matchAll(/^\| (\d+) \| (.+) \|$/gm)].map((m) => [
      m[1],
      (m[2] as string).replaceAll("`", ""),
    ]);
    assert.deepEqual(
      rows.map((r) => r[0]),
      ["0", "1", "2", "3", "4", "5", "6", "130", "143"],
    );
    const listed = section(help, "Exit codes:");
    for (const [code, meaning] of rows) {
      const line = listed.find((l) => l.trimStart().startsWith(`${code} `));
      assert.ok(
        line
          ?.trimStart()
          .slice(String(code).length)
          .trimStart()
          .startsWith(meaning as string),
        `exit ${code}: "${line}" does not say "${meaning}"`,
      );
    }
    assert.ok(listed.some((l) => l.includes("the smallest code above 1 wins")));
  });

  it("lists the environment variables: the config, each default token variable, NO_COLOR, SHIFTGRANT_NOW", () => {
    const names = helpNames(help, "Environment:");
    for (const v of [
      "SHIFTGRANT_CONFIG",
      "PAGERDUTY_TOKEN",
      "OPSGENIE_API_KEY",
      "INCIDENTIO_API_KEY",
      "SDM_ADMIN_TOKEN",
      "NO_COLOR",
      "SHIFTGRANT_NOW",
    ]) {
      assert.ok(names.includes(v), `${v} is not listed`);
    }
    assert.match(
      section(help, "Environment:").join("\n"),
      /SHIFTGRANT_NOW .*--dry-run;\n\s+never set it in production/,
    );
  });

  it("shows examples that use real commands", () => {
    const commands = helpNames(help, "Commands:");
    const examples = section(help, "Examples:");
    assert.ok(examples.length >= 5);
    for (const e of examples) {
      const m = /^ {2}(?:[A-Z_]+=\S+ )?shiftgrant (\S+)/.exec(e);
      assert.ok(m && commands.includes(m[1] as string), `"${e}" does not run a listed command`);
    }
    for (const c of ["init", "schedules", "validate", "sync", "completion"]) {
      assert.ok(
        examples.some((e) => e.includes(`shiftgrant ${c} `)),
        `no example of ${c}`,
      );
    }
  });

  it("lists --quiet and --verbose among the global options, in a command's help too", async () => {
    const flags = optionFlags(help);
    for (const f of ["-q", "--quiet", "-v", "--verbose", "--log-level", "--log-format"]) {
      assert.ok(flags.includes(f), f);
    }
    const sync = await runMain(["sync", "--help"]);
    assert.equal(sync.code, 0, sync.stderr);
    const global = section(sync.stdout, "Global Options:").join("\n");
    for (const f of ["-q, --quiet", "-v, --verbose", "--log-level <level>"]) assert.ok(global.includes(f), f);
  });
});

describe("--quiet and --verbose", { concurrency: true }, () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let config: string;
  before(async () => {
    ({ dir, cleanup } = await makeTempDir("shiftgrant-quiet-"));
    await writeYaml(
      path.join(dir, "rota.yaml"),
      `
shifts:
  - { schedule: primary, email: alice@example.com, start: 2026-11-22T09:00:00Z, end: 2026-11-23T09:00:00Z }
`,
    );
    config = await writeYaml(
      path.join(dir, "shiftgrant.yaml"),
      `
version: 1
sources:
  rota: { type: file, path: rota.yaml }
targets:
  script: { type: command, grant: ["/bin/true", "{identity}"] }
rules:
  - { name: oncall, source: rota, schedules: [primary], target: script, resources: [db] }
`,
    );
  });
  after(() => cleanup());

  const dryRun = (...flags: string[]) =>
    runMain(["sync", "-c", config, "--dry-run", "--output", "json", ...flags], {
      now: NOW,
    });
  const levels = (stderr: string) =>
    stderr
      .split("\n")
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { level: string }).level);

  it("without either: info logs on stderr, no debug", async () => {
    const r = await dryRun();
    assert.equal(r.code, 0, r.stderr);
    assert.ok(levels(r.stderr).includes("info"), r.stderr);
    assert.ok(!levels(r.stderr).includes("debug"), r.stderr);
  });

  it("--quiet (and -q, before or after the command): nothing on stderr when all is well", async () => {
    for (const flags of [["--quiet"], ["-q"]]) {
      const r = await dryRun(...flags);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, "");
      assert.equal((JSON.parse(r.stdout) as { dryRun: boolean }).dryRun, true, "the output is unchanged");
    }
    const before = await runMain(["-q", "sync", "-c", config, "--dry-run", "--output", "json"], {
      now: NOW,
    });
    assert.equal(before.code, 0, before.stderr);
    assert.equal(before.stderr, "");
  });

  it("--quiet still reports errors", async () => {
    const r = await runMain(["sync", "-c", path.join(dir, "missing.yaml"), "--quiet"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /missing\.yaml: no such file/);
  });

  it("-v and --verbose log debug lines", async () => {
    for (const flag of ["-v", "--verbose"]) {
      const r = await dryRun(flag);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(levels(r.stderr).includes("debug"), r.stderr);
    }
  });

  it("refuses --quiet with --verbose or --log-level, and --verbose with --log-level", async () => {
    for (const [flags, message] of [
      [["-q", "-v"], "option '-q, --quiet' cannot be used with option '-v, --verbose'"],
      [
        ["--quiet", "--log-level", "info"],
        "option '-q, --quiet' cannot be used with option '--log-level <level>'",
      ],
      [
        ["--verbose", "--log-level", "warn"],
        "option '-v, --verbose' cannot be used with option '--log-level <level>'",
      ],
    ] as const) {
      const r = await dryRun(...flags);
      assert.equal(r.code, 2, flags.join(" "));
      assert.deepEqual(JSON.parse(r.stdout), { version: 1, error: { code: 2, kind: "usage", message } });
      assert.ok(r.stderr.includes(message), r.stderr);
    }
  });

  it("--quiet shows no progress line on a terminal", async () => {
    // In-process, with a stderr that says it is a terminal: the only way a progress line shows.
    const tty = async (...flags: string[]) => {
      const stdout = new PassThrough();
      const stderr = Object.assign(new PassThrough(), { isTTY: true });
      let err = "";
      stderr.on("data", (d: Buffer) => (err += d.toString()));
      stdout.resume();
      const code = await main(["sync", "-c", config, "--dry-run", ...flags], {
        env: { SHIFTGRANT_NOW: NOW },
        cwd: dir,
        stdout,
        stderr,
      });
      return { code, err };
    };
    const loud = await tty();
    assert.equal(loud.code, 0);
    assert.ok(loud.err.includes("\r"), `no progress line without --quiet:\n${JSON.stringify(loud.err)}`);
    const quiet = await tty("--quiet");
    assert.equal(quiet.code, 0);
    assert.equal(quiet.err, "");
  });
});

describe("shiftgrant completion", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  const scripts: Record<string, string> = {};
  let commands: string[];
  const options = new Map<string, string[]>();

  before(async () => {
    ({ dir, cleanup } = await makeTempDir("shiftgrant-completion-"));
    for (const shell of ["bash", "zsh", "fish"]) {
      const r = await runMain(["completion", shell]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, "");
      scripts[shell] = r.stdout;
      await writeFile(path.join(dir, `shiftgrant.${shell}`), r.stdout);
    }
    const top = await runMain(["--help"]);
    commands = helpNames(top.stdout, "Commands:");
    options.set("", optionFlags(top.stdout));
    for (const c of commands.filter((c) => c !== "help")) {
      options.set(c, optionFlags((await runMain([c, "--help"])).stdout));
    }
  });
  after(() => cleanup());

  it("refuses an unknown shell", async () => {
    const r = await runMain(["completion", "tcsh"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Allowed choices are bash, zsh, fish/);
  });

  /** The text that completes command `c`'s options in each script ("" for the top level). */
  const scopes: Record<string, (script: string, c: string) => string> = {
    bash: (script, c) => {
      const arm = new RegExp(`^ {4}${c === "" ? '""' : c}\\)\\n(?:.*\\n)*? {6}opts="([^"]*)"`, "m").exec(
        script,
      );
      return ` ${arm?.[1] ?? ""} `;
    },
    zsh: (script, c) => {
      const globals = /globals=\(\n([\s\S]*?)\n {2}\)/.exec(script)?.[1] ?? "";
      const arm = c === "" ? "" : (new RegExp(`^ {8}${c}\\)\\n([\\s\\S]*?);;`, "m").exec(script)?.[1] ?? "");
      return `${globals}\n${arm}`;
    },
    fish: (script, c) =>
      script
        .split("\n")
        .filter((l) => !l.includes(" -n ") || l.includes(`-n '__fish_seen_subcommand_from ${c}'`))
        .join("\n"),
  };
  const mentions: Record<string, (text: string, flag: string) => boolean> = {
    bash: (text, f) => text.includes(` ${f} `),
    zsh: (text, f) => new RegExp(`['*)]${f}[=+]?\\[`).test(text),
    fish: (text, f) =>
      new RegExp(f.startsWith("--") ? ` -l ${f.slice(2)} ` : ` -s ${f.slice(1)} `).test(text),
  };

  for (const shell of ["bash", "zsh", "fish"]) {
    it(`${shell}: offers every command, and each command's options as --help lists them`, () => {
      const script = scripts[shell] as string;
      assert.ok(commands.length >= 7, commands.join(" "));
      for (const c of commands) assert.match(script, new RegExp(`\\b${c}\\b`), `command ${c}`);
      for (const [c, flags] of options) {
        const text = (scopes[shell] as (s: string, c: string) => string)(script, c);
        for (const f of flags) {
          assert.ok(
            (mentions[shell] as (t: string, f: string) => boolean)(text, f),
            `${shell}: option ${f} of ${c || "shiftgrant"}`,
          );
        }
      }
    });
  }

  it("bash: the script parses (bash -n)", async () => {
    await run("bash", ["-n", path.join(dir, "shiftgrant.bash")]);
  });

  it("bash: completes commands, options, choices and files", async () => {
    await writeFile(path.join(dir, "shiftgrant-config.yaml"), "");
    const complete = async (...words: string[]) => {
      const { stdout } = await run(
        "bash",
        [
          "-c",
          `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); _shiftgrant; printf '%s\\n' "\${COMPREPLY[@]}"`,
          "complete",
          path.join(dir, "shiftgrant.bash"),
          ...words,
        ],
        { cwd: dir },
      );
      return stdout.split("\n").filter(Boolean);
    };
    assert.deepEqual(await complete("shiftgrant", "sy"), ["sync"]);
    assert.deepEqual(await complete("shiftgrant", "s"), ["sync", "schedules"]);
    assert.deepEqual(await complete("shiftgrant", "sync", "--dr"), ["--dry-run"]);
    assert.deepEqual(await complete("shiftgrant", "--log-level", "debug", "sync", "--ou"), ["--output"]);
    assert.deepEqual(await complete("shiftgrant", "sync", "--output", ""), ["text", "json"]);
    assert.deepEqual(await complete("shiftgrant", "init", "--source", ""), [
      "pagerduty",
      "opsgenie",
      "incidentio",
      "file",
    ]);
    assert.deepEqual(await complete("shiftgrant", "completion", ""), ["bash", "zsh", "fish"]);
    assert.deepEqual(await complete("shiftgrant", "sync", "-c", "shiftgrant-con"), [
      "shiftgrant-config.yaml",
    ]);
    assert.deepEqual(await complete("shiftgrant", "sync", "--rule", "sync", "--q"), ["--quiet"]);
  });

  it("zsh: the script parses (zsh -n)", { skip: !hasShell("zsh") && "zsh is not installed" }, async () => {
    await run("zsh", ["-n", path.join(dir, "shiftgrant.zsh")]);
  });

  it(
    "fish: the script parses and completes (fish -n, complete -C)",
    { skip: !hasShell("fish") && "fish is not installed" },
    async () => {
      const file = path.join(dir, "shiftgrant.fish");
      await run("fish", ["-n", file]);
      const { stdout } = await run("fish", [
        "-c",
        `source ${file}; complete -C'shiftgrant sy'; complete -C'shiftgrant init --target '`,
      ]);
      assert.deepEqual(
        stdout
          .split("\n")
          .filter(Boolean)
          .map((l) => l.split("\t")[0]),
        ["sync", "command", "github", "http", "okta", "strongdm", "teleport"],
      );
    },
  );
});
