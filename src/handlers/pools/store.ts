/**
 * The lease store interface of the dynamic pools: what the pool handlers ask of it per request
 * (one batch of operations, one per IA), what the reclaim timer, the statistics and the `leases`
 * tool ask of it, and the lease record every store returns. Two implementations: SQLite
 * (`sqlite.ts`, embedded default) and PostgreSQL (`postgresql.ts`, shared by several servers).
 *
 * Rules every store keeps:
 * - A lease is one row per pool and index; the pair is unique (and so is the handed-out address
 *   or prefix), enforced by the database, so two workers or two servers never bind one address
 *   to two clients: a lost race is retried with the next free slot.
 * - A row keeps the client's DUID and IAID after it expires or is released, until another
 *   client takes the slot: a client gets its old lease back while nobody else took it.
 * - A slot is free when it has no row or its row's `valid_until` has passed (released leases
 *   get `valid_until` = now; declined ones now + probation).
 * @module
 */

import type { LeaseType, Pool } from "./pool.ts";

/** What happens to a lease row. */
export type LeaseState = "assigned" | "released" | "expired" | "declined";

/** One lease as stored. */
export interface Lease {
  /** The pool's id (see {@link Pool.id}). */
  pool: string;
  /** Index of the address or prefix in its pool. */
  index: number;
  /** `na` or `pd`. */
  type: LeaseType;
  /** The address (na) or prefix with its length (pd), as text. */
  resource: string;
  /** The client's DUID, hex (empty once a declined slot is free again). */
  duid: string;
  /** The IA's IAID. */
  iaid: number;
  /** State. */
  state: LeaseState;
  /** End of the valid lifetime, Unix seconds. */
  validUntil: number;
  /** End of the preferred lifetime, Unix seconds. */
  preferredUntil: number;
  /** Last change, Unix seconds. */
  updated: number;
}

/**
 * A `leases` row as either store reads it (PostgreSQL returns BIGINT columns as text, SQLite as
 * numbers).
 */
export interface LeaseRow {
  pool: string;
  idx: string | number;
  type: string;
  resource: string;
  duid: string;
  iaid: string | number;
  state: string;
  valid_until: string | number;
  preferred_until: string | number;
  updated: string | number;
}

/** The {@link Lease} of a `leases` row. */
export function leaseOfRow(r: LeaseRow): Lease {
  return {
    pool: r.pool,
    index: Number(r.idx),
    type: r.type as LeaseType,
    resource: r.resource,
    duid: r.duid,
    iaid: Number(r.iaid),
    state: r.state as LeaseState,
    validUntil: Number(r.valid_until),
    preferredUntil: Number(r.preferred_until),
    updated: Number(r.updated),
  };
}

/**
 * One operation of a request, for one IA:
 * - `offer`: the lease the client would get (its own, a free named one, a free one), no write;
 * - `commit`: bind that lease (or extend the client's), written before the answer is sent;
 * - `release`: free the named slots the client holds;
 * - `decline`: quarantine the named slots the client holds for the pool's probation period.
 */
export interface LeaseOp {
  /** What to do. */
  readonly kind: "offer" | "commit" | "release" | "decline";
  /** The pool. */
  readonly pool: Pool;
  /** The client's DUID, hex. */
  readonly duid: string;
  /** The IA's IAID. */
  readonly iaid: number;
  /** Indexes of the pool's slots the client named in the IA, in order. */
  readonly named: readonly number[];
  /**
   * offer/commit: when the client has no valid lease in this pool but a valid one for this IA
   * in another pool of the same type, do nothing and answer `elsewhere`: that pool, when it is
   * in scope, keeps the client's lease (the first pool in scope with room does not take it).
   */
  readonly yieldToOtherPools?: boolean;
}

/** The result of one {@link LeaseOp}. */
export interface LeaseOpResult {
  /** offer/commit: the index of the lease; undefined when the pool is exhausted. */
  index?: number;
  /** release/decline: the named indexes that were the client's and were changed. */
  changed?: number[];
  /** offer/commit with `yieldToOtherPools`: the client's valid lease is in another pool. */
  elsewhere?: boolean;
}

/** Leases bound, declined (counted now) and reclaimed (counted since the store was created). */
export interface PoolCounts {
  /** Slots bound to a client and valid now. */
  assigned: number;
  /** Slots in decline probation now. */
  declined: number;
  /** Expired leases turned free by the reclaim timer, ever. */
  reclaimed: number;
}

/** Which leases `list` and `delete` select; no field = every lease. */
export interface LeaseFilter {
  /** Leases of this DUID (hex, any case). */
  duid?: string;
  /** The lease of this address. */
  address?: string;
  /** Leases of delegated prefixes overlapping this prefix (`addr/len`). */
  prefix?: string;
}

/** A value, or a promise of it (SQLite answers at once, PostgreSQL later). */
export type Maybe<T> = T | Promise<T>;

/** Where the leases of every pool live. */
export interface LeaseStore {
  /** For messages: the file or the database. */
  readonly description: string;
  /** Run the operations of one request, in order; commits are durable when this settles. */
  apply(ops: readonly LeaseOp[], now: number): Maybe<LeaseOpResult[]>;
  /**
   * Optional: run the operations of one request at once, in a transaction shared with the other
   * requests of this turn of the event loop. `durable`, present when something was written,
   * settles when that transaction is committed: a reply naming the results waits for it.
   */
  applyGrouped?(
    ops: readonly LeaseOp[],
    now: number,
  ): { results: LeaseOpResult[]; durable?: Promise<void> };
  /** Turn expired and end-of-probation leases free; returns how many per pool id. */
  reclaim(now: number): Maybe<Map<string, number>>;
  /** Counts per pool id (pools without leases are absent). */
  counts(now: number): Maybe<Map<string, PoolCounts>>;
  /** Leases matching `filter`, ordered by pool and index. */
  list(filter: LeaseFilter): Maybe<Lease[]>;
  /** Delete the leases matching `filter` (the slots become free); returns how many. */
  delete(filter: LeaseFilter): Maybe<number>;
  /**
   * Claim this interval's housekeeping (reclaim, and for stores read by one server the counts)
   * for the caller: true for exactly one caller per `interval` seconds among every worker (and
   * server) using the store. Stores without it let every caller do it.
   */
  claimHousekeeping?(now: number, interval: number): Maybe<boolean>;
  /**
   * True when several servers share the store: each then reads the counts for its own
   * statistics, whoever reclaimed.
   */
  readonly shared?: boolean;
  /** Close the connection. */
  close(): Maybe<void>;
}

/** Seconds since the Unix epoch, now. */
export function unixNow(): number {
  return Math.floor(Date.now() / 1000);
}

/** `now + lifetime`, with the infinite lifetime (0xffffffff) kept infinite. */
export function lifetimeEnd(now: number, lifetime: number): number {
  return lifetime >= 0xffffffff ? Number.MAX_SAFE_INTEGER : now + lifetime;
}

/** The lease a row describes, as JSON for `dhcpkit leases --json`. */
export function leaseJson(lease: Lease): Record<string, unknown> {
  const iso = (t: number) =>
    t >= Number.MAX_SAFE_INTEGER ? "infinity" : new Date(t * 1000).toISOString();
  return {
    duid: lease.duid,
    iaid: lease.iaid,
    type: lease.type,
    [lease.type === "na" ? "address" : "prefix"]: lease.resource,
    pool: lease.pool,
    state: lease.state,
    valid_until: iso(lease.validUntil),
    preferred_until: iso(lease.preferredUntil),
    updated: iso(lease.updated),
  };
}
