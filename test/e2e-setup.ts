import { mkdir } from "node:fs/promises";
import path from "node:path";
import { runMain, type MainResult } from "./harness.js";
import { makeFakeCli, makeTempDir, writeYaml } from "./helpers.js";

export type FakeCli = Awaited<ReturnType<typeof makeFakeCli>>;

export type Scenario<Fake> = {
  dir: string;
  binDir: string;
  /** The config file (absolute). */
  config: string;
  fake: Fake;
  /** The fake CLIs on PATH, by name. */
  clis: Record<string, FakeCli>;
  /** One run of main() in-process: `[...command, ...args, "-c", config]`, in `dir`, at the scenario's time. */
  run: (args: string[], env?: Record<string, string>) => Promise<MainResult>;
  /** Closes the fake (which fails the test on anything it did not expect) and removes `dir`. */
  cleanup: () => Promise<void>;
};

/**
 * The end-to-end setup every source's tests share: a temp dir, fake CLIs first on PATH, a fake API
 * started by `startFake` (it gets the dir), a config written from `config(fake)`, and `run`, which
 * calls main() with the source's key in the environment and the clock at `now`.
 */
export async function startScenario<Fake extends { close(): Promise<void> }>(opts: {
  startFake: () => Promise<Fake>;
  config: (fake: Fake) => string;
  clis: string[];
  env: Record<string, string>;
  now: string;
  /** Put before the arguments of every run (e.g. `["sync"]`). */
  command?: string[];
}): Promise<Scenario<Fake>> {
  const { dir, cleanup } = await makeTempDir();
  const binDir = path.join(dir, "bin");
  await mkdir(binDir);
  const clis: Record<string, FakeCli> = {};
  for (const name of opts.clis) clis[name] = await makeFakeCli(binDir, name);
  let fake: Fake;
  try {
    fake = await opts.startFake();
  } catch (err) {
    await cleanup();
    throw err;
  }
  const config = await writeYaml(path.join(dir, "shiftgrant.yaml"), opts.config(fake));
  return {
    dir,
    binDir,
    config,
    fake,
    clis,
    run: (args, env = {}) =>
      runMain([...(opts.command ?? []), ...args, "-c", config], {
        binDir,
        cwd: dir,
        env: { ...opts.env, ...env },
        now: opts.now,
      }),
    cleanup: async () => {
      try {
        await fake.close();
      } finally {
        await cleanup();
      }
    },
  };
}
