import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { escapeMrkdwn, slackMessage } from "./index.js";

describe("slack messages", () => {
  it("escape what Slack reads as mentions, links and entities, and control characters", () => {
    assert.equal(
      escapeMrkdwn("<!channel> & <@U1|x>\u0007\nline\u202e"),
      "&lt;!channel&gt; &amp; &lt;@U1|x&gt;  line ",
    );
  });

  it("keep a section within Slack's 3000 characters, never cutting an entity in half", () => {
    const m = slackMessage({
      id: "0123456789abcdef01234567",
      type: "failed",
      kind: "grant",
      at: "2026-11-22T09:00:00Z",
      identity: "alice@example.com",
      target: "t",
      resource: "db",
      error: "<".repeat(1000),
    });
    const section = (m.blocks[0] as { text: { text: string } }).text.text;
    assert.ok(section.length <= 3000, String(section.length));
    assert.match(section, /(&lt;)+…$/);
    assert.match(m.text, /^Access grant failed: alice@example\.com on db on t\n/);
  });
});
