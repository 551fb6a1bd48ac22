/** Half-open intervals in epoch milliseconds: [start, end). */
export type Interval = { start: number; end: number };

/** Sorts and merges intervals that overlap or touch (one ends where the next begins). O(n log n). */
export function mergeIntervals<T extends Interval>(items: readonly T[], combine?: (a: T, b: T) => T): T[] {
  const sorted = [...items].sort((a, b) => a.start - b.start || a.end - b.end);
  const out: T[] = [];
  for (const cur of sorted) {
    const last = out[out.length - 1];
    if (last && cur.start <= last.end) {
      const merged = combine ? combine(last, cur) : { ...last };
      merged.end = Math.max(last.end, cur.end);
      merged.start = last.start;
      out[out.length - 1] = merged;
    } else {
      out.push({ ...cur });
    }
  }
  return out;
}

/** The parts of `from` not covered by any of `cover` (which need not be sorted or disjoint). */
export function subtractIntervals(from: Interval, cover: readonly Interval[]): Interval[] {
  const pieces: Interval[] = [];
  let cursor = from.start;
  for (const c of mergeIntervals(cover)) {
    if (c.end <= cursor || c.start >= from.end) continue;
    if (c.start > cursor) pieces.push({ start: cursor, end: Math.min(c.start, from.end) });
    cursor = Math.max(cursor, c.end);
    if (cursor >= from.end) break;
  }
  if (cursor < from.end) pieces.push({ start: cursor, end: from.end });
  return pieces;
}

export function overlaps(a: Interval, b: Interval): boolean {
  return a.start < b.end && b.start < a.end;
}
