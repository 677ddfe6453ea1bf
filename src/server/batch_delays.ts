/**
 * The `io-batch-delay` of each `ffi` I/O worker as the main thread knows it from the workers'
 * reports: the wait in force and whether it is chained, per worker of the backend in use, and how
 * often `auto` changed a wait. Shown by `ctl stats`, `stats-json` and `/metrics`.
 * @module
 */

import type { BatchDelayReport } from "./wire.ts";

/** One worker's wait, as last reported. */
export interface WorkerBatchDelay {
  /** The wait in force, in seconds. */
  seconds: number;
  /** Whether the worker waits before every receive. */
  chained: boolean;
}

/** What the statistics show: the waits of the backend in use, and `auto`'s changes. */
export interface BatchDelaySnapshot {
  /** Each worker's wait, by worker number (none: no worker reported one). */
  workers: Array<[number, WorkerBatchDelay]>;
  /** How often `auto` lengthened a wait or began chaining, since the server started. */
  raised: number;
  /** How often `auto` shortened a wait or stopped chaining, since the server started. */
  lowered: number;
}

/** The reports of the I/O workers, kept per backend so a replaced backend's workers drop out. */
export class BatchDelays {
  readonly #bySource = new WeakMap<object, Map<number, WorkerBatchDelay>>();
  #raised = 0;
  #lowered = 0;

  /** Take a report of a worker of `source` (its I/O backend). */
  report(source: object, r: BatchDelayReport): void {
    let workers = this.#bySource.get(source);
    if (!workers) this.#bySource.set(source, workers = new Map());
    workers.set(r.worker, { seconds: r.seconds, chained: r.chained });
    this.#raised += r.raised;
    this.#lowered += r.lowered;
  }

  /** The waits of the workers of `source` (the backend in use), and the changes so far. */
  snapshot(source: object | undefined): BatchDelaySnapshot {
    const workers = source && this.#bySource.get(source);
    return {
      workers: workers ? [...workers].sort((a, b) => a[0] - b[0]) : [],
      raised: this.#raised,
      lowered: this.#lowered,
    };
  }
}
