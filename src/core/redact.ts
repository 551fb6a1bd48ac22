/** The spellings a value takes in JSON, URLs, forms and terminal-safe text. */
const ENCODINGS: ((s: string) => string)[] = [
  (s) => JSON.stringify(s).slice(1, -1),
  (s) =>
    JSON.stringify(s)
      .slice(1, -1)
      .replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`),
  (s) => encodeURIComponent(s),
  (s) => encodeURIComponent(s).replace(/%20/g, "+"),
  (s) => sanitizeForTerminal(s),
];

/** A form, or none where the value cannot take it (encodeURIComponent refuses a lone surrogate). */
function encoded(s: string, encode: (s: string) => string): string[] {
  try {
    return [encode(s)];
  } catch {
    return [];
  }
}

/**
 * Every secret the run loaded, in every form it may take on its way out. The redaction format
 * replaces them in every log line, whatever field they hide in, so that even an error message that
 * embeds a request or a header cannot leak one.
 *
 * NOTE: redaction must work on values, not on one spelling of them. Output is redacted after it is
 * rendered (JSON, text with control characters made visible), and an API may echo a token back
 * escaped inside its own JSON; a token holding `"`, `\` or a control character then appears only
 * escaped. So each secret is registered with its JSON-escaped, URL-encoded, form-encoded,
 * ASCII-escaped and terminal-escaped forms, and those forms of them (twice encoded: a JSON string
 * inside a JSON string).
 */
export class SecretSet {
  private readonly values = new Set<string>();
  /** Longest first, so that a longer form is replaced whole before a shorter one inside it. */
  private ordered: string[] = [];

  add(secret: string): void {
    // Very short values would redact ordinary words; a real token is never this short.
    if (secret.length < 4) return;
    let forms = [secret];
    for (let round = 0; round < 2; round++)
      forms = forms.flatMap((f) => [f, ...ENCODINGS.flatMap((e) => encoded(f, e))]);
    for (const f of forms) this.values.add(f);
    this.ordered = [...this.values].sort((a, b) => b.length - a.length);
  }

  redact(text: string): string {
    let out = text;
    for (const s of this.ordered) if (out.includes(s)) out = out.split(s).join("[REDACTED]");
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

/** Longest reason passed on: enough for a schedule name or an incident title, short of any argv limit. */
export const MAX_REASON_LENGTH = 300;

/**
 * A reason built from source data (a schedule name, an incident title), made fit for an argv, a
 * header and a log line: every control character (NUL included, which no argv can carry) and line
 * separator becomes a space, runs of spaces shrink to one, and it is cut at MAX_REASON_LENGTH. A
 * stray character in a schedule name must never keep the person on call from getting access.
 */
export function sanitizeReason(text: string): string {
  const clean = text
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, " ")
    .replace(/ {2,}/g, " ")
    .trim();
  return clean.length <= MAX_REASON_LENGTH ? clean : `${clean.slice(0, MAX_REASON_LENGTH - 1)}…`;
}
