/**
 * The `rel="next"` URL of a `Link` header (RFC 8288; several headers arrive joined with ", ", as
 * Okta sends one per relation). A next page on another origin is not followed: the token would go
 * with it. A target that pages by `Link` (okta, github) reads it here.
 */
export function nextLink(link: string | undefined, origin: string): URL | null {
  if (!link) return null;
  for (const m of link.matchAll(/<([^>]*)>\s*;([^,<]*)/g)) {
    if (!/\brel="?next"?/.test(m[2] ?? "")) continue;
    try {
      const u = new URL(m[1] ?? "", origin);
      if (u.origin !== origin)
        throw new Error(`the next page is on ${u.origin}, not ${origin}; not followed`);
      return u;
    } catch (err) {
      if (err instanceof TypeError) return null;
      throw err;
    }
  }
  return null;
}
