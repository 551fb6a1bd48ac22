import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { PassThrough } from "node:stream";
import { describe, it } from "node:test";
import { main } from "../src/main.js";
import { makeFakeCli, makeTempDir, writeYaml } from "./helpers.js";

// The progress line on a terminal's stderr and the log lines written to the same terminal. main()
// runs in-process, so that stderr can be a terminal; what the terminal shows is replayed from the
// bytes written to it.

/** The lines a terminal shows for `raw`: text, `\r` (to column 0), `\n` and ESC [K (clear to end). */
function screen(raw: string): string[] {
  const lines = [""];
  let col = 0;
  for (let i = 0; i < raw.length; i++) {
    const last = lines.length - 1;
    const line = lines[last] as string;
    if (raw.startsWith("\u001b[K", i)) {
      lines[last] = line.slice(0, col);
      i += 2;
    } else if (raw[i] === "\r") col = 0;
    else if (raw[i] === "\n") {
      lines.push("");
      col = 0;
    } else {
      lines[last] = `${line.slice(0, col).padEnd(col)}${raw[i]}${line.slice(col + 1)}`;
      col++;
    }
  }
  return lines;
}

function terminal(): { stream: PassThrough & { isTTY: true; columns: number }; text: () => string } {
  const stream = Object.assign(new PassThrough(), { isTTY: true as const, columns: 100 });
  let text = "";
  stream.on("data", (d: Buffer) => (text += d.toString()));
  return { stream, text: () => text };
}

describe("the progress line on a terminal", () => {
  it("is cleared before each log line and never shares a line with one", async () => {
    const { dir, cleanup } = await makeTempDir("shiftgrant-progress-");
    try {
      const bin = path.join(dir, "bin");
      await mkdir(bin);
      await makeFakeCli(bin, "grant-cmd");
      await writeYaml(
        path.join(dir, "rota.yaml"),
        `
shifts:
  - { schedule: primary, email: alice@example.com, start: 2026-11-22T09:00:00Z, end: 2026-11-22T18:00:00Z }
  - { schedule: primary, email: bob@example.com, start: 2026-11-22T18:00:00Z, end: 2026-11-23T09:00:00Z }
`,
      );
      await writeYaml(
        path.join(dir, "shiftgrant.yaml"),
        `
version: 1
state: ledger.json
sources:
  rota: { type: file, path: rota.yaml }
targets:
  cmd: { type: command, grant: ["grant-cmd", "{identity}", "{resource}"] }
rules:
  - { name: oncall, source: rota, schedules: [primary], target: cmd, resources: [db, k8s] }
`,
      );
      const stderr = terminal();
      const stdout = new PassThrough();
      const code = await main(["sync", "-c", path.join(dir, "shiftgrant.yaml"), "--log-format", "text"], {
        env: {
          PATH: [bin, process.env.PATH].join(path.delimiter),
          SHIFTGRANT_NOW: "2026-11-22T10:00:00Z",
          SHIFTGRANT_TEST_ALLOW_FAKE_NOW: "1",
        },
        cwd: dir,
        stdout,
        stderr: stderr.stream,
      });
      assert.equal(code, 0, stderr.text());
      const raw = stderr.text();
      // Progress was shown (so the test means something), and every line of the screen is a log
      // line: "sync started", a fetch note cleared, four applied actions, "sync finished".
      assert.ok(raw.includes("applying 3/4…"), raw);
      const shown = screen(raw);
      assert.equal(shown.pop(), "", "the progress line is cleared at the end");
      assert.deepEqual(
        shown.map((l) => /^\S+Z (info|warn) +(.+?)(?: [A-Za-z]+=|$)/.exec(l)?.[2] ?? `not a log line: ${l}`),
        [
          "sync started",
          "action applied",
          "action applied",
          "action applied",
          "action applied",
          "sync finished",
        ],
      );
    } finally {
      await cleanup();
    }
  });
});
