/**
 * The lease operations of many requests in one call of `dhcpkit_pool_apply` (see
 * `postgresql_schema.ts`): one round trip and one commit for every request a worker handled in
 * one turn of its event loop.
 *
 * A request's operations wait in a {@link TurnQueue} (sent at the end of the turn, so its NA and
 * PD pools go together; at most `maxInFlight` calls at once; bounded). A call that fails for a
 * lock (deadlock, lock timeout: two servers' calls waiting for each other) is run again request
 * by request; any other failure fails every request it carried (each is dropped, its client
 * retries). Nothing is answered before the call that wrote its leases has committed.
 * @module
 */

import { DatabaseUnavailableError, errorCode } from "../../storage/postgresql/mod.ts";
import { TurnQueue } from "../../storage/postgresql/turn_queue.ts";
import type { Pool } from "./pool.ts";
import { type LeaseOp, type LeaseOpResult, lifetimeEnd } from "./store.ts";

/** The statement: the operations as one JSON array, one object per operation. */
export const APPLY_SQL = "SELECT o_op, o_idx, o_else FROM dhcpkit_pool_apply($1::text::json)";

/** One request's operations (for one pool) and when they were asked. */
export interface OpsEntry {
  readonly ops: readonly LeaseOp[];
  readonly now: number;
}

/** A row of {@link APPLY_SQL}. */
export interface ApplyRow {
  o_op: number | string;
  o_idx: number | string | null;
  o_else: boolean;
}

/** The numbers a pool's slots are formatted from in SQL: first address, step, suffix. */
interface PoolNumbers {
  base: string;
  step: string;
  suffix: string;
}

const numbers = new WeakMap<Pool, PoolNumbers>();

function poolNumbers(pool: Pool): PoolNumbers {
  let n = numbers.get(pool);
  if (!n) {
    let base = 0n;
    for (const b of pool.spec.prefix.bytes.subarray(0, 16)) base = (base << 8n) | BigInt(b);
    const length = pool.spec.delegatedLength;
    n = {
      base: base.toString(),
      step: (1n << BigInt(128 - length)).toString(),
      suffix: pool.type === "na" ? "" : `/${length}`,
    };
    numbers.set(pool, n);
  }
  return n;
}

/**
 * The parameter of {@link APPLY_SQL} for `entries` (see `dhcpkit_pool_apply`); `hint` gives the
 * slot this server last bound to a commit's client in its pool (-1: none).
 */
export function applyParams(
  entries: readonly OpsEntry[],
  hint: (op: LeaseOp) => number = () => -1,
): string[] {
  const ops: Record<string, unknown>[] = [];
  for (const e of entries) {
    for (const op of e.ops) {
      const p = op.pool;
      const n = poolNumbers(p);
      const searches = op.kind === "offer" || op.kind === "commit";
      ops.push({
        n: ops.length + 1,
        nw: e.now,
        k: op.kind,
        pl: p.id,
        t: p.type,
        d: op.duid,
        ia: op.iaid,
        nm: op.named.join(","),
        yl: op.yieldToOtherPools === true,
        st: searches ? p.startFor(op.duid, op.iaid) : 0,
        fs: p.first,
        sz: p.size,
        bs: n.base,
        sp: n.step,
        sx: n.suffix,
        v: op.kind === "release" ? e.now : lifetimeEnd(
          e.now,
          op.kind === "decline" ? p.spec.declineProbation : p.spec.validLifetime,
        ),
        pf: lifetimeEnd(e.now, p.spec.preferredLifetime),
        h: op.kind === "commit" ? hint(op) : -1,
      });
    }
  }
  return [JSON.stringify(ops)];
}

/** The results of each entry's operations, from the rows of one call. */
export function applyResults(
  entries: readonly OpsEntry[],
  rows: readonly ApplyRow[],
): LeaseOpResult[][] {
  const flat: LeaseOpResult[] = [];
  const out = entries.map((e) =>
    e.ops.map((op) => {
      const r: LeaseOpResult = op.kind === "offer" || op.kind === "commit" ? {} : { changed: [] };
      flat.push(r);
      return r;
    })
  );
  for (const row of rows) {
    const r = flat[Number(row.o_op) - 1];
    if (!r) {
      throw new Error(`dhcpkit_pool_apply answered for operation ${row.o_op} of ${flat.length}`);
    }
    if (r.changed) {
      if (row.o_idx !== null) r.changed.push(Number(row.o_idx));
    } else if (row.o_else) r.elsewhere = true;
    else if (row.o_idx !== null) r.index = Number(row.o_idx);
  }
  return out;
}

/** SQLSTATEs of a call that lost a lock wait: run its requests again one by one. */
const LOCK_FAILURES = new Set(["40P01", "55P03", "40001"]);

interface Waiting extends OpsEntry {
  resolve(results: LeaseOpResult[]): void;
  reject(error: unknown): void;
}

/** How a batcher runs its calls. */
export interface OpBatcherOptions {
  /** Calls running at once (default 4: the pool's connections). */
  maxInFlight?: number;
  /** Requests one call carries at most (default 256). */
  maxBatch?: number;
  /** Requests waiting to be sent at most; more are refused at once (default 10000). */
  maxWaiting?: number;
  /** For the refusal message: the store (no password). */
  description?: string;
}

/**
 * Gathers the operations of concurrent requests into one call (see the module documentation).
 * `call` runs {@link APPLY_SQL} with the given parameters and resolves with its rows.
 */
export class OpBatcher {
  readonly #call: (params: string[]) => Promise<ApplyRow[]>;
  readonly #queue: TurnQueue<Waiting>;
  readonly #description: string;
  /** Calls sent. */
  calls = 0;
  /** Requests carried by those calls. */
  requests = 0;
  /** Calls that lost a lock wait and were run again request by request. */
  split = 0;

  /** Create the batcher; nothing is sent before the first {@link OpBatcher.apply}. */
  constructor(
    call: (params: string[]) => Promise<ApplyRow[]>,
    options: OpBatcherOptions = {},
    /** The slot last bound to a commit's client in its pool, -1 when unknown. */
    readonly hint: (op: LeaseOp) => number = () => -1,
  ) {
    this.#call = call;
    this.#queue = new TurnQueue((batch) => this.#send(batch), options);
    this.#description = options.description ?? "the lease store";
  }

  /** The results of `ops`, once the call carrying them has committed. */
  apply(ops: readonly LeaseOp[], now: number): Promise<LeaseOpResult[]> {
    const { promise, resolve, reject } = Promise.withResolvers<LeaseOpResult[]>();
    if (!this.#queue.push({ ops, now, resolve, reject })) {
      return Promise.reject(
        new DatabaseUnavailableError(
          `${this.#description}: ${this.#queue.waiting} requests waiting already`,
        ),
      );
    }
    return promise;
  }

  async #send(batch: Waiting[]): Promise<void> {
    this.calls++;
    this.requests += batch.length;
    let results: LeaseOpResult[][];
    try {
      results = applyResults(batch, await this.#call(applyParams(batch, this.hint)));
    } catch (e) {
      if (batch.length > 1 && LOCK_FAILURES.has(errorCode(e) ?? "")) {
        this.split++;
        for (const w of batch) await this.#send([w]);
        return;
      }
      for (const w of batch) w.reject(e);
      return;
    }
    batch.forEach((w, i) => w.resolve(results[i]));
  }
}
