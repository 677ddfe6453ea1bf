/**
 * Batched row lookups: the lookups a worker starts in one turn of its event loop (one receive
 * batch) are answered by ONE query for all their ids, instead of one round trip each.
 *
 * The lookups wait in a {@link TurnQueue} (sent at the end of the turn, at most `maxInFlight`
 * queries at once, bounded). A query that fails fails every lookup it carried (each caller then
 * decides, e.g. from an outage cache); a lookup beyond the queue's bound is refused at once.
 * @module
 */

import { DatabaseUnavailableError } from "../../../storage/postgresql/mod.ts";
import { TurnQueue } from "../../../storage/postgresql/turn_queue.ts";

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
  readonly #queue: TurnQueue<Waiting<R>>;
  readonly #description: string;
  /** Queries sent. */
  queries = 0;
  /** Lookups carried by those queries. */
  lookups = 0;
  /** Lookups refused because the queue was full. */
  refused = 0;

  /** Create the batcher; nothing is sent before the first {@link LookupBatcher.get}. */
  constructor(query: (ids: string[]) => Promise<RowsById<R>>, options: BatcherOptions = {}) {
    this.#query = query;
    this.#queue = new TurnQueue((batch) => this.#send(batch), options);
    this.#description = options.description ?? "the database";
  }

  /** Lookups waiting to be sent now. */
  get waiting(): number {
    return this.#queue.waiting;
  }

  /** Queries running now. */
  get inFlight(): number {
    return this.#queue.inFlight;
  }

  /**
   * The rows found for `ids` (and maybe for other lookups' ids in the same batch: look only at
   * yours). Rejects when the batch's query fails or the queue is full.
   */
  get(ids: readonly string[]): Promise<RowsById<R>> {
    const { promise, resolve, reject } = Promise.withResolvers<RowsById<R>>();
    if (!this.#queue.push({ ids, resolve, reject })) {
      this.refused++;
      return Promise.reject(
        new DatabaseUnavailableError(
          `${this.#description}: ${this.#queue.waiting} lookups waiting already`,
        ),
      );
    }
    return promise;
  }

  #send(batch: Waiting<R>[]): Promise<void> {
    const ids = new Set<string>();
    for (const w of batch) for (const id of w.ids) ids.add(id);
    this.queries++;
    this.lookups += batch.length;
    let sent: Promise<RowsById<R>>;
    try {
      sent = this.#query([...ids]);
    } catch (e) {
      sent = Promise.reject(e);
    }
    return sent.then(
      (rows) => {
        for (const w of batch) w.resolve(rows);
      },
      (error) => {
        for (const w of batch) w.reject(error);
      },
    );
  }
}

/** `ids` as a PostgreSQL `text[]` literal (for `= ANY($1::text[])`). */
export function textArrayLiteral(ids: readonly string[]): string {
  return `{${ids.map((id) => `"${id.replace(/["\\]/g, "\\$&")}"`).join(",")}}`;
}
