/**
 * Log outputs: the console, files (optionally rotated) and syslog. Every output buffers a
 * bounded number of lines and writes them asynchronously, so an output that fails or blocks
 * never holds up request handling: when its buffer is full new lines are dropped and counted,
 * and what went wrong is reported once (and again when it recovers). Console and files write
 * text or JSON lines; syslog messages follow RFC 3164 or RFC 5424.
 * @module
 */

import { asLogFileOwner, openLogFile } from "./log_file_open.ts";
import { lookup } from "node:dns/promises";
import { basename, dirname, join } from "node:path";
import type {
  LogFormat,
  RotateMode,
  SyslogDestination,
  SyslogFacility,
  SyslogFormat,
} from "../config/mod.ts";

/** A value a log line carries in its `properties`: what JSON can hold. */
export type LogValue = string | number | boolean | null;

/** A log line as it travels from a worker to the main thread and into the outputs. */
export interface LogLine {
  /** Milliseconds since the epoch. */
  time: number;
  /** Numeric level: 50 critical, 40 error, 30 warning, 20 info, 10 debug, 7 handling, 5 packet. */
  level: number;
  /** `Main` or `Worker-N`. */
  process: string;
  /** The rendered message. */
  message: string;
  /** The logger's category, dotted (`dhcpkit.pipeline`). */
  logger?: string;
  /** The id (`#XXXXXX`) of the packet the line is about. */
  packetId?: string;
  /** The DUID (hex) of the client whose request the line is about. */
  client?: string;
  /** The values named in the message (and any others the record has). */
  properties?: Record<string, LogValue>;
}

/** Numeric level of each of our level names. */
export const LEVEL_NUMBERS: Readonly<Record<string, number>> = {
  critical: 50,
  error: 40,
  warning: 30,
  warn: 30,
  info: 20,
  debug: 10,
  "debug-handling": 7,
  "debug-packets": 5,
  notset: 0,
};

/** Lowest numeric level of each of our levels, its name and its label in text lines. */
const LEVEL_STEPS: ReadonlyArray<readonly [number, string, string]> = [
  [50, "critical", "CRITICAL"],
  [40, "error", "ERROR"],
  [30, "warning", "WARNING"],
  [20, "info", "INFO"],
  [10, "debug", "DEBUG"],
  [7, "debug-handling", "HANDLING"],
  [0, "debug-packets", "PACKET"],
];

function levelStep(level: number): readonly [number, string, string] {
  return LEVEL_STEPS.find(([min]) => level >= min) ?? LEVEL_STEPS[LEVEL_STEPS.length - 1];
}

/** Our level name for a numeric level (or threshold). */
export function levelName(level: number): string {
  return levelStep(level)[1];
}

/** The name shown in a log line for a numeric level. */
export function levelLabel(level: number): string {
  return levelStep(level)[2];
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, "0");
}

/** Local time as `YYYY-MM-DD hh:mm:ss,mmm` (the original's log time format). */
export function formatTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())},${
      pad(d.getMilliseconds(), 3)
    }`;
}

/** The plain line format: `<time> <process>: [<LEVEL>] <message>`. */
export function formatLine(line: LogLine): string {
  return `${formatTime(line.time)} ${line.process}: [${levelLabel(line.level)}] ${line.message}`;
}

/**
 * The JSON line format: one object with `time` (ISO 8601, UTC), `level` (our level name),
 * `logger`, `process`, `message`, then `packet_id`, `client` and `properties` when the line has
 * them. JSON escapes line breaks, so every line is exactly one object.
 */
export function formatJsonLine(line: LogLine): string {
  const out: Record<string, unknown> = {
    time: new Date(line.time).toISOString(),
    level: levelName(line.level),
    logger: line.logger ?? "dhcpkit",
    process: line.process,
    message: line.message,
  };
  if (line.packetId !== undefined) out.packet_id = line.packetId;
  if (line.client !== undefined) out.client = line.client;
  if (line.properties && Object.keys(line.properties).length > 0) {
    out.properties = line.properties;
  }
  return JSON.stringify(out);
}

/** The function that turns a line into text (without the newline) for a format. */
export function lineFormatter(format: LogFormat | undefined): (line: LogLine) => string {
  return format === "json" ? formatJsonLine : formatLine;
}

const COLOURS: ReadonlyArray<readonly [number, string]> = [
  [50, "\x1b[1;31m"],
  [40, "\x1b[31m"],
  [30, "\x1b[33m"],
  [20, "\x1b[32m"],
  [10, "\x1b[36m"],
  [0, "\x1b[2m"],
];

/** Called when an output starts or stops failing. */
export type ProblemReporter = (output: LogOutput, message: string) => void;

/** Options every output takes. */
export interface OutputOptions {
  /** Least important level written. */
  threshold: number;
  /** Lines buffered before new ones are dropped. */
  capacity?: number;
  /** Told (once) when the output fails, falls behind or recovers. */
  report?: ProblemReporter;
}

/** An output with a bounded buffer and an asynchronous writer. */
export abstract class LogOutput {
  /** Least important level written. */
  threshold: number;
  /** Lines dropped so far (buffer full or write failed). */
  dropped = 0;
  /** Short description for messages and metrics (`console`, `file /var/log/x`, ...). */
  abstract readonly name: string;
  /** Identity of the configuration, so a reload can keep an identical output. */
  key = "";
  readonly #capacity: number;
  #queue: LogLine[] = [];
  #pumping = false;
  #failing = false;
  #overflowing = false;
  #lostSinceProblem = 0;
  #closed = false;
  #idle: Array<() => void> = [];
  #steps: Array<() => void> = [];
  /** Told (once) when the output fails, falls behind or recovers. */
  report: ProblemReporter;

  /** Set up the common parts. */
  constructor(options: OutputOptions) {
    this.threshold = options.threshold;
    this.#capacity = options.capacity ?? 10_000;
    this.report = options.report ?? (() => {});
  }

  /** Queue a line (dropped and counted when the buffer is full or the output is closed). */
  write(line: LogLine): void {
    if (line.level < this.threshold) return;
    if (this.#closed) return;
    if (this.#queue.length >= this.#capacity) {
      this.dropped++;
      this.#lostSinceProblem++;
      if (!this.#overflowing && !this.#failing) {
        this.#overflowing = true;
        this.report(
          this,
          `log output ${this.name} is not keeping up; dropping log lines until it catches up`,
        );
      }
      return;
    }
    this.#queue.push(line);
    if (!this.#pumping) this.#pump();
  }

  /**
   * Run `step` between two deliveries, never while a batch is being written; lines written
   * meanwhile wait in the buffer as usual. Resolves with what `step` returns (rejects with what
   * it throws).
   */
  protected between<T>(step: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#steps.push(() => {
        try {
          resolve(step());
        } catch (e) {
          reject(e);
        }
      });
      if (!this.#pumping) this.#pump();
    });
  }

  async #pump(): Promise<void> {
    this.#pumping = true;
    try {
      while (this.#queue.length > 0 || this.#steps.length > 0) {
        for (const step of this.#steps.splice(0)) step();
        if (this.#queue.length === 0) continue;
        const batch = this.#queue;
        this.#queue = [];
        try {
          await this.deliver(batch);
          if (this.#failing || this.#overflowing) {
            const lost = this.#lostSinceProblem;
            this.#failing = false;
            this.#overflowing = false;
            this.#lostSinceProblem = 0;
            this.report(this, `log output ${this.name} works again; ${lost} lines were lost`);
          }
        } catch (e) {
          this.dropped += batch.length;
          this.#lostSinceProblem += batch.length;
          if (!this.#failing) {
            this.#failing = true;
            this.report(
              this,
              `cannot write to log output ${this.name}: ${
                (e as Error)?.message ?? e
              }; dropping its log lines until it works again`,
            );
          }
          await this.recover(e);
        }
      }
    } finally {
      this.#pumping = false;
      for (const resolve of this.#idle.splice(0)) resolve();
    }
  }

  /** Whether the output was closed. */
  protected get closed(): boolean {
    return this.#closed;
  }

  /** Resolves once everything queued so far has been handled. */
  flush(): Promise<void> {
    if (!this.#pumping && this.#queue.length === 0 && this.#steps.length === 0) {
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Write a batch of lines; throw to report a failure (the batch is then counted as dropped). */
  protected abstract deliver(lines: LogLine[]): Promise<void>;

  /** Called after a failed delivery: reset connections, back off. */
  protected async recover(_error: unknown): Promise<void> {}

  /** Flush (up to `timeoutMs`) and release resources. */
  async close(timeoutMs = 1000): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.flush(),
      new Promise<void>((resolve) => timer = setTimeout(resolve, timeoutMs)),
    ]);
    clearTimeout(timer);
    this.#closed = true;
    this.#queue = [];
    await this.release();
  }

  /** Release files and sockets. */
  protected async release(): Promise<void> {}
}

const encoder = new TextEncoder();

async function writeAll(w: { write(p: Uint8Array): Promise<number> }, data: Uint8Array) {
  let off = 0;
  while (off < data.length) off += await w.write(data.subarray(off));
}

/**
 * Writes to standard error: text lines, coloured by level when asked to (or when stderr is a
 * terminal), or JSON lines (never coloured).
 */
export class ConsoleOutput extends LogOutput {
  /** The output name. */
  readonly name = "console";
  /** Whether lines are coloured. */
  readonly color: boolean;
  readonly #writer: { write(p: Uint8Array): Promise<number> };
  readonly #format: (line: LogLine) => string;

  /** Create the console output; `color` undefined = only when stderr is a terminal. */
  constructor(
    options: OutputOptions & {
      color?: boolean;
      format?: LogFormat;
      writer?: { write(p: Uint8Array): Promise<number> };
    },
  ) {
    super(options);
    this.color = options.format !== "json" &&
      (options.color ?? (Deno.stderr.isTerminal() && !Deno.env.get("NO_COLOR")));
    this.#writer = options.writer ?? Deno.stderr;
    this.#format = lineFormatter(options.format);
  }

  /** Write the batch to stderr. */
  protected async deliver(lines: LogLine[]): Promise<void> {
    const text = lines.map((l) => {
      const plain = this.#format(l);
      if (!this.color) return plain + "\n";
      const colour = COLOURS.find(([min]) => l.level >= min)![1];
      return `${colour}${plain}\x1b[0m\n`;
    }).join("");
    await writeAll(this.#writer, encoder.encode(text));
  }
}

function timeSuffix(mode: RotateMode, ms: number): string {
  const d = new Date(ms);
  const day = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  return mode === "hourly" ? `${day}_${pad(d.getHours())}` : day;
}

/** Start of the period after the one `ms` lies in (local time; weeks start on Monday). */
export function nextRollover(mode: RotateMode, ms: number): number {
  const d = new Date(ms);
  if (mode === "hourly") {
    d.setMinutes(0, 0, 0);
    d.setHours(d.getHours() + 1);
  } else {
    d.setHours(0, 0, 0, 0);
    if (mode === "daily") d.setDate(d.getDate() + 1);
    else d.setDate(d.getDate() + (((8 - d.getDay()) % 7) || 7));
  }
  return d.getTime();
}

/** Options of a file output. */
export interface FileOutputOptions extends OutputOptions {
  /** Path of the log file. */
  path: string;
  /** Rotation; undefined = never. */
  rotate?: RotateMode;
  /** Size that triggers rotation with `rotate: "size"`. */
  size?: number;
  /** Number of rotated files kept. */
  keep?: number;
  /** Line format (default text). */
  format?: LogFormat;
  /** Clock (for tests). */
  now?: () => number;
}

/**
 * Appends to a file. With `rotate size` the file is renamed to `.1` (older ones shift up to
 * `.keep`) when a write would make it larger than `size`; with time rotation it is renamed to
 * `.YYYY-MM-DD` (`.YYYY-MM-DD_HH` hourly) when its period ends and only the newest `keep`
 * rotated files are kept. Only the main thread writes files, so rotation never races. Opening
 * never follows a symbolic link, and opening and rotating run as root only in a folder the
 * service user cannot write (see log_file_open.ts), so the log folder may belong to root; writing
 * uses the open file. When an outside tool such as logrotate renames the file,
 * {@link FileOutput.reopen} starts a new one at the path.
 */
export class FileOutput extends LogOutput {
  /** The output name. */
  readonly name: string;
  /** The path of the log file. */
  readonly path: string;
  readonly #options: FileOutputOptions;
  readonly #now: () => number;
  readonly #format: (line: LogLine) => string;
  #file?: Deno.FsFile;
  #size = 0;
  #periodStart = 0;
  #rollover = Infinity;

  /** Create the output; the file is opened on the first write. */
  constructor(options: FileOutputOptions) {
    super(options);
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#format = lineFormatter(options.format);
    this.path = options.path;
    this.name = `file ${options.path}`;
  }

  /** Open the file now, so that a problem shows at start-up (throws). */
  open(): void {
    this.#openFile();
  }

  /**
   * Close the file and open it again at the configured path, between two writes: after an
   * outside tool renamed the file, new lines go to a new file at the path and none to the renamed
   * one. Lines logged meanwhile wait and are written to the new file. Rejects when the file
   * cannot be opened again (the next write then tries again).
   */
  reopen(): Promise<void> {
    return this.between(() => {
      if (this.closed) return;
      this.#closeFile();
      this.#openFile();
    });
  }

  #openFile(): Deno.FsFile {
    if (this.#file) return this.#file;
    const path = this.#options.path;
    // As root only in a root-only folder, never through a link (see log_file_open.ts).
    const file = openLogFile(path);
    const info = file.statSync();
    this.#size = info.size;
    const mode = this.#options.rotate;
    if (mode && mode !== "size") {
      const since = info.size > 0 && info.mtime ? info.mtime.getTime() : this.#now();
      this.#periodStart = since;
      this.#rollover = nextRollover(mode, since);
    }
    this.#file = file;
    return file;
  }

  /** Append the batch, rotating first when needed. */
  protected async deliver(lines: LogLine[]): Promise<void> {
    const data = encoder.encode(lines.map((l) => this.#format(l) + "\n").join(""));
    let file = this.#openFile();
    const { rotate, size } = this.#options;
    if (
      rotate === "size" && size !== undefined && this.#size > 0 && this.#size + data.length > size
    ) {
      file = asLogFileOwner(this.#options.path, () => this.#rotate());
    } else if (rotate && rotate !== "size" && this.#now() >= this.#rollover) {
      file = asLogFileOwner(this.#options.path, () => this.#rotate());
    }
    await writeAll(file, data);
    this.#size += data.length;
  }

  #rotate(): Deno.FsFile {
    const { path, rotate, keep = 1 } = this.#options;
    this.#file?.close();
    this.#file = undefined;
    if (rotate === "size") {
      try {
        Deno.removeSync(`${path}.${keep}`);
      } catch {
        // not there
      }
      for (let i = keep - 1; i >= 1; i--) {
        try {
          Deno.renameSync(`${path}.${i}`, `${path}.${i + 1}`);
        } catch {
          // not there
        }
      }
      Deno.renameSync(path, `${path}.1`);
    } else if (rotate) {
      Deno.renameSync(path, `${path}.${timeSuffix(rotate, this.#periodStart)}`);
      this.#pruneTimed(keep);
    }
    const file = this.#openFile();
    if (rotate && rotate !== "size") {
      const now = this.#now();
      this.#periodStart = now;
      this.#rollover = nextRollover(rotate, now);
    }
    return file;
  }

  #pruneTimed(keep: number): void {
    const dir = dirname(this.#options.path);
    const base = basename(this.#options.path) + ".";
    const pattern = /^\d{4}-\d{2}-\d{2}(_\d{2})?$/;
    const rotated: string[] = [];
    for (const entry of Deno.readDirSync(dir)) {
      if (entry.name.startsWith(base) && pattern.test(entry.name.slice(base.length))) {
        rotated.push(entry.name);
      }
    }
    rotated.sort();
    for (const name of rotated.slice(0, Math.max(0, rotated.length - keep))) {
      try {
        Deno.removeSync(join(dir, name));
      } catch {
        // someone else removed it
      }
    }
  }

  #closeFile(): void {
    try {
      this.#file?.close();
    } catch {
      // ignore
    }
    this.#file = undefined;
  }

  /** Close the file after a failure so the next write reopens it. */
  protected override recover(): Promise<void> {
    this.#closeFile();
    return Promise.resolve();
  }

  /** Close the file. */
  protected override release(): Promise<void> {
    return this.recover();
  }
}

/** Syslog facility codes (RFC 3164 / 5424). */
export const FACILITY_CODES: Readonly<Record<SyslogFacility, number>> = {
  kern: 0,
  user: 1,
  mail: 2,
  daemon: 3,
  auth: 4,
  security: 4,
  syslog: 5,
  lpr: 6,
  news: 7,
  uucp: 8,
  cron: 9,
  authpriv: 10,
  ftp: 11,
  local0: 16,
  local1: 17,
  local2: 18,
  local3: 19,
  local4: 20,
  local5: 21,
  local6: 22,
  local7: 23,
};

/** Syslog severity for a numeric level. */
export function syslogSeverity(level: number): number {
  if (level >= 50) return 2;
  if (level >= 40) return 3;
  if (level >= 30) return 4;
  if (level >= 20) return 6;
  return 7;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** One RFC 3164 message: `<PRI>Mmm dd hh:mm:ss HOST TAG[PID]: MSG`. */
export function formatSyslog(line: LogLine, facility: number, host: string, tag: string): string {
  const d = new Date(line.time);
  const stamp = `${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, " ")} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  const pri = facility * 8 + syslogSeverity(line.level);
  return `<${pri}>${stamp} ${host} ${tag}[${Deno.pid}]: ${line.process}: ` +
    `[${levelLabel(line.level)}] ${line.message}`;
}

/** Printable US-ASCII without spaces, at most `max` characters; `-` (nil) when empty. */
function syslogField(text: string | undefined, max: number): string {
  const clean = (text ?? "").replace(/[^\x21-\x7e]/g, "").slice(0, max);
  return clean || "-";
}

/**
 * One RFC 5424 message: `<PRI>1 TIMESTAMP HOST APP PID MSGID - MSG`, with the time in UTC to the
 * millisecond, the logger category as MSGID, no structured data, and as MSG the same
 * `process: [LEVEL] message` as in RFC 3164 messages.
 */
export function formatSyslog5424(
  line: LogLine,
  facility: number,
  host: string,
  app: string,
): string {
  const pri = facility * 8 + syslogSeverity(line.level);
  return `<${pri}>1 ${new Date(line.time).toISOString()} ${syslogField(host, 255)} ` +
    `${syslogField(app, 48)} ${Deno.pid} ${syslogField(line.logger, 32)} - ` +
    `${line.process}: [${levelLabel(line.level)}] ${line.message}`;
}

/** The default syslog destination: `/dev/log`, `/var/run/syslog`, else `localhost:514`. */
export function defaultSyslogDestination(): SyslogDestination {
  for (const path of ["/dev/log", "/var/run/syslog"]) {
    try {
      Deno.lstatSync(path);
      return { kind: "socket", path };
    } catch {
      // next
    }
  }
  return { kind: "inet", host: "localhost", port: 514 };
}

/** Options of a syslog output. */
export interface SyslogOutputOptions extends OutputOptions {
  /** Where to send; undefined = {@link defaultSyslogDestination}. */
  destination?: SyslogDestination;
  /** Facility name. */
  facility: SyslogFacility;
  /** Datagrams or a stream connection. */
  protocol: "dgram" | "stream";
  /** Message format (default RFC 3164). */
  format?: SyslogFormat;
  /** Program name in the messages (default `dhcpkit`). */
  tag?: string;
}

const RETRY_MS = 5000;

/**
 * Sends RFC 3164 or RFC 5424 messages to a syslog daemon over a Unix socket (datagram or stream),
 * UDP or TCP. Over a stream RFC 3164 messages end with a newline and RFC 5424 messages are
 * preceded by their length in bytes and a space (octet counting, RFC 6587). A destination that is
 * down is retried every few seconds; meanwhile lines are dropped and counted.
 */
export class SyslogOutput extends LogOutput {
  /** The output name. */
  readonly name: string;
  readonly #destination: SyslogDestination;
  readonly #facility: number;
  readonly #protocol: "dgram" | "stream";
  readonly #format: SyslogFormat;
  readonly #tag: string;
  readonly #host: string;
  readonly #fullHost: string;
  #dgram?: Deno.DatagramConn;
  #localPath?: string;
  #stream?: Deno.Conn;
  #inet?: { hostname: string; port: number };
  #retryAt = 0;

  /** Create the output; the connection is made on the first write. */
  constructor(options: SyslogOutputOptions) {
    super(options);
    this.#destination = options.destination ?? defaultSyslogDestination();
    this.#facility = FACILITY_CODES[options.facility] ?? 3;
    this.#protocol = options.protocol;
    this.#format = options.format ?? "rfc3164";
    this.#tag = options.tag ?? "dhcpkit";
    let host = "localhost";
    try {
      host = Deno.hostname() || host;
    } catch {
      // no permission
    }
    // RFC 3164 wants the short name, RFC 5424 prefers the full one.
    this.#fullHost = host;
    this.#host = host.split(".")[0] || host;
    const d = this.#destination;
    this.name = d.kind === "socket"
      ? `syslog ${d.path}`
      : `syslog ${d.host.includes(":") ? `[${d.host}]` : d.host}:${d.port}`;
  }

  /** Send the batch. */
  protected async deliver(lines: LogLine[]): Promise<void> {
    if (Date.now() < this.#retryAt) throw new Error("destination unavailable, retrying later");
    const rfc5424 = this.#format === "rfc5424";
    const messages = lines.map((l) =>
      rfc5424
        ? formatSyslog5424(l, this.#facility, this.#fullHost, this.#tag)
        : formatSyslog(l, this.#facility, this.#host, this.#tag)
    );
    const d = this.#destination;
    if (this.#protocol === "stream") {
      const conn = await this.#connectStream();
      const framed = rfc5424
        ? messages.map((m) => `${encoder.encode(m).length} ${m}`)
        : messages.map((m) => m + "\n");
      await writeAll(conn, encoder.encode(framed.join("")));
      return;
    }
    const sock = await this.#datagram();
    for (const m of messages) {
      const data = encoder.encode(m);
      if (d.kind === "socket") {
        await sock.send(data, { transport: "unixpacket", path: d.path });
      } else {
        await sock.send(data, { transport: "udp", ...this.#inet! });
      }
    }
  }

  async #resolve(): Promise<{ hostname: string; port: number; family: number }> {
    const d = this.#destination as { kind: "inet"; host: string; port: number };
    const { address, family } = await lookup(d.host);
    return { hostname: address, port: d.port, family };
  }

  async #connectStream(): Promise<Deno.Conn> {
    if (this.#stream) return this.#stream;
    const d = this.#destination;
    if (d.kind === "socket") {
      this.#stream = await Deno.connect({ transport: "unix", path: d.path });
    } else {
      const { hostname, port } = await this.#resolve();
      this.#stream = await Deno.connect({ transport: "tcp", hostname, port });
    }
    return this.#stream;
  }

  async #datagram(): Promise<Deno.DatagramConn> {
    if (this.#dgram) return this.#dgram;
    const d = this.#destination;
    if (d.kind === "socket") {
      // A Unix datagram socket needs a bound address of its own for Deno to send from.
      const dir = Deno.makeTempDirSync({ prefix: "dhcpkit-syslog-" });
      this.#localPath = join(dir, "s");
      this.#dgram = Deno.listenDatagram({ transport: "unixpacket", path: this.#localPath });
    } else {
      const target = await this.#resolve();
      this.#inet = { hostname: target.hostname, port: target.port };
      this.#dgram = Deno.listenDatagram({
        transport: "udp",
        hostname: target.family === 6 ? "::" : "0.0.0.0",
        port: 0,
      });
    }
    return this.#dgram;
  }

  /** Drop the connection and wait a while before trying again. */
  protected override recover(): Promise<void> {
    this.#closeSockets();
    if (Date.now() >= this.#retryAt) this.#retryAt = Date.now() + RETRY_MS;
    return Promise.resolve();
  }

  #closeSockets(): void {
    for (const s of [this.#stream, this.#dgram]) {
      try {
        s?.close();
      } catch {
        // already closed
      }
    }
    this.#stream = undefined;
    this.#dgram = undefined;
    if (this.#localPath) {
      try {
        Deno.removeSync(dirname(this.#localPath), { recursive: true });
      } catch {
        // not ours any more
      }
      this.#localPath = undefined;
    }
  }

  /** Close the connection. */
  protected override release(): Promise<void> {
    this.#closeSockets();
    return Promise.resolve();
  }
}
