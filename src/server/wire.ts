/**
 * Everything the main thread and the workers send each other (both kinds of worker: the `deno`
 * backend's request workers and the `ffi` backend's I/O workers, see supervisor.ts), and the
 * control block they share.
 * @module
 */

import type { ExplainTrace, ExtensionStatisticsDelta, IncomingPacket } from "../pipeline/mod.ts";
import type { LogLine } from "./log_outputs.ts";
import type { TransactionRecord } from "./transactions.ts";

/** A received packet as handed to an engine (and sent to a `deno` backend worker). */
export interface WirePacket {
  /** Packet id for logs (see {@link packetId}). */
  id: string;
  /** Index of the listener it came from (replies go out through it). */
  listener: number;
  /** The message bytes. */
  data: Uint8Array;
  /** Sender address. */
  source: string;
  /** Sender port. */
  sourcePort: number;
  /** Server interface name. */
  interfaceName: string;
  /** Listener link address. */
  linkAddress: string;
  /** Sent to a multicast address. */
  multicast: boolean;
  /** Marks of the listener. */
  marks: readonly string[];
}

/** A reply to send. */
export interface WireReply {
  /** Listener to send through. */
  listener: number;
  /** The message bytes. */
  data: Uint8Array;
  /** Destination address. */
  destination: string;
  /** Destination port. */
  port: number;
}

/** The packet id of the `n`th packet, as log lines show it: `#` and six hex digits. */
export function packetId(n: number, prefix = "#"): string {
  return prefix + n.toString(16).toUpperCase().padStart(6, "0");
}

/** What a worker needs to build its engine: the configuration as the main thread read it. */
export interface EngineInit {
  /** Path of the configuration file (or the name given to `configText`). */
  configPath: string;
  /** Configuration text when it does not come from a file (the embedded demo). */
  configText?: string;
  /**
   * The configuration file and its includes as the main thread read them (as root, before
   * dropping privileges), so workers need not be able to read them.
   */
  configFiles?: Record<string, string>;
  /** The server DUID bytes chosen by the main thread. */
  serverDuid: Uint8Array;
  /** Least important level the worker forwards to the main thread's log outputs. */
  logLevel: string;
  /** Also forward worker-pool records below warning. */
  logMultiprocessing?: boolean;
  /** Shared memory for handlers (rate-limit buckets), see `handlers/shared_memory.ts`. */
  sharedBuffers?: Record<string, SharedArrayBuffer>;
  /**
   * Read-only data the main thread built once for this configuration (the `<static-csv>`
   * tables), see `sharedDataFor` in handlers/extension.ts.
   */
  sharedData?: Record<string, unknown>;
}

/** Settings of a worker that a reload may change besides its engine. */
export interface WorkerSettings {
  /** `io-batch-delay`, in seconds (ffi I/O workers); with {@link batchDelayAuto}, the most. */
  batchDelay: number;
  /** `io-batch-delay auto` (ffi I/O workers): the reply delays measured choose the wait. */
  batchDelayAuto?: boolean;
  /** `io-udp-gso` (ffi I/O workers); absent means yes. */
  udpGso?: boolean;
  /**
   * `deno` backend request workers: a counter (one `Int32Array` cell) the worker bumps and
   * notifies after posting replies, so the main thread's `io-batch-delay` wait ends when there
   * are replies to send.
   */
  replied?: SharedArrayBuffer;
}

/** One socket of a listener, as an I/O worker sees it. */
export interface IoSocket {
  /** The descriptor. */
  fd: number;
  /** Whether it receives multicast (used when a datagram carries no IPV6_PKTINFO). */
  multicast: boolean;
}

/** A listener as an ffi I/O worker needs it (plain data). */
export interface IoListener {
  /** Position in the configuration (replies are routed by it). */
  index: number;
  /** For logs: `interface eth0` or `unicast 2001:db8::1`. */
  description: string;
  /** Server interface name put in the internal Interface-ID. */
  interfaceName: string;
  /** Link address put in the internal relay layer. */
  linkAddress: string;
  /** Marks for requests received here. */
  marks: readonly string[];
  /** Sockets to receive from. */
  receive: IoSocket[];
  /** Descriptor replies are sent from. */
  replyFd: number;
  /** Source address of replies (the reply socket's address, without scope). */
  replyFrom: string;
  /** Interface index for link-local destinations and IPV6_PKTINFO (0: none). */
  ifindex: number;
}

/**
 * Indexes in the control `Int32Array` shared with each worker: stop flag, number of messages
 * posted but not yet handled (an I/O worker looks at its event loop while it is not zero), an
 * I/O worker's epoll descriptor (0: none), which the main thread closes when it has to
 * terminate a worker that did not stop, and the heartbeat the worker counts up every
 * {@link HEARTBEAT_MS} while its event loop runs (the supervisor replaces one that stops).
 */
export const CTL_STOP = 0, CTL_PENDING = 1, CTL_EPFD = 2, CTL_BEAT = 3;
/** Number of slots of the control block. */
export const CTL_SIZE = 4;
/** How often a worker counts its heartbeat up, in milliseconds. */
export const HEARTBEAT_MS = 200;

/** Main thread → worker. */
export type ToWorker =
  | {
    kind: "init";
    /** Its number (from 1): the log label and packet ids follow it; a replacement keeps it. */
    workerId: number;
    /** How many workers run side by side (for packet ids unique across them). */
    workers: number;
    engine: EngineInit;
    settings: WorkerSettings;
    /** The control block (see {@link CTL_STOP}). */
    control: SharedArrayBuffer;
    /** The sockets to answer on (ffi I/O workers; empty for the `deno` backend's workers). */
    listeners: IoListener[];
  }
  /** Phase one of a reload: build an engine, keep answering with the old one. */
  | { kind: "reload"; generation: number; engine: EngineInit; settings: WorkerSettings }
  /** Phase two: every worker built it; switch. */
  | { kind: "commit"; generation: number }
  /** Phase two: some worker could not build it; drop it. */
  | { kind: "abort"; generation: number }
  /** Post the statistics counted so far, then answer `flushed`. */
  | { kind: "flush"; seq: number }
  /** Requests to answer (`deno` backend workers). */
  | { kind: "batch"; packets: WirePacket[] }
  /** Explain how the engine in use answers `packet` (a dry run), then answer `explained`. */
  | { kind: "explain"; seq: number; packet: IncomingPacket }
  /** Stop: answer what waits for lookups, close the engines, answer `stopped`. */
  | { kind: "stop" };

/**
 * Where an `ffi` I/O worker's `io-batch-delay` stands (see `DelayGuard`): sent with its statistics
 * when the wait or the chaining changed since its last report.
 */
export interface BatchDelayReport {
  /** The worker (its `workerId`). */
  worker: number;
  /** The wait in force, in seconds: the configured one, or the one `auto` chose. */
  seconds: number;
  /** Whether the worker waits before every receive (`auto`, for a steady stream). */
  chained: boolean;
  /** How often `auto` lengthened its wait (or began chaining) since the last report. */
  raised: number;
  /** How often `auto` shortened its wait (or stopped chaining) since the last report. */
  lowered: number;
}

/** Statistics and latency deltas (see StatisticsStore.drain and LatencyHistogram.drain). */
export interface StatsDelta {
  stats: Array<[string, number[]]>;
  /** Latency histogram delta, when anything was handled. */
  latency?: number[];
  /** What extensions counted in the worker (see ExtensionStatistics.drain), when anything. */
  extensions?: ExtensionStatisticsDelta;
  /** Summaries of the requests handled, when `<web-ui>` records them (see transactions.ts). */
  transactions?: TransactionRecord[];
  /** The worker's `io-batch-delay`, when it changed (`ffi` backend). */
  batchDelay?: BatchDelayReport;
}

/** Worker → main thread. */
export type FromWorker =
  /** Built its engine; `assignments`: static assignments per source (see Engine). */
  | { kind: "ready"; assignments: Array<[string, number]> }
  | { kind: "init-error"; message: string }
  | { kind: "prepared"; generation: number; assignments: Array<[string, number]> }
  | { kind: "reload-error"; generation: number; message: string }
  | { kind: "committed"; generation: number }
  | { kind: "flushed"; seq: number }
  /** The answer to `explain`: the trace, or why there is none. */
  | { kind: "explained"; seq: number; trace?: ExplainTrace; error?: string }
  | ({ kind: "stats" } & StatsDelta)
  /** `count` packets of batches answered (0: requests that waited for lookups). */
  | ({ kind: "done"; count: number; replies: WireReply[] } & StatsDelta)
  | { kind: "logs"; lines: LogLine[]; dropped: number }
  /** An error nothing in the worker caught (the worker keeps running). */
  | { kind: "exception"; message: string }
  | { kind: "stopped" };
