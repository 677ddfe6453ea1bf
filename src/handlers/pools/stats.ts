/**
 * Statistics of the dynamic pools, per pool: counters of what the handlers did (leases
 * committed, released, declined, exhausted requests) and of what the reclaim timer freed.
 * @module
 */

import { extensionStatistics, type StatisticFamily } from "../../pipeline/mod.ts";
import type { Pool } from "./pool.ts";
import type { LeaseOp, LeaseOpResult } from "./store.ts";

/** `pool_leases{pool, event}`: lease events per pool. */
export const poolLeaseEvents: StatisticFamily = {
  name: "pool_lease_events",
  help: "Lease events per pool: committed (bound or extended), released, declined, " +
    "exhausted (an IA the pool had nothing for), reclaimed (expired leases turned free).",
  type: "counter",
  labels: ["pool", "event"],
};

/** `pool_size{pool}`: slots of each pool, counted once per worker that uses it. */
export const poolSlots: StatisticFamily = {
  name: "pool_slots",
  help: "Addresses or prefixes each pool hands out (total-nas / total-pds).",
  type: "counter",
  labels: ["pool"],
};

/** The statistics families of the pools extension. */
export const POOL_STATISTICS: readonly StatisticFamily[] = [poolLeaseEvents, poolSlots];

/** Counts into the families above. */
export class PoolStatistics {
  #registered = new Set<string>();

  /** Called when a worker starts using `pool`. */
  register(pool: Pool): void {
    if (this.#registered.has(pool.id)) return;
    this.#registered.add(pool.id);
    for (const event of ["committed", "released", "declined", "exhausted", "reclaimed"]) {
      extensionStatistics.series(poolLeaseEvents, pool.id, event);
    }
  }

  /** Count the results of one pool's operations for one request. */
  counted(pool: Pool, kind: LeaseOp["kind"], results: readonly LeaseOpResult[]): void {
    for (const r of results) {
      if (kind === "offer" || kind === "commit") {
        if (r.index === undefined) {
          extensionStatistics.series(poolLeaseEvents, pool.id, "exhausted").add();
        } else if (kind === "commit") {
          extensionStatistics.series(poolLeaseEvents, pool.id, "committed").add();
        }
      } else if (r.changed?.length) {
        const event = kind === "release" ? "released" : "declined";
        extensionStatistics.series(poolLeaseEvents, pool.id, event).add(r.changed.length);
      }
    }
  }

  /** Count what a reclaim run freed. */
  readonly onReclaim = (reclaimed: Map<string, number>): void => {
    for (const [pool, n] of reclaimed) {
      if (!this.#registered.has(pool)) continue;
      extensionStatistics.series(poolLeaseEvents, pool, "reclaimed").add(n);
    }
  };
}
