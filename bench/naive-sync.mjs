#!/usr/bin/env node
// The baseline: the algorithm of strongDM's example PagerDuty script, as it is usually deployed.
// For each schedule list: GET /oncalls page after page (one at a time), then GET /users/{id} for
// every entry (no include, no cache), then one `sdm` call per entry, one at a time. The only thing
// added is waiting out a 429, without which it cannot finish against a rate-limited API at all.
import { execFileSync } from "node:child_process";

const [baseUrl, token, since, until, schedulesJson, resource] = process.argv.slice(2);
const schedules = JSON.parse(schedulesJson);
const headers = { Accept: "application/vnd.pagerduty+json;version=2", Authorization: `Token token=${token}` };
const counts = {};
let throttled = 0;

async function get(path, query) {
  const url = new URL(baseUrl + path);
  for (const [k, v] of query) url.searchParams.append(k, v);
  for (;;) {
    counts[path.startsWith("/users/") ? "/users/{id}" : path] =
      (counts[path.startsWith("/users/") ? "/users/{id}" : path] ?? 0) + 1;
    const res = await fetch(url, { headers });
    if (res.status === 429) {
      throttled++;
      const wait = Number(res.headers.get("ratelimit-reset") ?? "1");
      await new Promise((r) => setTimeout(r, wait * 1000));
      continue;
    }
    return res.json();
  }
}

let sdmCalls = 0;
const entries = [];
for (let offset = 0; ; offset += 100) {
  const page = await get("/oncalls", [
    ...schedules.map((id) => ["schedule_ids[]", id]),
    ["since", since],
    ["until", until],
    ["limit", "100"],
    ["offset", String(offset)],
  ]);
  entries.push(...page.oncalls);
  if (!page.more) break;
}
for (const e of entries) {
  const user = await get(`/users/${e.user.id}`, []);
  execFileSync("sdm", [
    "admin",
    "users",
    "grant-temporary",
    "--from",
    e.start,
    "--until",
    e.end,
    resource,
    user.user.email,
  ]);
  sdmCalls++;
}
process.stdout.write(JSON.stringify({ counts, sdmCalls, throttled, entries: entries.length }));
