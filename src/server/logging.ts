/**
 * Logging with LogTape, configured from `<logging>`.
 *
 * Our levels, least verbose first: critical, error, warning, info, debug, debug-handling,
 * debug-packets. LogTape's fatal..debug map onto the first five; LogTape's `trace` is
 * debug-packets for loggers in the `["dhcpkit", "packets"]` category and debug-handling for
 * every other category.
 *
 * The main thread owns every output (console, files, syslog); workers forward their records to
 * it in batches through a bounded buffer, so file rotation and syslog connections are handled by
 * one thread only. Every output buffers a bounded number of lines and drops (and counts) what
 * does not fit, so logging never holds up request handling. While a packet is handled, its id
 * (`#XXXXXX`) prefixes every line logged for it. Lines also carry their logger's category, the
 * packet id and client DUID, and the record's properties, for the JSON format.
 * @module
 */

import { configure, type LogLevel, type LogRecord } from "@logtape/logtape";
import { logConfigurationChanged } from "../pipeline/log_gate.ts";
import type { LoggingConfig } from "../config/mod.ts";
import { currentClient, currentPacketId, setPacketId } from "../pipeline/log_context.ts";
import {
  ConsoleOutput,
  FileOutput,
  LEVEL_NUMBERS,
  levelName,
  type LogLine,
  type LogOutput,
  type LogValue,
  SyslogOutput,
} from "./log_outputs.ts";

export type { LogLine } from "./log_outputs.ts";
export { levelName, setPacketId };

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

/** The numeric level of one of our level names (unknown names count as debug-packets). */
export function levelNumber(name: string): number {
  return LEVEL_NUMBERS[name.replace("_", "-")] ?? 5;
}

/** The numeric level of a LogTape record. */
export function recordLevel(record: LogRecord): number {
  switch (record.level) {
    case "fatal":
      return 50;
    case "error":
      return 40;
    case "warning":
      return 30;
    case "info":
      return 20;
    case "debug":
      return 10;
    default:
      return record.category[1] === "packets" ? 5 : 7;
  }
}

function renderValue(v: unknown): string {
  if (typeof v === "string") return v;
  if (v instanceof Error) return `${v.name}: ${v.message}`;
  try {
    return Deno.inspect(v, { colors: false, compact: true, breakLength: Infinity, depth: 4 });
  } catch {
    return String(v);
  }
}

/** The message of a record with its placeholders filled in. */
export function renderMessage(record: LogRecord): string {
  let out = "";
  const parts = record.message;
  for (let i = 0; i < parts.length; i++) out += i % 2 === 0 ? parts[i] : renderValue(parts[i]);
  return out;
}

function logValue(v: unknown): LogValue {
  if (v === null || typeof v === "string" || typeof v === "boolean") return v;
  if (typeof v === "number") return Number.isFinite(v) ? v : String(v);
  if (v === undefined) return null;
  if (typeof v === "bigint") return v.toString();
  return renderValue(v);
}

/** A packet id as the server writes them: `#` and hex digits. */
const PACKET_ID = /^#[0-9A-Fa-f]+$/;

/**
 * Turn a LogTape record into a {@link LogLine}: the message prefixed with the current packet id,
 * the category, the packet id (the current one, else an `id` property that is a packet id), the
 * client being handled and the properties as JSON values.
 */
export function toLogLine(record: LogRecord, process: string): LogLine {
  let message = renderMessage(record);
  const current = currentPacketId();
  if (current && !message.startsWith("#")) message = `${current}: ${message}`;
  const line: LogLine = {
    time: record.timestamp,
    level: recordLevel(record),
    process,
    message,
    logger: record.category.join("."),
  };
  const props = record.properties;
  const propId = props.id;
  const packetId = current ??
    (typeof propId === "string" && PACKET_ID.test(propId) ? propId : undefined);
  if (packetId !== undefined) line.packetId = packetId;
  const client = currentClient();
  if (client !== undefined) line.client = client;
  let properties: Record<string, LogValue> | undefined;
  for (const key in props) {
    if (key === "id" && propId === packetId) continue;
    (properties ??= {})[key] = logValue(props[key]);
  }
  if (properties) line.properties = properties;
  return line;
}

function wantedRecord(record: LogRecord, logMultiprocessing: boolean): boolean {
  return logMultiprocessing || record.category[1] !== "workers" || recordLevel(record) >= 30;
}

/** The most verbose level a logging configuration (plus a `-v` console level) asks for. */
export function wantedLevel(config: LoggingConfig | undefined, consoleLevel?: string): string {
  const handlers = config?.handlers ?? [];
  const consoleSection = handlers.find((h) => h.type === "console");
  let threshold = levelNumber(consoleLevel ?? consoleSection?.values.level ?? "error");
  for (const h of handlers) {
    if (h.type !== "console") threshold = Math.min(threshold, levelNumber(h.values.level));
  }
  return levelName(threshold);
}

/**
 * The main thread's logging: the outputs built from `<logging>` plus the console, and the
 * LogTape configuration that feeds them.
 */
export class LogSystem {
  /** The current outputs. */
  outputs: LogOutput[] = [];
  #logMultiprocessing = false;
  #forwardDrops = 0;
  /** Lines dropped by outputs that were closed since. */
  #retiredDrops: Array<[string, number]> = [];

  /**
   * Build the outputs for `config` and route LogTape to them. Outputs configured as before are
   * kept (with their buffers and counters); kept files are reopened, so a reload also starts new
   * files where an outside tool moved the old ones away.
   */
  async apply(config: LoggingConfig | undefined, consoleLevel?: string): Promise<void> {
    const wanted: Array<{ key: string; make: () => LogOutput; threshold: number }> = [];
    const report = (output: LogOutput, message: string) => this.problem(output, message);
    const handlers = config?.handlers ?? [];
    const consoleSection = handlers.find((h) => h.type === "console");
    const consoleThreshold = levelNumber(
      consoleLevel ?? (consoleSection ? consoleSection.values.level : "error"),
    );
    const consoleValues = consoleSection?.type === "console" ? consoleSection.values : undefined;
    const color = consoleValues?.color;
    const consoleFormat = consoleValues?.format;
    wanted.push({
      key: `console|${color}|${consoleFormat}`,
      threshold: consoleThreshold,
      make: () =>
        new ConsoleOutput({ threshold: consoleThreshold, color, format: consoleFormat, report }),
    });
    for (const h of handlers) {
      if (h.type === "file") {
        const v = h.values;
        const threshold = levelNumber(v.level);
        wanted.push({
          key: `file|${v.path}|${v.rotate}|${v.size}|${v.keep}|${v.format}`,
          threshold,
          make: () => {
            const out = new FileOutput({ ...v, threshold, report });
            try {
              out.open();
            } catch (e) {
              queueMicrotask(() =>
                report(out, `cannot open log file ${v.path}: ${(e as Error).message}`)
              );
            }
            return out;
          },
        });
      } else if (h.type === "syslog") {
        const v = h.values;
        const threshold = levelNumber(v.level);
        const dest = v.destination
          ? (v.destination.kind === "socket"
            ? v.destination.path
            : `${v.destination.host}:${v.destination.port}`)
          : "";
        wanted.push({
          key: `syslog|${dest}|${v.facility}|${v.protocol}|${v.format}`,
          threshold,
          make: () =>
            new SyslogOutput({
              threshold,
              destination: v.destination,
              facility: v.facility,
              protocol: v.protocol,
              format: v.format,
              report,
            }),
        });
      }
    }
    const old = this.outputs;
    const next: LogOutput[] = [];
    const kept: LogOutput[] = [];
    for (const w of wanted) {
      const i = old.findIndex((o) => o.key === w.key && !next.includes(o));
      if (i >= 0) {
        old[i].threshold = w.threshold;
        next.push(old[i]);
        kept.push(old[i]);
      } else {
        const out = w.make();
        out.key = w.key;
        next.push(out);
      }
    }
    this.outputs = next;
    this.#logMultiprocessing = config?.logMultiprocessing ?? false;
    for (const o of old) {
      if (!next.includes(o)) {
        this.#retiredDrops.push([o.name, o.dropped]);
        o.close().catch(() => {});
      }
    }
    await configure({
      reset: true,
      sinks: {
        main: (record: LogRecord) => {
          if (wantedRecord(record, this.#logMultiprocessing)) {
            this.dispatch(toLogLine(record, "Main"));
          }
        },
      },
      loggers: [
        { category: ["dhcpkit"], lowestLevel: toLogTapeLevel(this.level), sinks: ["main"] },
        { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["main"] },
      ],
    });
    logConfigurationChanged();
    await this.#reopenFiles(kept);
  }

  /**
   * Close every log file and open it again at its configured path (after logrotate or an
   * operator renamed it, new lines go to a new file there). Lines logged meanwhile are kept and
   * written to the new files. Returns one line per file that could not be opened again (empty
   * when all went well); those problems are also logged through the other outputs.
   */
  reopen(): Promise<string[]> {
    return this.#reopenFiles(this.outputs);
  }

  async #reopenFiles(outputs: readonly LogOutput[]): Promise<string[]> {
    const files = outputs.filter((o): o is FileOutput => o instanceof FileOutput);
    const results = await Promise.all(files.map(async (file) => {
      try {
        await file.reopen();
        return undefined;
      } catch (e) {
        const message = `cannot reopen log file ${file.path}: ${(e as Error)?.message ?? e}`;
        this.problem(file, message);
        return message;
      }
    }));
    return results.filter((r): r is string => r !== undefined);
  }

  /** The most verbose level any output wants (our level name). */
  get level(): string {
    return levelName(Math.min(...this.outputs.map((o) => o.threshold), 50));
  }

  /** Whether pool-machinery records below warning are wanted. */
  get logMultiprocessing(): boolean {
    return this.#logMultiprocessing;
  }

  /** Send a line to every output that wants it. */
  dispatch(line: LogLine): void {
    for (const o of this.outputs) o.write(line);
  }

  /** Send lines forwarded by a worker; `dropped` lines did not fit in the worker's buffer. */
  dispatchMany(lines: readonly LogLine[], dropped = 0): void {
    for (const line of lines) this.dispatch(line);
    if (dropped > 0) {
      if (this.#forwardDrops === 0) {
        this.problem(
          undefined,
          `a worker logged more than its buffer holds; ${dropped} lines dropped (counted from now on)`,
        );
      }
      this.#forwardDrops += dropped;
    }
  }

  /** Report an output problem through every other output (the console always exists). */
  problem(output: LogOutput | undefined, message: string): void {
    const line: LogLine = { time: Date.now(), level: 40, process: "Main", message };
    for (const o of this.outputs) if (o !== output) o.write({ ...line });
  }

  /** Lines dropped per output (outputs closed by a reload included). */
  drops(): Array<[string, number]> {
    const totals = new Map<string, number>();
    if (this.#forwardDrops) totals.set("worker forwarding", this.#forwardDrops);
    for (const [n, d] of this.#retiredDrops) totals.set(n, (totals.get(n) ?? 0) + d);
    for (const o of this.outputs) totals.set(o.name, (totals.get(o.name) ?? 0) + o.dropped);
    return [...totals];
  }

  /** Wait until every output has written what it has queued. */
  async flush(): Promise<void> {
    await Promise.all(this.outputs.map((o) => o.flush()));
  }

  /** Flush and close every output except the console. */
  async close(): Promise<void> {
    const keep: LogOutput[] = this.outputs.filter((o) => o instanceof ConsoleOutput);
    await Promise.all(this.outputs.filter((o) => !keep.includes(o)).map((o) => o.close()));
    this.outputs = keep;
    await Promise.all(keep.map((o) => o.flush()));
  }
}

/** The process-wide main-thread logging. */
export const logSystem: LogSystem = new LogSystem();

/** Log to stderr at `level` (our level names) until a configuration is applied. */
export async function setupConsoleLogging(level: string): Promise<void> {
  await logSystem.apply(undefined, level);
}

/** A batch of forwarded lines, plus how many were dropped since the last batch. */
export type ForwardLogs = (lines: LogLine[], dropped: number) => void;

/**
 * Logging inside a worker: records at or above `level` are rendered (with the packet id) and
 * forwarded to the main thread in batches; at most `capacity` lines wait per batch, the rest is
 * dropped and counted.
 */
export async function setupWorkerLogging(
  level: string,
  workerId: number,
  forward: ForwardLogs,
  logMultiprocessing = false,
  capacity = 2000,
): Promise<void> {
  const process = `Worker-${workerId}`;
  const threshold = levelNumber(level);
  let pending: LogLine[] = [];
  let dropped = 0;
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    const lines = pending;
    const lost = dropped;
    pending = [];
    dropped = 0;
    if (lines.length || lost) forward(lines, lost);
  };
  await configure({
    reset: true,
    sinks: {
      forward: (record: LogRecord) => {
        if (recordLevel(record) < threshold || !wantedRecord(record, logMultiprocessing)) return;
        if (pending.length >= capacity) {
          dropped++;
        } else {
          pending.push(toLogLine(record, process));
        }
        if (!scheduled) {
          scheduled = true;
          queueMicrotask(flush);
        }
      },
    },
    loggers: [
      { category: ["dhcpkit"], lowestLevel: toLogTapeLevel(level), sinks: ["forward"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["forward"] },
    ],
  });
  logConfigurationChanged();
}
