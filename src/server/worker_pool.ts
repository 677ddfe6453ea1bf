/**
 * A pool of request-handling Deno Workers. The main thread owns the sockets and hands packets to
 * the workers in batches (one message per worker per event-loop turn); dispatch never blocks: a
 * worker with too much outstanding work gets no more and the packet is dropped and counted.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { FromWorker, ToWorker, WirePacket, WireReply, WorkerInit } from "./wire.ts";
import type { LogLine } from "./log_outputs.ts";

const log = getLogger(["dhcpkit", "workers"]);

/** Callbacks the pool reports through. */
export interface PoolEvents {
  /** Replies to send. */
  replies(replies: WireReply[]): void;
  /** Statistics deltas from a worker. */
  stats(delta: Array<[string, number[]]>): void;
  /** A worker died, failed to start or reported an error nothing caught. */
  failure(message: string): void;
  /** Request-latency histogram delta from a worker. */
  latency?(delta: number[]): void;
  /** Log lines forwarded by a worker (`dropped` did not fit in its buffer). */
  logs?(lines: LogLine[], dropped: number): void;
}

class PoolWorker {
  worker!: Worker;
  inFlight = 0;
  pending: WirePacket[] = [];
  ready!: Promise<void>;

  constructor(readonly id: number, readonly pool: WorkerPool) {
    this.spawn();
  }

  spawn(): void {
    // Batches sent to a worker that died are lost; packets still queued go to the new one.
    this.inFlight = this.pending.length;
    this.worker = new Worker(new URL("./worker.ts", import.meta.url), {
      type: "module",
      name: `Worker-${this.id}`,
    });
    this.ready = new Promise((resolve, reject) => {
      this.worker.onmessage = (event: MessageEvent<FromWorker>) => {
        const m = event.data;
        if (m.kind === "logs") this.pool.events.logs?.(m.lines, m.dropped);
        else if (m.kind === "exception") {
          this.pool.events.failure(`worker ${this.id}: ${m.message}`);
        } else if (m.kind === "ready") {
          this.pool.staticAssignments = m.assignments;
          resolve();
        } else if (m.kind === "init-error") {
          reject(new Error(`worker ${this.id} failed to start: ${m.message}`));
        } else if (m.kind === "done") {
          this.inFlight = Math.max(0, this.inFlight - m.count);
          if (m.stats.length) this.pool.events.stats(m.stats);
          if (m.latency) this.pool.events.latency?.(m.latency);
          if (m.replies.length) this.pool.events.replies(m.replies);
        }
      };
      this.worker.onerror = (event: ErrorEvent) => {
        event.preventDefault();
        reject(new Error(`worker ${this.id} crashed: ${event.message}`));
        this.pool.replace(this, event.message);
      };
    });
    const init: WorkerInit = { ...this.pool.init, kind: "init", workerId: this.id };
    this.worker.postMessage(init satisfies ToWorker);
  }

  flush(): void {
    if (this.pending.length === 0) return;
    const packets = this.pending;
    this.pending = [];
    this.worker.postMessage(
      { kind: "batch", packets } satisfies ToWorker,
      packets.map((p) => p.data.buffer as ArrayBuffer),
    );
  }
}

/** The worker pool. */
export class WorkerPool {
  readonly #workers: PoolWorker[] = [];
  #next = 0;
  #flushScheduled = false;
  #stopping = false;
  /** Packets dropped because every worker was too busy. */
  queueDrops = 0;
  /** Static assignments per source, as the workers loaded them (they all load the same). */
  staticAssignments: Array<[string, number]> = [];

  /** Create a pool of `count` workers (not started until {@link WorkerPool.start}). */
  constructor(
    readonly count: number,
    readonly init: Omit<WorkerInit, "kind" | "workerId">,
    readonly events: PoolEvents,
    readonly maxInFlight = 4096,
  ) {}

  /** Start the workers and wait until every one has built its pipeline. */
  async start(): Promise<void> {
    for (let i = 0; i < this.count; i++) this.#workers.push(new PoolWorker(i + 1, this));
    try {
      await Promise.all(this.#workers.map((w) => w.ready));
    } catch (e) {
      this.stop();
      throw e;
    }
  }

  /** Queue a packet for a worker; false (and counted) when all are saturated. */
  dispatch(packet: WirePacket): boolean {
    const n = this.#workers.length;
    for (let tries = 0; tries < n; tries++) {
      const w = this.#workers[this.#next];
      this.#next = (this.#next + 1) % n;
      if (w.inFlight < this.maxInFlight) {
        w.inFlight++;
        w.pending.push(packet);
        if (!this.#flushScheduled) {
          this.#flushScheduled = true;
          queueMicrotask(() => this.#flush());
        }
        return true;
      }
    }
    this.queueDrops++;
    return false;
  }

  #flush(): void {
    this.#flushScheduled = false;
    for (const w of this.#workers) w.flush();
  }

  /** Replace a worker that died. */
  replace(worker: PoolWorker, reason: string): void {
    if (this.#stopping) return;
    log.error("Worker {id} died ({reason}); starting a new one", { id: worker.id, reason });
    this.events.failure(`worker ${worker.id} died: ${reason}`);
    try {
      worker.worker.terminate();
    } catch {
      // already gone
    }
    worker.spawn();
    worker.ready.catch((e) => this.events.failure(String(e)));
  }

  /** Stop every worker (pending packets are discarded). */
  stop(): void {
    this.#stopping = true;
    for (const w of this.#workers) {
      try {
        w.worker.postMessage({ kind: "stop" } satisfies ToWorker);
        Deno.unrefTimer(setTimeout(() => w.worker.terminate(), 1000));
      } catch {
        // ignore
      }
    }
  }
}
