/**
 * Commit before the reply, with one transaction per receive batch: a pool handler whose store
 * groups the writes of the requests of one event-loop turn (SQLite with group commit) gets its
 * results at once and leaves the promise of their commit on the request; the last lookup of
 * every request, {@link PoolCommitWait} (a cleanup handler of the pools extension), waits for
 * it. So the NA and PD pools of a request and every request of a batch share one commit, and
 * still no reply naming a lease is built before the lease is stored.
 * @module
 */

import { Handler, type TransactionBundle } from "../../pipeline/mod.ts";

/** The commits a request waits for before its reply is built. */
const COMMITS = Symbol("pool commits to wait for");

/** Results of a store that answers later (each settles once they are also committed). */
const RESULTS = Symbol("pool results to wait for");

/** Allocations a pool left for the end of the lookups (see `LeaseOp.yieldToOtherPools`). */
const DEFERRED = Symbol("pool allocations left for the end");

/**
 * Run `allocate` after every pool in scope looked (in the order the pools deferred): a pool
 * that stepped aside for the client's lease in another pool takes the IA then if nobody did.
 */
export function deferIA(
  bundle: TransactionBundle,
  allocate: () => Promise<void> | undefined,
): void {
  const list = bundle.handlerData.get(DEFERRED) as Array<typeof allocate> | undefined;
  if (list) list.push(allocate);
  else bundle.handlerData.set(DEFERRED, [allocate]);
}

/**
 * Make `bundle`'s reply wait for `results` (a store that answers later: the results are in and
 * committed when it settles). Allocations left for the end run only after every such result is
 * in: a pool that stepped aside must see whether a later pool took the IA.
 */
export function awaitResults(bundle: TransactionBundle, results: Promise<void>): void {
  results.catch(() => {});
  const pending = bundle.handlerData.get(RESULTS) as Set<Promise<void>> | undefined;
  if (pending) pending.add(results);
  else bundle.handlerData.set(RESULTS, new Set([results]));
}

/**
 * Make `bundle`'s reply wait for `durable` (the commit of what its pools wrote). A rejection nobody waits for (the request was dropped before
 * the wait) is not an unhandled one.
 */
export function awaitCommit(bundle: TransactionBundle, durable: Promise<void>): void {
  durable.catch(() => {});
  const pending = bundle.handlerData.get(COMMITS) as Set<Promise<void>> | undefined;
  if (pending) pending.add(durable);
  else bundle.handlerData.set(COMMITS, new Set([durable]));
}

/**
 * Throws when `bundle` still has commits nobody waited for (a pipeline built without the pools
 * extension's cleanup handlers): the request is dropped rather than answered before its leases
 * are stored.
 */
export function assertCommitted(bundle: TransactionBundle): void {
  if (
    bundle.handlerData.has(COMMITS) || bundle.handlerData.has(DEFERRED) ||
    bundle.handlerData.has(RESULTS)
  ) {
    throw new Error("pool leases not committed before the reply: PoolCommitWait is missing");
  }
}

/**
 * Runs after every other lookup: runs the allocations pools left for the end, then waits until
 * the results of the pools' operations are known and the leases they wrote for the request are
 * committed (a failed commit drops the request, the client retries), and again while that left
 * more allocations for the end.
 */
export class PoolCommitWait extends Handler {
  /** The allocations left for the end, then the commits this request's pools wrote into. */
  override lookup(bundle: TransactionBundle): Promise<void> | undefined {
    // Results still to come first: they decide whether the allocations left for the end run.
    const results = this.#settle(bundle, RESULTS);
    if (results) return results.then(() => this.lookup(bundle));
    const deferred = bundle.handlerData.get(DEFERRED) as
      | Array<() => Promise<void> | undefined>
      | undefined;
    bundle.handlerData.delete(DEFERRED);
    // One after the other, each seeing what the one before took (a store that answers later
    // leaves its results to wait for).
    for (let i = 0; deferred && i < deferred.length; i++) {
      const pending = deferred[i]() ?? this.#settle(bundle, RESULTS);
      if (!pending) continue;
      return (async () => {
        await pending;
        for (let j = i + 1; j < deferred.length; j++) {
          await deferred[j]();
          await this.#settle(bundle, RESULTS);
        }
        await this.lookup(bundle);
      })();
    }
    return this.#settle(bundle, COMMITS);
  }

  /** Every promise of the set under `key` (which is removed), or undefined when none. */
  #settle(bundle: TransactionBundle, key: symbol): Promise<void> | undefined {
    const pending = bundle.handlerData.get(key) as Set<Promise<void>> | undefined;
    if (!pending || pending.size === 0) return undefined;
    bundle.handlerData.delete(key);
    if (pending.size === 1) return pending.values().next().value;
    return Promise.all(pending).then(() => {});
  }
}
