/**
 * What the server needs from a UDP I/O backend (`io-backend deno` or `ffi`): open the sockets of
 * the listener plans as root, start answering on them, reload in place, collect statistics and
 * stop. The server's life cycle is written once against this interface.
 * @module
 */

import type { ServerConfig } from "../../config/mod.ts";
import type {
  ExplainTrace,
  ExtensionStatisticsDelta,
  IncomingPacket,
  StatisticsStore,
} from "../../pipeline/mod.ts";
import type { Duid } from "../../protocol/mod.ts";
import type { Engine } from "../engine.ts";
import type { ListenerPlan } from "../listener_plan.ts";
import type { LogLine } from "../log_outputs.ts";
import type { LatencyHistogram } from "../metrics.ts";
import type { BatchDelayReport, EngineInit } from "../wire.ts";
import type { TransactionSink } from "../transactions.ts";
import type { TransactionRecord } from "../transactions.ts";
import { DenoBackend } from "./deno_backend.ts";
import { FfiBackend, ffiUnavailable } from "./ffi_backend.ts";

/** What a backend builds its engines from. */
export interface BackendInit {
  /** The configuration. */
  config: ServerConfig;
  /** The configuration snapshot for engines built in workers. */
  engine: EngineInit;
  /** The server DUID. */
  serverDuid: Duid;
  /** Where an engine of the main thread counts (workers count in their own and report deltas). */
  stats: StatisticsStore;
  /** Where an engine of the main thread times requests. */
  latency: LatencyHistogram;
  /** Where an engine of the main thread puts its transaction summaries (`<web-ui>`). */
  transactions?: TransactionSink;
}

/** Where a backend reports. */
export interface IoEvents {
  /** Statistics deltas from workers. */
  stats(delta: Array<[string, number[]]>): void;
  /** Request-latency histogram deltas from workers. */
  latency(delta: number[]): void;
  /** What extensions counted in workers. */
  extensions(delta: ExtensionStatisticsDelta): void;
  /** Summaries of requests handled in workers (`<web-ui>` configured). */
  transactions?(records: TransactionRecord[]): void;
  /** An I/O worker's `io-batch-delay` changed (`ffi` backend). */
  batchDelay?(report: BatchDelayReport): void;
  /** An error nothing caught in the main thread (counted towards `max-exceptions`). */
  failure(message: string): void;
  /** An error of a worker (logged; the supervisor replaces a worker with too many). */
  workerError(message: string): void;
  /** A dead or failing worker was replaced (`worker_restarts`). */
  workerRestarted(): void;
  /** Replacing workers keeps failing: stop the server. */
  fatal(message: string): void;
  /** Log lines forwarded by workers. */
  logs(lines: LogLine[], dropped: number): void;
  /** A packet was dropped before handling because every worker was busy. */
  queueFull(id: string): void;
}

/** A UDP I/O backend (see the module documentation). */
export interface IoBackend {
  /** Which one it is. */
  readonly kind: "deno" | "ffi";
  /** The listener plans it was opened with. */
  readonly plans: readonly ListenerPlan[];
  /** For the ready line: how many threads answer, when that says something (else empty). */
  readonly threadsNote: string;
  /** The main thread's engine, when it answers requests itself (TCP queries may share it). */
  readonly engine?: Engine;
  /**
   * Bind the sockets of `plans` (synchronously: run it as root), taking over the sockets of
   * `previous` with equal keys instead of opening them again. Throws `ListenerError`; then
   * nothing stays open and `previous` keeps its sockets.
   */
  open(plans: readonly ListenerPlan[], previous?: IoBackend): void;
  /**
   * Start answering: build the engines (in workers or the main thread) and receive. Throws when
   * that fails; {@link IoBackend.stop} then releases what was opened.
   */
  start(init: BackendInit, events: IoEvents): Promise<void>;
  /** Whether {@link IoBackend.reload} can switch to `config` (same listeners and threads). */
  canReload(plans: readonly ListenerPlan[], config: ServerConfig): boolean;
  /**
   * Switch to a new configuration on the same sockets in two phases: every engine is built, then
   * all switch (or, when one cannot be built, none does and this rejects). The old engines answer
   * what waits for lookups, then close.
   */
  reload(init: BackendInit): Promise<void>;
  /** Have the workers report what they counted so far. */
  flushStats(): Promise<void>;
  /**
   * Explain how the pipeline in use answers `packet` (a dry run, in a worker when there are
   * workers); rejects when nothing answers within `timeoutMs`.
   */
  explain(packet: IncomingPacket, timeoutMs: number): Promise<ExplainTrace>;
  /** Static assignments per source of the engines in use. */
  staticAssignments(): Array<[string, number]>;
  /**
   * Stop receiving, answer what waits for lookups (bounded by `lookup-timeout`), close the
   * engines and the sockets not taken over by another backend. Also for one never started.
   */
  stop(): Promise<void>;
}

/**
 * The backend a configured `io-backend` means in this process: `auto` is `ffi` when
 * {@link ffiUnavailable} finds no obstacle, else `deno`.
 */
export function chooseIoBackend(configured: "auto" | "deno" | "ffi"): "deno" | "ffi" {
  if (configured === "auto") return ffiUnavailable() === undefined ? "ffi" : "deno";
  return configured;
}

/**
 * A new, unopened backend of `kind`, or of the kind `io-backend` (`configured`) means; throws
 * with one line when `io-backend ffi` is asked for where it cannot be used.
 */
export function createBackend(
  kind: "deno" | "ffi" | undefined,
  configured: "auto" | "deno" | "ffi",
): IoBackend {
  const problem = configured === "ffi" && !kind ? ffiUnavailable() : undefined;
  if (problem) throw new Error(problem);
  return (kind ?? chooseIoBackend(configured)) === "ffi" ? new FfiBackend() : new DenoBackend();
}
