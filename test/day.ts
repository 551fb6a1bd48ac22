import { rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { DateTime } from "luxon";
import type { Exec } from "../src/infra/exec.js";
import { runMain } from "./harness.js";
import { makeTempDir, parseJsonOutput } from "./helpers.js";

/**
 * A simulated day of cron runs against one target, the same day for every target type, so that
 * their behaviour can be compared call for call. `npm run simulate` prints it; each target's tests
 * assert the runs that matter.
 *
 * The day (UTC, 2026-11-22), one resource shared by two rules:
 *   rule primary (grace 15m, revoke: true): alice 00:00-12:00, bob 12:00-24:00; from the 13:00
 *     run on, the rota says carol took bob's shift from 13:00 (a swap after bob's shift began).
 *   rule dba (no grace): alice 10:00-14:00 (the same membership as her primary shift: it stays
 *     until 14:00), dave 16:00-20:00 (dave was a member before the day: left alone).
 *   cron every 15 minutes from 00:00 to 00:30 the next day, but no run from 14:00 to 15:45 (the
 *     14:00 expiry is overdue and done at 16:00).
 *   `deleteLedgerAt`: the ledger is deleted just before that run.
 */
export type DayTarget = {
  /** The target's keys under `targets.t` (without `identities` and `exclusive`). */
  target: Record<string, unknown>;
  /** The one resource both rules grant. */
  resource: string;
  /** Where identities are not emails: the target's own map (email -> identity). */
  identities?: Record<string, string>;
  /** Environment for every run (tokens, endpoints). */
  env?: Record<string, string>;
  /** Fake executables, first on PATH. */
  binDir?: string;
  /** An in-process fake of the target's CLI (no process per call), in place of the real exec. */
  exec?: Exec;
  /** Makes `identity` (as the target names it) a member of the resource outside shiftgrant. */
  addMember(identity: string): Promise<void>;
  /** The calls made since the last call of `calls()`, one line each, in order. */
  calls(): Promise<string[]>;
  /** Before each run, with who is on call then (emails): e.g. people file access requests. */
  beforeRun?(at: DateTime, oncall: string[]): Promise<void>;
};

export type DayOptions = {
  /** `exclusive: [resource]` on the target. */
  exclusive?: boolean;
  /** "HH:MM": the ledger file is deleted just before this run. */
  deleteLedgerAt?: string;
  /** Only these runs ("HH:MM", "+HH:MM"), for tests that need a few of them; default: all. */
  only?: string[];
  /** The config's `notify:` section (notifications on). */
  notify?: Record<string, unknown>;
};

/**
 * A target's day, as `test/days/NAME.ts` exports it (`dayFixture()`): its fakes started, and how to
 * stop them. `exclusive`: the target can list members, so the day is also run with `exclusive`.
 */
export type DayFixture = DayTarget & { title: string; exclusive: boolean; close(): Promise<void> };

export type DayRun = {
  /** "HH:MM", or "+HH:MM" on the next day. */
  at: string;
  code: number;
  calls: string[];
  /** Each action that is not `unchanged`: `kind rule identity status`. */
  actions: string[];
  stderr: string;
};

export const DAY = "2026-11-22";
const at = (hhmm: string, plusDays = 0) =>
  DateTime.fromISO(`${DAY}T${hhmm}:00Z`, { zone: "utc" }).plus({ days: plusDays });

/** The cron times of the day: every 15 minutes, none from 14:00 to 15:45, up to 00:30 the next day. */
export function dayRuns(): DateTime[] {
  const out: DateTime[] = [];
  for (let t = at("00:00"); t <= at("00:30", 1); t = t.plus({ minutes: 15 })) {
    if (t >= at("14:00") && t < at("16:00")) continue;
    out.push(t);
  }
  return out;
}

function rota(swapped: boolean): string {
  const shift = (schedule: string, who: string, start: string, end: string) =>
    `  - { schedule: ${schedule}, email: ${who}@example.com, start: ${start}, end: ${end} }`;
  const t = (hhmm: string, plusDays = 0) => at(hhmm, plusDays).toFormat("yyyy-MM-dd'T'HH:mm:ss'Z'");
  return [
    "shifts:",
    shift("primary", "alice", t("00:00"), t("12:00")),
    ...(swapped
      ? [
          shift("primary", "bob", t("12:00"), t("13:00")),
          shift("primary", "carol", t("13:00"), t("00:00", 1)),
        ]
      : [shift("primary", "bob", t("12:00"), t("00:00", 1))]),
    shift("dba", "alice", t("10:00"), t("14:00")),
    shift("dba", "dave", t("16:00"), t("20:00")),
    "",
  ].join("\n");
}

/** Who the rota has on call at `now` (emails), as the runs read it. */
function onCallAt(now: DateTime): string[] {
  const swapped = now >= at("13:00");
  const who: [string, DateTime, DateTime][] = [
    ["alice", at("00:00"), at("12:00")],
    ...(swapped
      ? ([
          ["bob", at("12:00"), at("13:00")],
          ["carol", at("13:00"), at("00:00", 1)],
        ] as [string, DateTime, DateTime][])
      : ([["bob", at("12:00"), at("00:00", 1)]] as [string, DateTime, DateTime][])),
    ["alice", at("10:00"), at("14:00")],
    ["dave", at("16:00"), at("20:00")],
  ];
  return [...new Set(who.filter(([, s, e]) => s <= now && now < e).map(([w]) => `${w}@example.com`))];
}

/** Runs the day in-process (`main()`), one `sync` per cron time, and returns every run. */
export async function simulateDay(t: DayTarget, opts: DayOptions = {}): Promise<DayRun[]> {
  const { dir, cleanup } = await makeTempDir("shiftgrant-day-");
  try {
    const state = path.join(dir, "state.json");
    const target: Record<string, unknown> = { ...t.target };
    if (t.identities) target.identities = t.identities;
    if (opts.exclusive) target.exclusive = [t.resource];
    const config = {
      version: 1,
      state: "state.json",
      sources: { rota: { type: "file", path: "rota.yaml" } },
      targets: { t: target },
      rules: [
        {
          name: "primary",
          source: "rota",
          schedules: ["primary"],
          target: "t",
          resources: [t.resource],
          grace: "15m",
          revoke: true,
        },
        { name: "dba", source: "rota", schedules: ["dba"], target: "t", resources: [t.resource] },
      ],
    };
    if (opts.notify) Object.assign(config, { notify: opts.notify });
    const configFile = path.join(dir, "shiftgrant.yaml");
    await writeFile(configFile, JSON.stringify(config, null, 2));
    const daveId = t.identities?.["dave@example.com"] ?? "dave@example.com";
    await t.addMember(daveId);
    await t.calls();
    const runs: DayRun[] = [];
    for (const now of dayRuns()) {
      const label = now.hasSame(at("00:00"), "day") ? now.toFormat("HH:mm") : `+${now.toFormat("HH:mm")}`;
      if (opts.only && !opts.only.includes(label)) continue;
      await writeFile(path.join(dir, "rota.yaml"), rota(now >= at("13:00")));
      if (opts.deleteLedgerAt === label) await rm(state, { force: true });
      await t.beforeRun?.(now, onCallAt(now));
      const res = await runMain(["sync", "-c", configFile, "--output", "json", "--log-level", "error"], {
        cwd: dir,
        now,
        env: t.env ?? {},
        ...(t.binDir ? { binDir: t.binDir } : {}),
        ...(t.exec ? { exec: t.exec } : {}),
      });
      const doc = res.stdout.trim() ? parseJsonOutput(res.stdout) : null;
      runs.push({
        at: label,
        code: res.code ?? -1,
        calls: await t.calls(),
        actions: (doc?.actions ?? [])
          .filter((a) => a.kind !== "unchanged")
          .map((a) => `${a.kind} ${a.rule} ${a.identity} ${a.status}`),
        stderr: res.stderr,
      });
    }
    return runs;
  } finally {
    await cleanup();
  }
}

/**
 * A call that only reads (a lookup, a listing, a token): a run that made only such calls and planned
 * nothing changed nothing. (An exclusive resource is listed by every run.)
 */
export function readsOnly(call: string): boolean {
  return /^(GET |POST \/token\b|List|Describe|Get|tctl .*\b(ls|status)\b)/.test(call);
}

/** The runs that did something (a change, an action other than unchanged or wait, a non-zero exit). */
export function eventfulRuns(runs: DayRun[]): DayRun[] {
  return runs.filter(
    (r) =>
      r.calls.some((c) => !readsOnly(c)) || r.code !== 0 || r.actions.some((a) => !a.startsWith("wait ")),
  );
}

/** The day as text: one block per eventful run, its exit code and its calls. */
export function formatDay(title: string, runs: DayRun[]): string {
  const lines = [title];
  for (const r of eventfulRuns(runs)) {
    lines.push(`  ${r.at}  exit ${r.code}${r.calls.length === 0 ? "  (no call)" : ""}`);
    for (const c of r.calls) lines.push(`           ${c}`);
  }
  const quiet = runs.length - eventfulRuns(runs).length;
  lines.push(`  (${runs.length} runs; ${quiet} of them changed nothing and made no call but reads)`);
  return lines.join("\n");
}
