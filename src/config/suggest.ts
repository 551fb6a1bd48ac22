/** ` (did you mean "x"?)` for a close match, else "". */
export function suggest(word: string, candidates: string[]): string {
  let best: string | null = null;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== null && bestD <= Math.max(1, Math.floor(word.length / 3))
    ? ` (did you mean "${best}"?)`
    : "";
}

/** ` (did you mean "x"?)` for a close match, else the names defined. */
export function known(word: string, names: string[], what: string): string {
  const close = suggest(word, names);
  if (close) return close;
  return names.length > 0 ? ` (${what} defined: ${names.join(", ")})` : ` (no ${what} are defined)`;
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] as number;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j] as number;
      prev[j] = Math.min(
        (prev[j] as number) + 1,
        (prev[j - 1] as number) + 1,
        diag + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      diag = tmp;
    }
  }
  return prev[b.length] as number;
}
