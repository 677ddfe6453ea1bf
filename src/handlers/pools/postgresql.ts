/**
 * The PostgreSQL lease store (`<lease-store-postgresql URL>`): the pools of several servers share
 * one table. An address or prefix is never bound twice because the table says so: the primary
 * key (pool, index) and a unique index on the handed-out resource. A server that loses a race for
 * a free slot (its `INSERT ... ON CONFLICT DO NOTHING` inserts nothing, or its conditional
 * `UPDATE` of an expired row changes nothing) tries the next free slot; no lock is held in any
 * process. A request's writes are one transaction, committed before the reply is built.
 * @module
 */

import {
  migrate,
  type PostgresPool,
  type SchemaSpec,
  type Transaction,
} from "../../storage/postgresql/mod.ts";
import type { Pool } from "./pool.ts";
import { overlapping, resourceText } from "./sqlite.ts";
import {
  type Lease,
  type LeaseFilter,
  leaseOfRow,
  type LeaseOp,
  type LeaseOpResult,
  type LeaseRow,
  type LeaseStore,
  lifetimeEnd,
  type PoolCounts,
} from "./store.ts";
import { setPostgresqlOpener } from "./open.ts";
import { acquirePool, parseConnectionUrl } from "../../storage/postgresql/mod.ts";

/** The tables, schema component `pools`. */
export const POOLS_SCHEMA: SchemaSpec = {
  component: "pools",
  migrations: [{
    version: 1,
    description: "pool leases and counters",
    statements: [
      `CREATE TABLE pool_leases (
  pool TEXT NOT NULL,
  idx BIGINT NOT NULL,
  type TEXT NOT NULL,
  resource TEXT NOT NULL,
  duid TEXT NOT NULL,
  iaid BIGINT NOT NULL,
  state TEXT NOT NULL,
  valid_until BIGINT NOT NULL,
  preferred_until BIGINT NOT NULL,
  updated BIGINT NOT NULL,
  PRIMARY KEY (pool, idx)
)`,
      "CREATE UNIQUE INDEX pool_leases_resource ON pool_leases (type, resource)",
      "CREATE INDEX pool_leases_client ON pool_leases (duid, iaid)",
      "CREATE INDEX pool_leases_expiry ON pool_leases (pool, valid_until)",
      "CREATE TABLE pool_counters (pool TEXT PRIMARY KEY, reclaimed BIGINT NOT NULL DEFAULT 0)",
      "CREATE TABLE pool_meta (key TEXT PRIMARY KEY, value BIGINT NOT NULL)",
    ],
  }],
};

/** How many times a lost race for a free slot is retried with another slot. */
const RACE_RETRIES = 32;

type Db = Pick<Transaction, "query">;

const one = async (db: Db, sql: string, params: unknown[]): Promise<number | undefined> => {
  const [row] = await db.query<{ i: string | number }>(sql, params);
  return row === undefined || row.i === null ? undefined : Number(row.i);
};

/** Leases in PostgreSQL, shared by several servers. */
export class PostgresLeaseStore implements LeaseStore {
  /** Use {@link PostgresLeaseStore.open}. */
  constructor(readonly pool: PostgresPool) {}

  /** Create or upgrade the tables (once per worker; migrations take an advisory lock). */
  static async open(pool: PostgresPool): Promise<PostgresLeaseStore> {
    await migrate(pool, POOLS_SCHEMA);
    return new PostgresLeaseStore(pool);
  }

  /** The database. */
  get description(): string {
    return `lease store ${this.pool.description}`;
  }

  /** Run one request's operations; offers only read, the rest is one transaction. */
  async apply(ops: readonly LeaseOp[], now: number): Promise<LeaseOpResult[]> {
    if (ops.every((op) => op.kind === "offer")) {
      const out: LeaseOpResult[] = [];
      for (const op of ops) out.push(await this.#offer(this.pool, op, now));
      return out;
    }
    return await this.pool.transaction(async (tx) => {
      const out: LeaseOpResult[] = [];
      for (const op of ops) out.push(await this.#apply(tx, op, now));
      return out;
    });
  }

  async #apply(db: Db, op: LeaseOp, now: number): Promise<LeaseOpResult> {
    const { pool, duid, iaid } = op;
    switch (op.kind) {
      case "offer":
        return await this.#offer(db, op, now);
      case "commit":
        return await this.#commit(db, op, now);
      case "release": {
        const changed: number[] = [];
        for (const i of op.named) {
          const rows = await db.query(
            "UPDATE pool_leases SET state = 'released', valid_until = $1, preferred_until = $1, " +
              "updated = $1 WHERE pool = $2 AND idx = $3 AND duid = $4 AND iaid = $5 " +
              "AND state = 'assigned' RETURNING idx",
            [now, pool.id, i, duid, iaid],
          );
          if (rows.length) changed.push(i);
        }
        return { changed };
      }
      case "decline": {
        const until = lifetimeEnd(now, pool.spec.declineProbation);
        const changed: number[] = [];
        for (const i of op.named) {
          const rows = await db.query(
            "UPDATE pool_leases SET state = 'declined', valid_until = $1, preferred_until = $2, " +
              "updated = $2 WHERE pool = $3 AND idx = $4 AND duid = $5 AND iaid = $6 " +
              "AND state = 'assigned' RETURNING idx",
            [until, now, pool.id, i, duid, iaid],
          );
          if (rows.length) changed.push(i);
        }
        return { changed };
      }
    }
  }

  /**
   * The client's own slot in the pool (valid, expired or released, not declined); undefined
   * also when it is not valid and (with `yieldToOtherPools`) the client holds a valid lease for
   * the IA in another pool of this type, which `elsewhere` then tells.
   */
  async #own(db: Db, op: LeaseOp, now: number): Promise<{ index?: number; elsewhere?: boolean }> {
    // The client's rows for the IA in every pool of this type: one statement.
    const rows = await db.query<{ p: string; i: string; v: string; s: string }>(
      "SELECT pool AS p, idx AS i, valid_until AS v, state AS s FROM pool_leases " +
        "WHERE duid = $1 AND iaid = $2 AND type = $3 AND state <> 'declined'",
      [op.duid, op.iaid, op.pool.type],
    );
    let best: { i: number; v: number; s: string } | undefined;
    let elsewhere = false;
    for (const r of rows) {
      const v = Number(r.v);
      if (r.p === op.pool.id) {
        if (!best || v > best.v) best = { i: Number(r.i), v, s: r.s };
      } else if (r.s === "assigned" && v > now) elsewhere = true;
    }
    if (best && best.s === "assigned" && best.v > now) return { index: best.i };
    if (elsewhere && op.yieldToOtherPools) return { elsewhere };
    return { index: best?.i };
  }

  async #slot(db: Db, pool: Pool, i: number): Promise<{ validUntil: number } | undefined> {
    const [row] = await db.query<{ v: string }>(
      "SELECT valid_until AS v FROM pool_leases WHERE pool = $1 AND idx = $2",
      [pool.id, i],
    );
    return row ? { validUntil: Number(row.v) } : undefined;
  }

  async #unused(db: Db, pool: Pool, from: number, to: number): Promise<number | undefined> {
    if (from >= to) return undefined;
    if (!await this.#slot(db, pool, from)) return from;
    return await one(
      db,
      "SELECT l.idx + 1 AS i FROM pool_leases l WHERE l.pool = $1 AND l.idx >= $2 " +
        "AND l.idx + 1 < $3 AND NOT EXISTS (SELECT 1 FROM pool_leases m WHERE m.pool = $1 " +
        "AND m.idx = l.idx + 1) ORDER BY l.idx LIMIT 1",
      [pool.id, from, to],
    );
  }

  async #fresh(db: Db, op: LeaseOp): Promise<number | undefined> {
    const start = op.pool.startFor(op.duid, op.iaid);
    return await this.#unused(db, op.pool, start, op.pool.size) ??
      await this.#unused(db, op.pool, op.pool.first, start);
  }

  #expired(db: Db, pool: Pool, now: number): Promise<number | undefined> {
    return one(
      db,
      "SELECT idx AS i FROM pool_leases WHERE pool = $1 AND valid_until <= $2 " +
        "ORDER BY valid_until, idx LIMIT 1",
      [pool.id, now],
    );
  }

  async #offer(db: Db, op: LeaseOp, now: number): Promise<LeaseOpResult> {
    const own = await this.#own(db, op, now);
    if (own.index !== undefined || own.elsewhere) return own;
    for (const i of op.named) {
      const slot = await this.#slot(db, op.pool, i);
      if (!slot || slot.validUntil <= now) return { index: i };
    }
    return { index: await this.#fresh(db, op) ?? await this.#expired(db, op.pool, now) };
  }

  async #commit(db: Db, op: LeaseOp, now: number): Promise<LeaseOpResult> {
    const { pool, duid, iaid } = op;
    const valid = lifetimeEnd(now, pool.spec.validLifetime);
    const preferred = lifetimeEnd(now, pool.spec.preferredLifetime);
    const mine = await this.#own(db, op, now);
    if (mine.elsewhere) return mine;
    const own = mine.index;
    if (own !== undefined) {
      const rows = await db.query(
        "UPDATE pool_leases SET state = 'assigned', valid_until = $1, preferred_until = $2, " +
          "updated = $3 WHERE pool = $4 AND idx = $5 AND duid = $6 AND iaid = $7 RETURNING idx",
        [valid, preferred, now, pool.id, own, duid, iaid],
      );
      if (rows.length) return { index: own };
    }
    const take = async (i: number) =>
      (await db.query(
        "UPDATE pool_leases SET duid = $1, iaid = $2, state = 'assigned', valid_until = $3, " +
          "preferred_until = $4, updated = $5 WHERE pool = $6 AND idx = $7 AND valid_until <= $5 " +
          "RETURNING idx",
        [duid, iaid, valid, preferred, now, pool.id, i],
      )).length > 0;
    const insert = async (i: number) =>
      (await db.query(
        "INSERT INTO pool_leases (pool, idx, type, resource, duid, iaid, state, valid_until, " +
          "preferred_until, updated) VALUES ($1, $2, $3, $4, $5, $6, 'assigned', $7, $8, $9) " +
          "ON CONFLICT DO NOTHING RETURNING idx",
        [pool.id, i, pool.type, resourceText(pool, i), duid, iaid, valid, preferred, now],
      )).length > 0;
    for (const i of op.named) {
      if (await this.#slot(db, pool, i) ? await take(i) : await insert(i)) return { index: i };
    }
    for (let attempt = 0; attempt < RACE_RETRIES; attempt++) {
      const fresh = await this.#fresh(db, op);
      if (fresh !== undefined) {
        if (await insert(fresh)) return { index: fresh };
        continue;
      }
      const old = await this.#expired(db, pool, now);
      if (old === undefined) return {};
      if (await take(old)) return { index: old };
    }
    return {};
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
