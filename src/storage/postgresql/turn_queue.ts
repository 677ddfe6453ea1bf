/**
 * The queue behind the batched database calls (static-postgresql lookups, the PostgreSQL lease
 * store's operations): what a worker asks in one turn of its event loop is sent together.
 *
 * An item waits in the queue; a flush is scheduled for the end of the current turn (a
 * microtask, so every request of the receive batch has asked first). At most `maxInFlight`
 * calls run at once (the pool's connections): while they all run, new items gather and go
 * together as soon as one call comes back, so the busier the worker, the larger the calls, and
 * an idle worker still sends each item at once. The queue is bounded: {@link TurnQueue.push}
 * refuses an item beyond `maxWaiting`.
 * @module
 */

/** The limits of a {@link TurnQueue}. */
export interface TurnQueueLimits {
  /** Calls running at once (default 4: the pool's connections). */
  maxInFlight?: number;
  /** Items one call carries at most (default 256). */
  maxBatch?: number;
  /** Items waiting to be sent at most; more are refused (default 10000). */
  maxWaiting?: number;
}

/** Items gathered per event-loop turn and handed to `send` in batches (module documentation). */
export class TurnQueue<T> {
  readonly #send: (batch: T[]) => Promise<void>;
  readonly #maxInFlight: number;
  readonly #maxBatch: number;
  readonly #maxWaiting: number;
  #waiting: T[] = [];
  #inFlight = 0;
  #scheduled = false;

  /**
   * Create the queue. `send` carries one batch; the call counts as running until its promise
   * settles (it should settle every item of the batch itself, also on failure).
   */
  constructor(send: (batch: T[]) => Promise<void>, limits: TurnQueueLimits = {}) {
    this.#send = send;
    this.#maxInFlight = Math.max(1, limits.maxInFlight ?? 4);
    this.#maxBatch = Math.max(1, limits.maxBatch ?? 256);
    this.#maxWaiting = Math.max(1, limits.maxWaiting ?? 10_000);
  }

  /** Items waiting to be sent now. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** Calls running now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Queue `item` for the end of this turn; false (nothing queued) when the queue is full. */
  push(item: T): boolean {
    if (this.#waiting.length >= this.#maxWaiting) return false;
    this.#waiting.push(item);
    this.#schedule();
    return true;
  }

  #schedule(): void {
    if (this.#scheduled || this.#inFlight >= this.#maxInFlight) return;
    this.#scheduled = true;
    queueMicrotask(() => this.#flush());
  }

  #flush(): void {
    this.#scheduled = false;
    while (this.#waiting.length > 0 && this.#inFlight < this.#maxInFlight) {
      const batch = this.#waiting.length <= this.#maxBatch
        ? this.#waiting
        : this.#waiting.slice(0, this.#maxBatch);
      this.#waiting = batch === this.#waiting ? [] : this.#waiting.slice(this.#maxBatch);
      this.#inFlight++;
      let sent: Promise<void>;
      try {
        sent = this.#send(batch);
      } catch (e) {
        sent = Promise.reject(e);
      }
      const done = () => {
        this.#inFlight--;
        if (this.#waiting.length > 0) this.#schedule();
      };
      sent.then(done, done);
    }
  }
}
