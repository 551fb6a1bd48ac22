import { chmod, readFile, writeFile } from "node:fs/promises";
import path from "node:path";

/**
 * A fake `tctl` for access lists, faithful to tool/tctl/common/acl_command.go:
 *   tctl [global flags] acl users add <list> <user> [<expires RFC3339>] [<reason>]   (an upsert)
 *   tctl [global flags] acl users rm <list> <user>
 *   tctl [global flags] acl users ls <list> [--format=json|text]
 * Membership state lives in `<binDir>/tctl.state.json`; every call is appended to
 * `<binDir>/tctl.calls.jsonl`. Unknown lists (not in `lists`) fail like the real one (exit 1).
 */
export type TctlMember = { list: string; user: string; expires: string | null; reason: string };

export async function makeFakeTctl(binDir: string, lists: string[]) {
  const stateFile = path.join(binDir, "tctl.state.json");
  const callsFile = path.join(binDir, "tctl.calls.jsonl");
  await writeFile(stateFile, JSON.stringify({ lists, members: [] }));
  const script = `#!/usr/bin/env node
const fs = require("node:fs");
const argv = process.argv.slice(2);
fs.appendFileSync(${JSON.stringify(callsFile)}, JSON.stringify({ argv, env: process.env }) + "\\n");
// Calls may run side by side (the target's concurrency): a lock directory serializes them, as
// the real Auth service serializes its writes, and the state file is replaced atomically.
const lockDir = ${JSON.stringify(stateFile)} + ".lock";
for (let i = 0; ; i++) {
  try { fs.mkdirSync(lockDir); break; } catch (e) {
    if (e.code !== "EEXIST" || i > 2000) throw e;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
  }
}
process.on("exit", () => fs.rmdirSync(lockDir));
const state = JSON.parse(fs.readFileSync(${JSON.stringify(stateFile)}, "utf8"));
const save = () => {
  fs.writeFileSync(${JSON.stringify(stateFile)} + ".tmp", JSON.stringify(state));
  fs.renameSync(${JSON.stringify(stateFile)} + ".tmp", ${JSON.stringify(stateFile)});
};
// Global flags come first: --auth-server X, -i FILE, and the like (each with a value).
let i = 0;
while (i < argv.length && argv[i].startsWith("-")) i += argv[i].includes("=") ? 1 : 2;
const [group, sub, verb, list, user, expires, reason] = argv.slice(i);
if (group !== "acl" || sub !== "users") { process.stderr.write("ERROR: unknown command\\n"); process.exit(1); }
if (!state.lists.includes(list)) { process.stderr.write('ERROR: access_list "' + list + '" not found\\n'); process.exit(1); }
if (verb === "add") {
  if (!user) { process.stderr.write("ERROR: required argument 'user' not provided\\n"); process.exit(1); }
  if (expires !== undefined && !/^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(Z|[+-]\\d{2}:\\d{2})$/.test(expires)) {
    process.stderr.write("ERROR: parsing time " + JSON.stringify(expires) + "\\n"); process.exit(1);
  }
  state.members = state.members.filter((m) => !(m.list === list && m.user === user));
  state.members.push({ list, user, expires: expires ?? null, reason: reason ?? "" });
  save();
  process.stdout.write("successfully added user " + user + " to access list " + list);
} else if (verb === "rm") {
  const before = state.members.length;
  state.members = state.members.filter((m) => !(m.list === list && m.user === user));
  if (state.members.length === before) { process.stderr.write("ERROR: access_list_member " + user + " not found\\n"); process.exit(1); }
  save();
  process.stdout.write("successfully removed user " + user + " from access list " + list + "\\n");
} else if (verb === "ls") {
  process.stdout.write(JSON.stringify(state.members.filter((m) => m.list === list), null, 2) + "\\n");
} else { process.stderr.write("ERROR: unknown command\\n"); process.exit(1); }
`;
  const file = path.join(binDir, "tctl");
  await writeFile(file, script);
  await chmod(file, 0o755);
  return {
    async members(): Promise<TctlMember[]> {
      return (JSON.parse(await readFile(stateFile, "utf8")) as { members: TctlMember[] }).members;
    },
    async calls(): Promise<string[][]> {
      try {
        return (await readFile(callsFile, "utf8"))
          .split("\n")
          .filter(Boolean)
          .map((l) => (JSON.parse(l) as { argv: string[] }).argv);
      } catch {
        return [];
      }
    },
    async resetCalls(): Promise<void> {
      await writeFile(callsFile, "");
    },
  };
}
