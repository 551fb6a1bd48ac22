import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LIMIT, PagingError, readAllPages, type FetchPage } from "./paging.js";
import type { Page } from "./schema.js";

/**
 * A list of `size` numbers served the way PagerDuty pages it, with `lie` changing the answer for one
 * offset. Records the requests (offset, and whether the total was asked).
 */
function serve(size: number, lie: (page: Page<number>) => Page<number> = (p) => p) {
  const requests: string[] = [];
  const all = Array.from({ length: size }, (_, i) => i);
  const fetchPage: FetchPage<number> = async (offset, opts) => {
    requests.push(`${offset}${opts.total ? "+total" : ""}`);
    return lie({
      items: all.slice(offset, offset + LIMIT),
      more: offset + LIMIT < size,
      total: opts.total ? size : null,
      offset,
      limit: LIMIT,
    });
  };
  return { fetchPage, requests, all };
}

const at =
  (offset: number, change: (p: Page<number>) => Partial<Page<number>>) =>
  (p: Page<number>): Page<number> =>
    p.offset === offset ? { ...p, ...change(p) } : p;

async function refused(size: number, lie: (p: Page<number>) => Page<number>, message: string) {
  const { fetchPage } = serve(size, lie);
  await assert.rejects(readAllPages("GET /oncalls", fetchPage, 4), (err: unknown) => {
    assert.ok(err instanceof PagingError, String(err));
    assert.equal(
      err.message,
      `GET /oncalls: inconsistent paging at ${message}; nothing is planned from this answer (the list may have changed while it was read: the next run reads it again)`,
    );
    return true;
  });
}

describe("PagerDuty offset paging", () => {
  it("reads every entry: the first page asks for the total, the others follow it", async () => {
    const { fetchPage, requests, all } = serve(250);
    assert.deepEqual(await readAllPages("GET /oncalls", fetchPage, 4), all);
    assert.deepEqual(requests.sort(), ["0+total", "100", "200"]);
  });

  it("a list that fills its last page exactly ends there, and an empty list is one page", async () => {
    const full = serve(200);
    assert.deepEqual(await readAllPages("GET /oncalls", full.fetchPage, 4), full.all);
    assert.deepEqual(full.requests.sort(), ["0+total", "100"]);
    const empty = serve(0);
    assert.deepEqual(await readAllPages("GET /oncalls", empty.fetchPage, 4), []);
    assert.deepEqual(empty.requests, ["0+total"]);
  });

  it("without a total, walks the pages one by one to the one that says no more", async () => {
    const { fetchPage, requests, all } = serve(250, (p) => ({ ...p, total: null }));
    assert.deepEqual(await readAllPages("GET /oncalls", fetchPage, 4), all);
    assert.deepEqual(requests, ["0+total", "100", "200"]);
  });

  it("refuses an empty middle page that says there are more", () =>
    refused(
      250,
      at(100, () => ({ items: [] })),
      "offset 100: a page with no entries says there are more (more: true)",
    ));

  it("refuses a short middle page that says there are more", () =>
    refused(
      250,
      at(100, (p) => ({ items: p.items.slice(0, 60) })),
      "offset 100: a page of 60 entries (not 100) says there are more (more: true)",
    ));

  it("refuses the same lies when walking without a total", () =>
    refused(
      250,
      (p) => ({ ...p, total: null, ...(p.offset === 100 ? { items: p.items.slice(0, 60) } : {}) }),
      "offset 100: a page of 60 entries (not 100) says there are more (more: true)",
    ));

  it("refuses a total smaller than what exists", () =>
    refused(
      250,
      at(0, () => ({ total: 150 })),
      "offset 100: 100 entries where the total of 150 announced on the first page leaves 50",
    ));

  it("refuses a total larger than what exists", () =>
    refused(
      250,
      at(0, () => ({ total: 300 })),
      "offset 200: 50 entries where the total of 300 announced on the first page leaves 100",
    ));

  it("refuses more: false on a page before the last", () =>
    refused(
      250,
      at(100, () => ({ more: false })),
      "offset 100: more: false on a page before the last (the total is 250)",
    ));

  it("refuses a last page that holds more than the total leaves for it", () =>
    refused(
      250,
      at(200, (p) => ({ items: [...p.items, ...Array.from({ length: 50 }, (_, i) => 250 + i)], more: true })),
      "offset 200: 100 entries where the total of 250 announced on the first page leaves 50",
    ));

  it("refuses more: true on a last page that holds what the total leaves for it", () =>
    refused(
      200,
      at(100, () => ({ more: true })),
      "offset 100: more: true on what the total of 200 makes the last page",
    ));

  it("refuses a page for another offset, or with another limit", async () => {
    await refused(
      250,
      at(100, () => ({ offset: 0 })),
      "offset 100: the answer is for offset 0",
    );
    await refused(
      250,
      at(0, () => ({ limit: 25 })),
      "offset 0: the answer has limit 25, not the 100 asked",
    );
  });

  it("refuses a later page whose total differs from the first page's", () =>
    refused(
      250,
      at(200, () => ({ total: 260 })),
      "offset 200: the total is 260 here but 250 on the first page",
    ));

  it("says too-many past the 10,000-offset cap, with or without a total", async () => {
    assert.equal(await readAllPages("GET /oncalls", serve(10_001).fetchPage, 4), "too-many");
    const walked = serve(10_001, (p) => ({ ...p, total: null }));
    assert.equal(await readAllPages("GET /oncalls", walked.fetchPage, 4), "too-many");
    assert.equal(walked.requests.length, 100);
  });
});
