// Plans 100,000 synthetic shifts in one process and prints the time and peak RSS as JSON.
// It imports the built planner (dist/), as the CLI runs it: `npm run build` first.
import { DateTime } from "luxon";
import { planGrants } from "../dist/plan/plan.js";

const now = DateTime.fromISO("2026-11-22T10:00:00Z", { zone: "utc" });
const rules = Array.from({ length: 10 }, (_, r) => ({
  name: `rule-${r}`,
  source: "pd",
  schedules: [],
  escalationLevels: null,
  target: "sdm",
  resources: [`db-${r}`, `k8s-${r}`],
  leadMs: 15 * 60_000,
  graceMs: 15 * 60_000,
  maxDurationMs: 24 * 3_600_000,
  revoke: true,
}));
const shifts = new Map();
const N = 100_000;
for (let i = 0; i < N; i++) {
  const rule = rules[i % rules.length];
  // Shifts carry epoch milliseconds, as the sources hand them over.
  const start = now.toMillis() + ((i * 37) % (7 * 24 * 60)) * 60_000;
  const list = shifts.get(rule.name) ?? [];
  list.push({
    schedule: { id: `PS${i % 200}`, name: `Schedule ${i % 200}` },
    level: 1 + (i % 2),
    email: `user${i % 4000}@example.com`,
    start,
    end: start + (1 + (i % 12)) * 3_600_000,
    reason: "bench",
  });
  shifts.set(rule.name, list);
}
const caps = { futureStart: true, revoke: true, extendInPlace: false, shortenInPlace: false };
const started = process.hrtime.bigint();
const actions = planGrants({
  now,
  rules,
  shifts,
  held: [],
  identities: new Map(),
  capabilities: () => caps,
  window: { since: now, until: now.plus({ days: 7 }) }, // the shifts span a week
});
const ms = Number(process.hrtime.bigint() - started) / 1e6;
process.stdout.write(
  JSON.stringify({
    shifts: N,
    actions: actions.length,
    ms,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
  }),
);
