// `npm run bench`: shiftgrant against the naive baseline (strongDM's example script's algorithm) on
// one machine, one process tree, the same fake PagerDuty (50 ms a request, 960 requests a minute)
// and the same fake sdm (30 ms a call). Prints requests by path, sdm calls, wall time, peak RSS, the
// ratios, shiftgrant against the floor, plan time for 100,000 shifts, and start-up time.
// Options: --quick (a smaller org, for a smoke run), --skip-baseline.
import { spawn } from "node:child_process";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  startFakePagerDuty,
  type FakeOncall,
  type FakeSchedule,
  type FakeUser,
} from "../test/fakes/pagerduty.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const quick = process.argv.includes("--quick");
const skipBaseline = process.argv.includes("--skip-baseline");
const ORG = quick ? { schedules: 20, users: 40, days: 7 } : { schedules: 200, users: 400, days: 7 };
const LATENCY_MS = 50;
const SDM_MS = 30;
const RATE = 960;
const CONCURRENCY = 4;
const TARGET_CONCURRENCY = 4;
const TOKEN = "bench-pd-token-0123456789";
const SINCE = "2026-11-22T10:00:00Z";
const UNTIL = "2026-11-29T10:00:00Z";
const RULES = 10;

type Measured = { wallMs: number; peakRssMb: number; stdout: string; stderr: string; code: number | null };

/** Runs a command, sampling its peak RSS (VmHWM) from /proc until it exits. */
function measure(cmd: string, args: string[], env: Record<string, string>): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let peakKb = 0;
    const sample = async () => {
      try {
        const status = await readFile(`/proc/${child.pid}/status`, "utf8");
        const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
        peakKb = Math.max(peakKb, kb);
      } catch {
        // exited between samples
      }
    };
    const timer = setInterval(() => void sample(), 20);
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      clearInterval(timer);
      if (code !== 0 && code !== null && code > 0 && !stdout) process.stderr.write(stderr.slice(-2000));
      resolve({ wallMs: performance.now() - started, peakRssMb: peakKb / 1024, stdout, stderr, code });
    });
  });
}

function buildOrg() {
  const users: FakeUser[] = Array.from({ length: ORG.users }, (_, i) => ({
    id: `PU${String(i).padStart(5, "0")}`,
    name: `User ${i}`,
    email: `user${i}@example.com`,
  }));
  const schedules: FakeSchedule[] = Array.from({ length: ORG.schedules }, (_, i) => ({
    id: `PS${String(i).padStart(5, "0")}`,
    name: `Schedule ${i}`,
    escalationPolicyIds: [`PE${String(i).padStart(5, "0")}`],
  }));
  // Daily handoffs at 09:00 UTC, two escalation levels, over the window (plus the day it starts in).
  const oncalls: FakeOncall[] = [];
  const first = Date.parse("2026-11-22T09:00:00Z");
  schedules.forEach((s, si) => {
    for (let d = 0; d <= ORG.days; d++) {
      for (const level of [1, 2]) {
        const user = users[(si * 2 + level + d * 3) % users.length] as FakeUser;
        oncalls.push({
          userId: user.id,
          scheduleId: s.id,
          escalationPolicyId: `PE${String(si).padStart(5, "0")}`,
          level,
          start: new Date(first + d * 86_400_000).toISOString().replace(".000", ""),
          end: new Date(first + (d + 1) * 86_400_000).toISOString().replace(".000", ""),
        });
      }
    }
  });
  return { users, schedules, oncalls };
}

async function fakeSdm(dir: string): Promise<{ binDir: string; log: string }> {
  const binDir = path.join(dir, "bin");
  const log = path.join(dir, "sdm.calls");
  await mkdir(binDir);
  // A shell script: a process start costs ~1 ms, so the 30 ms of the call dominate, as with a real sdm.
  await writeFile(path.join(binDir, "sdm"), `#!/bin/sh\nsleep ${SDM_MS / 1000}\necho "$*" >> ${log}\n`);
  await chmod(path.join(binDir, "sdm"), 0o755);
  return { binDir, log };
}

async function countLines(file: string): Promise<number> {
  try {
    return (await readFile(file, "utf8")).split("\n").filter(Boolean).length;
  } catch {
    return 0;
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

async function startupMedians(): Promise<{ version: number; node: number }> {
  const version: number[] = [];
  const node: number[] = [];
  for (let i = 0; i < 10; i++) {
    version.push(
      (
        await measure(process.execPath, [path.join(ROOT, "bin", "shiftgrant.js"), "--version"], {
          PATH: process.env.PATH ?? "",
        })
      ).wallMs,
    );
    node.push((await measure(process.execPath, ["-e", "0"], { PATH: process.env.PATH ?? "" })).wallMs);
  }
  return { version: median(version), node: median(node) };
}

const fmt = (n: number, d = 0) => n.toFixed(d);

async function main() {
  const org = buildOrg();
  const schedulesPerRule = Math.ceil(org.schedules.length / RULES);
  const groups = Array.from({ length: RULES }, (_, r) =>
    org.schedules.slice(r * schedulesPerRule, (r + 1) * schedulesPerRule).map((s) => s.id),
  );
  const dir = await mkdtemp(path.join(tmpdir(), "shiftgrant-bench-"));
  const out: string[] = [];
  const line = (s = "") => {
    out.push(s);
    console.log(s);
  };
  try {
    line(
      `org: ${org.schedules.length} schedules, ${org.users.length} users, ${org.oncalls.length} on-call entries over ${ORG.days} days (daily handoffs, 2 levels), ${RULES} rules`,
    );
    line(
      `fake PagerDuty: ${LATENCY_MS} ms a request, ${RATE} requests a minute; fake sdm: ${SDM_MS} ms a call`,
    );
    line();

    // shiftgrant
    const pd1 = await startFakePagerDuty({
      token: TOKEN,
      ...structuredClone(org),
      latencyMs: LATENCY_MS,
      rateLimitPerMinute: RATE,
    });
    await mkdir(path.join(dir, "sg"));
    const sg = await fakeSdm(path.join(dir, "sg"));
    const config = path.join(dir, "shiftgrant.yaml");
    await writeFile(
      config,
      [
        "version: 1",
        `state: ${path.join(dir, "state.json")}`,
        `concurrency: ${CONCURRENCY}`,
        "sources:",
        `  pd: { type: pagerduty, baseUrl: "${pd1.url}" }`,
        "targets:",
        `  sdm: { type: strongdm, concurrency: ${TARGET_CONCURRENCY} }`,
        "rules:",
        ...groups.map(
          (g, r) =>
            `  - { name: team-${r}, source: pd, target: sdm, resources: [db-${r}], schedules: [${g.join(", ")}] }`,
        ),
      ].join("\n"),
    );
    const sgRun = await measure(
      process.execPath,
      [
        path.join(ROOT, "bin", "shiftgrant.js"),
        "sync",
        "-c",
        config,
        "--since",
        SINCE,
        "--until",
        UNTIL,
        "--output",
        "json",
        "--log-level",
        "warn",
      ],
      {
        PATH: `${sg.binDir}:${process.env.PATH}`,
        HOME: dir,
        PAGERDUTY_TOKEN: TOKEN,
        SDM_ADMIN_TOKEN: "bench-sdm",
        SHIFTGRANT_NOW: SINCE,
        // The ledger is a throwaway one in a temp dir.
        SHIFTGRANT_TEST_ALLOW_FAKE_NOW: "1",
      },
    );
    const sgCounts = pd1.countByPath();
    const sgRequests = pd1.requests.length;
    const sgSdm = await countLines(sg.log);
    const sgGrants = (JSON.parse(sgRun.stdout) as { summary: { grant: number } }).summary.grant;
    // Every retry is logged as a warning; a 429 says so in it.
    const sg429 = sgRun.stderr.split("\n").filter((l) => l.includes("retrying") && l.includes("429")).length;
    await pd1.close();
    const pages = Math.ceil(org.oncalls.length / 100);
    const floorMs =
      Math.ceil(pages / CONCURRENCY) * LATENCY_MS + Math.ceil(sgGrants / TARGET_CONCURRENCY) * SDM_MS;
    line(
      `shiftgrant: exit ${sgRun.code}, PagerDuty requests ${sgRequests} ${JSON.stringify(sgCounts)}, sdm calls ${sgSdm}, wall ${fmt(sgRun.wallMs)} ms, peak RSS ${fmt(sgRun.peakRssMb, 1)} MB`,
    );
    line(
      `  floor: ${pages} /oncalls pages (the rules name schedules by id: no name lookups); wall floor ${floorMs} ms (ceil(${pages}/${CONCURRENCY}) x ${LATENCY_MS} ms + ceil(${sgGrants}/${TARGET_CONCURRENCY}) x ${SDM_MS} ms)`,
    );
    line(
      `  requests / floor: ${fmt(sgRequests / pages, 2)}; wall / floor: ${fmt(sgRun.wallMs / floorMs, 2)}; 429s received: ${sg429}`,
    );

    if (!skipBaseline) {
      const pd2 = await startFakePagerDuty({
        token: TOKEN,
        ...structuredClone(org),
        latencyMs: LATENCY_MS,
        rateLimitPerMinute: RATE,
      });
      await mkdir(path.join(dir, "naive"));
      const nv = await fakeSdm(path.join(dir, "naive"));
      let wall = 0;
      let rss = 0;
      let sdm = 0;
      let throttledTotal = 0;
      for (const [r, g] of groups.entries()) {
        const run = await measure(
          process.execPath,
          [
            path.join(ROOT, "bench", "naive-sync.mjs"),
            pd2.url,
            TOKEN,
            SINCE,
            UNTIL,
            JSON.stringify(g),
            `db-${r}`,
          ],
          { PATH: `${nv.binDir}:${process.env.PATH}`, HOME: dir },
        );
        wall += run.wallMs;
        rss = Math.max(rss, run.peakRssMb);
        const res = JSON.parse(run.stdout) as { sdmCalls: number; throttled: number };
        sdm += res.sdmCalls;
        throttledTotal += res.throttled;
      }
      const nvCounts = pd2.countByPath();
      const grouped: Record<string, number> = {};
      for (const [p, n] of Object.entries(nvCounts))
        grouped[p.startsWith("/users/") ? "/users/{id}" : p] =
          (grouped[p.startsWith("/users/") ? "/users/{id}" : p] ?? 0) + n;
      const nvRequests = pd2.requests.length;
      await pd2.close();
      line(
        `baseline:   PagerDuty requests ${nvRequests} ${JSON.stringify(grouped)}, sdm calls ${sdm}, wall ${fmt(wall)} ms, peak RSS ${fmt(rss, 1)} MB, 429s waited out: ${throttledTotal}`,
      );
      line(
        `ratios baseline/shiftgrant: requests ${fmt(nvRequests / sgRequests, 1)}x, sdm calls ${fmt(sdm / Math.max(1, sgSdm), 2)}x, wall ${fmt(wall / sgRun.wallMs, 1)}x`,
      );
    }
    line();

    // Five runs, each in a fresh process: the median time and the median peak RSS.
    const plans: { shifts: number; actions: number; ms: number; peakRssMb: number }[] = [];
    for (let i = 0; i < 5; i++) {
      const plan = await measure(process.execPath, [path.join(ROOT, "bench", "plan-100k.mjs")], {
        PATH: process.env.PATH ?? "",
      });
      plans.push(JSON.parse(plan.stdout) as (typeof plans)[number]);
    }
    const p = plans[0] as (typeof plans)[number];
    line(
      `plan: ${p.shifts} shifts -> ${p.actions} actions, median of 5: ${fmt(median(plans.map((x) => x.ms)))} ms, peak RSS ${fmt(median(plans.map((x) => x.peakRssMb)), 1)} MB (runs: ${plans.map((x) => fmt(x.ms)).join(", ")} ms)`,
    );
    const s = await startupMedians();
    line(
      `start-up: shiftgrant --version median ${fmt(s.version, 1)} ms, node -e 0 median ${fmt(s.node, 1)} ms, ratio ${fmt(s.version / s.node, 2)}x`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
