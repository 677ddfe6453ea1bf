/**
 * `<lq-postgresql URL>`: an {@link AsyncLeaseStore} in a PostgreSQL database that several servers
 * write into, so that leasequery and bulk leasequery on any of them answer for all.
 *
 * - Opening connects (one pool per worker, shared with other sections naming the database),
 *   creates or migrates the schema (`schema.ts`), and removes expired leases (at most once a
 *   minute across all servers). A wrong URL or password, or a schema from a newer dhcpkit, stops
 *   the server from starting with a message naming the database.
 * - Recording is queued and written in batches (`writer.ts`), never on the request path.
 * - Queries are read page by page (keyset pagination on the client's row id), so a bulk answer of
 *   100,000 clients holds neither a connection nor more than one page in memory while it is sent.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { TransactionBundle } from "../../../pipeline/mod.ts";
import {
  ClientIdOption,
  findOption,
  fromHex,
  IAAddressOption,
  type LQQueryOption,
  normalizeIPv6,
  type Option,
  QUERY_BY_ADDRESS,
  QUERY_BY_CLIENTID,
  QUERY_BY_LINK_ADDRESS,
  QUERY_BY_RELAY_ID,
  QUERY_BY_REMOTE_ID,
  RelayIdOption,
  RemoteIdOption,
} from "../../../protocol/mod.ts";
import { describeError, migrate, type PostgresPool } from "../../../storage/postgresql/mod.ts";
import {
  type AsyncClientCursor,
  type AsyncLeaseStore,
  type ClientRecord,
  expandIPv6,
  MalformedQueryError,
  observe,
  prefixOfRange,
  type QueryOptions,
  remoteIdKey,
  type StoredAddress,
  storedClientRecord,
  type StoredPrefix,
} from "../store.ts";
import { LEASEQUERY_SCHEMA } from "./schema.ts";
import { LeaseWriter, type WriterOptions } from "./writer.ts";

const log = getLogger(["dhcpkit", "leasequery", "postgresql"]);

/** Clients read per query of a cursor. */
export const PAGE_SIZE = 100;

/** Tuning of the store (tests shorten the times). */
export interface PostgresStoreOptions extends WriterOptions {
  /** Expired leases are removed when the last removal is older than this (s), default 60. */
  cleanupInterval?: number;
}

/** A query as SQL: the text with `$1` = now, and its further parameters. */
interface BuiltQuery {
  sql: string;
  params: unknown[];
}

interface ClientRow {
  id: string;
  client_id: string;
  link_address: string;
  options: Uint8Array | null;
  last_interaction: string;
  relay_data: Uint8Array | null;
  addresses: string;
  prefixes: string;
}

interface LeaseJson {
  p: number;
  v: number;
  o: string | null;
}

/** The first query option of class `type`; without one the query is malformed (`missing`). */
function queryOption<T extends Option>(
  query: LQQueryOption,
  type: abstract new (...args: never[]) => T,
  missing: string,
): T {
  const option = findOption(query.options, type);
  if (!option) throw new MalformedQueryError(missing);
  return option;
}

const HAS_LEASES = "(EXISTS (SELECT 1 FROM leasequery_addresses a WHERE a.client_fk = c.id AND " +
  "a.valid_lifetime_end > $1) OR EXISTS (SELECT 1 FROM leasequery_prefixes p WHERE " +
  "p.client_fk = c.id AND p.valid_lifetime_end > $1))";

const COLUMNS = "c.id, c.client_id, c.link_address, c.options, c.last_interaction, " +
  "c.relay_data, (SELECT coalesce(json_agg(json_build_object('a', a.address, 'p', " +
  "a.preferred_lifetime_end, 'v', a.valid_lifetime_end, 'o', encode(a.options, 'hex')) ORDER BY " +
  "a.address), '[]'::json) FROM leasequery_addresses a WHERE a.client_fk = c.id AND " +
  "a.valid_lifetime_end > $1)::text AS addresses, (SELECT coalesce(json_agg(json_build_object(" +
  "'f', p.first_address, 'z', p.last_address, 'p', p.preferred_lifetime_end, 'v', " +
  "p.valid_lifetime_end, 'o', encode(p.options, 'hex')) ORDER BY p.first_address), '[]'::json) " +
  "FROM leasequery_prefixes p WHERE p.client_fk = c.id AND p.valid_lifetime_end > $1)::text " +
  "AS prefixes";

/** The client record of one row. */
function recordOf(row: ClientRow, q: QueryOptions): ClientRecord {
  const blob = (hex: string | null) => hex ? fromHex(hex) : new Uint8Array(0);
  const addresses: StoredAddress[] = (JSON.parse(row.addresses) as (LeaseJson & { a: string })[])
    .map((a) => ({
      address: normalizeIPv6(a.a),
      preferredEnd: Number(a.p),
      validEnd: Number(a.v),
      options: blob(a.o),
    }));
  const prefixes: StoredPrefix[] = (JSON.parse(row.prefixes) as (LeaseJson & {
    f: string;
    z: string;
  })[]).map((p) => ({
    ...prefixOfRange(p.f, p.z),
    preferredEnd: Number(p.p),
    validEnd: Number(p.v),
    options: blob(p.o),
  }));
  return storedClientRecord(
    {
      clientId: row.client_id,
      linkAddress: row.link_address,
      options: row.options,
      lastInteraction: Number(row.last_interaction),
      relayData: row.relay_data,
    },
    addresses,
    prefixes,
    q,
  );
}

/** Reads the clients of a query page by page as they are consumed. */
class PostgresCursor implements AsyncClientCursor {
  #buffer: ClientRecord[] = [];
  #after = "0";
  #exhausted = false;
  #closed = false;

  constructor(
    readonly pool: PostgresPool,
    readonly built: BuiltQuery,
    readonly q: QueryOptions,
  ) {}

  async next(): Promise<IteratorResult<ClientRecord>> {
    if (this.#closed) return { done: true, value: undefined };
    if (this.#buffer.length === 0 && !this.#exhausted) {
      const n = this.built.params.length + 2;
      const rows = await this.pool.query<ClientRow>(
        `${this.built.sql} AND c.id > $${n} ORDER BY c.id LIMIT $${n + 1}`,
        [Math.floor(this.q.now), ...this.built.params, this.#after, PAGE_SIZE],
      );
      if (this.#closed) return { done: true, value: undefined };
      if (rows.length < PAGE_SIZE) this.#exhausted = true;
      if (rows.length > 0) this.#after = String(rows[rows.length - 1].id);
      this.#buffer = rows.map((r) => recordOf(r, this.q));
    }
    const record = this.#buffer.shift();
    if (!record) {
      this.close();
      return { done: true, value: undefined };
    }
    return { done: false, value: record };
  }

  return(): Promise<IteratorResult<ClientRecord>> {
    this.close();
    return Promise.resolve({ done: true, value: undefined });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  close(): void {
    this.#closed = true;
    this.#buffer = [];
  }
}

/** The PostgreSQL lease store (see the module documentation). */
export class LeasequeryPostgresStore implements AsyncLeaseStore {
  #pool?: PostgresPool;
  #writer?: LeaseWriter;
  #sensitive: ReadonlySet<number> = new Set();
  readonly #options: PostgresStoreOptions;

  /**
   * Create the store; `openPool` gives this worker's pool (called by
   * {@link LeasequeryPostgresStore.open}).
   */
  constructor(
    readonly openPool: () => Promise<PostgresPool>,
    options: PostgresStoreOptions = {},
  ) {
    this.#options = options;
  }

  /** The pool, once open. */
  get pool(): PostgresPool | undefined {
    return this.#pool;
  }

  /** The write queue, once open. */
  get writer(): LeaseWriter | undefined {
    return this.#writer;
  }

  /** Whether the database is reachable as far as this worker knows. */
  get available(): boolean {
    return this.#pool?.up ?? false;
  }

  /** Connect, create or migrate the schema, remove expired leases. Throws naming the database. */
  async open(sensitiveOptions: ReadonlySet<number>): Promise<void> {
    this.#sensitive = sensitiveOptions;
    await this.close();
    const pool = await this.openPool();
    try {
      await migrate(pool, LEASEQUERY_SCHEMA);
      await this.#cleanup(pool);
    } catch (e) {
      await pool.release();
      throw e;
    }
    this.#pool = pool;
    this.#writer = new LeaseWriter(pool, this.#options);
  }

  async #cleanup(pool: PostgresPool): Promise<void> {
    const now = Math.floor(Date.now() / 1000);
    const interval = this.#options.cleanupInterval ?? 60;
    try {
      const removed = await pool.transaction(async (tx) => {
        const claimed = await tx.query(
          "INSERT INTO leasequery_meta (key, value) VALUES ('last_cleanup', $1) ON CONFLICT " +
            "(key) DO UPDATE SET value = excluded.value WHERE leasequery_meta.value <= $2 " +
            "RETURNING 1",
          [now, now - interval],
        );
        if (claimed.length === 0) return 0;
        let count = 0;
        for (const table of ["leasequery_addresses", "leasequery_prefixes"]) {
          const [r] = await tx.query<{ n: string }>(
            `WITH d AS (DELETE FROM ${table} WHERE valid_lifetime_end <= $1 RETURNING 1) ` +
              "SELECT count(*) AS n FROM d",
            [now],
          );
          count += Number(r.n);
        }
        const [r] = await tx.query<{ n: string }>(
          "WITH d AS (DELETE FROM leasequery_clients c WHERE NOT EXISTS (SELECT 1 FROM " +
            "leasequery_addresses a WHERE a.client_fk = c.id) AND NOT EXISTS (SELECT 1 FROM " +
            "leasequery_prefixes p WHERE p.client_fk = c.id) RETURNING 1) SELECT count(*) AS n " +
            "FROM d",
        );
        return count + Number(r.n);
      });
      if (removed > 0) {
        log.info("{database}: removed {count} expired leasequery rows", {
          database: pool.description,
          count: removed,
        });
      }
    } catch (e) {
      throw new Error(
        `${pool.description}: cannot remove expired leasequery rows: ${describeError(e)}`,
      );
    }
  }

  /** Queue what the reply in `bundle` hands out. */
  remember(bundle: TransactionBundle, now: number): void {
    const writer = this.#writer;
    if (!writer) return;
    const seen = observe(bundle, Math.floor(now), this.#sensitive);
    if (seen) writer.add(seen, Math.floor(now));
  }

  /** The clients a query asks about (see {@link AsyncLeaseStore.query}). */
  query(query: LQQueryOption, q: QueryOptions, _stream: boolean): AsyncClientCursor | undefined {
    const built = this.#buildQuery(query);
    if (!built) return undefined;
    const pool = this.#pool;
    if (!pool) throw new Error("leasequery database is not open");
    return new PostgresCursor(pool, built, q);
  }

  #buildQuery(query: LQQueryOption): BuiltQuery | undefined {
    const params: unknown[] = [];
    const param = (value: unknown) => {
      params.push(value);
      return `$${params.length + 1}`;
    };
    const where: string[] = [HAS_LEASES];
    let from = "leasequery_clients c";
    if (query.linkAddress !== "::") {
      where.push(`c.link_address = ${param(expandIPv6(query.linkAddress))}`);
    }
    switch (query.queryType) {
      case QUERY_BY_ADDRESS: {
        const option = queryOption(
          query,
          IAAddressOption,
          "query by address without an IA Address",
        );
        const address = param(expandIPv6(option.address));
        where.push(
          `c.id IN (SELECT client_fk FROM leasequery_addresses WHERE address = ${address} AND ` +
            "valid_lifetime_end > $1 UNION SELECT client_fk FROM leasequery_prefixes WHERE " +
            `first_address <= ${address} AND last_address >= ${address} AND ` +
            "valid_lifetime_end > $1)",
        );
        break;
      }
      case QUERY_BY_CLIENTID: {
        const option = queryOption(query, ClientIdOption, "query by client-id without a Client ID");
        where.push(`c.client_id = ${param(option.duid.toHex())}`);
        break;
      }
      case QUERY_BY_RELAY_ID: {
        const option = queryOption(query, RelayIdOption, "query by relay-id without a Relay ID");
        from = "leasequery_clients c JOIN leasequery_relay_ids r ON r.client_fk = c.id";
        where.push(`r.relay_id = ${param(option.duid.toHex())}`);
        break;
      }
      case QUERY_BY_REMOTE_ID: {
        const option = queryOption(query, RemoteIdOption, "query by remote-id without a Remote ID");
        from = "leasequery_clients c JOIN leasequery_remote_ids r ON r.client_fk = c.id";
        where.push(`r.remote_id = ${param(remoteIdKey(option))}`);
        break;
      }
      case QUERY_BY_LINK_ADDRESS:
        break;
      default:
        return undefined;
    }
    return { sql: `SELECT ${COLUMNS} FROM ${from} WHERE ${where.join(" AND ")}`, params };
  }

  /** Write what is queued (briefly) and give the pool back. */
  async close(): Promise<void> {
    const writer = this.#writer;
    const pool = this.#pool;
    this.#writer = undefined;
    this.#pool = undefined;
    await writer?.close();
    await pool?.release();
  }
}
