/**
 * `<lq-sqlite FILE>`: a {@link LeaseStore} in an SQLite database shared by every worker.
 *
 * Concurrency: every connection uses WAL journaling (readers never block the writer), a busy
 * timeout, and `BEGIN IMMEDIATE` transactions for recording, so workers queue for the write lock
 * instead of failing half-way. Recording is best effort: when the database is locked by someone
 * else for longer than the busy timeout, the record is skipped, counted, and recording pauses for
 * a few seconds so a stuck lock never stalls request handling. A database that cannot be opened
 * (corrupt, unreadable) makes the store unavailable; it retries every 30 seconds.
 *
 * Bulk queries get their own connection, holding one read snapshot while the results stream; the
 * rows come from a prepared statement's `iterate()`, so a query matching 100,000 clients never
 * has more than one of them in memory.
 * @module
 */

import { DatabaseSync, type StatementSync } from "node:sqlite";
import { getLogger } from "@logtape/logtape";
import type { TransactionBundle } from "../../pipeline/mod.ts";
import { enableWal } from "../sqlite_wal.ts";
import {
  ClientIdOption,
  findOption,
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
} from "../../protocol/mod.ts";
import {
  type ClientCursor,
  type ClientRecord,
  encodeOptions,
  expandIPv6,
  type LeaseStore,
  MalformedQueryError,
  observe,
  prefixOfRange,
  prefixRange,
  type QueryOptions,
  remoteIdKey,
  type StoredAddress,
  storedClientRecord,
  type StoredPrefix,
} from "./store.ts";

const log = getLogger(["dhcpkit", "leasequery", "sqlite"]);

/** The schema (user_version 1). */
export const SCHEMA = `
CREATE TABLE IF NOT EXISTS clients (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  client_id TEXT NOT NULL,
  link_address TEXT NOT NULL,
  options BLOB,
  last_interaction INTEGER NOT NULL,
  relay_data BLOB,
  UNIQUE (client_id, link_address)
);
CREATE INDEX IF NOT EXISTS clients_link_address ON clients (link_address);
CREATE TABLE IF NOT EXISTS addresses (
  client_fk INTEGER NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
  address TEXT NOT NULL,
  preferred_lifetime_end INTEGER NOT NULL,
  valid_lifetime_end INTEGER NOT NULL,
  options BLOB,
  UNIQUE (client_fk, address)
);
CREATE INDEX IF NOT EXISTS addresses_address ON addresses (address);
CREATE TABLE IF NOT EXISTS prefixes (
  client_fk INTEGER NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
  first_address TEXT NOT NULL,
  last_address TEXT NOT NULL,
  preferred_lifetime_end INTEGER NOT NULL,
  valid_lifetime_end INTEGER NOT NULL,
  options BLOB,
  UNIQUE (client_fk, first_address, last_address)
);
CREATE INDEX IF NOT EXISTS prefixes_range ON prefixes (first_address, last_address);
CREATE TABLE IF NOT EXISTS remote_ids (
  client_fk INTEGER NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
  remote_id TEXT NOT NULL,
  UNIQUE (client_fk, remote_id)
);
CREATE INDEX IF NOT EXISTS remote_ids_remote_id ON remote_ids (remote_id);
CREATE TABLE IF NOT EXISTS relay_ids (
  client_fk INTEGER NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
  relay_id TEXT NOT NULL,
  UNIQUE (client_fk, relay_id)
);
CREATE INDEX IF NOT EXISTS relay_ids_relay_id ON relay_ids (relay_id);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER);
PRAGMA user_version = 1;
`;

/** Tuning of the SQLite store (tests shorten the times). */
export interface SqliteStoreOptions {
  /** How long a statement waits for another connection's lock (ms), default 200. */
  busyTimeout?: number;
  /** How long recording pauses after the database was found locked (ms), default 5000. */
  lockedBackoff?: number;
  /** How long to wait before trying to open a broken database again (ms), default 30000. */
  reopenInterval?: number;
  /** Start-up cleanup runs when the previous one is older than this (s), default 60. */
  cleanupInterval?: number;
}

/** Open a connection with the store's settings. */
export function openDatabase(path: string, busyTimeout: number): DatabaseSync {
  const db = new DatabaseSync(path);
  try {
    db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(busyTimeout))}`);
    db.exec("PRAGMA foreign_keys = ON");
    enableWal(db, busyTimeout);
    db.exec("PRAGMA synchronous = NORMAL");
  } catch (e) {
    db.close();
    throw e;
  }
  return db;
}

/** Run `work` in a `BEGIN IMMEDIATE` transaction, committed when it returns, else rolled back. */
function writeTransaction<T>(db: DatabaseSync, work: () => T): T {
  db.exec("BEGIN IMMEDIATE");
  try {
    const result = work();
    db.exec("COMMIT");
    return result;
  } catch (e) {
    db.exec("ROLLBACK");
    throw e;
  }
}

/** Create the tables if they do not exist yet. */
export function createSchema(db: DatabaseSync): void {
  writeTransaction(db, () => db.exec(SCHEMA));
}

interface ClientRow {
  id: number;
  client_id: string;
  link_address: string;
  options: Uint8Array | null;
  last_interaction: number;
  relay_data: Uint8Array | null;
}

interface LeaseRow {
  preferred_lifetime_end: number;
  valid_lifetime_end: number;
  options: Uint8Array | null;
}

const CLIENT_COLUMNS = "c.id, c.client_id, c.link_address, c.options, c.last_interaction, " +
  "c.relay_data";
const HAS_LEASES = "(EXISTS (SELECT 1 FROM addresses a WHERE a.client_fk = c.id AND " +
  "a.valid_lifetime_end > :now) OR EXISTS (SELECT 1 FROM prefixes p WHERE p.client_fk = c.id " +
  "AND p.valid_lifetime_end > :now))";

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

/** Per-connection prepared statements for reading clients. */
class Reader {
  readonly addresses: StatementSync;
  readonly prefixes: StatementSync;

  constructor(readonly db: DatabaseSync) {
    this.addresses = db.prepare(
      "SELECT address, preferred_lifetime_end, valid_lifetime_end, options FROM addresses " +
        "WHERE client_fk = ? AND valid_lifetime_end > ? ORDER BY address",
    );
    this.prefixes = db.prepare(
      "SELECT first_address, last_address, preferred_lifetime_end, valid_lifetime_end, options " +
        "FROM prefixes WHERE client_fk = ? AND valid_lifetime_end > ? ORDER BY first_address",
    );
  }

  /** Build the record for one client row. */
  record(row: ClientRow, q: QueryOptions): ClientRecord {
    const addresses: StoredAddress[] = [];
    for (
      const r of this.addresses.all(row.id, q.now) as unknown as (LeaseRow & { address: string })[]
    ) {
      addresses.push({
        address: normalizeIPv6(r.address),
        preferredEnd: r.preferred_lifetime_end,
        validEnd: r.valid_lifetime_end,
        options: r.options ?? new Uint8Array(0),
      });
    }
    const prefixes: StoredPrefix[] = [];
    for (
      const r of this.prefixes.all(row.id, q.now) as unknown as (LeaseRow & {
        first_address: string;
        last_address: string;
      })[]
    ) {
      prefixes.push({
        ...prefixOfRange(r.first_address, r.last_address),
        preferredEnd: r.preferred_lifetime_end,
        validEnd: r.valid_lifetime_end,
        options: r.options ?? new Uint8Array(0),
      });
    }
    return storedClientRecord(
      {
        clientId: row.client_id,
        linkAddress: row.link_address,
        options: row.options,
        lastInteraction: row.last_interaction,
        relayData: row.relay_data,
      },
      addresses,
      prefixes,
      q,
    );
  }
}

/** Pulls client rows one at a time from a statement iterator and turns them into records. */
class SqliteCursor implements ClientCursor {
  #done = false;

  constructor(
    readonly rows: Iterator<unknown>,
    readonly reader: Reader,
    readonly q: QueryOptions,
    readonly release: () => void,
  ) {}

  next(): IteratorResult<ClientRecord> {
    if (this.#done) return { done: true, value: undefined };
    let r: IteratorResult<unknown>;
    try {
      r = this.rows.next();
    } catch (e) {
      this.close();
      throw e;
    }
    if (r.done) {
      this.close();
      return { done: true, value: undefined };
    }
    return { done: false, value: this.reader.record(r.value as ClientRow, this.q) };
  }

  return(): IteratorResult<ClientRecord> {
    this.close();
    return { done: true, value: undefined };
  }

  [Symbol.iterator](): this {
    return this;
  }

  close(): void {
    if (this.#done) return;
    this.#done = true;
    try {
      this.rows.return?.();
    } catch {
      // statement already finalised
    }
    this.release();
  }
}

/** The SQLite lease store. */
export class LeasequerySqliteStore implements LeaseStore {
  #db?: DatabaseSync;
  #reader?: Reader;
  #sensitive: ReadonlySet<number> = new Set();
  #lockedUntil = 0;
  #nextOpen = 0;
  #statements?: Record<string, StatementSync>;
  readonly #options: Required<SqliteStoreOptions>;
  /** Records skipped because the database was locked or broken. */
  skippedRecords = 0;
  /** Records written. */
  writtenRecords = 0;

  /** Create the store for database file `path` (opened by {@link LeasequerySqliteStore.open}). */
  constructor(readonly path: string, options: SqliteStoreOptions = {}) {
    this.#options = {
      busyTimeout: options.busyTimeout ?? 200,
      lockedBackoff: options.lockedBackoff ?? 5000,
      reopenInterval: options.reopenInterval ?? 30000,
      cleanupInterval: options.cleanupInterval ?? 60,
    };
  }

  /** Whether the database is open. */
  get available(): boolean {
    return this.#ensureOpen();
  }

  /** Open the database, create the schema and clean up expired data (see {@link LeaseStore.open}). */
  open(sensitiveOptions: ReadonlySet<number>): void {
    this.#sensitive = sensitiveOptions;
    this.#nextOpen = 0;
    this.#ensureOpen(true);
  }

  #ensureOpen(startup = false): boolean {
    if (this.#db) return true;
    const now = Date.now();
    if (now < this.#nextOpen) return false;
    try {
      // At start-up (schema, cleanup) wait longer for other workers doing the same; later
      // retries happen while answering requests, so they must not wait long.
      const db = openDatabase(
        this.path,
        startup ? Math.max(this.#options.busyTimeout, 5000) : this.#options.busyTimeout,
      );
      try {
        createSchema(db);
        this.#cleanup(db);
        db.exec(`PRAGMA busy_timeout = ${this.#options.busyTimeout}`);
        this.#prepare(db);
      } catch (e) {
        db.close();
        throw e;
      }
      this.#db = db;
      this.#reader = new Reader(db);
      return true;
    } catch (e) {
      this.#nextOpen = now + this.#options.reopenInterval;
      log.error("Cannot open leasequery database {path}: {error}", {
        path: this.path,
        error: (e as Error).message,
      });
      return false;
    }
  }

  #cleanup(db: DatabaseSync): void {
    const now = Math.floor(Date.now() / 1000);
    const deleted = writeTransaction(db, () => {
      const last = db.prepare("SELECT value FROM meta WHERE key = 'last_cleanup'").get() as
        | { value: number }
        | undefined;
      if (last && now - last.value < this.#options.cleanupInterval) return 0;
      let count = Number(
        db.prepare("DELETE FROM addresses WHERE valid_lifetime_end <= ?").run(now).changes,
      );
      count += Number(
        db.prepare("DELETE FROM prefixes WHERE valid_lifetime_end <= ?").run(now).changes,
      );
      count += Number(
        db.prepare(
          "DELETE FROM clients WHERE NOT EXISTS (SELECT 1 FROM addresses WHERE client_fk = " +
            "clients.id) AND NOT EXISTS (SELECT 1 FROM prefixes WHERE client_fk = clients.id)",
        ).run().changes,
      );
      db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('last_cleanup', ?)").run(now);
      return count;
    });
    if (deleted > 0) {
      log.info("Removed {count} expired leasequery rows from {path}", {
        count: deleted,
        path: this.path,
      });
      try {
        db.exec("VACUUM");
      } catch (e) {
        log.warning("Cannot vacuum {path}: {error}", {
          path: this.path,
          error: (e as Error).message,
        });
      }
    }
  }

  #prepare(db: DatabaseSync): void {
    this.#statements = {
      findClient: db.prepare("SELECT id FROM clients WHERE client_id = ? AND link_address = ?"),
      insertClient: db.prepare(
        "INSERT INTO clients (client_id, link_address, options, last_interaction, relay_data) " +
          "VALUES (?, ?, ?, ?, ?) RETURNING id",
      ),
      updateClient: db.prepare(
        "UPDATE clients SET options = ?, last_interaction = ?, relay_data = ? WHERE id = ?",
      ),
      clearRemoteIds: db.prepare("DELETE FROM remote_ids WHERE client_fk = ?"),
      addRemoteId: db.prepare(
        "INSERT OR IGNORE INTO remote_ids (client_fk, remote_id) VALUES (?, ?)",
      ),
      clearRelayIds: db.prepare("DELETE FROM relay_ids WHERE client_fk = ?"),
      addRelayId: db.prepare("INSERT OR IGNORE INTO relay_ids (client_fk, relay_id) VALUES (?, ?)"),
      takeAddress: db.prepare("DELETE FROM addresses WHERE address = ? AND client_fk <> ?"),
      releaseAddress: db.prepare("DELETE FROM addresses WHERE client_fk = ? AND address = ?"),
      releasePrefix: db.prepare(
        "DELETE FROM prefixes WHERE client_fk = ? AND first_address = ? AND last_address = ?",
      ),
      upsertAddress: db.prepare(
        "INSERT INTO addresses (client_fk, address, preferred_lifetime_end, valid_lifetime_end, " +
          "options) VALUES (?, ?, ?, ?, ?) ON CONFLICT (client_fk, address) DO UPDATE SET " +
          "preferred_lifetime_end = excluded.preferred_lifetime_end, valid_lifetime_end = " +
          "excluded.valid_lifetime_end, options = excluded.options",
      ),
      takePrefix: db.prepare(
        "DELETE FROM prefixes WHERE first_address <= ? AND last_address >= ? AND client_fk <> ?",
      ),
      upsertPrefix: db.prepare(
        "INSERT INTO prefixes (client_fk, first_address, last_address, preferred_lifetime_end, " +
          "valid_lifetime_end, options) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (client_fk, " +
          "first_address, last_address) DO UPDATE SET preferred_lifetime_end = " +
          "excluded.preferred_lifetime_end, valid_lifetime_end = excluded.valid_lifetime_end, " +
          "options = excluded.options",
      ),
      expireAddresses: db.prepare(
        "DELETE FROM addresses WHERE client_fk = ? AND valid_lifetime_end <= ?",
      ),
      expirePrefixes: db.prepare(
        "DELETE FROM prefixes WHERE client_fk = ? AND valid_lifetime_end <= ?",
      ),
    };
  }

  /** Record the reply in `bundle` (see {@link LeaseStore.remember}). */
  remember(bundle: TransactionBundle, now: number): void {
    const seen = observe(bundle, Math.floor(now), this.#sensitive);
    if (!seen) return;
    if (Date.now() < this.#lockedUntil || !this.#ensureOpen()) {
      this.skippedRecords++;
      return;
    }
    const db = this.#db!;
    const s = this.#statements!;
    const t = Math.floor(now);
    try {
      db.exec("BEGIN IMMEDIATE");
    } catch (e) {
      this.#locked(e);
      return;
    }
    try {
      const row = s.findClient.get(seen.clientId, seen.linkAddress) as { id: number } | undefined;
      const hasLeases = seen.addresses.some((a) => !a.released) ||
        seen.prefixes.some((p) => !p.released);
      if (!row && !hasLeases) {
        db.exec("ROLLBACK");
        return;
      }
      const options = encodeOptions(seen.options);
      const relayData = seen.relayData ?? null;
      let id: number;
      if (row) {
        id = row.id;
        s.updateClient.run(options, t, relayData, id);
      } else {
        id = Number(
          (s.insertClient.get(seen.clientId, seen.linkAddress, options, t, relayData) as {
            id: number;
          }).id,
        );
      }
      s.clearRemoteIds.run(id);
      for (const r of seen.remoteIds) s.addRemoteId.run(id, r);
      s.clearRelayIds.run(id);
      for (const r of seen.relayIds) s.addRelayId.run(id, r);
      for (const a of seen.addresses) {
        const address = expandIPv6(a.address);
        if (a.released) {
          s.releaseAddress.run(id, address);
          continue;
        }
        s.takeAddress.run(address, id);
        s.upsertAddress.run(id, address, a.preferredEnd, a.validEnd, a.options);
      }
      for (const p of seen.prefixes) {
        const [first, last] = prefixRange(p.prefix, p.length);
        if (p.released) {
          s.releasePrefix.run(id, first, last);
          continue;
        }
        s.takePrefix.run(last, first, id);
        s.upsertPrefix.run(id, first, last, p.preferredEnd, p.validEnd, p.options);
      }
      s.expireAddresses.run(id, t);
      s.expirePrefixes.run(id, t);
      db.exec("COMMIT");
      this.writtenRecords++;
    } catch (e) {
      try {
        db.exec("ROLLBACK");
      } catch {
        // no transaction left
      }
      this.#locked(e);
    }
  }

  #locked(e: unknown): void {
    this.skippedRecords++;
    this.#lockedUntil = Date.now() + this.#options.lockedBackoff;
    log.warning("Cannot record lease in {path} ({error}); pausing recording for {ms} ms", {
      path: this.path,
      error: (e as Error).message,
      ms: this.#options.lockedBackoff,
    });
  }

  /** Find clients (see {@link LeaseStore.find}). */
  find(query: LQQueryOption, q: QueryOptions, stream: boolean): ClientCursor | undefined {
    const built = this.#buildQuery(query);
    if (!built) return undefined;
    if (!this.#ensureOpen()) throw new Error(`leasequery database ${this.path} is not available`);
    const params = { ...built.params, now: Math.floor(q.now) };
    if (!stream) {
      const statement = this.#db!.prepare(built.sql);
      return new SqliteCursor(statement.iterate(params), this.#reader!, q, () => {});
    }
    // A connection of its own: one read snapshot for the whole stream.
    const db = openDatabase(this.path, this.#options.busyTimeout);
    try {
      db.exec("BEGIN");
      const statement = db.prepare(built.sql);
      return new SqliteCursor(statement.iterate(params), new Reader(db), q, () => {
        try {
          db.exec("ROLLBACK");
        } catch {
          // nothing open
        }
        db.close();
      });
    } catch (e) {
      db.close();
      throw e;
    }
  }

  #buildQuery(
    query: LQQueryOption,
  ): { sql: string; params: Record<string, string | number> } | undefined {
    const params: Record<string, string | number> = {};
    const where: string[] = [HAS_LEASES];
    let from = "clients c";
    if (query.linkAddress !== "::") {
      where.push("c.link_address = :link");
      params.link = expandIPv6(query.linkAddress);
    }
    switch (query.queryType) {
      case QUERY_BY_ADDRESS: {
        const option = queryOption(
          query,
          IAAddressOption,
          "query by address without an IA Address",
        );
        params.address = expandIPv6(option.address);
        where.push(
          "c.id IN (SELECT client_fk FROM addresses WHERE address = :address AND " +
            "valid_lifetime_end > :now UNION SELECT client_fk FROM prefixes WHERE " +
            "first_address <= :address AND last_address >= :address AND " +
            "valid_lifetime_end > :now)",
        );
        break;
      }
      case QUERY_BY_CLIENTID: {
        const option = queryOption(query, ClientIdOption, "query by client-id without a Client ID");
        params.client = option.duid.toHex();
        where.push("c.client_id = :client");
        break;
      }
      case QUERY_BY_RELAY_ID: {
        const option = queryOption(query, RelayIdOption, "query by relay-id without a Relay ID");
        params.relay = option.duid.toHex();
        from = "clients c JOIN relay_ids r ON r.client_fk = c.id";
        where.push("r.relay_id = :relay");
        break;
      }
      case QUERY_BY_REMOTE_ID: {
        const option = queryOption(query, RemoteIdOption, "query by remote-id without a Remote ID");
        params.remote = remoteIdKey(option);
        from = "clients c JOIN remote_ids r ON r.client_fk = c.id";
        where.push("r.remote_id = :remote");
        break;
      }
      case QUERY_BY_LINK_ADDRESS:
        break;
      default:
        return undefined;
    }
    return {
      sql: `SELECT ${CLIENT_COLUMNS} FROM ${from} WHERE ${where.join(" AND ")} ORDER BY c.id`,
      params,
    };
  }

  /** Close the database. */
  close(): void {
    try {
      this.#db?.close();
    } catch {
      // already closed
    }
    this.#db = undefined;
    this.#reader = undefined;
    this.#statements = undefined;
  }
}
