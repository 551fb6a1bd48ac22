import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { chmod, copyFile, mkdir, readdir, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { makeTempDir, ROOT } from "./helpers.js";

// What users install: the tarball `npm pack` makes (which `npm install -g ./shiftgrant-X.tgz` and
// the container image install). npm runs here offline (`npm pack --dry-run` reads only the folder);
// the production dependencies are linked from this checkout's node_modules as `npm ci --omit=dev`
// would install them: every package of the lockfile not marked dev.

const run = promisify(execFile);
const NOW = "2026-11-22T10:00:00Z";

type PackFile = { path: string; mode: number };

/** The files `npm pack` would put in the tarball of the package in `dir`. */
async function packList(dir: string): Promise<PackFile[]> {
  const { stdout } = await run("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], {
    cwd: dir,
    env: { ...process.env, npm_config_update_notifier: "false", npm_config_fund: "false" },
  });
  const [doc] = JSON.parse(stdout) as { files: PackFile[] }[];
  assert.ok(doc);
  return doc.files;
}

async function gitFiles(): Promise<string[]> {
  const { stdout } = await run("git", ["ls-files", "-z"], { cwd: ROOT, maxBuffer: 16 << 20 });
  return stdout.split("\0").filter(Boolean);
}

async function copyInto(files: string[], from: string, to: string): Promise<void> {
  for (const f of files) {
    await mkdir(path.dirname(path.join(to, f)), { recursive: true });
    await copyFile(path.join(from, f), path.join(to, f));
  }
}

/** Every file under `dir`, relative to it. */
async function listTree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => !e.isDirectory())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

describe("the npm package", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let tracked: string[];
  let packed: PackFile[];

  before(async () => {
    assert.ok(existsSync(path.join(ROOT, "dist", "cli.js")), "build first: npm run build");
    ({ dir, cleanup } = await makeTempDir("shiftgrant-package-"));
    // A copy of the checkout as a packer has it after a demo run and an earlier pack: ledgers and a
    // tarball lying around that must not ship.
    const src = path.join(dir, "src");
    tracked = await gitFiles();
    await copyInto(tracked, ROOT, src);
    for (const f of tracked) await chmod(path.join(src, f), statSync(path.join(ROOT, f)).mode);
    await copyInto(await listTree(path.join(ROOT, "dist")).then((l) => l.map((f) => `dist/${f}`)), ROOT, src);
    for (const junk of [
      "examples/demo/state/shiftgrant-state.json",
      "examples/demo/state/audit.jsonl",
      "examples/http-state/state.json",
      "shiftgrant-state.json",
      "shiftgrant-0.0.9.tgz",
    ]) {
      await mkdir(path.dirname(path.join(src, junk)), { recursive: true });
      await writeFile(path.join(src, junk), "{}\n");
    }
    packed = await packList(src);
  });
  after(() => cleanup());

  it("ships no ledger, audit log or tarball (npm pack --dry-run)", () => {
    const paths = packed.map((f) => f.path);
    const leftovers = (p: string) =>
      /^examples\/(demo\/state|http-state)\//.test(p) ||
      /(^|\/)shiftgrant-state\.json$|\.jsonl$|\.tgz$/.test(p);
    assert.deepEqual(paths.filter(leftovers), []);
    assert.ok(!paths.some((p) => p.startsWith("examples/demo/state")));
  });

  it("ships the built CLI, the schema, every example and the README; no sources or tests", () => {
    const paths = new Set(packed.map((f) => f.path));
    const expected = tracked.filter(
      (f) =>
        /^(bin|schema|examples)\//.test(f) || ["README.md", "crontab.example", "package.json"].includes(f),
    );
    assert.deepEqual(
      expected.filter((f) => !paths.has(f)),
      [],
      "tracked files missing from the package",
    );
    assert.ok(paths.has("dist/cli.js") && paths.has("dist/main.js"));
    assert.deepEqual(
      [...paths].filter((p) =>
        /^(src|test|bench|scripts|\.ci)\/|^Dockerfile$|^tsconfig|package-lock/.test(p),
      ),
      [],
    );
    const mode = (p: string) => packed.find((f) => f.path === p)?.mode;
    for (const exe of ["bin/shiftgrant.js", "examples/demo/grant.sh", "examples/demo/revoke.sh"]) {
      assert.equal(mode(exe), 0o755, `${exe} is executable in the tarball`);
    }
  });

  it("installed with its production dependencies only, runs the demo and keeps the ledger in ~/.local/state", async () => {
    // The layout of `npm install -g ./shiftgrant-X.tgz`: the package under lib/node_modules, its
    // dependencies in the package's own node_modules; nothing else on the module path.
    const pkg = path.join(dir, "prefix", "lib", "node_modules", "shiftgrant");
    await copyInto(
      packed.map((f) => f.path),
      path.join(dir, "src"),
      pkg,
    );
    for (const f of packed) await chmod(path.join(pkg, f.path), f.mode);
    const lock = JSON.parse(readFileSync(path.join(ROOT, "package-lock.json"), "utf8")) as {
      packages: Record<string, { dev?: boolean }>;
    };
    const production = Object.entries(lock.packages)
      .filter(([p, meta]) => /^node_modules\/(@[^/]+\/)?[^/]+$/.test(p) && meta.dev !== true)
      .map(([p]) => p);
    assert.ok(production.includes("node_modules/commander"));
    assert.ok(!production.includes("node_modules/typescript"), "a dev dependency is not installed");
    for (const p of production) {
      await mkdir(path.dirname(path.join(pkg, p)), { recursive: true });
      await symlink(path.join(ROOT, p), path.join(pkg, p), "dir");
    }
    const home = path.join(dir, "home");
    const work = path.join(dir, "work");
    await mkdir(home);
    await mkdir(work);
    const before = await listTree(pkg);
    const demo = async () => {
      const { stdout } = await run(
        process.execPath,
        [
          path.join(pkg, "bin", "shiftgrant.js"),
          "sync",
          "-c",
          path.join(pkg, "examples", "demo", "shiftgrant.yaml"),
          "--output",
          "json",
          "--quiet",
        ],
        {
          cwd: work,
          env: {
            PATH: process.env.PATH ?? "/usr/bin:/bin",
            HOME: home,
            SHIFTGRANT_NOW: NOW,
            SHIFTGRANT_TEST_ALLOW_FAKE_NOW: "1",
          },
        },
      );
      return JSON.parse(stdout) as {
        actions: { kind: string; status: string }[];
        summary: Record<string, number>;
      };
    };

    const first = await demo();
    assert.ok(first.actions.length > 0);
    assert.deepEqual(
      first.actions.filter((a) => a.kind !== "grant" || a.status !== "applied"),
      [],
      "the first run grants everything",
    );
    const second = await demo();
    assert.equal(second.actions.length, first.actions.length);
    assert.deepEqual(
      second.actions.filter((a) => a.kind !== "unchanged"),
      [],
      "the second run finds every grant in the ledger",
    );
    assert.deepEqual(await listTree(pkg), before, "nothing is written inside the installed package");
    assert.deepEqual(await listTree(path.join(home, ".local", "state", "shiftgrant", "demo")), [
      "audit.jsonl",
      "state.json",
    ]);
    assert.deepEqual(await listTree(work), [], "nothing is written in the working directory");
  });
});

/** The Dockerfile's instructions, stage by stage (continuation lines joined). */
function dockerStages(text: string): { from: string; steps: [string, string][] }[] {
  const stages: { from: string; steps: [string, string][] }[] = [];
  const logical = text
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
  for (const line of logical) {
    const [op = "", ...rest] = line.split(/\s+/);
    const arg = rest.join(" ");
    if (op === "FROM") stages.push({ from: arg, steps: [] });
    else stages.at(-1)?.steps.push([op, arg]);
  }
  return stages;
}

describe("the Dockerfile", () => {
  const text = readFileSync(path.join(ROOT, "Dockerfile"), "utf8");
  const stages = dockerStages(text);
  const [build, runtime] = stages;
  const runs = (s: typeof build) => (s?.steps ?? []).filter(([op]) => op === "RUN").map(([, a]) => a);
  const copies = (s: typeof build) =>
    (s?.steps ?? []).filter(([op]) => op === "COPY").map(([, a]) => a.split(/\s+/));

  it("has a build stage and a runtime stage on Node.js 20", () => {
    assert.equal(stages.length, 2);
    assert.match(build?.from ?? "", /^node:20[-.\w]* AS build$/);
    assert.match(runtime?.from ?? "", /^node:20[-.\w]*$/);
  });

  it("builds from files that exist, covering the build's inputs and everything the package ships", async () => {
    const tracked = await gitFiles();
    const sources = copies(build).flatMap((c) => c.slice(0, -1));
    for (const s of sources) {
      const p = s.replace(/\/$/, "");
      assert.ok(
        tracked.some((f) => f === p || f.startsWith(`${p}/`)),
        `COPY ${s}: not in the repository`,
      );
    }
    const covered = (f: string) =>
      sources.some((s) => f === s || f.startsWith(s.endsWith("/") ? s : `${s}/`));
    for (const f of [
      "package.json",
      "package-lock.json",
      "tsconfig.json",
      "tsconfig.build.json",
      "src/main.ts",
    ]) {
      assert.ok(covered(f), `the build stage lacks ${f}`);
    }
    const shipped = (await packList(ROOT)).map((f) => f.path);
    assert.deepEqual(
      shipped.filter((f) => !f.startsWith("dist/") && !covered(f)),
      [],
      "files the package ships that the build stage does not copy",
    );
    assert.ok(
      runs(build).some((r) => /\bnpm ci\b/.test(r) && !/--omit=dev/.test(r)),
      "npm ci with dev dependencies",
    );
    assert.ok(
      runs(build).some((r) => /npm run build/.test(r) && /npm pack/.test(r)),
      "build, then pack",
    );
  });

  it("installs production dependencies from the lockfile into the unpacked package, and no build output", () => {
    assert.ok(copies(runtime).some((c) => c[0] === "--from=build"));
    assert.ok(copies(runtime).some((c) => c[0] === "package-lock.json"));
    assert.ok(runs(runtime).some((r) => /\bnpm ci --omit=dev\b/.test(r)));
    assert.ok(
      !copies(runtime).some((c) => c.some((a) => a.includes("node_modules"))),
      "no node_modules copied",
    );
  });

  it("runs shiftgrant as a numeric non-root user", () => {
    const steps = runtime?.steps ?? [];
    const user = steps.filter(([op]) => op === "USER").at(-1)?.[1] ?? "";
    assert.match(user, /^[1-9]\d*:[1-9]\d*$/, "a numeric uid:gid, not root");
    const workdir = steps.find(([op]) => op === "WORKDIR")?.[1];
    assert.equal(workdir, "/opt/shiftgrant");
    assert.ok(
      runs(runtime).some((r) =>
        r.includes("ln -s /opt/shiftgrant/bin/shiftgrant.js /usr/local/bin/shiftgrant"),
      ),
    );
    assert.equal(steps.find(([op]) => op === "ENTRYPOINT")?.[1], '["shiftgrant"]');
  });

  it("keeps local installs, builds, ledgers and tarballs out of the build context", () => {
    const ignored = readFileSync(path.join(ROOT, ".dockerignore"), "utf8")
      .split("\n")
      .filter((l) => l && !l.startsWith("#"));
    for (const p of ["node_modules", "dist", "*.tgz", "examples/demo/state", ".git"]) {
      assert.ok(ignored.includes(p), `.dockerignore lacks ${p}`);
    }
  });
});
