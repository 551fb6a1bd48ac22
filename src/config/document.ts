/** The parsed config document as plain data: telling mappings apart, paths into it, how a value reads. */

export function isMapping(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** The value at a path of the document; undefined where the path leads nowhere. */
export function valueAt(doc: unknown, p: readonly PropertyKey[]): unknown {
  let v: unknown = doc;
  for (const seg of p) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[seg];
  }
  return v;
}

/** A path as problems name it: `rules[0].resources`, `targets."my target".url`. */
export function formatPath(p: readonly PropertyKey[]): string {
  let out = "";
  for (const seg of p) {
    if (typeof seg === "number") out += `[${seg}]`;
    else {
      const s = String(seg);
      const plain = /^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(s);
      out += plain ? (out ? `.${s}` : s) : `${out ? "." : ""}${JSON.stringify(s)}`;
    }
  }
  return out;
}

/** A value as a message shows it. */
export function describe(v: unknown): string {
  if (v === null) return "an empty value";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  if (typeof v === "string") return JSON.stringify(v);
  // Only scalars are left (a number, a boolean, undefined): objects were described above.
  // eslint-disable-next-line @typescript-eslint/no-base-to-string
  return String(v);
}
