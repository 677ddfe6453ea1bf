/**
 * The PostgreSQL lease store (`<lease-store-postgresql URL>`): the pools of several servers share
 * one table. An address or prefix is never bound twice because the table says so: the primary
 * key (pool, index) and a unique index on the handed-out resource. A server that loses a race for
 * a free slot (its `INSERT ... ON CONFLICT DO NOTHING` inserts nothing, or its conditional
 * `UPDATE` of an expired row changes nothing) tries the next free slot; no lock is held in any
 * process. The operations of every request of one turn of the event loop (a receive batch, NA and
 * PD pools alike) are one call of the server-side function `dhcpkit_pool_apply`
 * (`postgresql_schema.ts`, batching in `postgresql_batch.ts`): one round trip and one
 * transaction, committed before any of their replies is built.
 * @module
 */

export { POOLS_SCHEMA } from "./postgresql_schema.ts";

import { migrate, type PostgresPool } from "../../storage/postgresql/mod.ts";
import { overlapping } from "./sqlite.ts";
import { POOLS_SCHEMA } from "./postgresql_schema.ts";
import { APPLY_SQL, type ApplyRow, OpBatcher } from "./postgresql_batch.ts";
import {
  type Lease,
  type LeaseFilter,
  leaseOfRow,
  type LeaseOp,
  type LeaseOpResult,
  type LeaseRow,
  type LeaseStore,
  type PoolCounts,
} from "./store.ts";
import { setPostgresqlOpener } from "./open.ts";
import { acquirePool, parseConnectionUrl } from "../../storage/postgresql/mod.ts";

/** The most clients' slots a store remembers (then it starts over). */
const MAX_KNOWN_CLIENTS = 65536;

function knownKey(op: LeaseOp): string {
  return `${op.pool.id}\n${op.duid}\n${op.iaid}`;
}

/** Leases in PostgreSQL, shared by several servers. */
export class PostgresLeaseStore implements LeaseStore {
  readonly #batcher: OpBatcher;
  /**
   * Known clients: the slot this store last bound to a client's IA, by pool, DUID and IAID. A
   * renewal names it to the database, which extends it in one statement when it is still the
   * client's and valid (else it searches as for anyone): the hint saves a read, it never
   * decides, so another server changing the row meanwhile does no harm.
   */
  readonly #known = new Map<string, number>();

  /** Use {@link PostgresLeaseStore.open}. */
  constructor(readonly pool: PostgresPool) {
    this.#batcher = new OpBatcher(
      (params) => pool.query<ApplyRow>(APPLY_SQL, params),
      { maxInFlight: pool.size, description: this.description },
      (op) => this.#known.get(knownKey(op)) ?? -1,
    );
  }

  /** Create or upgrade the tables (once per worker; migrations take an advisory lock). */
  static async open(pool: PostgresPool): Promise<PostgresLeaseStore> {
    await migrate(pool, POOLS_SCHEMA);
    return new PostgresLeaseStore(pool);
  }

  /** The database. */
  get description(): string {
    return `lease store ${this.pool.description}`;
  }

  /**
   * Run one request's operations: they join the other requests of this turn of the event loop
   * in one call of `dhcpkit_pool_apply` (one round trip, one transaction); the results come once
   * it has committed.
   */
  apply(ops: readonly LeaseOp[], now: number): Promise<LeaseOpResult[]> {
    return this.#batcher.apply(ops, now).then((results) => {
      ops.forEach((op, i) => this.#learn(op, results[i]));
      return results;
    });
  }

  /** Keep (or forget) the slot bound to the op's client. */
  #learn(op: LeaseOp, result: LeaseOpResult): void {
    if (op.kind === "offer") return;
    const key = knownKey(op);
    if (op.kind === "commit" && result.index !== undefined) {
      if (this.#known.size >= MAX_KNOWN_CLIENTS && !this.#known.has(key)) this.#known.clear();
      this.#known.set(key, result.index);
    } else this.#known.delete(key);
  }

  /** Calls made and the requests they carried (for benchmarks and tests). */
  get batching(): { calls: number; requests: number; split: number } {
    const b = this.#batcher;
    return { calls: b.calls, requests: b.requests, split: b.split };
  }

  /** Several servers read this store: each reads the counts for its own statistics. */
  readonly shared = true;

  /** One worker of one server per interval reclaims (the others would find nothing to do). */
  async claimHousekeeping(now: number, interval: number): Promise<boolean> {
    const rows = await this.pool.query(
      "INSERT INTO pool_meta (key, value) VALUES ('housekeeping', $1) ON CONFLICT (key) " +
        "DO UPDATE SET value = excluded.value WHERE pool_meta.value <= $1 - $2 RETURNING key",
      [now, Math.max(1, interval - 1)],
    );
    return rows.length > 0;
  }

  /** Turn expired and end-of-probation leases free; count them per pool. */
  async reclaim(now: number): Promise<Map<string, number>> {
    return await this.pool.transaction(async (tx) => {
      const rows = await tx.query<{ pool: string; n: string }>(
        "WITH freed AS (UPDATE pool_leases SET state = 'expired', updated = $1, " +
          "duid = CASE WHEN state = 'declined' THEN '' ELSE duid END " +
          "WHERE state IN ('assigned', 'declined') AND valid_until <= $1 RETURNING pool) " +
          "SELECT pool, count(*) AS n FROM freed GROUP BY pool",
        [now],
      );
      const out = new Map<string, number>();
      for (const r of rows) {
        out.set(r.pool, Number(r.n));
        await tx.query(
          "INSERT INTO pool_counters (pool, reclaimed) VALUES ($1, $2) " +
            "ON CONFLICT (pool) DO UPDATE SET reclaimed = pool_counters.reclaimed + $2",
          [r.pool, Number(r.n)],
        );
      }
      return out;
    });
  }

  /** Counts per pool. */
  async counts(now: number): Promise<Map<string, PoolCounts>> {
    const out = new Map<string, PoolCounts>();
    const entry = (pool: string) => {
      let c = out.get(pool);
      if (!c) out.set(pool, c = { assigned: 0, declined: 0, reclaimed: 0 });
      return c;
    };
    const rows = await this.pool.query<{ pool: string; assigned: string; declined: string }>(
      "SELECT pool, count(*) FILTER (WHERE state = 'assigned' AND valid_until > $1) AS assigned, " +
        "count(*) FILTER (WHERE state = 'declined' AND valid_until > $1) AS declined " +
        "FROM pool_leases GROUP BY pool",
      [now],
    );
    for (const r of rows) {
      const c = entry(r.pool);
      c.assigned = Number(r.assigned);
      c.declined = Number(r.declined);
    }
    for (
      const r of await this.pool.query<{ pool: string; reclaimed: string }>(
        "SELECT pool, reclaimed FROM pool_counters",
      )
    ) entry(r.pool).reclaimed = Number(r.reclaimed);
    return out;
  }

  /** Leases matching `filter`. */
  async list(filter: LeaseFilter): Promise<Lease[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.duid !== undefined) {
      args.push(filter.duid.toLowerCase());
      where.push(`duid = $${args.length}`);
    }
    if (filter.address !== undefined) {
      args.push(filter.address);
      where.push(`type = 'na' AND resource = $${args.length}`);
    }
    if (filter.prefix !== undefined) where.push("type = 'pd'");
    const rows = await this.pool.query<LeaseRow>(
      `SELECT * FROM pool_leases${where.length ? " WHERE " + where.join(" AND ") : ""} ` +
        "ORDER BY pool, idx",
      args,
    );
    const leases = rows.map(leaseOfRow);
    return filter.prefix === undefined ? leases : leases.filter(overlapping(filter.prefix));
  }

  /** Delete the leases matching `filter`. */
  async delete(filter: LeaseFilter): Promise<number> {
    const doomed = await this.list(filter);
    return await this.pool.transaction(async (tx) => {
      let n = 0;
      for (const l of doomed) {
        n += (await tx.query(
          "DELETE FROM pool_leases WHERE pool = $1 AND idx = $2 RETURNING idx",
          [l.pool, l.index],
        )).length;
      }
      return n;
    });
  }

  /** Give the connection pool back. */
  async close(): Promise<void> {
    await this.pool.release();
  }
}

setPostgresqlOpener(async (url, passwordFile) => {
  const pool = acquirePool(parseConnectionUrl(url), { size: 1, passwordFile });
  try {
    await pool.open();
    return await PostgresLeaseStore.open(pool);
  } catch (e) {
    await pool.release();
    throw e;
  }
});
