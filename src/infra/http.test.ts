import assert from "node:assert/strict";
import http from "node:http";
import { PassThrough } from "node:stream";
import { describe, it } from "node:test";
import { createHttpClient, HttpError, hostPort, rateBudget, retryHintMs } from "./http.js";
import { createLogger, createSilentLogger } from "./log.js";
import { SecretSet } from "../core/redact.js";

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

describe("Okta's rate-limit headers", () => {
  const now = Date.parse("2026-11-22T10:00:00Z");
  const reset = String(now / 1000 + 7);
  it("waits until X-Rate-Limit-Reset (a Unix time in seconds), never less than nothing", () => {
    assert.equal(retryHintMs(headers({ "x-rate-limit-reset": reset }), now), 7000);
    assert.equal(retryHintMs(headers({ "x-rate-limit-reset": String(now / 1000 - 5) }), now), 0);
    // Retry-After, when sent too, wins.
    assert.equal(retryHintMs(headers({ "retry-after": "2", "x-rate-limit-reset": reset }), now), 2000);
  });
  it("reads the budget from X-Rate-Limit-Remaining and X-Rate-Limit-Reset", () => {
    assert.deepEqual(
      rateBudget(headers({ "x-rate-limit-remaining": "3", "x-rate-limit-reset": reset }), now),
      { remaining: 3, resetAt: now + 7000 },
    );
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

describe("failures name where they went", () => {
  /** A logger whose JSON lines can be read back (winston hands them to the stream a tick later). */
  function capture() {
    const stream = new PassThrough();
    let text = "";
    stream.on("data", (d: Buffer) => (text += d.toString()));
    const log = createLogger({
      level: "debug",
      format: "json",
      secrets: new SecretSet(),
      runId: "t",
      stream,
    });
    return {
      log,
      lines: () =>
        new Promise<Record<string, unknown>[]>((resolve) =>
          setImmediate(() =>
            resolve(
              text
                .split("\n")
                .filter(Boolean)
                .map((l) => JSON.parse(l) as Record<string, unknown>),
            ),
          ),
        ),
    };
  }
  /** A port nothing listens on: one a server held and gave back. */
  async function closedPort(): Promise<number> {
    const server = http.createServer();
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const { port } = server.address() as { port: number };
    await new Promise<void>((r) => server.close(() => r()));
    return port;
  }

  it("a refused connection: the retry warning and the error name the host and port, never the query", async () => {
    const port = await closedPort();
    const { log, lines } = capture();
    const client = createHttpClient(
      { timeoutMs: 2000, retries: 1, backoffMs: 1, maxRetryWaitMs: 1000 },
      { log, sleep: async () => undefined, random: () => 0.5 },
    );
    const url = new URL(`http://127.0.0.1:${port}/oncalls?since=2026-11-22T10%3A00%3A00Z&secret=q-s3cr3t`);
    await assert.rejects(client.request("GET", url, { headers: {} }), (err) => {
      assert.ok(err instanceof HttpError);
      assert.equal(err.message, `GET /oncalls: network error ECONNREFUSED 127.0.0.1:${port} after 2 tries`);
      return true;
    });
    const warnings = (await lines()).map(({ timestamp: _t, ...rest }) => rest);
    assert.deepEqual(warnings, [
      {
        level: "warn",
        message: "request failed, retrying",
        request: "GET /oncalls",
        url: `http://127.0.0.1:${port}/oncalls`,
        failure: `network error ECONNREFUSED 127.0.0.1:${port}`,
        attempt: 1,
        waitMs: 1,
        runId: "t",
      },
    ]);
  });

  it("a timeout names the host and the port the scheme implies", async () => {
    const server = http.createServer(() => undefined); // never answers
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const { port } = server.address() as { port: number };
    const client = createHttpClient(
      { timeoutMs: 100, retries: 0, backoffMs: 1, maxRetryWaitMs: 1000 },
      { log: createSilentLogger(), sleep: async () => undefined },
    );
    try {
      await assert.rejects(client.request("GET", new URL(`http://127.0.0.1:${port}/slow`), { headers: {} }), {
        message: `GET /slow: no answer from 127.0.0.1:${port} within 100ms after 1 tries`,
      });
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
    assert.equal(hostPort(new URL("https://api.pagerduty.com/oncalls")), "api.pagerduty.com:443");
    assert.equal(hostPort(new URL("http://localhost/x")), "localhost:80");
  });

  it("a request's own timeout (a target's timeout:) replaces the client's", async () => {
    const server = http.createServer(() => undefined); // never answers
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const { port } = server.address() as { port: number };
    const client = createHttpClient(
      { timeoutMs: 600_000, retries: 0, backoffMs: 1, maxRetryWaitMs: 1000 },
      { log: createSilentLogger(), sleep: async () => undefined },
    );
    try {
      const url = new URL(`http://127.0.0.1:${port}/slow`);
      await assert.rejects(client.request("PUT", url, { headers: {}, timeoutMs: 100 }), {
        message: `PUT /slow: no answer from 127.0.0.1:${port} within 100ms after 1 tries`,
      });
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
