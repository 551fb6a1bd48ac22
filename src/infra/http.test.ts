import assert from "node:assert/strict";
import http from "node:http";
import { describe, it } from "node:test";
import { createHttpClient, HttpError, rateBudget, retryHintMs } from "./http.js";
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

describe("response size cap", () => {
  /**
   * A server whose /endless streams JSON for ever (no length announced) until the client goes away,
   * whose /announced says a 1 GB length, and whose /exact sends a body of exactly `size` bytes.
   */
  async function startServer(size: number) {
    const seen: string[] = [];
    let streamed = 0;
    const server = http.createServer((req, res) => {
      seen.push(req.url ?? "");
      if (req.url === "/exact") {
        res.writeHead(200, { "content-type": "application/json" });
        return res.end(`"${"x".repeat(size - 2)}"`);
      }
      if (req.url === "/announced") {
        res.writeHead(200, { "content-type": "application/json", "content-length": String(1024 ** 3) });
        return res.write('{"oncalls":[');
      }
      res.writeHead(200, { "content-type": "application/json" });
      const chunk = Buffer.alloc(64 * 1024, "x");
      res.write('{"pad":"');
      const pump = () => {
        while (!res.destroyed && res.write(chunk)) streamed += chunk.length;
        if (!res.destroyed) res.once("drain", pump);
      };
      res.on("error", () => undefined);
      pump();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    return {
      seen,
      streamed: () => streamed,
      url: (p: string) => new URL(base + p),
      close: () =>
        new Promise<void>((r) => {
          server.closeAllConnections();
          server.close(() => r());
        }),
    };
  }
  const client = (maxResponseBytes: number) =>
    createHttpClient(
      { timeoutMs: 10_000, retries: 3, backoffMs: 1, maxRetryWaitMs: 1000, maxResponseBytes },
      { log: createSilentLogger(), sleep: async () => undefined },
    );

  it("stops reading a streamed body once over the cap, fails at once and does not retry", async () => {
    const server = await startServer(0);
    try {
      await assert.rejects(
        client(128 * 1024).request("GET", server.url("/endless"), { headers: {} }),
        (err) => {
          assert.ok(err instanceof HttpError);
          assert.equal(err.message, "GET /endless: response over 128 KB (http.maxResponseBytes)");
          assert.equal(err.tries, 1);
          return true;
        },
      );
      assert.deepEqual(server.seen, ["/endless"]);
      // The server streams for ever; it stopped because the client hung up, long before 1 GB.
      assert.ok(server.streamed() < 1024 ** 3, `streamed ${server.streamed()} bytes`);
    } finally {
      await server.close();
    }
  });

  it("refuses an announced length over the cap before reading the body", async () => {
    const server = await startServer(0);
    try {
      await assert.rejects(
        client(50 * 1024 * 1024).request("GET", server.url("/announced"), { headers: {} }),
        /^HttpError: GET \/announced: response over 50 MB \(http\.maxResponseBytes\)$/,
      );
      assert.deepEqual(server.seen, ["/announced"]);
    } finally {
      await server.close();
    }
  });

  it("reads a body of exactly the cap", async () => {
    const server = await startServer(4096);
    try {
      const res = await client(4096).request("GET", server.url("/exact"), { headers: {} });
      assert.equal((res.body as string).length, 4094);
    } finally {
      await server.close();
    }
  });
});
