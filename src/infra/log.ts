import { Writable } from "node:stream";
import winston from "winston";
import { sanitizeForTerminal, type SecretSet } from "../core/redact.js";

export type Logger = winston.Logger;
export type LogFormat = "text" | "json";
export type LogLevel = "error" | "warn" | "info" | "debug";

export type LoggerOptions = {
  level: LogLevel;
  format: LogFormat;
  secrets: SecretSet;
  runId: string;
  stream?: NodeJS.WritableStream;
  /**
   * Runs the write of each line. A terminal that also shows a progress line passes one that
   * clears it before the line and draws it again after, so that the two never run together.
   */
  aroundLine?: (write: () => void) => void;
};

/** A stream that hands each chunk (one log line) to `out` through `aroundLine`, synchronously. */
function lineStream(out: NodeJS.WritableStream, aroundLine: (write: () => void) => void): Writable {
  return new Writable({
    decodeStrings: false,
    write(chunk: string | Buffer, _encoding, done) {
      aroundLine(() => out.write(chunk));
      done();
    },
  });
}

/** Logs go to stderr (stdout is for the plan and JSON output): static messages plus fields. */
export function createLogger(opts: LoggerOptions): Logger {
  const redact = winston.format((info) => {
    for (const key of Object.keys(info)) {
      (info as Record<string, unknown>)[key] = opts.secrets.redactDeep(
        (info as Record<string, unknown>)[key],
      );
    }
    return info;
  });
  const text = winston.format.printf((info) => {
    const { level, message, timestamp, runId: _runId, ...rest } = info as Record<string, unknown>;
    const fields = Object.entries(rest)
      .filter(([k]) => typeof k === "string")
      .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
      .join(" ");
    const lvl = String(level).padEnd(5);
    return sanitizeForTerminal(`${String(timestamp)} ${lvl} ${String(message)}${fields ? ` ${fields}` : ""}`);
  });
  return winston.createLogger({
    level: opts.level,
    defaultMeta: { runId: opts.runId },
    format: winston.format.combine(
      redact(),
      winston.format.timestamp(),
      opts.format === "json" ? winston.format.json() : text,
    ),
    transports: [
      new winston.transports.Stream({
        stream: opts.aroundLine
          ? lineStream(opts.stream ?? process.stderr, opts.aroundLine)
          : (opts.stream ?? process.stderr),
      }),
    ],
  });
}

/** A logger that drops everything, for the pure parts' tests. */
export function createSilentLogger(): Logger {
  return winston.createLogger({
    silent: true,
    transports: [new winston.transports.Console({ silent: true })],
  });
}
