import assert from "node:assert/strict";
import http from "node:http";
import { describe, it } from "node:test";
import { createHttpClient, rateBudget, retryHintMs } from "./http.js";
import { createSilentLogger } from "./log.js";

const headers = (h: Record<string, string>) => new Map(Object.entries(h));

describe("retry hints", () => {
  it("reads Retry-After in seconds or as a date, then ratelimit-reset, then Opsgenie's throttle period", () => {
    const now = Date.parse("2026-11-22T10:00:00Z");
    assert.equal(retryHintMs(headers({ "retry-after": "3" }), now), 3000);
    assert.equal(retryHintMs(headers({ "retry-after": "Sun, 22 Nov 2026 10:00:05 GMT" }), now), 5000);
    assert.equal(retryHintMs(headers({ "ratelimit-reset": "20" }), now), 20_000);
    assert.equal(
      retryHintMs(headers({ "x-ratelimit-state": "THROTTLED", "x-ratelimit-period-in-sec": "60" }), now),
      60_000,
    );
    assert.equal(retryHintMs(headers({}), now), null);
  });
});

describe("rate-limit budget", () => {
  const now = Date.parse("2026-11-22T10:00:00Z");
  it("reads PagerDuty's ratelimit-remaining with a reset in seconds from now", () => {
    assert.deepEqual(rateBudget(headers({ "ratelimit-remaining": "5", "ratelimit-reset": "20" }), now), {
      remaining: 5,
      resetAt: now + 20_000,
    });
  });
  it("reads x-ratelimit-remaining with a reset as a Unix time (incident.io)", () => {
    assert.deepEqual(
      rateBudget(
        headers({ "x-ratelimit-remaining": "7", "x-ratelimit-reset": String(now / 1000 + 30) }),
        now,
      ),
      { remaining: 7, resetAt: now + 30_000 },
    );
  });
  it("is null when not announced or not numbers", () => {
    assert.equal(rateBudget(headers({ "ratelimit-remaining": "5" }), now), null);
    assert.equal(rateBudget(headers({ "ratelimit-remaining": "x", "ratelimit-reset": "1" }), now), null);
  });
});

describe("pacing", () => {
  it("spreads the requests left over the time to the reset once few are left, and not before", async () => {
    let remaining = 12;
    const server = http.createServer((_req, res) => {
      remaining--;
      res.writeHead(200, {
        "content-type": "application/json",
        "ratelimit-remaining": String(remaining),
        "ratelimit-reset": "30",
      });
      res.end("{}");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = new URL(`http://127.0.0.1:${(server.address() as { port: number }).port}/x`);
    const waits: number[] = [];
    const client = createHttpClient(
      { timeoutMs: 2000, retries: 0, backoffMs: 10, maxRetryWaitMs: 60_000 },
      { log: createSilentLogger(), sleep: async (ms) => void waits.push(ms) },
    );
    try {
      for (let i = 0; i < 5; i++) await client.request("GET", url, { headers: {} });
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
    // After the 1st answer 11 are left (no wait), after the 2nd 10: from then on each request
    // waits about 30 s / remaining.
    assert.equal(waits.length, 3);
    assert.ok(
      waits.every((w) => w > 2_000 && w <= 30_000),
      JSON.stringify(waits),
    );
    assert.ok((waits[2] as number) > (waits[0] as number), "waits grow as the budget shrinks");
    assert.equal(client.stats.throttled, 3);
  });
});
