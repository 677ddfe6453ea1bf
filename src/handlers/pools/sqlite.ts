/**
 * The SQLite lease store (`<lease-store-sqlite FILE>`, and the default in the state directory).
 *
 * Every worker opens its own connection to the one file: WAL journaling (readers never wait for
 * the writer), a busy timeout, and `BEGIN IMMEDIATE` around every request's commits, so workers
 * take turns for the write lock and each request's leases are written together. `synchronous =
 * NORMAL`: a committed lease survives the server process being killed (SIGKILL included); only a
 * power loss can take the last moments' commits with it. Uniqueness of a slot is the table's
 * primary key (pool, index) and a unique index on the handed-out address or prefix.
 * @module
 */

import { DatabaseSync, type StatementSync } from "node:sqlite";
import { IPv6Prefix } from "../../protocol/mod.ts";
import type { Pool } from "./pool.ts";
import { enableWal } from "../sqlite_wal.ts";
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

const SCHEMA = `
CREATE TABLE IF NOT EXISTS leases (
  pool TEXT NOT NULL,
  idx INTEGER NOT NULL,
  type TEXT NOT NULL,
  resource TEXT NOT NULL,
  duid TEXT NOT NULL,
  iaid INTEGER NOT NULL,
  state TEXT NOT NULL,
  valid_until INTEGER NOT NULL,
  preferred_until INTEGER NOT NULL,
  updated INTEGER NOT NULL,
  PRIMARY KEY (pool, idx)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS leases_resource ON leases (type, resource);
CREATE INDEX IF NOT EXISTS leases_client ON leases (duid, iaid);
CREATE INDEX IF NOT EXISTS leases_expiry ON leases (pool, valid_until);
CREATE TABLE IF NOT EXISTS pool_counters (
  pool TEXT PRIMARY KEY,
  reclaimed INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS pool_meta (
  key TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
`;

/** How many times a lost race for a free slot is retried with another slot. */
const RACE_RETRIES = 16;

/** Pages written to the WAL between checkpoints (4 KiB each: the WAL grows to about 40 MB). */
const WAL_CHECKPOINT_PAGES = 10_000;

/** The most clients whose lease rows a connection keeps in memory (then it starts over). */
const MAX_CACHED_CLIENTS = 65536;

/** True for SQLite's "UNIQUE constraint failed" / primary key errors. */
function isConstraintError(e: unknown): boolean {
  return e instanceof Error && /constraint/i.test(e.message);
}

/** The handed-out resource of a slot as stored: the address, or `prefix/length`. */
export function resourceText(pool: Pool, index: number): string {
  const at = pool.resourceAt(index);
  return pool.type === "na" ? at : `${at}/${pool.spec.delegatedLength}`;
}

/** A lease row of one client, as `#rows` reads it. */
interface ClientRow {
  pool: string;
  idx: number;
  iaid: number;
  state: string;
  validUntil: number;
}

/** Leases in an SQLite database. */
export class SqliteLeaseStore implements LeaseStore {
  readonly #db: DatabaseSync;
  readonly #s: Record<string, StatementSync>;
  /** Per pool: the slot after the highest this connection knows to be in use. */
  readonly #next = new Map<string, number>();
  /** The open group transaction; `durable` settles when it is committed (when it wrote). */
  #group?: { durable?: PromiseWithResolvers<void> };
  /** True while this connection holds the write lock in a transaction of its own. */
  #locked = false;
  /**
   * The lease rows of the clients this connection looked at or wrote, by DUID: true while no
   * other connection (worker, process) committed, which `PRAGMA data_version` tells at the start
   * of every transaction holding the write lock; forgotten entirely when one did. At most
   * {@link MAX_CACHED_CLIENTS} clients.
   */
  readonly #clients = new Map<string, ClientRow[]>();
  /** `data_version` when {@link SqliteLeaseStore.#clients} and `#next` were last known true. */
  #version?: number;

  /**
   * Open (creating when missing) the database at `path`; with `readOnly` an existing one is
   * opened for reading only (the `leases` tool listing), and nothing is created or changed.
   */
  constructor(
    readonly path: string,
    busyTimeoutMs = 5000,
    readOnly = false,
    /** Commit the writes of the requests of one event-loop turn together (see `apply`). */
    readonly groupCommit = false,
  ) {
    const db = new DatabaseSync(path, { readOnly });
    try {
      db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
      if (readOnly) db.prepare("SELECT 1 FROM leases LIMIT 1").get();
    } catch (e) {
      db.close();
      throw e;
    }
    if (readOnly) {
      this.#db = db;
      this.#s = this.#prepare(db);
      return;
    }
    try {
      enableWal(db, busyTimeoutMs);
      db.exec("PRAGMA synchronous = NORMAL");
      // Copy the WAL into the database every WAL_CHECKPOINT_PAGES pages instead of SQLite's
      // 1,000: a lease row is rewritten with every renewal, and one checkpoint copies a page
      // once however often it was rewritten since the last (a third of the commit cost).
      db.exec(`PRAGMA wal_autocheckpoint = ${WAL_CHECKPOINT_PAGES}`);
      db.exec("BEGIN IMMEDIATE");
      try {
        db.exec(SCHEMA);
        db.exec("COMMIT");
      } catch (e) {
        db.exec("ROLLBACK");
        throw e;
      }
    } catch (e) {
      db.close();
      throw e;
    }
    this.#db = db;
    this.#s = this.#prepare(db);
    if (groupCommit) this.applyGrouped = (ops, now) => this.#applyGrouped(ops, now);
  }

  #prepare(db: DatabaseSync): Record<string, StatementSync> {
    const p = (sql: string) => db.prepare(sql);
    return {
      client: p("SELECT pool, idx, iaid, state, valid_until FROM leases WHERE duid = ?"),
      slot: p("SELECT valid_until FROM leases WHERE pool = ? AND idx = ?"),
      version: p("PRAGMA data_version"),
      top: p("SELECT max(idx) + 1 AS i FROM leases WHERE pool = ?"),
      gap: p(
        "SELECT l.idx + 1 AS i FROM leases l WHERE l.pool = ?1 AND l.idx >= ?2 AND l.idx + 1 < ?3 " +
          "AND NOT EXISTS (SELECT 1 FROM leases m WHERE m.pool = ?1 AND m.idx = l.idx + 1) " +
          "ORDER BY l.idx LIMIT 1",
      ),
      expired: p(
        "SELECT idx FROM leases WHERE pool = ? AND valid_until <= ? ORDER BY valid_until, idx " +
          "LIMIT 1",
      ),
      extend: p(
        "UPDATE leases SET state = 'assigned', valid_until = ?, preferred_until = ?, updated = ? " +
          "WHERE pool = ? AND idx = ? AND duid = ? AND iaid = ? AND state != 'declined'",
      ),
      take: p(
        "UPDATE leases SET duid = ?, iaid = ?, state = 'assigned', valid_until = ?, " +
          "preferred_until = ?, updated = ? WHERE pool = ? AND idx = ? AND valid_until <= ?",
      ),
      insert: p(
        "INSERT INTO leases (pool, idx, type, resource, duid, iaid, state, valid_until, " +
          "preferred_until, updated) VALUES (?, ?, ?, ?, ?, ?, 'assigned', ?, ?, ?)",
      ),
      release: p(
        "UPDATE leases SET state = 'released', valid_until = ?1, preferred_until = ?1, " +
          "updated = ?1 WHERE pool = ?2 AND idx = ?3 AND duid = ?4 AND iaid = ?5 " +
          "AND state = 'assigned'",
      ),
      decline: p(
        "UPDATE leases SET state = 'declined', valid_until = ?1, preferred_until = ?2, " +
          "updated = ?2 WHERE pool = ?3 AND idx = ?4 AND duid = ?5 AND iaid = ?6 " +
          "AND state = 'assigned'",
      ),
      reclaimable: p(
        "SELECT pool, count(*) AS n FROM leases WHERE state IN ('assigned', 'declined') " +
          "AND valid_until <= ? GROUP BY pool",
      ),
      reclaim: p(
        "UPDATE leases SET state = 'expired', updated = ?1, " +
          "duid = CASE WHEN state = 'declined' THEN '' ELSE duid END " +
          "WHERE state IN ('assigned', 'declined') AND valid_until <= ?1",
      ),
      countReclaimed: p(
        "INSERT INTO pool_counters (pool, reclaimed) VALUES (?1, ?2) " +
          "ON CONFLICT (pool) DO UPDATE SET reclaimed = reclaimed + ?2",
      ),
      counts: p(
        "SELECT pool, sum(state = 'assigned' AND valid_until > ?1) AS assigned, " +
          "sum(state = 'declined' AND valid_until > ?1) AS declined FROM leases GROUP BY pool",
      ),
      reclaimed: p("SELECT pool, reclaimed FROM pool_counters"),
    };
  }

  /** The file. */
  get description(): string {
    return `lease store ${this.path}`;
  }

  /**
   * Run one request's operations. Without group commit (`groupCommit` false) offers read at once
   * and writes are one transaction per request, the result coming when it is committed. With
   * group commit it is {@link SqliteLeaseStore.applyGrouped}: offers answer at once, and writes
   * answer (this promise settles) once the group they joined is committed.
   */
  apply(ops: readonly LeaseOp[], now: number): LeaseOpResult[] | Promise<LeaseOpResult[]> {
    if (this.groupCommit) {
      const { results, durable } = this.#applyGrouped(ops, now);
      return durable ? durable.then(() => results) : results;
    }
    if (ops.every((op) => op.kind === "offer")) return ops.map((op) => this.#offer(op, now));
    const db = this.#db;
    db.exec("BEGIN IMMEDIATE");
    this.#begun();
    try {
      const out = ops.map((op) => this.#apply(op, now));
      db.exec("COMMIT");
      return out;
    } catch (e) {
      if (db.isTransaction) db.exec("ROLLBACK");
      this.#forget();
      throw e;
    } finally {
      this.#ended();
    }
  }

  /**
   * Run one request's operations at once inside the group transaction: the requests handled in
   * the same turn of the event loop share one transaction (holding the write lock, so what this
   * connection read stays true until it ends), committed in a microtask once they are all done:
   * one disk write for a whole receive batch. `durable` (present when something was written)
   * settles when that commit is done; no reply naming these results may be built before.
   * Without group commit there is none.
   */
  readonly applyGrouped?: LeaseStore["applyGrouped"];

  /** See {@link SqliteLeaseStore.applyGrouped}. */
  #applyGrouped(
    ops: readonly LeaseOp[],
    now: number,
  ): { results: LeaseOpResult[]; durable?: Promise<void> } {
    if (!this.#group) {
      this.#db.exec("BEGIN IMMEDIATE");
      this.#begun();
      this.#group = {};
      queueMicrotask(() => this.#flush());
    }
    const group = this.#group;
    // No savepoint per request: a request that fails half-way is dropped, and what it already
    // wrote is a lease of its own client, which the client gets again when it retries.
    const results = ops.map((op) => this.#apply(op, now));
    if (ops.every((op) => op.kind === "offer")) return { results };
    if (!group.durable) {
      group.durable = Promise.withResolvers<void>();
      // Handled here too: a request dropped before it waited must not leave an unhandled rejection.
      group.durable.promise.catch(() => {});
    }
    return { results, durable: group.durable.promise };
  }

  /**
   * A transaction holding the write lock began: what this connection knows (clients' rows, the
   * next slot to append) is still true unless another connection committed since.
   */
  #begun(): void {
    this.#locked = true;
    const version = Number((this.#s.version.get() as { data_version: number }).data_version);
    if (version !== this.#version) this.#forget();
    this.#version = version;
  }

  /** The transaction ended: others may write from now on. */
  #ended(): void {
    this.#locked = false;
  }

  /** Forget what this connection knows of the table (after others wrote, or a rollback). */
  #forget(): void {
    this.#clients.clear();
    this.#next.clear();
  }

  /** Commit the open group of requests and settle their promise. */
  #flush(): void {
    const group = this.#group;
    this.#group = undefined;
    if (!group) return;
    try {
      this.#db.exec("COMMIT");
    } catch (e) {
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      this.#forget();
      group.durable?.reject(e);
      return;
    } finally {
      this.#ended();
    }
    group.durable?.resolve();
  }

  #apply(op: LeaseOp, now: number): LeaseOpResult {
    switch (op.kind) {
      case "offer":
        return this.#offer(op, now);
      case "commit":
        return this.#commit(op, now);
      case "release":
        return {
          changed: op.named.filter((i) => {
            if (this.#s.release.run(now, op.pool.id, i, op.duid, op.iaid).changes === 0) {
              return false;
            }
            this.#remember(op.duid, op.pool.id, i, op.iaid, "released", now);
            return true;
          }),
        };
      case "decline": {
        const until = lifetimeEnd(now, op.pool.spec.declineProbation);
        return {
          changed: op.named.filter((i) => {
            if (this.#s.decline.run(until, now, op.pool.id, i, op.duid, op.iaid).changes === 0) {
              return false;
            }
            this.#remember(op.duid, op.pool.id, i, op.iaid, "declined", until);
            return true;
          }),
        };
      }
    }
  }

  /**
   * Every lease row of a client, of every pool: one statement shared by the pools of a request
   * (the NA and the PD pool), none while this connection knows the client (see `#clients`).
   */
  #rows(duid: string): ClientRow[] {
    if (this.#locked) {
      const known = this.#clients.get(duid);
      if (known) return known;
    }
    const rows: ClientRow[] = [];
    for (
      const r of this.#s.client.all(duid) as Array<
        { pool: string; idx: number; iaid: number; state: string; valid_until: number }
      >
    ) {
      rows.push({
        pool: r.pool,
        idx: Number(r.idx),
        iaid: Number(r.iaid),
        state: r.state,
        validUntil: Number(r.valid_until),
      });
    }
    if (this.#locked) {
      if (this.#clients.size >= MAX_CACHED_CLIENTS) this.#clients.clear();
      this.#clients.set(duid, rows);
    }
    return rows;
  }

  /**
   * Keep the known rows of the client in step with a write of this connection. `taken`: the
   * slot had a row of another client (an expired or released lease), whose known rows would
   * still list it: everything known is forgotten (rare: only when no slot was never used).
   */
  #remember(
    duid: string,
    pool: string,
    idx: number,
    iaid: number,
    state: string,
    validUntil: number,
    taken = false,
  ): void {
    if (taken) {
      this.#clients.clear();
      return;
    }
    const rows = this.#clients.get(duid);
    if (!rows) return;
    const row = rows.find((r) => r.pool === pool && r.idx === idx);
    if (row) {
      row.iaid = iaid;
      row.state = state;
      row.validUntil = validUntil;
    } else rows.push({ pool, idx, iaid, state, validUntil });
  }

  /**
   * The client's own slot in the pool (valid, expired or released, not declined); undefined
   * also when it is not valid and (with `yieldToOtherPools`) the client holds a valid lease for
   * the IA in another pool of this type, which `elsewhere` then tells.
   */
  #own(op: LeaseOp, now: number): { index?: number; elsewhere?: boolean } {
    let best: ClientRow | undefined;
    let elsewhere = false;
    const type = op.pool.type + " ";
    for (const r of this.#rows(op.duid)) {
      if (r.iaid !== op.iaid || r.state === "declined") continue;
      if (r.pool === op.pool.id) {
        if (!best || r.validUntil > best.validUntil) best = r;
      } else if (r.state === "assigned" && r.validUntil > now && r.pool.startsWith(type)) {
        elsewhere = true;
      }
    }
    if (best && best.state === "assigned" && best.validUntil > now) return { index: best.idx };
    if (elsewhere && op.yieldToOtherPools) return { elsewhere };
    return { index: best?.idx };
  }

  /** True when slot `index` has no valid lease. */
  #free(pool: Pool, index: number, now: number): boolean {
    const row = this.#s.slot.get(pool.id, index) as { valid_until: number } | undefined;
    return !row || Number(row.valid_until) <= now;
  }

  /** The first slot in [from, to) that has never been used, if any. */
  #unused(pool: Pool, from: number, to: number): number | undefined {
    if (from >= to) return undefined;
    if (!this.#s.slot.get(pool.id, from)) return from;
    const row = this.#s.gap.get(pool.id, from, to) as { i: number } | undefined;
    return row ? Number(row.i) : undefined;
  }

  /**
   * A slot nobody ever used: the one after the highest in use (this connection remembers it, so
   * new leases are appended to the table, which keeps writes small), else the first gap.
   */
  #fresh(op: LeaseOp): number | undefined {
    const { pool } = op;
    let next = this.#next.get(pool.id);
    // A remembered slot is not checked: an insert that finds it taken (another worker) forgets it.
    if (next === undefined) {
      const row = this.#s.top.get(pool.id) as { i: number | null } | undefined;
      next = row?.i === null || row?.i === undefined
        ? pool.first
        : Math.max(pool.first, Number(row.i));
      this.#next.set(pool.id, next);
    }
    if (next < pool.size) return next;
    return this.#unused(pool, pool.first, pool.size);
  }

  #expired(pool: Pool, now: number): number | undefined {
    const row = this.#s.expired.get(pool.id, now) as { idx: number } | undefined;
    return row ? Number(row.idx) : undefined;
  }

  #offer(op: LeaseOp, now: number): LeaseOpResult {
    const own = this.#own(op, now);
    if (own.index !== undefined || own.elsewhere) return own;
    for (const i of op.named) if (this.#free(op.pool, i, now)) return { index: i };
    const id = op.pool.id;
    let fresh = this.#fresh(op);
    // Another worker may have appended since this connection last looked: outside a
    // transaction holding the write lock (whose start checks that) the remembered slot is checked.
    if (fresh !== undefined && !this.#locked && this.#s.slot.get(id, fresh)) {
      this.#next.delete(id);
      fresh = this.#fresh(op);
    }
    return { index: fresh ?? this.#expired(op.pool, now) };
  }

  #commit(op: LeaseOp, now: number): LeaseOpResult {
    const { pool, duid, iaid } = op;
    const valid = lifetimeEnd(now, pool.spec.validLifetime);
    const preferred = lifetimeEnd(now, pool.spec.preferredLifetime);
    const mine = this.#own(op, now);
    if (mine.elsewhere) return mine;
    const own = mine.index;
    if (
      own !== undefined &&
      this.#s.extend.run(valid, preferred, now, pool.id, own, duid, iaid).changes > 0
    ) {
      this.#remember(duid, pool.id, own, iaid, "assigned", valid);
      return { index: own };
    }
    const take = (i: number) => {
      if (this.#s.take.run(duid, iaid, valid, preferred, now, pool.id, i, now).changes === 0) {
        return false;
      }
      this.#remember(duid, pool.id, i, iaid, "assigned", valid, true);
      return true;
    };
    const insert = (i: number) => {
      try {
        this.#s.insert.run(
          pool.id,
          i,
          pool.type,
          resourceText(pool, i),
          duid,
          iaid,
          valid,
          preferred,
          now,
        );
      } catch (e) {
        if (isConstraintError(e)) return false;
        throw e;
      }
      this.#remember(duid, pool.id, i, iaid, "assigned", valid);
      return true;
    };
    for (const i of op.named) {
      if (this.#s.slot.get(pool.id, i) ? take(i) : insert(i)) return { index: i };
    }
    for (let attempt = 0; attempt < RACE_RETRIES; attempt++) {
      const fresh = this.#fresh(op);
      if (fresh !== undefined) {
        if (insert(fresh)) {
          if (this.#next.get(pool.id) === fresh) this.#next.set(pool.id, fresh + 1);
          return { index: fresh };
        }
        this.#next.delete(pool.id);
        continue;
      }
      const old = this.#expired(pool, now);
      if (old === undefined) return {};
      if (take(old)) return { index: old };
    }
    return {};
  }

  /**
   * One worker per interval does the housekeeping: counting a million leases takes its thread
   * most of a second, which the others need not spend too.
   */
  claimHousekeeping(now: number, interval: number): boolean {
    return this.#db.prepare(
      "INSERT INTO pool_meta (key, value) VALUES ('housekeeping', ?1) ON CONFLICT (key) " +
        "DO UPDATE SET value = excluded.value WHERE value <= ?1 - ?2",
    ).run(now, Math.max(1, interval - 1)).changes > 0;
  }

  /** Turn expired leases and declined slots past probation free; count them per pool. */
  reclaim(now: number): Map<string, number> {
    const db = this.#db;
    this.#clients.clear();
    db.exec("BEGIN IMMEDIATE");
    try {
      const out = new Map<string, number>();
      for (const r of this.#s.reclaimable.all(now) as Array<{ pool: string; n: number }>) {
        out.set(r.pool, Number(r.n));
      }
      if (out.size > 0) {
        this.#s.reclaim.run(now);
        for (const [pool, n] of out) this.#s.countReclaimed.run(pool, n);
      }
      db.exec("COMMIT");
      return out;
    } catch (e) {
      if (db.isTransaction) db.exec("ROLLBACK");
      throw e;
    }
  }

  /** Counts per pool. */
  counts(now: number): Map<string, PoolCounts> {
    const out = new Map<string, PoolCounts>();
    const entry = (pool: string) => {
      let c = out.get(pool);
      if (!c) out.set(pool, c = { assigned: 0, declined: 0, reclaimed: 0 });
      return c;
    };
    for (
      const r of this.#s.counts.all(now) as Array<
        { pool: string; assigned: number; declined: number }
      >
    ) {
      const c = entry(r.pool);
      c.assigned = Number(r.assigned ?? 0);
      c.declined = Number(r.declined ?? 0);
    }
    for (const r of this.#s.reclaimed.all() as Array<{ pool: string; reclaimed: number }>) {
      entry(r.pool).reclaimed = Number(r.reclaimed);
    }
    return out;
  }

  #select(filter: LeaseFilter, columns: string): { sql: string; args: Array<string | number> } {
    const where: string[] = [];
    const args: Array<string | number> = [];
    if (filter.duid !== undefined) {
      where.push("duid = ?");
      args.push(filter.duid.toLowerCase());
    }
    if (filter.address !== undefined) {
      where.push("type = 'na' AND resource = ?");
      args.push(filter.address);
    }
    if (filter.prefix !== undefined) where.push("type = 'pd'");
    return {
      sql: `SELECT ${columns} FROM leases${where.length ? " WHERE " + where.join(" AND ") : ""}` +
        " ORDER BY pool, idx",
      args,
    };
  }

  /** Leases matching `filter`. */
  list(filter: LeaseFilter): Lease[] {
    const { sql, args } = this.#select(filter, "*");
    const rows = (this.#db.prepare(sql).all(...args) as unknown as LeaseRow[]).map(leaseOfRow);
    return filter.prefix === undefined ? rows : rows.filter(overlapping(filter.prefix));
  }

  /** Delete the leases matching `filter`. */
  delete(filter: LeaseFilter): number {
    const doomed = this.list(filter);
    const db = this.#db;
    this.#forget();
    const del = db.prepare("DELETE FROM leases WHERE pool = ? AND idx = ?");
    db.exec("BEGIN IMMEDIATE");
    try {
      let n = 0;
      for (const l of doomed) n += Number(del.run(l.pool, l.index).changes);
      db.exec("COMMIT");
      return n;
    } catch (e) {
      if (db.isTransaction) db.exec("ROLLBACK");
      throw e;
    }
  }

  /** Close the database. */
  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }
}

/** A test for prefix leases overlapping `prefix` (text `addr/len`). */
export function overlapping(prefix: string): (lease: Lease) => boolean {
  const wanted = IPv6Prefix.parse(prefix);
  return (lease) => {
    try {
      return wanted.overlaps(IPv6Prefix.parse(lease.resource));
    } catch {
      return false;
    }
  };
}
