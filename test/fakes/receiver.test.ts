import assert from "node:assert/strict";
import { test } from "node:test";
import { startReceiver } from "./receiver.js";

test("the receiver is strict: close() fails on a route it does not serve, unless the test allows it", async () => {
  const headers = { authorization: "Bearer t" };
  const strict = await startReceiver({ token: "t" });
  assert.equal((await fetch(`${strict.url}/grant`, { method: "POST", headers, body: "{}" })).status, 404);
  await assert.rejects(strict.close(), /got 1 unexpected request\(s\):\n {2}- POST \/grant: no such route/);

  const lenient = await startReceiver({ token: "t" });
  assert.equal((await fetch(`${lenient.url}/grants/k`, { method: "GET", headers })).status, 404);
  lenient.allow("GET /grants/k");
  await lenient.close();
});
