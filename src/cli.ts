import { main, type StopControl } from "./main.js";

/** A second signal must not wait for anything that hangs: the clean-up gets this long. */
const HARD_STOP_CLEANUP_MS = 2_000;

/**
 * SIGINT and SIGTERM, for a command that stops gracefully (sync): the first asks the run to stop (no
 * further call, calls under way finish and are recorded, report, metrics, lock released, exit 130 or
 * 143); a second ends the process at once, after removing the lock if this run holds it. For other
 * commands a signal ends the process at once, as by default.
 */
function watchSignals(): StopControl & { dispose(): void } {
  const controller = new AbortController();
  const cleanups = new Set<() => Promise<void>>();
  let graceful = false;
  let ending = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (graceful && !controller.signal.aborted) {
      controller.abort(signal);
      return;
    }
    if (ending) return;
    ending = true;
    // NOTE: the handlers stay until the clean-up is done: execa's exit hook (signal-exit) re-raises a
    // signal at once when it finds itself the only listener, which would skip the clean-up.
    const timer = new Promise((resolve) => setTimeout(resolve, HARD_STOP_CLEANUP_MS).unref());
    void Promise.race([Promise.allSettled([...cleanups].map((c) => c())), timer]).then(() => {
      dispose();
      // With these handlers gone the signal has its default effect: the process ends by it.
      process.kill(process.pid, signal);
    });
  };
  const dispose = () => {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return {
    signal: controller.signal,
    graceful: () => {
      graceful = true;
    },
    onHardStop: (cleanup) => {
      cleanups.add(cleanup);
      return () => cleanups.delete(cleanup);
    },
    dispose,
  };
}

const stop = watchSignals();
try {
  // Set the exit code rather than calling process.exit(), so that logs and output flush first.
  process.exitCode = await main(process.argv.slice(2), {
    env: process.env,
    cwd: process.cwd(),
    stdout: process.stdout,
    stderr: process.stderr,
    stop,
  });
} finally {
  stop.dispose();
}
