/**
 * `<logging>` and the log handler sections inside it: `<console>`, `<file>` and `<syslog>`.
 *
 * @module
 */

import {
  boolean,
  byteSize,
  choice,
  integer,
  type LogLevel,
  logLevel,
  pathInExistingDir,
  type SyslogDestination,
  syslogDestination,
  type SyslogFacility,
  syslogFacility,
} from "../datatypes.ts";
import { type ConfigSection, defineSection, type KeySpec } from "../schema.ts";

/** Values of `<logging>`. */
export interface LoggingValues {
  /** Also log the workings of the worker pool. */
  logMultiprocessing: boolean;
}

/** Values every log handler has. */
export interface LogHandlerValues {
  /** Messages below this level are not written. */
  level: LogLevel;
}

/** How `<console>` and `<file>` write a line: readable text or one JSON object. */
export type LogFormat = "text" | "json";

/** The syslog message format: RFC 3164 (BSD) or RFC 5424. */
export type SyslogFormat = "rfc3164" | "rfc5424";

/** Values of `<console>`. */
export interface ConsoleLogValues extends LogHandlerValues {
  /** Colour output; undefined = detect whether the terminal supports it. */
  color?: boolean;
  /** Line format. */
  format: LogFormat;
}

/** How a log file is rotated. */
export type RotateMode = "hourly" | "daily" | "weekly" | "size";

/** Values of `<file PATH>`. */
export interface FileLogValues extends LogHandlerValues {
  /** Absolute path of the log file. */
  path: string;
  /** Rotation mode; undefined = never rotate. */
  rotate?: RotateMode;
  /** File size that triggers rotation, in bytes (only with `rotate size`). */
  size?: number;
  /** How many rotated files to keep (only with `rotate`). */
  keep?: number;
  /** Line format. */
  format: LogFormat;
}

/** Values of `<syslog [DEST]>`. */
export interface SyslogLogValues extends LogHandlerValues {
  /** Destination; undefined = the local syslog socket, found at start-up. */
  destination?: SyslogDestination;
  /** Syslog facility. */
  facility: SyslogFacility;
  /** Transport to a network destination. */
  protocol: "dgram" | "stream";
  /** Message format. */
  format: SyslogFormat;
}

const levelKey: KeySpec = {
  name: "level",
  type: logLevel,
  default: "warning",
  description: "The least important level that is still written. From least to most verbose: " +
    "`critical`, `error`, `warning`, `info`, `debug`, `debug-handling` (how each request is " +
    "processed) and `debug-packets` (every packet sent and received).",
  example: "info",
};

const formatKey: KeySpec = {
  name: "format",
  type: choice<LogFormat>("log format", ["text", "json"]),
  default: "text",
  description: "How each line is written: `text` (time, process, level and message, for people) " +
    "or `json`: one JSON object per line for log collectors such as Loki or Elasticsearch, with " +
    "`time` (ISO 8601, UTC), `level`, `logger` (the dotted category, such as " +
    "`dhcpkit.pipeline`), `process` (`Main` or `Worker-N`), `message`, and when the line is " +
    "about a request `packet_id` (the `#XXXXXX` id the text format shows) and `client` (the " +
    "client's DUID in hex); the values named in the message are in `properties`.",
  example: "json",
};

/** `<logging>`: container for the log handlers. */
export const loggingSection = defineSection<LoggingValues>({
  type: "logging",
  kind: "logging",
  description: "Where log messages go. Holds any number of log handler sections; without any, " +
    "the server logs nothing. At most one `<console>` handler is allowed.",
  example: [
    "<logging>",
    "    <console>",
    "        level info",
    "    </console>",
    "    <syslog />",
    "</logging>",
  ].join("\n"),
  keys: [{
    name: "log-multiprocessing",
    type: boolean,
    default: false,
    description: "Also log what the worker pool does (starting and stopping workers). Mainly " +
      "of interest when debugging the server itself.",
    example: "yes",
  }],
  contains: [{ kind: "log-handler" }],
  validate(section, check) {
    const consoles = section.children.filter((c) => c.type === "console");
    for (const extra of consoles.slice(1)) {
      check.error(
        `only one <console> log handler is allowed (the first is at line ${consoles[0].line})`,
        extra.line,
      );
    }
  },
});

/** `<console>`: log to standard error. */
export const consoleSection = defineSection<ConsoleLogValues>({
  type: "console",
  kind: "log-handler",
  description: "Write log messages to the terminal (standard error).",
  example: ["<console>", "    level debug-handling", "    color yes", "</console>"].join("\n"),
  keys: [levelKey, {
    name: "color",
    type: boolean,
    defaultText: "colour when the output is a terminal that supports it",
    description: "Whether to colour log lines by level (text format only).",
    example: "no",
  }, formatKey],
});

/** `<file PATH>`: log to a file, optionally rotating it. */
export const fileSection = defineSection<FileLogValues>({
  type: "file",
  kind: "log-handler",
  description: "Append log messages to a file, given as the section name. The file can be " +
    "rotated by time or by size; rotated files are kept up to the number given by `keep`.",
  example: [
    "<file /var/log/dhcpkit/server.log>",
    "    level info",
    "    rotate daily",
    "    keep 14",
    "</file>",
  ].join("\n"),
  name: {
    type: pathInExistingDir,
    required: true,
    property: "path",
    description: "Path of the log file; relative paths start at the configuration file's folder.",
  },
  keys: [
    levelKey,
    {
      name: "rotate",
      type: choice<RotateMode>("rotation", ["hourly", "daily", "weekly", "size"], {
        hour: "hourly",
        day: "daily",
        week: "weekly",
      }),
      defaultText: "never rotate",
      description: "When to start a new file: `hourly` (or `hour`), `daily` (or `day`), " +
        "`weekly` (or `week`), or `size` when the file reaches `size` bytes.",
      example: "daily",
    },
    {
      name: "size",
      type: byteSize,
      description: "With `rotate size`: the size at which the file is rotated. Accepts `kb`, " +
        "`mb` and `gb` suffixes.",
      example: "100mb",
    },
    {
      name: "keep",
      type: integer(1, 100_000),
      description: "How many rotated files to keep. Required when `rotate` is set.",
      example: "7",
    },
    formatKey,
  ],
  validate(section: ConfigSection<FileLogValues>, check) {
    const v = section.values;
    if (v.rotate === "size" && v.size === undefined) {
      check.error("`rotate size` needs a `size`");
    }
    if (v.size !== undefined && v.rotate !== "size") {
      check.error("`size` is only used with `rotate size`", section.keyLines["size"]);
    }
    if (v.rotate !== undefined && v.keep === undefined) {
      check.error("`rotate` needs `keep`: how many rotated files to keep");
    }
    if (v.keep !== undefined && v.rotate === undefined) {
      check.error("`keep` is only used together with `rotate`", section.keyLines["keep"]);
    }
  },
});

/** `<syslog [DEST]>`: log to a syslog daemon. */
export const syslogSection = defineSection<SyslogLogValues>({
  type: "syslog",
  kind: "log-handler",
  description: "Send log messages to syslog. The optional section name says where: a Unix " +
    "socket path (relative paths start at the configuration file's folder) or `host:port`. " +
    "Without a name the local syslog socket is used (`/dev/log`, `/var/run/syslog`, or " +
    "`localhost:514` when neither exists).",
  example: [
    "<syslog />",
    "",
    "<syslog logs.example.net:514>",
    "    facility local4",
    "    protocol tcp",
    "    format rfc5424",
    "    level info",
    "</syslog>",
  ].join("\n"),
  name: {
    type: syslogDestination,
    required: false,
    property: "destination",
    description: "Syslog destination: a Unix socket path or `host:port`.",
  },
  keys: [
    levelKey,
    {
      name: "facility",
      type: syslogFacility,
      default: "daemon",
      description: "Syslog facility to log under, such as `daemon`, `user` or `local0` to " +
        "`local7`.",
      example: "local3",
    },
    {
      name: "protocol",
      type: choice<"dgram" | "stream">("protocol", ["dgram", "stream"], {
        udp: "dgram",
        tcp: "stream",
      }),
      default: "dgram",
      description: "Transport: datagrams (`dgram` or `udp`) or a stream connection (`stream` or " +
        "`tcp`).",
      example: "tcp",
    },
    {
      name: "format",
      type: choice<SyslogFormat>("syslog format", ["rfc3164", "rfc5424"], {
        bsd: "rfc3164",
      }),
      default: "rfc3164",
      description: "Message format: `rfc3164` (or `bsd`), the traditional " +
        "`<PRI>Mmm dd hh:mm:ss HOST dhcpkit[PID]: ...` that every syslog daemon reads, or " +
        "`rfc5424`: `<PRI>1 TIMESTAMP HOST dhcpkit PID LOGGER - MSG` with a full UTC timestamp " +
        "(milliseconds), the host's full name and the logger category as MSGID. Over a stream " +
        "connection RFC 5424 messages are framed by octet counting (RFC 6587), RFC 3164 ones " +
        "end with a newline.",
      example: "rfc5424",
    },
  ],
});
