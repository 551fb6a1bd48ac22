import path from "node:path";

/**
 * Placeholders whose value comes from the source, not from the config. `{reason}` is free text (a
 * schedule name, an incident title: whoever can edit a schedule or open an incident writes it), so
 * inside a script it can run commands (`$(…)`, `;`). `{identity}` passed the plain-email check, which
 * leaves no character a shell acts on but `'`: still enough to end a quoted string in the script.
 * `{rule}` and `{resource}` are written in the config, and `{start}`, `{end}` and `{duration}` by
 * shiftgrant: none of them is warned about.
 */
export const SOURCE_PLACEHOLDERS = ["{reason}", "{identity}"] as const;

/** Interpreters that run code given on their command line, and the flag that gives it. */
const SHELL_FLAG = /^-[a-zA-Z]*c[a-zA-Z]*$/;
const INLINE_CODE = new Map<string, RegExp>([
  ...["sh", "bash", "dash", "zsh", "ksh", "mksh", "ash"].map((s): [string, RegExp] => [s, SHELL_FLAG]),
  ["fish", /^(-c|--command)$/],
  ["python", /^-c$/],
  ["python3", /^-c$/],
  ["perl", /^-[eE]$/],
  ["ruby", /^-e$/],
  ["node", /^(-e|--eval|-p|--print)$/],
]);

/**
 * Warnings for a command template that hands source-controlled text to a shell or another
 * interpreter as code (`["sh", "-c", "grant {reason}"]`), where no argv can protect it. Passing the
 * value as its own argument (`["sh", "-c", "grant \"$1\"", "sh", "{reason}"]`) is safe and is not
 * warned about. `at` names the template (`targets.script.grant`).
 */
export function inlineCodeWarnings(argv: readonly string[], at: string): string[] {
  for (const [i, arg] of argv.entries()) {
    const name = path.basename(arg).replace(/\.exe$/i, "");
    const flag = INLINE_CODE.get(name);
    if (name !== "ssh" && !flag) continue;
    // ssh hands everything after the host to the remote user's shell, as one command line.
    const code = flag ? inlineCode(argv.slice(i + 1), flag) : argv.slice(i + 1);
    const found = SOURCE_PLACEHOLDERS.filter((p) => code.some((c) => c.includes(p)));
    if (found.length === 0) continue;
    const risk = found.includes("{reason}")
      ? "a schedule name or incident title holding $(…) or ; would run as a command"
      : "an identity holding ' would end a quoted string";
    return [
      `${at}: ${found.join(" and ")} inside the code that ${name} runs: ${risk}. ` +
        `Pass it as an argument of its own instead, e.g. ["sh", "-c", "grant \\"$1\\"", "sh", "${found[0]}"]`,
    ];
  }
  return [];
}

/** The code argument after an interpreter's flags (`-c CODE`, `-ec CODE`, `-e CODE`), if any. */
function inlineCode(args: readonly string[], flag: RegExp): string[] {
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (flag.test(a)) return args[i + 1] === undefined ? [] : [args[i + 1] as string];
    // `-o pipefail` takes a value; any other non-flag is a script file, whose arguments are safe.
    if (a === "-o" || a === "+o") i++;
    else if (!a.startsWith("-") && !a.startsWith("+")) return [];
  }
  return [];
}
