/**
 * The dynamic pools extension: `<address-pool PREFIX>` and `<prefix-pool PREFIX>` hand out
 * addresses and delegated prefixes from pools, keeping leases in one top-level lease store
 * (`<lease-store-sqlite FILE>`, `<lease-store-postgresql URL>` shared by several servers, or
 * `leases.sqlite` in the `state-directory`).
 * @module
 */

import { componentFor, defineExtension, handlerFor } from "../extension.ts";
import { type LeaseStoreFactory, sharedLeaseStore } from "./leases.ts";
import { PoolHandler } from "./handler.ts";
import { PoolCommitWait } from "./commit.ts";
import { Pool, type PoolSpec } from "./pool.ts";
import {
  addressPoolSection,
  checkPools,
  leaseStorePostgresqlSection,
  leaseStoreSqliteSection,
  poolSections,
  type PoolValues,
  prefixPoolSection,
  stateDirectoryKey,
} from "./section.ts";
import { SqliteLeaseStore } from "./sqlite.ts";
import { PostgresLeaseStore } from "./postgresql.ts";
import { openSectionPool } from "../postgresql.ts";
import { POOL_STATISTICS, PoolStatistics } from "./stats.ts";

const statistics = new PoolStatistics();

function spec(v: PoolValues, type: PoolSpec["type"], delegatedLength: number): PoolSpec {
  return {
    type,
    prefix: v.prefix,
    delegatedLength,
    preferredLifetime: v.preferredLifetime,
    validLifetime: v.validLifetime,
    declineProbation: v.declineProbation,
  };
}

/** Dynamic address and prefix pools. */
export const poolsExtension = defineExtension({
  name: "pools",
  kinds: {
    "lease-store": {
      title: "Lease stores",
      description: "Where `<address-pool>` and `<prefix-pool>` keep their leases: at most one, " +
        "at the top level of the configuration.",
    },
  },
  extendSections: {
    server: {
      keys: [stateDirectoryKey],
      contains: [{ kind: "lease-store", max: 1 }],
      validate: checkPools,
    },
  },
  handlers: [
    handlerFor(
      addressPoolSection,
      (v, ctx) => new PoolHandler(new Pool(spec(v, "na", 128)), sharedLeaseStore(ctx), statistics),
    ),
    handlerFor(
      prefixPoolSection,
      (v, ctx) =>
        new PoolHandler(
          new Pool(spec(v, "pd", v.delegatedLength)),
          sharedLeaseStore(ctx),
          statistics,
        ),
    ),
  ],
  components: [
    componentFor(leaseStoreSqliteSection, (v): LeaseStoreFactory => ({
      description: v.path,
      reclaimInterval: v.reclaimInterval,
      open: () => new SqliteLeaseStore(v.path, 5000, false, v.groupCommit),
    })),
    componentFor(leaseStorePostgresqlSection, (v): LeaseStoreFactory => ({
      description: v.url.description,
      reclaimInterval: v.reclaimInterval,
      async open() {
        const pool = await openSectionPool(v);
        try {
          return await PostgresLeaseStore.open(pool);
        } catch (e) {
          await pool.release();
          throw e;
        }
      },
    })),
  ],
  statistics: POOL_STATISTICS,
  // Only where there are pools: other configurations keep a request path without the wait.
  cleanupHandlers: (ctx) =>
    ctx.root && poolSections(ctx.root).length === 0 ? [] : [new PoolCommitWait()],
});
