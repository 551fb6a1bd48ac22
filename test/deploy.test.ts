import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { chmod, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { parseAllDocuments } from "yaml";
import { CLI_LIMIT_MS, makeTempDir, ROOT } from "./helpers.js";

// The deployment examples are checked for what makes them safe to copy: one run at a time, tokens
// from a secret store, the ledger on persistent storage, and every exit code handled as
// docs/deployment.md says (0 and 5 are not failures; 1, 2, 3, 4 and 6 are). The cron line and the
// Kubernetes command are run for real, by /bin/sh, around a fake shiftgrant that exits with each code.
const read = (p: string) => readFileSync(path.join(ROOT, p), "utf8");

/** Every exit code of docs/output.md's table, and whether a scheduler must report it as a failure. */
const EXIT_CODES = [0, 1, 2, 3, 4, 5, 6] as const;
const isFailure = (code: number) => code !== 0 && code !== 5;

type Run = { code: number | null; signal: NodeJS.Signals | null; output: string };

/** Runs `sh -c script args…` with the given environment; output is stdout and stderr together. */
function sh(
  script: string,
  args: string[],
  env: Record<string, string>,
  onSpawn?: (child: ReturnType<typeof spawn>) => void,
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn("/bin/sh", ["-c", script, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      child.kill("SIGKILL");
    }, CLI_LIMIT_MS);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (hung)
        reject(
          new Error(
            `sh -c … ${args.join(" ")} did not exit within ${CLI_LIMIT_MS / 1000}s (killed); output so far:\n${output}`,
          ),
        );
      else resolve({ code, signal, output });
    });
    onSpawn?.(child);
  });
}

/**
 * A fake `shiftgrant` in `bin`: records its argv and PAGERDUTY_TOKEN, prints a JSON document on
 * stdout and a log line on stderr, and exits with the code written in `bin/exit-code`.
 */
async function makeFakeShiftgrant(bin: string): Promise<void> {
  await mkdir(bin, { recursive: true });
  const file = path.join(bin, "shiftgrant");
  await writeFile(
    file,
    `#!/bin/sh
printf '%s\\n' "$@" > "${bin}/argv"
code=$(cat "${bin}/exit-code")
printf '{"code":%s,"token":"%s"}\\n' "$code" "$PAGERDUTY_TOKEN"
echo "log line of the run that exits $code" >&2
exit "$code"
`,
  );
  await chmod(file, 0o755);
}

describe("the crontab example", () => {
  const text = read("crontab.example");
  const lines = text.split("\n").filter((l) => l.trim() && !l.startsWith("#"));
  const settings = Object.fromEntries(
    lines
      .filter((l) => /^[A-Z]+=/.test(l))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
  const jobs = lines.filter((l) => !/^[A-Z]+=/.test(l));

  it("is one five-field cron line run by /bin/sh, with no '%' (cron would turn it into a newline)", () => {
    assert.equal(jobs.length, 1);
    const job = jobs[0] as string;
    assert.deepEqual(job.split(/\s+/).slice(0, 5), ["7", "*", "*", "*", "*"]);
    assert.match(job, /shiftgrant sync -c \/etc\/shiftgrant\/shiftgrant\.yaml --output json /);
    assert.ok(!job.includes("%"), job);
    assert.equal(settings.SHELL, "/bin/sh");
    assert.equal(settings.MAILTO, "sre-oncall@example.com");
  });

  it("is the line docs/deployment.md shows", () => {
    const doc = read("docs/deployment.md");
    assert.ok(
      doc.includes(`\n${jobs[0]}\n`),
      "the cron line in docs/deployment.md differs from crontab.example",
    );
  });

  describe("run by /bin/sh around a shiftgrant that exits with each code", () => {
    let dir: string;
    let cleanup: () => Promise<void>;
    before(async () => ({ dir, cleanup } = await makeTempDir("shiftgrant-cron-")));
    after(() => cleanup());

    for (const code of EXIT_CODES) {
      it(`exit ${code}: ${code === 5 ? "skipped: no mail, last-run.json kept" : isFailure(code) ? "mails one line with the code, keeps the run's JSON" : "no mail, keeps the run's JSON"}`, async () => {
        const root = path.join(dir, `exit-${code}`);
        const bin = path.join(root, "bin");
        await makeFakeShiftgrant(bin);
        await writeFile(path.join(bin, "exit-code"), String(code));
        for (const d of ["etc", "lib", "log"]) await mkdir(path.join(root, d));
        await writeFile(path.join(root, "etc", "env"), "export PAGERDUTY_TOKEN=pd-token-from-env-file\n");
        await writeFile(path.join(root, "lib", "last-run.json"), '{"previous":true}\n');
        await writeFile(path.join(root, "log", "shiftgrant.log"), "earlier log line\n");
        const where = (s: string) =>
          s
            .replaceAll("/etc/shiftgrant/", `${root}/etc/`)
            .replaceAll("/var/lib/shiftgrant", `${root}/lib`)
            .replaceAll("/var/log/shiftgrant/", `${root}/log/`);
        const command = where((jobs[0] as string).split(/\s+/).slice(5).join(" "));

        // cron mails whatever the command prints, stdout or stderr
        const r = await sh(command, [], { PATH: `${bin}:/usr/bin:/bin`, HOME: root });

        assert.equal(r.signal, null);
        assert.equal(
          r.output,
          isFailure(code)
            ? where(
                `shiftgrant sync failed with exit code ${code} (see /var/log/shiftgrant/shiftgrant.log and /var/lib/shiftgrant/last-run.json)\n`,
              )
            : "",
        );
        assert.equal(
          await readFile(path.join(root, "lib", "last-run.json"), "utf8"),
          code === 5 ? '{"previous":true}\n' : `{"code":${code},"token":"pd-token-from-env-file"}\n`,
        );
        assert.deepEqual(await readdir(path.join(root, "lib")), ["last-run.json"], "no run file left behind");
        assert.equal(
          await readFile(path.join(root, "log", "shiftgrant.log"), "utf8"),
          `earlier log line\nlog line of the run that exits ${code}\n`,
        );
        assert.deepEqual((await readFile(path.join(bin, "argv"), "utf8")).trim().split("\n"), [
          "sync",
          "-c",
          `${root}/etc/shiftgrant.yaml`,
          "--output",
          "json",
        ]);
      });
    }

    it("mails the shell's error and runs nothing when the env file cannot be read", async () => {
      const root = path.join(dir, "no-env");
      const bin = path.join(root, "bin");
      await makeFakeShiftgrant(bin);
      await writeFile(path.join(bin, "exit-code"), "0");
      const command = (jobs[0] as string)
        .split(/\s+/)
        .slice(5)
        .join(" ")
        .replaceAll("/etc/shiftgrant/", `${root}/etc/`);
      const r = await sh(command, [], { PATH: `${bin}:/usr/bin:/bin`, HOME: root });
      assert.notEqual(r.code, 0);
      assert.match(r.output, /etc\/env/);
      assert.ok(!existsSync(path.join(bin, "argv")), "shiftgrant ran without its tokens");
    });
  });
});

describe("the systemd unit", () => {
  const unit = read("examples/deploy/shiftgrant.service");
  const service = unit.slice(unit.indexOf("[Service]"));
  const values = (key: string) =>
    [...service.matchAll(new RegExp(`^${key}=(.*)$`, "gm"))].map((m) => (m[1] as string).trim());

  it("runs one sync, reads tokens from an env file, keeps the ledger in its state directory", () => {
    assert.match(unit, /^Type=oneshot$/m);
    assert.match(unit, /^EnvironmentFile=\/etc\/shiftgrant\/env$/m);
    assert.match(unit, /^ExecStart=\/usr\/bin\/shiftgrant sync -c \/etc\/shiftgrant\/shiftgrant\.yaml /m);
    assert.match(unit, /^StateDirectory=shiftgrant$/m);
    // SIGTERM to shiftgrant only, with time to finish the call under way.
    assert.match(unit, /^KillMode=mixed$/m);
    assert.match(unit, /^TimeoutStopSec=90$/m);
    const timer = read("examples/deploy/shiftgrant.timer");
    assert.match(timer, /^OnCalendar=\*-\*-\* \*:07:00$/m);
    assert.match(timer, /^Persistent=true$/m);
  });

  const hasSystemdAnalyze = spawnSync("sh", ["-c", "command -v systemd-analyze"]).status === 0;
  it(
    "passes systemd-analyze verify (with ExecStart's path present)",
    { skip: !hasSystemdAnalyze && "systemd-analyze is not installed" },
    async () => {
      const { dir, cleanup } = await makeTempDir("shiftgrant-systemd-");
      try {
        const exe = path.join(dir, "shiftgrant");
        await writeFile(exe, "#!/bin/sh\nexit 0\n");
        await chmod(exe, 0o755);
        await writeFile(path.join(dir, "shiftgrant.service"), unit.replace("/usr/bin/shiftgrant", exe));
        await writeFile(path.join(dir, "shiftgrant.timer"), read("examples/deploy/shiftgrant.timer"));
        const r = spawnSync("systemd-analyze", ["verify", "shiftgrant.service", "shiftgrant.timer"], {
          cwd: dir,
          encoding: "utf8",
        });
        assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
        assert.equal(`${r.stdout}${r.stderr}`, "");
      } finally {
        await cleanup();
      }
    },
  );

  it("counts exit 0 and 5 (skipped) as success and every other code as a failure, never restarting", () => {
    assert.deepEqual(values("SuccessExitStatus"), ["5"]);
    assert.deepEqual(values("Restart"), [], "a failed run is retried by the next timer run, not at once");
    const success = new Set([0, ...values("SuccessExitStatus").flatMap((v) => v.split(/\s+/).map(Number))]);
    for (const code of EXIT_CODES) assert.equal(!success.has(code), isFailure(code), `exit ${code}`);
  });
});

/** The parts of the Kubernetes manifests that these tests read. */
type Manifest = {
  kind: string;
  metadata: { name: string };
  spec: {
    concurrencyPolicy: string;
    jobTemplate: { spec: { backoffLimit: number; template: { spec: PodSpec } } };
  };
};
type PodSpec = {
  containers: Container[];
  volumes: { name: string; persistentVolumeClaim?: { claimName: string } }[];
  terminationGracePeriodSeconds: number;
  securityContext: { runAsNonRoot: boolean; runAsUser: number };
};
type Container = {
  command: string[];
  args: string[];
  image: string;
  envFrom: unknown;
  volumeMounts: { mountPath: string }[];
};

describe("the Kubernetes CronJob", () => {
  const docs = parseAllDocuments(read("examples/deploy/kubernetes.yaml")).map((d) => d.toJS() as Manifest);
  const manifest = (kind: string): Manifest => {
    const doc = docs.find((d) => d.kind === kind);
    if (!doc) throw new Error(`examples/deploy/kubernetes.yaml has no ${kind}`);
    return doc;
  };
  const pvc = manifest("PersistentVolumeClaim");
  const cron = manifest("CronJob");
  const pod = cron.spec.jobTemplate.spec.template.spec;
  const container = pod.containers[0] as Container;

  it("forbids overlapping runs, reads tokens from a Secret and keeps the ledger on a PVC", () => {
    assert.equal(cron.spec.concurrencyPolicy, "Forbid");
    assert.equal(cron.spec.jobTemplate.spec.backoffLimit, 0);
    assert.deepEqual(container.args.slice(0, 3), ["sync", "-c", "/etc/shiftgrant/shiftgrant.yaml"]);
    assert.deepEqual(container.envFrom, [{ secretRef: { name: "shiftgrant-tokens" } }]);
    assert.ok(!JSON.stringify(container).includes("TOKEN="), "no token written into the manifest");
    const stateVolume = pod.volumes.find((v) => v.name === "state");
    assert.equal(stateVolume?.persistentVolumeClaim?.claimName, pvc.metadata.name);
    assert.ok(container.volumeMounts.some((m) => m.mountPath === "/var/lib/shiftgrant"));
    // Longer than a target call's default timeout (60s): a SIGTERM lets the call under way finish.
    assert.equal(pod.terminationGracePeriodSeconds, 90);
  });

  it("uses the image the Dockerfile builds: this version, and the Dockerfile's non-root user", () => {
    const pkg = JSON.parse(read("package.json")) as { version: string };
    assert.match(container.image, new RegExp(`/shiftgrant:${pkg.version.replaceAll(".", "\\.")}$`));
    const user = /^USER (\d+):(\d+)$/m.exec(read("Dockerfile"));
    assert.ok(user, "the Dockerfile sets a numeric USER");
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.equal(pod.securityContext.runAsUser, Number(user[1]));
  });

  describe("its command, run by /bin/sh around a shiftgrant that exits with each code", () => {
    let dir: string;
    let cleanup: () => Promise<void>;
    let bin: string;
    before(async () => {
      ({ dir, cleanup } = await makeTempDir("shiftgrant-k8s-"));
      bin = path.join(dir, "bin");
      await makeFakeShiftgrant(bin);
    });
    after(() => cleanup());
    const [shell, flag, script, ...rest] = container.command;

    it("is a /bin/sh -c script that passes the container's args on", () => {
      assert.equal(shell, "/bin/sh");
      assert.equal(flag, "-c");
      assert.equal(typeof script, "string");
      assert.deepEqual(rest, ["shiftgrant"], "$0 of the script");
    });

    for (const code of EXIT_CODES) {
      it(`exit ${code} ends the pod with ${isFailure(code) ? code : 0}`, async () => {
        await writeFile(path.join(bin, "exit-code"), String(code));
        const r = await sh(script as string, [...rest, ...container.args], { PATH: `${bin}:/usr/bin:/bin` });
        assert.equal(r.code, isFailure(code) ? code : 0, r.output);
        assert.deepEqual((await readFile(path.join(bin, "argv"), "utf8")).trim().split("\n"), container.args);
      });
    }

    it("passes SIGTERM on to shiftgrant and ends with shiftgrant's code", async () => {
      const fake = path.join(dir, "term-bin");
      await mkdir(fake);
      await writeFile(
        path.join(fake, "shiftgrant"),
        `#!/bin/sh
sleep 60 & s=$!
trap 'kill $s; echo TERM > "${fake}/got"; exit 7' TERM
: > "${fake}/started"
wait $s
`,
      );
      await chmod(path.join(fake, "shiftgrant"), 0o755);
      let child: ReturnType<typeof spawn> | undefined;
      const run = sh(
        script as string,
        [...rest, ...container.args],
        { PATH: `${fake}:/usr/bin:/bin` },
        (c) => {
          child = c;
        },
      );
      // Deterministic: the signal goes only once the fake says it is waiting.
      for (let i = 0; i < 400 && !existsSync(path.join(fake, "started")); i++) {
        await new Promise((r) => setTimeout(r, 25));
      }
      assert.ok(existsSync(path.join(fake, "started")), "the fake shiftgrant never started");
      child?.kill("SIGTERM");
      const r = await run;
      assert.deepEqual([r.code, r.signal], [7, null], r.output);
      assert.equal(await readFile(path.join(fake, "got"), "utf8"), "TERM\n");
    });
  });
});
