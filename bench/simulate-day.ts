// Simulated days of cron runs, printing the calls each run made (`npm run simulate`):
// first a day of runs every 4 hours per target type that ends grants by itself, with a shift swap at
// noon; then the day of test/day.ts (cron every 15 minutes, two rules sharing a resource, a member
// from before, a two-hour gap, the ledger deleted mid-day) for each target in test/days/.
// The rota: alice 00:00-12:00, bob 12:00-24:00; before the 12:00 run, carol takes bob's shift.
import { mkdir, readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { formatDay, simulateDay, type DayFixture } from "../test/day.js";
import { startReceiver } from "../test/fakes/receiver.js";
import { makeFakeTctl } from "../test/fakes/tctl.js";
import { makeFakeCli, makeTempDir, runCli, writeYaml } from "../test/helpers.js";

const RUNS = ["00:00", "04:00", "08:00", "12:00", "16:00", "20:00"];
const rota = (second: string) =>
  `shifts:
  - { schedule: primary, email: alice@example.com, start: 2026-11-22T00:00:00Z, end: 2026-11-22T12:00:00Z }
  - { schedule: primary, email: ${second}@example.com, start: 2026-11-22T12:00:00Z, end: 2026-11-23T00:00:00Z }
`;

type Target = {
  name: string;
  config: (dir: string, extra: string) => string;
  prepare: (binDir: string) => Promise<() => Promise<string[]>>;
};

const TARGETS: Target[] = [
  {
    name: "strongdm",
    config: () => "  t: { type: strongdm }",
    prepare: async (binDir) => {
      const sdm = await makeFakeCli(binDir, "sdm");
      return async () => {
        const calls = (await sdm.calls()).map((c) => `sdm ${c.argv.join(" ")}`);
        await sdm.reset();
        return calls;
      };
    },
  },
  {
    name: "teleport",
    config: () => '  t: { type: teleport, args: ["-i", "/opt/machine-id/identity"] }',
    prepare: async (binDir) => {
      const tctl = await makeFakeTctl(binDir, ["prod-db"]);
      return async () => {
        const calls = (await tctl.calls()).map(
          (a) => `tctl ${a.map((x) => (x.includes(" ") ? JSON.stringify(x) : x)).join(" ")}`,
        );
        await tctl.resetCalls();
        return calls;
      };
    },
  },
  {
    name: "command",
    config: () =>
      '  t: { type: command, grant: [grant, "{identity}", "{resource}", "{start}", "{end}"], revoke: [revoke, "{identity}", "{resource}"] }',
    prepare: async (binDir) => {
      const grant = await makeFakeCli(binDir, "grant");
      const revoke = await makeFakeCli(binDir, "revoke");
      return async () => {
        const calls = [
          ...(await grant.calls()).map((c) => `grant ${c.argv.join(" ")}`),
          ...(await revoke.calls()).map((c) => `revoke ${c.argv.join(" ")}`),
        ];
        await grant.reset();
        await revoke.reset();
        return calls;
      };
    },
  },
];

function print(name: string, rows: [string, string[]][]): void {
  console.log(`\n${name}`);
  for (const [at, calls] of rows) {
    console.log(`  ${at}  ${calls.length === 0 ? "(no call)" : calls[0]}`);
    for (const c of calls.slice(1)) console.log(`         ${c}`);
  }
}

async function simulate(
  name: string,
  targetYaml: string,
  collect: () => Promise<string[]>,
  dir: string,
  binDir: string,
  env: Record<string, string> = {},
) {
  await writeFile(path.join(dir, "rota.yaml"), rota("bob"));
  const config = await writeYaml(
    path.join(dir, "shiftgrant.yaml"),
    `
version: 1
state: state.json
sources: { rota: { type: file, path: rota.yaml } }
targets:
${targetYaml}
rules:
  - { name: oncall, source: rota, schedules: [primary], target: t, resources: [prod-db], grace: 15m, maxDuration: 8h, revoke: true }
`,
  );
  const rows: [string, string[]][] = [];
  for (const at of RUNS) {
    if (at === "12:00") await writeFile(path.join(dir, "rota.yaml"), rota("carol"));
    const res = await runCli(["sync", "-c", config, "--log-level", "error"], {
      binDir,
      cwd: dir,
      env: { SHIFTGRANT_NOW: `2026-11-22T${at}:00Z`, SDM_ADMIN_TOKEN: "sim-token", ...env },
    });
    if (res.code !== 0) throw new Error(`${name} at ${at}: exit ${res.code}\n${res.stderr}`);
    rows.push([at, await collect()]);
  }
  print(name, rows);
}

console.log(
  "A day of runs every 4 hours; rule: grace 15m, maxDuration 8h, revoke: true; at noon carol takes bob's shift.",
);
for (const t of TARGETS) {
  const { dir, cleanup } = await makeTempDir();
  const binDir = path.join(dir, "bin");
  await mkdir(binDir);
  try {
    await simulate(t.name, t.config(dir, ""), await t.prepare(binDir), dir, binDir);
  } finally {
    await cleanup();
  }
}
{
  const receiver = await startReceiver({ token: "sim-http-token" });
  const { dir, cleanup } = await makeTempDir();
  const binDir = path.join(dir, "bin");
  await mkdir(binDir);
  let seen = 0;
  const collect = async () => {
    const calls = receiver.requests.slice(seen).map((r) => {
      const b = r.body as { identity?: string; start?: string; end?: string } | null;
      return r.method === "POST"
        ? `POST ${r.path} ${b?.identity} ${b?.start} -> ${b?.end}`
        : `${r.method} ${r.path}`;
    });
    seen = receiver.requests.length;
    return calls;
  };
  try {
    await simulate(
      "http",
      `  t: { type: http, url: "${receiver.url}/grants", tokenEnv: ACCESS_TOKEN, revoke: true }`,
      collect,
      dir,
      binDir,
      { ACCESS_TOKEN: "sim-http-token" },
    );
  } finally {
    await receiver.close();
    await cleanup();
  }
}

console.log(
  "\nThe day of test/day.ts: cron every 15 minutes; alice 00-12 (primary) and 10-14 (dba), bob 12-24 swapped to carol from 13:00, dave 16-20 (dba, a member before the day); no runs 14:00-15:45.",
);
const dayDir = new URL("../test/days/", import.meta.url);
for (const file of (await readdir(dayDir)).filter((f) => f.endsWith(".ts")).sort()) {
  const mod = (await import(new URL(file, dayDir).href)) as { dayFixture(): Promise<DayFixture> };
  const variants: [string, Parameters<typeof simulateDay>[1]][] = [["", {}]];
  const probe = await mod.dayFixture();
  await probe.close();
  variants.push([", the ledger deleted before the 18:00 run", { deleteLedgerAt: "18:00" }]);
  if (probe.exclusive)
    variants.push([
      ", exclusive, the ledger deleted before 18:00",
      { exclusive: true, deleteLedgerAt: "18:00" },
    ]);
  for (const [suffix, opts] of variants) {
    const fixture = await mod.dayFixture();
    try {
      console.log(`\n${formatDay(`${fixture.title}${suffix}`, await simulateDay(fixture, opts))}`);
    } finally {
      await fixture.close();
    }
  }
}
