import { mapLimit } from "../../infra/pool.js";
import type { Page } from "./schema.js";

/** Entries per page: PagerDuty's largest `limit`. */
export const LIMIT = 100;
/** NOTE: PagerDuty answers 400 when offset + limit exceeds 10,000; a window needing more is split. */
export const OFFSET_CAP = 10_000;

/** A page that contradicts the request or the other pages: the whole list is unusable. */
export class PagingError extends Error {
  constructor(what: string, offset: number, problem: string) {
    super(
      `${what}: inconsistent paging at offset ${offset}: ${problem}; nothing is planned from this answer (the list may have changed while it was read: the next run reads it again)`,
    );
    this.name = "PagingError";
  }
}

export type FetchPage<T> = (offset: number, opts: { total: boolean }) => Promise<Page<T>>;

/**
 * Reads a whole offset-paged list: the first page asks for the total, the rest are fetched
 * concurrently. NOTE: a page's `more` and the first page's `total` are claims, not facts. Planning
 * from a list with a page missing would grant too little and, with `revoke: true`, revoke people
 * still on call, so every page is checked against what was asked (its offset and limit), against
 * itself (a page that says `more` is full) and against the total (each page holds exactly the
 * entries the total leaves for it, and only the last says no `more`). Any contradiction, on any page,
 * fails the whole read. Without a total the pages are walked one by one, with the same checks.
 * Returns "too-many" when the list reaches past PagerDuty's offset cap.
 */
export async function readAllPages<T>(
  what: string,
  fetchPage: FetchPage<T>,
  concurrency: number,
): Promise<T[] | "too-many"> {
  const fetchChecked = async (offset: number, total: boolean): Promise<Page<T>> => {
    const page = await fetchPage(offset, { total });
    checkPage(what, page, offset);
    return page;
  };
  const first = await fetchChecked(0, true);
  const total = first.total;
  if (total === null) {
    const items = [...first.items];
    for (let page = first, offset = LIMIT; page.more; offset += LIMIT) {
      if (offset + LIMIT > OFFSET_CAP) return "too-many";
      page = await fetchChecked(offset, false);
      items.push(...page.items);
    }
    return items;
  }
  if (total > OFFSET_CAP) return "too-many";
  checkAgainstTotal(what, first, 0, total);
  const offsets: number[] = [];
  for (let o = LIMIT; o < total; o += LIMIT) offsets.push(o);
  const rest = await mapLimit(offsets, concurrency, async (offset) => {
    const page = await fetchChecked(offset, false);
    checkAgainstTotal(what, page, offset, total);
    return page.items;
  });
  return [...first.items, ...rest.flat()];
}

/** What any page must agree with: the request, and its own `more`. */
function checkPage<T>(what: string, page: Page<T>, offset: number): void {
  const bad = (problem: string) => new PagingError(what, offset, problem);
  const n = page.items.length;
  if (page.offset !== offset) throw bad(`the answer is for offset ${page.offset}`);
  if (page.limit !== LIMIT) throw bad(`the answer has limit ${page.limit}, not the ${LIMIT} asked`);
  if (n > LIMIT) throw bad(`${n} entries, more than the limit of ${LIMIT}`);
  if (page.more && n < LIMIT) {
    throw bad(
      n === 0
        ? "a page with no entries says there are more (more: true)"
        : `a page of ${n} entries (not ${LIMIT}) says there are more (more: true)`,
    );
  }
}

/** What a page must agree with once the first page has announced the total. */
function checkAgainstTotal<T>(what: string, page: Page<T>, offset: number, total: number): void {
  const bad = (problem: string) => new PagingError(what, offset, problem);
  if (page.total !== null && page.total !== total)
    throw bad(`the total is ${page.total} here but ${total} on the first page`);
  const expected = Math.max(0, Math.min(LIMIT, total - offset));
  if (page.items.length !== expected) {
    throw bad(
      `${page.items.length} entries where the total of ${total} announced on the first page leaves ${expected}`,
    );
  }
  const last = offset + LIMIT >= total;
  if (page.more && last) throw bad(`more: true on what the total of ${total} makes the last page`);
  if (!page.more && !last) throw bad(`more: false on a page before the last (the total is ${total})`);
}
