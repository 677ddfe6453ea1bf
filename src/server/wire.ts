/**
 * What the main thread and the workers send each other.
 * @module
 */

import type { LogLine } from "./log_outputs.ts";

/** A received packet as sent to a worker. */
export interface WirePacket {
  /** Packet id for logs. */
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

/** A reply a worker asks the main thread to send. */
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

/** How a worker gets its configuration. */
export interface WorkerInit {
  /** Discriminator. */
  kind: "init";
  /** Worker number, for logs. */
  workerId: number;
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
}

/** Main thread -> worker messages. */
export type ToWorker = WorkerInit | { kind: "batch"; packets: WirePacket[] } | { kind: "stop" };

/** Worker -> main thread messages. */
export type FromWorker =
  /** Built its engine; `assignments`: static assignments per source (see Engine). */
  | { kind: "ready"; assignments: Array<[string, number]> }
  | { kind: "init-error"; message: string }
  | {
    kind: "done";
    count: number;
    replies: WireReply[];
    stats: Array<[string, number[]]>;
    /** Latency histogram delta (see LatencyHistogram), when anything was handled. */
    latency?: number[];
  }
  | { kind: "logs"; lines: LogLine[]; dropped: number }
  /** An error nothing in the worker caught (the worker keeps running). */
  | { kind: "exception"; message: string };
