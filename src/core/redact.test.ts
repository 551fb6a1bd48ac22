import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MAX_REASON_LENGTH, SecretSet, sanitizeReason } from "./redact.js";

describe("redaction of a token in every spelling", () => {
  const TOKEN = 'pd"tok\\en\u0001 é-42';
  const secrets = new SecretSet();
  secrets.add(TOKEN);
  const json = JSON.stringify(TOKEN).slice(1, -1); // pd\"tok\\en\u0001 é-42

  it("redacts the raw value, and its JSON-escaped form in rendered JSON", () => {
    assert.equal(secrets.redact(`token=${TOKEN};`), "token=[REDACTED];");
    assert.equal(
      secrets.redact(JSON.stringify({ message: `401 for ${TOKEN}` })),
      '{"message":"401 for [REDACTED]"}',
    );
  });

  it("redacts a JSON string inside a JSON string (escaped twice)", () => {
    const inner = JSON.stringify({ token: TOKEN });
    const outer = JSON.stringify({ body: inner });
    assert.ok(outer.includes(JSON.stringify(json).slice(1, -1)));
    assert.equal(secrets.redact(outer), '{"body":"{\\"token\\":\\"[REDACTED]\\"}"}');
  });

  it("redacts the URL-encoded, form-encoded, ASCII-escaped and terminal-escaped forms", () => {
    for (const form of [
      encodeURIComponent(TOKEN),
      encodeURIComponent(TOKEN).replace(/%20/g, "+"),
      json.replace("é", "\\u00e9"),
      'pd"tok\\en\\u0001 é-42',
    ]) {
      assert.equal(secrets.redact(`<${form}>`), "<[REDACTED]>", form);
    }
  });

  it("redacts inside values (the logs) and leaves other text alone", () => {
    assert.deepEqual(secrets.redactDeep({ a: [`x ${json} y`], b: 3, c: "plain" }), {
      a: ["x [REDACTED] y"],
      b: 3,
      c: "plain",
    });
  });

  it("takes a value that has no URL form (a lone surrogate) without failing", () => {
    const s = new SecretSet();
    s.add("tok\ud800en-1");
    assert.equal(s.redact('say "tok\ud800en-1"'), 'say "[REDACTED]"');
  });
});

describe("reasons made fit for an argv", () => {
  it("turns control characters and line separators into single spaces", () => {
    assert.equal(
      sanitizeReason("on call: DBA\u0000Primary\r\n\tnight\u007f\u0085shift\u2028end  "),
      "on call: DBA Primary night shift end",
    );
  });

  it("leaves ordinary text (quotes, $, unicode) as it is", () => {
    const text = `acknowledged incident #12: "db" $(down) — café 🔥`;
    assert.equal(sanitizeReason(text), text);
  });

  it(`cuts a long reason to ${MAX_REASON_LENGTH} characters, marking the cut`, () => {
    const cut = sanitizeReason(`x${"y".repeat(1000)}`);
    assert.equal(cut.length, MAX_REASON_LENGTH);
    assert.equal(cut, `x${"y".repeat(MAX_REASON_LENGTH - 2)}…`);
  });
});
