import assert from "node:assert/strict";
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { parseConfig } from "./load.js";
import { checkPermissions, describePermissionWarning } from "./permissions.js";

// Modes are set with chmod and read back with stat, so these hold when the tests run as root too.

const CONFIG = `
version: 1
sources:
  rota: { type: file, path: rotas/rota.yaml }
  pd: { type: pagerduty, tokenFile: secrets/pd-token }
targets:
  cmd: { type: command, grant: ["grant-cmd", "{identity}"], tokenFile: secrets/cmd-token }
rules:
  - { name: a, source: rota, schedules: [primary], target: cmd, resources: [db] }
  - { name: b, source: pd, schedules: [P1], target: cmd, resources: [db] }
`;

/** A config folder whose files all have the given modes; the body gets the loaded config. */
async function withFiles(
  modes: {
    dir?: number;
    config?: number;
    rotas?: number;
    rota?: number;
    pdToken?: number;
    cmdToken?: number;
  },
  body: (dir: string, warnings: Awaited<ReturnType<typeof checkPermissions>>) => void,
): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), "shiftgrant-perm-"));
  try {
    await mkdir(path.join(dir, "rotas"));
    await mkdir(path.join(dir, "secrets"));
    const files: [string, number][] = [
      ["shiftgrant.yaml", modes.config ?? 0o644],
      ["rotas/rota.yaml", modes.rota ?? 0o644],
      ["secrets/pd-token", modes.pdToken ?? 0o600],
      ["secrets/cmd-token", modes.cmdToken ?? 0o400],
    ];
    for (const [f, mode] of files) {
      await writeFile(path.join(dir, f), f === "shiftgrant.yaml" ? CONFIG : "x\n");
      await chmod(path.join(dir, f), mode);
    }
    await chmod(path.join(dir, "rotas"), modes.rotas ?? 0o755);
    await chmod(dir, modes.dir ?? 0o700);
    const file = path.join(dir, "shiftgrant.yaml");
    body(dir, await checkPermissions(parseConfig(CONFIG, file)));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe("checkPermissions", () => {
  it("says nothing when only the owner can change the files and read the tokens", () =>
    withFiles({}, (_, warnings) => assert.deepEqual(warnings, [])));

  it("flags each file or folder open to group or others, with what it is, its mode and the fix", () =>
    withFiles(
      { dir: 0o777, config: 0o664, rotas: 0o775, rota: 0o646, pdToken: 0o640, cmdToken: 0o606 },
      (dir, warnings) =>
        assert.deepEqual(warnings, [
          {
            role: "the config",
            path: path.join(dir, "shiftgrant.yaml"),
            mode: "0664",
            problem: "writable by group",
            risk: "whoever can change it decides who gets access",
            fix: `chmod go-w ${path.join(dir, "shiftgrant.yaml")}`,
          },
          {
            role: "the folder of the config",
            path: dir,
            mode: "0777",
            problem: "writable by group and others",
            risk: "whoever can write there can replace the files in it, and so decide who gets access",
            fix: `chmod go-w ${dir}`,
          },
          {
            role: "the rota of source rota",
            path: path.join(dir, "rotas", "rota.yaml"),
            mode: "0646",
            problem: "writable by others",
            risk: "whoever can change it decides who gets access",
            fix: `chmod go-w ${path.join(dir, "rotas", "rota.yaml")}`,
          },
          {
            role: "the folder of the rota of source rota",
            path: path.join(dir, "rotas"),
            mode: "0775",
            problem: "writable by group",
            risk: "whoever can write there can replace the files in it, and so decide who gets access",
            fix: `chmod go-w ${path.join(dir, "rotas")}`,
          },
          {
            role: "the token file of source pd",
            path: path.join(dir, "secrets", "pd-token"),
            mode: "0640",
            problem: "readable by group",
            risk: "whoever can read it holds the token",
            fix: `chmod go-rwx ${path.join(dir, "secrets", "pd-token")}`,
          },
          {
            role: "the token file of target cmd",
            path: path.join(dir, "secrets", "cmd-token"),
            mode: "0606",
            problem: "readable by others, writable by others",
            risk: "whoever can read it holds the token; whoever can change it can swap the token",
            fix: `chmod go-rwx ${path.join(dir, "secrets", "cmd-token")}`,
          },
        ]),
    ));

  it("a readable config or rota is fine; a sticky folder (like /tmp) is not flagged", () =>
    withFiles({ dir: 0o1777, config: 0o644, rota: 0o444 }, (_, warnings) => assert.deepEqual(warnings, [])));

  it("skips a file that is missing (the checks that read it report that)", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "shiftgrant-perm-"));
    try {
      const file = path.join(dir, "shiftgrant.yaml");
      assert.deepEqual(await checkPermissions(parseConfig(CONFIG, file)), []);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("describes a warning on one line", () =>
    assert.equal(
      describePermissionWarning({
        role: "the config",
        path: "/etc/shiftgrant/shiftgrant.yaml",
        mode: "0666",
        problem: "writable by group and others",
        risk: "whoever can change it decides who gets access",
        fix: "chmod go-w /etc/shiftgrant/shiftgrant.yaml",
      }),
      "the config /etc/shiftgrant/shiftgrant.yaml is writable by group and others (mode 0666): whoever can change it decides who gets access; fix: chmod go-w /etc/shiftgrant/shiftgrant.yaml",
    ));
});
