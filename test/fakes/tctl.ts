import { chmod, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { DateTime, Duration } from "luxon";
import type { Exec, ExecResult } from "../../src/infra/exec.js";

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
  // As utils.WriteJSONArray prints []*accesslist.AccessListMember.
  const shown = state.members.filter((m) => m.list === list).map((m) => ({
    kind: "access_list_member", version: "v1",
    metadata: { name: m.user, expires: "0001-01-01T00:00:00Z", revision: "r1" },
    spec: { access_list: list, name: m.user, joined: "2026-11-01T00:00:00Z", expires: m.expires ?? "0001-01-01T00:00:00Z",
      reason: m.reason, added_by: "shiftgrant-bot", ineligible_status: "", membership_kind: "MEMBERSHIP_KIND_USER" },
  }));
  process.stdout.write(JSON.stringify(shown, null, 2) + "\\n");
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

/**
 * An in-process fake `tctl` (an `Exec` for runMain), for access requests and access lists, stateful
 * and strict, faithful to tool/tctl/common/access_request_command.go, lock_command.go and
 * acl_command.go and to the backend's rules:
 *
 *   tctl [global flags] requests ls --format=json       every state while now < spec.expires (the
 *        access expiry), a PENDING one only until its request TTL; newest first; `[]` when none;
 *        `spec.state` the enum's number (1 PENDING, 2 APPROVED, 3 DENIED, 4 PROMOTED)
 *   tctl [global flags] requests approve ID --reason R  prints nothing; an unknown ID and a DENIED
 *        request fail as the backend does (ERROR: ..., exit 1); re-approving an APPROVED request is
 *        accepted, as the backend's SetState does (newer auth servers may refuse it: unverified)
 *   tctl [global flags] lock --access-request=ID --message=M --ttl=D
 *        D parsed as Go's time.ParseDuration (`1d` is refused); a TTL of 0 (or none) makes a lock
 *        that never expires, which is recorded as such; prints `Created a lock with name "UUID".`
 *   tctl [global flags] acl users add|rm|ls ...          as the spawned fake above
 *
 * Runs in the test's process, so a day of runs costs no process starts; the clock is the test's.
 * Anything else (an unknown subcommand or flag) fails the call like tctl and is kept in `unexpected`:
 * close() then throws.
 */
export type FakeRequest = {
  id: string;
  user: string;
  roles: string[];
  /** 1 PENDING, 2 APPROVED, 3 DENIED, 4 PROMOTED. */
  state: number;
  created: string;
  /** Access expiry (`spec.expires`). */
  expires: string;
  /** Resource expiry: the request TTL while pending, the access expiry once approved. */
  requestExpires: string;
  reason: string;
  resolveReason?: string;
};

export type FakeLock = {
  name: string;
  request: string;
  message: string;
  ttl: string;
  expires: string | null;
};

type Fault = { match: RegExp; stderr: string };

export function createFakeTctl(opts: { now: () => DateTime; lists?: string[] }) {
  const requests: FakeRequest[] = [];
  const locks: FakeLock[] = [];
  const members: { list: string; user: string; expires: string | null; reason: string }[] = [];
  const lists = opts.lists ?? [];
  let calls: string[][] = [];
  const history: string[][] = [];
  const unexpected: string[] = [];
  const faults: Fault[] = [];
  let counter = 0;
  const uuid = () => `0b6c4e9e-${(++counter).toString(16).padStart(4, "0")}-4000-8000-5e1f7a9c0d11`;
  const iso = (t: DateTime) => t.toUTC().toISO({ suppressMilliseconds: true }) ?? "";

  const fail = (file: string, stderr: string): ExecResult => ({
    ok: false,
    error: `${file} exited with code 1: ${stderr.split("\n")[0] ?? ""}`,
    stdout: "",
    stderr,
  });
  const ok = (stdout: string): ExecResult => ({ ok: true, stdout: stdout.replace(/\n$/, ""), stderr: "" });

  const exec: Exec = async (argv) => {
    const [file = "", ...args] = argv;
    calls.push(args);
    history.push(args);
    if (path.basename(file) !== "tctl") {
      unexpected.push(`not tctl: ${argv.join(" ")}`);
      return {
        ok: false,
        error: `${file}: command not found (is it installed and on PATH?)`,
        stdout: "",
        stderr: "",
      };
    }
    const line = args.join(" ");
    const fault = faults.findIndex((f) => f.match.test(line));
    if (fault >= 0) {
      const [f] = faults.splice(fault, 1);
      return fail(file, f?.stderr ?? "ERROR: fault");
    }
    // Global flags come first, each with its value: --auth-server X, -i FILE.
    let i = 0;
    while (i < args.length && (args[i] ?? "").startsWith("-")) i += (args[i] ?? "").includes("=") ? 1 : 2;
    const rest = args.slice(i);
    const refuse = (stderr: string) => {
      unexpected.push(`${stderr}: tctl ${line}`);
      return fail(file, stderr);
    };
    const now = opts.now();
    const [group, verb, ...more] = rest;

    if (group === "status" && rest.length === 1) return ok("Cluster: example.com\nVersion: 17.0.0\n");

    if (group === "requests" && verb === "ls") {
      if (more.join(" ") !== "--format=json")
        return refuse(`error: unexpected arguments '${more.join(" ")}'`);
      const shown = requests
        .filter((r) => now < DateTime.fromISO(r.expires) && now < DateTime.fromISO(r.requestExpires))
        .sort((a, b) => (a.created < b.created ? 1 : a.created > b.created ? -1 : 0))
        .map(toJson);
      return ok(`${JSON.stringify(shown, null, 2)}\n`);
    }

    if (group === "requests" && verb === "approve") {
      const [id, flag, reason, ...extra] = more;
      if (!id || flag !== "--reason" || reason === undefined || extra.length > 0)
        return refuse(`error: unexpected arguments '${more.join(" ")}'`);
      const r = requests.find((x) => x.id === id && now < DateTime.fromISO(x.requestExpires));
      if (!r) return fail(file, `ERROR: cannot set state of access request "${id}" (not found)`);
      if (r.state === 3) return fail(file, `ERROR: cannot set request-state "APPROVED" (already denied)`);
      r.state = 2;
      r.resolveReason = reason;
      r.requestExpires = r.expires;
      return ok("");
    }

    if (group === "lock") {
      const flags = new Map<string, string>();
      for (const a of rest.slice(1)) {
        const m = /^--([a-z-]+)=(.*)$/s.exec(a);
        if (!m || !["access-request", "message", "ttl", "expires"].includes(m[1] ?? ""))
          return refuse(`error: unknown long flag '${a.split("=")[0] ?? a}'`);
        flags.set(m[1] ?? "", m[2] ?? "");
      }
      if (flags.has("ttl") && flags.has("expires"))
        return fail(file, "ERROR: use only one of --expires and --ttl");
      const ttl = flags.get("ttl");
      const ns = ttl === undefined ? 0 : goDurationNs(ttl);
      if (ns === null) return refuse(`error: time: unknown unit in duration "${ttl ?? ""}"`);
      const target = flags.get("access-request");
      if (!target) return refuse("ERROR: at least one target must be specified");
      const name = uuid();
      locks.push({
        name,
        request: target,
        message: flags.get("message") ?? "",
        ttl: ttl ?? "",
        expires: ns > 0 ? iso(now.plus({ milliseconds: Math.ceil(ns / 1e6) })) : null,
      });
      return ok(`Created a lock with name "${name}".\n`);
    }

    if (group === "acl" && verb === "users") {
      const [op, list, user, expires, reason] = more;
      if (!list || !lists.includes(list)) return fail(file, `ERROR: access_list "${list ?? ""}" not found`);
      if (op === "ls" && user === "--format=json" && more.length === 3) {
        const shown = members
          .filter((m) => m.list === list)
          .map((m) => ({
            kind: "access_list_member",
            version: "v1",
            metadata: { name: m.user, expires: "0001-01-01T00:00:00Z", revision: "r1" },
            spec: {
              access_list: list,
              name: m.user,
              joined: "2026-11-01T00:00:00Z",
              expires: m.expires ?? "0001-01-01T00:00:00Z",
              reason: m.reason,
              added_by: "shiftgrant-bot",
              ineligible_status: "",
              membership_kind: "MEMBERSHIP_KIND_USER",
            },
          }));
        return ok(`${JSON.stringify(shown, null, 2)}\n`);
      }
      if (op === "add" && user && more.length <= 5) {
        const at = members.findIndex((m) => m.list === list && m.user === user);
        if (at >= 0) members.splice(at, 1);
        members.push({ list, user, expires: expires ?? null, reason: reason ?? "" });
        return ok(`successfully added user ${user} to access list ${list}`);
      }
      if (op === "rm" && user && more.length === 3) {
        const at = members.findIndex((m) => m.list === list && m.user === user);
        if (at < 0) return fail(file, `ERROR: access_list_member ${user} not found`);
        members.splice(at, 1);
        return ok(`successfully removed user ${user} from access list ${list}\n`);
      }
    }
    return refuse(`error: expected command but got "${rest.join(" ")}"`);
  };

  function toJson(r: FakeRequest) {
    // As encoding/json prints a types.AccessRequestV3 (omitempty: a state of 0 and empty strings left out).
    return {
      kind: "access_request",
      version: "v3",
      metadata: { name: r.id, expires: r.requestExpires, revision: `rev-${r.id.slice(9, 13)}` },
      spec: {
        user: r.user,
        ...(r.roles.length > 0 ? { roles: r.roles } : {}),
        ...(r.state !== 0 ? { state: r.state } : {}),
        created: r.created,
        expires: r.expires,
        ...(r.reason ? { request_reason: r.reason } : {}),
        ...(r.resolveReason ? { resolve_reason: r.resolveReason } : {}),
        thresholds: [{ name: "default", approve: 1, deny: 1 }],
        max_duration: r.expires,
        session_ttl: r.expires,
      },
    };
  }

  return {
    exec,
    unexpected,
    /**
     * What `tsh request create --roles ...` does: a PENDING request, its access until `access` from
     * now (default 8h), pending for `ttl` (default 1h). Returns its id.
     */
    file(user: string, roles: string[], o: { access?: string; ttl?: string; reason?: string } = {}): string {
      const now = opts.now();
      const id = uuid();
      requests.push({
        id,
        user,
        roles: [...new Set(roles)].sort(),
        state: 1,
        created: iso(now),
        expires: iso(now.plus(Duration.fromISO(o.access ?? "PT8H"))),
        requestExpires: iso(now.plus(Duration.fromISO(o.ttl ?? "PT1H"))),
        reason: o.reason ?? "on call",
      });
      return id;
    },
    /** A reviewer (not shiftgrant) approves or denies a request. */
    review(id: string, state: "APPROVED" | "DENIED"): void {
      const r = requests.find((x) => x.id === id);
      if (!r) throw new Error(`no request ${id}`);
      r.state = state === "APPROVED" ? 2 : 3;
      if (state === "APPROVED") r.requestExpires = r.expires;
    },
    addMember(list: string, user: string): void {
      members.push({ list, user, expires: null, reason: "added by hand" });
    },
    /** The next call whose argv (joined by spaces) matches fails with exit 1 and this stderr; once per fault. */
    failNext(match: RegExp, stderr: string, times = 1): void {
      for (let n = 0; n < times; n++) faults.push({ match, stderr });
    },
    requests: () => requests.map((r) => ({ ...r })),
    locks: () => locks.map((l) => ({ ...l })),
    members: () => members.map((m) => ({ ...m })),
    /** The argv of every call so far, without the executable. */
    history: (): string[][] => [...history],
    /** The argv of each call since the last `takeCalls()`, without the executable. */
    takeCalls(): string[][] {
      const out = calls;
      calls = [];
      return out;
    },
    close(): void {
      if (unexpected.length > 0)
        throw new Error(
          `the fake tctl got ${unexpected.length} unexpected call(s):\n  - ${unexpected.join("\n  - ")}`,
        );
    },
  };
}

export type FakeTctl = ReturnType<typeof createFakeTctl>;

/** Go's time.ParseDuration, in nanoseconds; null where Go would refuse the text. */
export function goDurationNs(text: string): number | null {
  if (text === "0") return 0;
  const unit: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let pos = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    total += Number(m[1]) * (unit[m[2] ?? ""] ?? 0);
    pos = re.lastIndex;
  }
  return pos === text.length && pos > 0 ? total : null;
}
