/**
 * Every secret the run loaded (tokens, and their URL-encoded forms). The redaction format replaces
 * them in every log line, whatever field they hide in, so that even an error message that embeds a
 * request or a header cannot leak one.
 */
export class SecretSet {
  private readonly values = new Set<string>();

  add(secret: string): void {
    // Very short values would redact ordinary words; a real token is never this short.
    if (secret.length < 4) return;
    this.values.add(secret);
    this.values.add(encodeURIComponent(secret));
  }

  redact(text: string): string {
    let out = text;
    for (const s of this.values) if (out.includes(s)) out = out.split(s).join("[REDACTED]");
    return out;
  }

  /** Deep copy of a value with every secret redacted from its strings. */
  redactDeep<T>(value: T): T {
    return redactValue(value, this, 0) as T;
  }
}

function redactValue(v: unknown, secrets: SecretSet, depth: number): unknown {
  if (typeof v === "string") return secrets.redact(v);
  if (depth > 8 || v === null || typeof v !== "object") return v;
  if (v instanceof Error) return secrets.redact(v.message);
  if (Array.isArray(v)) return v.map((x) => redactValue(x, secrets, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = redactValue(x, secrets, depth + 1);
  return out;
}

/**
 * C0 and C1 controls, DEL, the Unicode line and paragraph separators and the bidirectional overrides
 * (which reorder what a terminal shows).
 */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const NAMED: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/**
 * Makes control characters visible (`\n`, `\t`, `\u001b`), so that data from a source or an API
 * can neither rewrite a terminal nor forge lines of a report or a log (a schedule named
 * "x\nsummary: …"). Apply it to one line or one cell, never to text whose newlines are meant.
 */
export function sanitizeForTerminal(text: string): string {
  return text.replace(CONTROL, (c) => NAMED[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
