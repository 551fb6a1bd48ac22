/**
 * A lookup made at most once per key while the returned function lives (a target, a source or a
 * channel is made for one run): the first call starts it, later calls with the same key share its
 * promise. `key` says which arguments are the same (default: the argument itself); with
 * `retryFailed`, a lookup that failed is made again by the next call instead of failing it too.
 */
export function onceEach<A, V>(
  load: (arg: A) => Promise<V>,
  opts: { key?: (arg: A) => string; retryFailed?: boolean } = {},
): (arg: A) => Promise<V> {
  const started = new Map<string, Promise<V>>();
  return (arg) => {
    const key = opts.key ? opts.key(arg) : String(arg);
    let p = started.get(key);
    if (!p) {
      p = load(arg);
      started.set(key, p);
      if (opts.retryFailed) p.catch(() => started.delete(key));
    }
    return p;
  };
}
