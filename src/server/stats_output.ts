/**
 * The control socket's statistics output: `stats` (text) and `stats-json`, in the formats of the
 * original DHCPKit so that existing monitoring keeps working.
 * @module
 */

import type { ServerConfig } from "../config/mod.ts";
import { IPv6Prefix, normalizeIPv6, parseIPv6 } from "../protocol/mod.ts";
import {
  MESSAGES_IN,
  MESSAGES_OUT,
  newCounters,
  SCALAR_COUNTERS,
  type ScalarCounter,
  type StatisticsStore,
} from "../pipeline/statistics.ts";
import type { ExtensionStatistics } from "../pipeline/extension_statistics.ts";
import { extensionStatsJson, extensionStatsText } from "./extension_stats_output.ts";
import type { BatchDelaySnapshot } from "./batch_delays.ts";

/** The configured statistics entries, in output order (sorted as the original sorts them). */
export interface StatisticsEntries {
  /** Interface names. */
  interfaces: string[];
  /** Subnet prefixes (canonical text). */
  subnets: string[];
  /** Relay addresses (canonical text). */
  relays: string[];
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

/** The statistics entries a configuration asks for, sorted like the original sorts them. */
export function statisticsEntries(config: ServerConfig): StatisticsEntries {
  const s = config.statistics;
  const interfaces = [...new Set(s.interfaces ?? [])].sort((a, b) => a < b ? -1 : a > b ? 1 : 0);
  const subnets = [...new Map((s.subnets ?? []).map((p) => {
    const prefix = IPv6Prefix.parse(p.text);
    return [prefix.toString(), prefix] as const;
  })).values()]
    .sort((a, b) => compareBytes(a.bytes, b.bytes) || a.length - b.length)
    .map((p) => p.toString());
  const relays = [...new Set((s.relays ?? []).map((a) => normalizeIPv6(a.text)))]
    .sort((a, b) => compareBytes(parseIPv6(a), parseIPv6(b)));
  return { interfaces, subnets, relays };
}

/** Counters of the server process itself (not of requests). */
export interface ServerCounters {
  /** Workers replaced because they died, hung or failed too often. */
  workerRestarts: number;
  /** The `io-batch-delay` of each `ffi` I/O worker (shown when a worker reported one). */
  batchDelay?: BatchDelaySnapshot;
}

/** A wait in ms as the `stats` text shows it. */
const waitText = (seconds: number) => `${Number((seconds * 1000).toFixed(3))} ms`;

/** The `stats` lines of the I/O workers' waits (none when no worker reported one). */
function batchDelayLines(delays: BatchDelaySnapshot | undefined): string[] {
  if (!delays?.workers.length) return [];
  return [
    ...delays.workers.map(([worker, d]) =>
      `- I/O worker ${worker} batch delay: ${waitText(d.seconds)}` +
      (d.chained ? ", before every receive" : "")
    ),
    `- Batch delay raised: ${delays.raised}`,
    `- Batch delay lowered: ${delays.lowered}`,
  ];
}

/** The `io_batch_delay` object of `stats-json` (undefined when no worker reported a wait). */
function batchDelayJson(
  delays: BatchDelaySnapshot | undefined,
): Record<string, unknown> | undefined {
  if (!delays?.workers.length) return undefined;
  const workers = Object.fromEntries(
    delays.workers.map(([worker, d]) => [worker, { seconds: d.seconds, chained: d.chained }]),
  );
  return { workers, raised: delays.raised, lowered: delays.lowered };
}

/** Text labels of the counters, in counter order. */
export const COUNTER_LABELS: readonly string[] = [
  "Incoming packets",
  "Outgoing packets",
  "Unparsable packets",
  "Handling errors",
  "For other server",
  "Do not respond",
  "Use multicast",
  "Unknown query type",
  "Malformed query",
  "Not allowed",
  "Other error",
  "Lookup failures",
  "Lookup timeouts",
  "Lookup overflows",
  "Solicit",
  "Request",
  "Confirm",
  "Renew",
  "Rebind",
  "Release",
  "Decline",
  "InformationRequest",
  "Leasequery",
  "Advertise",
  "Reply",
  "Reconfigure",
  "LeasequeryReply",
  "LeasequeryDone",
  "LeasequeryData",
];

/** Counter indexes from `from` up to (not including) `to`. */
function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

const scalar = (name: ScalarCounter) => SCALAR_COUNTERS.indexOf(name);

/** The blocks of the text output and the counters in each (the original's, then ours). */
const GROUPS: ReadonlyArray<readonly [string, readonly number[]]> = [
  ["Packets", range(0, 2)],
  ["Errors", [
    scalar("unparsable_packets"),
    scalar("handling_errors"),
    scalar("lookup_failures"),
    scalar("lookup_timeouts"),
    scalar("lookup_overflows"),
  ]],
  ["Special replies", range(scalar("for_other_server"), scalar("other_error") + 1)],
  ["Incoming messages", range(SCALAR_COUNTERS.length, SCALAR_COUNTERS.length + MESSAGES_IN.length)],
  [
    "Outgoing messages",
    range(
      SCALAR_COUNTERS.length + MESSAGES_IN.length,
      SCALAR_COUNTERS.length + MESSAGES_IN.length + MESSAGES_OUT.length,
    ),
  ],
];

function counters(store: StatisticsStore, key: string): number[] {
  return store.sets.get(key) ?? newCounters();
}

function textBlock(values: readonly number[]): string[] {
  const lines: string[] = [];
  for (const [title, indexes] of GROUPS) {
    lines.push(`- ${title}`);
    for (const i of indexes) lines.push(`  - ${COUNTER_LABELS[i]}: ${values[i]}`);
  }
  return lines;
}

/**
 * The `stats` output: a `Global` block, then one block per configured category entry, then what
 * `extensions` counted, then the `server` counters.
 */
export function formatStatsText(
  store: StatisticsStore,
  entries: StatisticsEntries,
  extensions?: ExtensionStatistics,
  server?: ServerCounters,
): string {
  const lines = ["Global", ...textBlock(counters(store, "global"))];
  const groups: Array<[string, string, string[]]> = [
    ["Interface", "interface", entries.interfaces],
    ["Subnet", "subnet", entries.subnets],
    ["Relay", "relay", entries.relays],
  ];
  for (const [title, kind, names] of groups) {
    for (const name of names) {
      lines.push("", `${title} ${name}`, ...textBlock(counters(store, `${kind}:${name}`)));
    }
  }
  if (extensions) lines.push(...extensionStatsText(extensions));
  if (server) {
    lines.push("", "Server", `- Worker restarts: ${server.workerRestarts}`);
    lines.push(...batchDelayLines(server.batchDelay));
  }
  return lines.join("\n");
}

/** One statistics set as the ordered object `stats-json` shows. */
export function exportCounters(values: readonly number[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  SCALAR_COUNTERS.forEach((name, i) => out[name] = values[i]);
  const messagesIn: Record<string, number> = {};
  MESSAGES_IN.forEach(([name], i) => messagesIn[name] = values[SCALAR_COUNTERS.length + i]);
  const messagesOut: Record<string, number> = {};
  MESSAGES_OUT.forEach(([name], i) =>
    messagesOut[name] = values[SCALAR_COUNTERS.length + MESSAGES_IN.length + i]
  );
  out.messages_in = messagesIn;
  out.messages_out = messagesOut;
  return out;
}

/**
 * All statistics as the object `stats-json` shows (`extensions` only when they counted; `server`
 * when given).
 */
export function exportStatistics(
  store: StatisticsStore,
  entries: StatisticsEntries,
  extensions?: ExtensionStatistics,
  server?: ServerCounters,
): Record<string, Record<string, unknown>> {
  const category = (kind: string, names: string[]) =>
    Object.fromEntries(names.map((n) => [n, exportCounters(counters(store, `${kind}:${n}`))]));
  const out: Record<string, Record<string, unknown>> = {
    global: exportCounters(counters(store, "global")),
    interfaces: category("interface", entries.interfaces),
    subnets: category("subnet", entries.subnets),
    relays: category("relay", entries.relays),
  };
  const shown = extensions && extensionStatsJson(extensions);
  if (shown) out.extensions = shown;
  if (server) {
    out.server = { worker_restarts: server.workerRestarts };
    const batchDelay = batchDelayJson(server.batchDelay);
    if (batchDelay) out.server.io_batch_delay = batchDelay;
  }
  return out;
}

/** JSON text as Python's `json.dumps` writes it (`", "` and `": "` separators, ASCII only). */
export function pythonJson(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : "null";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "string") {
    return JSON.stringify(value).replace(
      /[\u007f-\uffff]/g,
      (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"),
    );
  }
  if (Array.isArray(value)) return "[" + value.map(pythonJson).join(", ") + "]";
  const parts = Object.entries(value as Record<string, unknown>).map(([k, v]) =>
    `${pythonJson(k)}: ${pythonJson(v)}`
  );
  return "{" + parts.join(", ") + "}";
}

/** The `stats-json` output: one line. */
export function formatStatsJson(
  store: StatisticsStore,
  entries: StatisticsEntries,
  extensions?: ExtensionStatistics,
  server?: ServerCounters,
): string {
  return pythonJson(exportStatistics(store, entries, extensions, server));
}
