/**
 * Statistics of the dynamic pools, per pool (label `pool`, the pool's id such as
 * `na 2001:db8::/120`): the gauges Kea operators know (total, assigned, declined, reclaimed,
 * read from the lease store when it is opened and after every reclaim run, so they count the
 * leases of every worker and every server sharing the store) and counters of what this server's
 * handlers did.
 * @module
 */

import { extensionStatistics, type StatisticFamily } from "../../pipeline/mod.ts";
import type { Pool } from "./pool.ts";
import type { LeaseOp, LeaseOpResult, PoolCounts } from "./store.ts";

const gauge = (name: string, help: string): StatisticFamily => ({
  name,
  help,
  type: "gauge",
  labels: ["pool"],
});

/** Addresses or prefixes a pool hands out (Kea's total-nas / total-pds). */
export const poolTotal: StatisticFamily = gauge(
  "pool_total",
  "Addresses (na) or prefixes (pd) of the pool (total-nas / total-pds).",
);
/** Leases bound and valid now (assigned-nas / assigned-pds). */
export const poolAssigned: StatisticFamily = gauge(
  "pool_assigned",
  "Leases of the pool bound and valid now (assigned-nas / assigned-pds).",
);
/** Addresses in decline probation now (declined-addresses). */
export const poolDeclined: StatisticFamily = gauge(
  "pool_declined",
  "Addresses of the pool in decline probation now (declined-addresses).",
);
/** Expired leases turned free by the reclaim runs, since the store was created. */
export const poolReclaimed: StatisticFamily = gauge(
  "pool_reclaimed",
  "Expired leases of the pool turned free, since the lease store was created " +
    "(reclaimed-leases).",
);

/** `pool_lease_events{pool, event}`: what this server's handlers did. */
export const poolLeaseEvents: StatisticFamily = {
  name: "pool_lease_events",
  help: "Lease events of the pool on this server: committed (bound or extended), released, " +
    "declined, exhausted (an IA the pool had nothing for).",
  type: "counter",
  labels: ["pool", "event"],
};

/** The statistics families of the pools extension. */
export const POOL_STATISTICS: readonly StatisticFamily[] = [
  poolTotal,
  poolAssigned,
  poolDeclined,
  poolReclaimed,
  poolLeaseEvents,
];

const EVENTS = ["committed", "released", "declined", "exhausted"] as const;

/** Counts into the families above (one per thread). */
export class PoolStatistics {
  #pools = new Map<string, Pool>();

  /** Called when a worker starts using `pool`: its series are shown from now on. */
  register(pool: Pool): void {
    if (this.#pools.has(pool.id)) return;
    this.#pools.set(pool.id, pool);
    extensionStatistics.series(poolTotal, pool.id).set(pool.total);
    for (const family of [poolAssigned, poolDeclined, poolReclaimed]) {
      extensionStatistics.series(family, pool.id);
    }
    for (const event of EVENTS) extensionStatistics.series(poolLeaseEvents, pool.id, event);
  }

  /** Count the results of one pool's operations for one request. */
  counted(pool: Pool, kind: LeaseOp["kind"], results: readonly LeaseOpResult[]): void {
    for (const r of results) {
      if (r.elsewhere) continue; // another pool answers it
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

  /** Show the counts read from the store (pools without leases count 0). */
  readonly onCounts = (counts: ReadonlyMap<string, PoolCounts>): void => {
    for (const id of this.#pools.keys()) {
      const c = counts.get(id);
      extensionStatistics.series(poolAssigned, id).set(c?.assigned ?? 0);
      extensionStatistics.series(poolDeclined, id).set(c?.declined ?? 0);
      extensionStatistics.series(poolReclaimed, id).set(c?.reclaimed ?? 0);
    }
  };
}
