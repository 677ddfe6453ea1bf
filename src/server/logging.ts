/**
 * Start-up logging: a console sink on stderr at the level `-v` asks for.
 *
 * Levels map onto LogTape's: critical -> fatal, error, warning, info, debug, and the two extra
 * verbose levels debug-handling and debug-packets -> trace.
 * @module
 */

import {
  configure,
  getConsoleSink,
  getTextFormatter,
  type LogLevel,
  reset,
} from "@logtape/logtape";

/** Our level names, least verbose first. */
export const LEVELS = [
  "critical",
  "error",
  "warning",
  "info",
  "debug",
  "debug-handling",
  "debug-packets",
] as const;

/** The LogTape level for one of our level names. */
export function toLogTapeLevel(level: string): LogLevel {
  switch (level.replace("_", "-")) {
    case "critical":
      return "fatal";
    case "error":
      return "error";
    case "warning":
    case "warn":
      return "warning";
    case "info":
      return "info";
    case "debug":
      return "debug";
    default:
      return "trace";
  }
}

/** Our level name for a `-v` count: 0 error, 1 warning, 2 info, 3 debug, 4 debug-handling, 5 debug-packets. */
export function levelForVerbosity(count: number): string {
  return [
    "error",
    "warning",
    "info",
    "debug",
    "debug-handling",
    "debug-packets",
  ][Math.min(Math.max(count, 0), 5)];
}

function formatter(prefix: string) {
  return getTextFormatter({
    timestamp: "date-time",
    value: (v: unknown) => typeof v === "string" ? v : Deno.inspect(v, { colors: false }),
    format: ({ timestamp, level, category, message }) =>
      `${timestamp} ${prefix}${category}: [${level}] ${message}`,
  });
}

/** Log to stderr at `level` (our level names). */
export async function setupConsoleLogging(level: string, prefix = ""): Promise<void> {
  await reset();
  await configure({
    reset: true,
    sinks: { console: getConsoleSink({ formatter: formatter(prefix) }) },
    loggers: [
      { category: ["dhcpkit"], lowestLevel: toLogTapeLevel(level), sinks: ["console"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["console"] },
    ],
  });
}

/** Logging inside a worker: the same console sink, lines marked with the worker number. */
export async function setupWorkerLogging(level: string, workerId: number): Promise<void> {
  await setupConsoleLogging(level, `Worker-${workerId} `);
}
