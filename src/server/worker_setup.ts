/**
 * The worker side of supervisor.ts, shared by both kinds of worker (the `deno` backend's request
 * workers, worker.ts, and the `ffi` backend's I/O workers, io/io_worker.ts): report stray errors
 * instead of dying, build the engine from the configuration snapshot the main thread sends,
 * rebuild it in two phases on reload, post statistics, and on stop answer what still waits for
 * lookups before closing. What differs between the two kinds is a {@link WorkerRole}.
 * @module
 */

/// <reference lib="deno.worker" />

import { installSharedBuffers, installSharedData } from "../handlers/shared_memory.ts";
import { extensionStatistics } from "../pipeline/mod.ts";
import { Engine, loadServerConfigAsync, snapshotReader } from "./engine.ts";
import { setupWorkerLogging } from "./logging.ts";
import { TransactionBuffer, type TransactionRecord } from "./transactions.ts";
import {
  type BatchDelayReport,
  CTL_BEAT,
  CTL_PENDING,
  CTL_SIZE,
  type EngineInit,
  type FromWorker,
  HEARTBEAT_MS,
  type ToWorker,
  type WireReply,
  type WorkerSettings,
} from "./wire.ts";

/** The summaries `engine` recorded since the last time, if any. */
export function drainTransactions(engine: Engine): TransactionRecord[] | undefined {
  const sink = engine.transactions;
  if (!(sink instanceof TransactionBuffer)) return undefined;
  const records = sink.drain();
  return records.length ? records : undefined;
}

/** The init message of a worker. */
export type InitMessage = Extract<ToWorker, { kind: "init" }>;

/** An error (or anything thrown) as text for the main thread's log. */
export function describeError(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

/** What one kind of worker does with the engine the runtime keeps. */
export interface WorkerRole {
  /** The first engine is built: start working (the ffi I/O loop starts here). */
  started(runtime: WorkerRuntime, init: InitMessage): void;
  /** Requests sent by the main thread (`deno` backend workers). */
  batch?(runtime: WorkerRuntime, message: Extract<ToWorker, { kind: "batch" }>): void;
  /** Replies of requests of `engine` that waited for lookups. */
  settled(runtime: WorkerRuntime, engine: Engine, replies: WireReply[]): void;
  /**
   * Told to stop: stop receiving, then {@link WorkerRuntime.finish}. The ffi I/O loop notices the
   * stop flag itself.
   */
  stop(runtime: WorkerRuntime): void;
}

/** The engines of one worker and its link to the main thread. */
export class WorkerRuntime {
  /** The engine answering new requests. */
  engine?: Engine;
  /** Settings in force (they change with a committed reload). */
  settings: WorkerSettings = { batchDelay: 0 };
  /** What the I/O loop reports with the statistics: its `io-batch-delay`, when it changed. */
  batchDelayReport?: () => BatchDelayReport | undefined;
  /** The control block shared with the main thread (see wire.ts). */
  control: Int32Array<ArrayBufferLike> = new Int32Array(CTL_SIZE);
  /** Reloads whose engine is being built. */
  building = 0;
  /** An engine built for a reload, waiting for the commit or abort. */
  #prepared?: { engine: Engine; generation: number; settings: WorkerSettings };
  /** The reload most recently asked for: an engine built for an older one is dropped. */
  #latest = -1;
  /** Engines replaced by a reload, answering what still waits for lookups. */
  readonly #draining = new Set<Engine>();
  #finished = false;

  /** Create the runtime of `role` (see {@link runWorker}). */
  constructor(readonly role: WorkerRole) {}

  /** Send a message to the main thread. */
  post(message: FromWorker, transfer: Transferable[] = []): void {
    self.postMessage(message, transfer);
  }

  /** Requests of every engine of this worker that wait for lookups. */
  get parked(): number {
    let n = this.engine?.parked ?? 0;
    for (const e of this.#draining) n += e.parked;
    return n;
  }

  /** Post what every engine counted since the last time (nothing when nothing was counted). */
  flushStats(): void {
    for (const e of [this.engine, ...this.#draining]) if (e) this.#postStats(e);
    try {
      // Extensions count per thread, not per engine.
      const extensions = extensionStatistics.drain();
      if (extensions.length) this.post({ kind: "stats", stats: [], extensions });
      const batchDelay = this.batchDelayReport?.();
      if (batchDelay) this.post({ kind: "stats", stats: [], batchDelay });
    } catch (error) {
      this.post({ kind: "exception", message: `collecting statistics: ${describeError(error)}` });
    }
  }

  /** Post what `e` counted since the last time. */
  #postStats(e: Engine): void {
    try {
      const stats = e.stats.drain();
      const latency = e.latency.drain();
      const transactions = drainTransactions(e);
      if (stats.length || latency || transactions) {
        this.post({ kind: "stats", stats, latency, transactions });
      }
    } catch (error) {
      this.post({ kind: "exception", message: `collecting statistics: ${describeError(error)}` });
    }
  }

  /** Build an engine (logging first, on the first one) and route its late replies. */
  async #build(init: EngineInit, workerId: number, first: boolean): Promise<Engine> {
    if (first) {
      await setupWorkerLogging(
        init.logLevel,
        workerId,
        (lines, dropped) => this.post({ kind: "logs", lines, dropped }),
        init.logMultiprocessing ?? false,
      );
    }
    const config = await loadServerConfigAsync(
      init.configPath,
      init.configText,
      false,
      snapshotReader(init.configFiles ?? {}),
    );
    installSharedBuffers(init.sharedBuffers);
    installSharedData(init.sharedData);
    const engine = await Engine.create(config, init.serverDuid);
    engine.settled = (replies) => this.role.settled(this, engine, replies);
    return engine;
  }

  /** Close `engine` once nothing of it waits for lookups; errors are reported. */
  async #retire(engine: Engine | undefined, what: string): Promise<void> {
    if (!engine) return;
    this.#draining.add(engine);
    try {
      await engine.close();
    } catch (e) {
      this.post({ kind: "exception", message: `closing the ${what} engine: ${describeError(e)}` });
    } finally {
      this.#draining.delete(engine);
      this.#postStats(engine); // what it counted while it drained
    }
  }

  /** Handle one message from the main thread. */
  async receive(message: ToWorker): Promise<void> {
    if (message.kind === "init") this.control = new Int32Array(message.control);
    // One message fewer outstanding (the main thread counted it before posting).
    Atomics.sub(this.control, CTL_PENDING, 1);
    switch (message.kind) {
      case "init":
        try {
          this.engine = await this.#build(message.engine, message.workerId, true);
        } catch (e) {
          this.post({ kind: "init-error", message: (e as Error)?.message ?? String(e) });
          return;
        }
        this.settings = message.settings;
        this.post({ kind: "ready", assignments: this.engine.staticAssignments() });
        this.role.started(this, message);
        break;
      case "reload":
        await this.#prepare(message);
        break;
      case "commit": {
        const prepared = this.#prepared;
        if (prepared?.generation !== message.generation) break;
        this.flushStats(); // what the old engine counted
        const old = this.engine;
        this.engine = prepared.engine;
        this.settings = prepared.settings;
        this.#prepared = undefined;
        this.post({ kind: "committed", generation: message.generation });
        await this.#retire(old, "previous");
        break;
      }
      case "abort": {
        if (this.#prepared?.generation !== message.generation) break;
        const stale = this.#prepared;
        this.#prepared = undefined;
        await this.#retire(stale.engine, "unused");
        break;
      }
      case "flush":
        this.flushStats();
        this.post({ kind: "flushed", seq: message.seq });
        break;
      case "batch":
        this.role.batch?.(this, message);
        break;
      case "explain": {
        const engine = this.engine;
        try {
          if (!engine) throw new Error("the worker has no engine");
          const trace = await engine.explain(message.packet);
          this.post({ kind: "explained", seq: message.seq, trace });
        } catch (e) {
          this.post({ kind: "explained", seq: message.seq, error: describeError(e) });
        }
        break;
      }
      case "stop":
        this.role.stop(this);
        break;
    }
  }

  /** Phase one of a reload: build the new engine, keep answering with the old one. */
  async #prepare(message: Extract<ToWorker, { kind: "reload" }>): Promise<void> {
    const { generation } = message;
    this.#latest = generation;
    this.building++;
    const stale = this.#prepared;
    this.#prepared = undefined;
    await this.#retire(stale?.engine, "superseded");
    try {
      const built = await this.#build(message.engine, 0, false);
      if (generation !== this.#latest) {
        await this.#retire(built, "superseded");
      } else {
        this.#prepared = { engine: built, generation, settings: message.settings };
        this.post({ kind: "prepared", generation, assignments: built.staticAssignments() });
      }
    } catch (e) {
      if (generation === this.#latest) {
        this.post({
          kind: "reload-error",
          message: (e as Error)?.message ?? String(e),
          generation,
        });
      }
    } finally {
      this.building--;
    }
  }

  /**
   * The end of the worker: answer what waits for lookups (bounded by `lookup-timeout`), close
   * every engine, post the last statistics and `stopped`, and close the thread.
   */
  async finish(): Promise<void> {
    if (this.#finished) return;
    this.#finished = true;
    const engine = this.engine;
    const prepared = this.#prepared?.engine;
    this.#prepared = undefined;
    await Promise.all([
      this.#retire(engine, "last"),
      this.#retire(prepared, "unused"),
      ...[...this.#draining].map((e) => e.drain()),
    ]);
    this.flushStats();
    // Let the log forwarder send the last lines, then report.
    await new Promise((resolve) => setTimeout(resolve, 0));
    this.post({ kind: "stopped" });
    self.close();
  }
}

/**
 * Run this worker as `role`: errors nothing caught are reported to the main thread (which logs
 * them and counts them towards `max-exceptions`) and the worker keeps answering; messages go to
 * the {@link WorkerRuntime}.
 */
export function runWorker(role: WorkerRole): WorkerRuntime {
  const runtime = new WorkerRuntime(role);
  self.addEventListener("unhandledrejection", (event: PromiseRejectionEvent) => {
    event.preventDefault();
    runtime.post({
      kind: "exception",
      message: `unhandled rejection: ${describeError(event.reason)}`,
    });
  });
  self.addEventListener("error", (event: ErrorEvent) => {
    event.preventDefault();
    runtime.post({
      kind: "exception",
      message: `uncaught error: ${describeError(event.error ?? event.message)}`,
    });
  });
  self.onmessage = (event: MessageEvent<ToWorker>) => runtime.receive(event.data);
  // The heartbeat: it stops when the thread exits or something blocks its event loop, and the
  // supervisor then replaces the worker.
  setInterval(() => Atomics.add(runtime.control, CTL_BEAT, 1), HEARTBEAT_MS);
  return runtime;
}
