/**
 * Batched row lookups: the lookups a worker starts in one turn of its event loop (one receive
 * batch) are answered by ONE query for all their ids, instead of one round trip each.
 *
 * A lookup waits in a queue; a flush is scheduled for the end of the current turn (a microtask,
 * so every request of the receive batch has asked first). At most `maxInFlight` queries run at
 * once (the pool's connections): while they all run, new lookups gather in the queue and go
 * together as soon as one query comes back, so the busier the worker, the larger the batches,
 * and an idle worker still sends each lookup at once. A query that fails fails every lookup it
 * carried (each caller then decides, e.g. from an outage cache); the queue is bounded and a
 * lookup beyond the bound is refused at once.
 * @module
 */

import { DatabaseUnavailableError } from "../../../storage/postgresql/mod.ts";

/** The rows one batched query found, by id. */
export type RowsById<R> = ReadonlyMap<string, R>;

/** How a batcher runs its queries. */
export interface BatcherOptions {
  /** Queries running at once (default 4: the pool's connections). */
  maxInFlight?: number;
  /** Lookups one query carries at most (default 256). */
  maxBatch?: number;
  /** Lookups waiting to be sent at most; more are refused at once (default 10000). */
  maxWaiting?: number;
  /** For the refusal message: the source (no password). */
  description?: string;
}

interface Waiting<R> {
  ids: readonly string[];
  resolve(rows: RowsById<R>): void;
  reject(error: unknown): void;
}

/**
 * Gathers the ids of concurrent lookups into one query (see the module documentation). `query`
 * gets the distinct ids of a batch and resolves with the rows found, by id.
 */
export class LookupBatcher<R> {
  readonly #query: (ids: string[]) => Promise<RowsById<R>>;
  readonly #maxInFlight: number;
  readonly #maxBatch: number;
  readonly #maxWaiting: number;
  readonly #description: string;
  #waiting: Waiting<R>[] = [];
  #inFlight = 0;
  #scheduled = false;
  /** Queries sent. */
  queries = 0;
  /** Lookups carried by those queries. */
  lookups = 0;
  /** Lookups refused because the queue was full. */
  refused = 0;

  /** Create the batcher; nothing is sent before the first {@link LookupBatcher.get}. */
  constructor(query: (ids: string[]) => Promise<RowsById<R>>, options: BatcherOptions = {}) {
    this.#query = query;
    this.#maxInFlight = Math.max(1, options.maxInFlight ?? 4);
    this.#maxBatch = Math.max(1, options.maxBatch ?? 256);
    this.#maxWaiting = Math.max(1, options.maxWaiting ?? 10_000);
    this.#description = options.description ?? "the database";
  }

  /** Lookups waiting to be sent now. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** Queries running now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * The rows found for `ids` (and maybe for other lookups' ids in the same batch: look only at
   * yours). Rejects when the batch's query fails or the queue is full.
   */
  get(ids: readonly string[]): Promise<RowsById<R>> {
    if (this.#waiting.length >= this.#maxWaiting) {
      this.refused++;
      return Promise.reject(
        new DatabaseUnavailableError(
          `${this.#description}: ${this.#waiting.length} lookups waiting already`,
        ),
      );
    }
    return new Promise((resolve, reject) => {
      this.#waiting.push({ ids, resolve, reject });
      this.#schedule();
    });
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
      this.#send(batch);
    }
  }

  #send(batch: Waiting<R>[]): void {
    const ids = new Set<string>();
    for (const w of batch) for (const id of w.ids) ids.add(id);
    this.#inFlight++;
    this.queries++;
    this.lookups += batch.length;
    let sent: Promise<RowsById<R>>;
    try {
      sent = this.#query([...ids]);
    } catch (e) {
      sent = Promise.reject(e);
    }
    sent.then(
      (rows) => {
        for (const w of batch) w.resolve(rows);
      },
      (error) => {
        for (const w of batch) w.reject(error);
      },
    ).finally(() => {
      this.#inFlight--;
      if (this.#waiting.length > 0) this.#schedule();
    });
  }
}

/** `ids` as a PostgreSQL `text[]` literal (for `= ANY($1::text[])`). */
export function textArrayLiteral(ids: readonly string[]): string {
  return `{${ids.map((id) => `"${id.replace(/["\\]/g, "\\$&")}"`).join(",")}}`;
}
