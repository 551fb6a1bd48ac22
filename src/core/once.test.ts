import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { onceEach } from "./once.js";

describe("onceEach", () => {
  it("starts each key's lookup once and shares it; the key function says which arguments are the same", async () => {
    const calls: string[] = [];
    const find = onceEach(
      async (email: string) => {
        calls.push(email);
        return email.length;
      },
      { key: (email) => email.toLowerCase() },
    );
    const [a, b, c] = await Promise.all([find("Alice@x"), find("alice@x"), find("bob@x")]);
    assert.deepEqual([a, b, c], [7, 7, 5]);
    assert.deepEqual(calls, ["Alice@x", "bob@x"]);
  });

  it("keeps a failure unless retryFailed, which makes the next call look again", async () => {
    let n = 0;
    const load = async (_k: string) => {
      n++;
      if (n === 1) throw new Error("first fails");
      return n;
    };
    const kept = onceEach(load);
    await assert.rejects(kept("k"), /first fails/);
    await assert.rejects(kept("k"), /first fails/);
    n = 0;
    const retried = onceEach(load, { retryFailed: true });
    await assert.rejects(retried("k"), /first fails/);
    assert.equal(await retried("k"), 2);
    assert.equal(await retried("k"), 2);
  });
});
