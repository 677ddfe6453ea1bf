/**
 * The write side of `<lq-postgresql>`: what replies hand out is queued in memory and written in
 * batches, one transaction per batch, away from the request path.
 *
 * - A batch is written at the latest {@link WriterOptions.flushMs} after its first record was
 *   queued (default 250 ms, so a lease is visible to leasequery on every server within a second),
 *   or at once when {@link WriterOptions.batchSize} records are waiting.
 * - While the database cannot be written, records stay queued, up to
 *   {@link WriterOptions.queueSize}; what does not fit is dropped, counted in
 *   {@link LeaseWriter.dropped} and in the statistic `leasequery_records_dropped{store}`
 *   (`ctl stats`, `stats-json`, `/metrics`), and reported in a warning at most every 10 seconds.
 *   Writing resumes by itself when the database is back. Records written are counted in
 *   `leasequery_records_written{store}`.
 * - Several observations of one client in a batch are merged (the newest options win; leases are
 *   kept by address). Two servers writing at once may deadlock in the database; the batch is then
 *   retried.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import {
  describeError,
  errorCode,
  type PostgresPool,
  type Transaction,
} from "../../../storage/postgresql/mod.ts";
import { toHex } from "../../../protocol/mod.ts";
import { extensionStatistics, type Recorder, type StatisticFamily } from "../../../pipeline/mod.ts";
import { encodeOptions, expandIPv6, type ObservedClient, prefixRange } from "../store.ts";

const log = getLogger(["dhcpkit", "leasequery", "postgresql"]);

/** How the writer batches. */
export interface WriterOptions {
  /** Longest time a record waits before its batch is written, ms (default 250). */
  flushMs?: number;
  /** Records written per transaction at most (default 500). */
  batchSize?: number;
  /** Records kept while the database cannot be written (default 10000). */
  queueSize?: number;
}

/** A queued observation and when it was made (Unix seconds). */
interface Queued {
  seen: ObservedClient;
  time: number;
}

/** `leasequery_records_written{store}`: records this server wrote to a shared lease store. */
export const LEASEQUERY_RECORDS_WRITTEN: StatisticFamily = {
  name: "leasequery_records_written",
  help: "Lease records written to the shared leasequery store, by store (the database URL)",
  type: "counter",
  labels: ["store"],
};

/**
 * `leasequery_records_dropped{store}`: records never written because the write queue was full
 * while the database could not be written (or still held them at shutdown).
 */
export const LEASEQUERY_RECORDS_DROPPED: StatisticFamily = {
  name: "leasequery_records_dropped",
  help: "Lease records dropped because the write queue (queue-size) was full while the " +
    "leasequery database could not be written, or still queued at shutdown, by store",
  type: "counter",
  labels: ["store"],
};

/** The statistics families of the leasequery extension. */
export const LEASEQUERY_STATISTICS: readonly StatisticFamily[] = [
  LEASEQUERY_RECORDS_WRITTEN,
  LEASEQUERY_RECORDS_DROPPED,
];

/** How often problems are logged at most, ms. */
const WARN_INTERVAL_MS = 10_000;

/** SQLSTATEs after which the same batch is simply tried again. */
const RETRY_CODES = new Set(["40P01", "40001"]); // deadlock, serialization failure

/** One lease or id of a batch, ready for JSON: its client (`c`), link (`l`) and values. */
type LeaseRow = { c: string; l: string } & { [column: string]: unknown };

/** One client's merged observations of a batch, ready for JSON. */
interface ClientRow {
  c: string;
  l: string;
  o: string;
  t: number;
  r: string | null;
  h: boolean;
}

/** Merge a batch by client (and link), later observations winning; leases kept by address. */
export function mergeBatch(batch: readonly Queued[]): {
  clients: ClientRow[];
  addresses: LeaseRow[];
  prefixes: LeaseRow[];
  remoteIds: LeaseRow[];
  relayIds: LeaseRow[];
} {
  const clients = new Map<string, ClientRow>();
  const addresses = new Map<string, LeaseRow>();
  const prefixes = new Map<string, LeaseRow>();
  const remote = new Map<string, string[]>();
  const relay = new Map<string, string[]>();
  for (const { seen, time } of batch) {
    const key = `${seen.clientId} ${seen.linkAddress}`;
    const hasLeases = seen.addresses.some((a) => !a.released) ||
      seen.prefixes.some((p) => !p.released);
    const before = clients.get(key);
    clients.set(key, {
      c: seen.clientId,
      l: seen.linkAddress,
      o: toHex(encodeOptions(seen.options)),
      t: time,
      r: seen.relayData ? toHex(seen.relayData) : null,
      h: hasLeases || (before?.h ?? false),
    });
    remote.set(key, seen.remoteIds);
    relay.set(key, seen.relayIds);
    // A release never overrides another client's lease of the same batch.
    const others = (row: { c: string; l: string } | undefined) =>
      row !== undefined && (row.c !== seen.clientId || row.l !== seen.linkAddress);
    for (const a of seen.addresses) {
      const address = expandIPv6(a.address);
      if (a.released && others(addresses.get(address))) continue;
      // An address handed to another client later in the batch belongs to that one.
      addresses.set(address, {
        c: seen.clientId,
        l: seen.linkAddress,
        a: address,
        p: a.preferredEnd,
        v: a.validEnd,
        o: toHex(a.options),
        x: a.released === true,
      });
    }
    for (const p of seen.prefixes) {
      const [first, last] = prefixRange(p.prefix, p.length);
      if (p.released && others(prefixes.get(`${first} ${last}`))) continue;
      prefixes.set(`${first} ${last}`, {
        c: seen.clientId,
        l: seen.linkAddress,
        f: first,
        z: last,
        p: p.preferredEnd,
        v: p.validEnd,
        o: toHex(p.options),
        x: p.released === true,
      });
    }
  }
  const byClient = (a: { c: string; l: string }, b: { c: string; l: string }) =>
    `${a.c} ${a.l}` < `${b.c} ${b.l}` ? -1 : `${a.c} ${a.l}` > `${b.c} ${b.l}` ? 1 : 0;
  const ids = (m: Map<string, string[]>) =>
    [...m].flatMap(([key, list]) => {
      const client = clients.get(key)!;
      return [...new Set(list)].map((x) => ({ c: client.c, l: client.l, x }));
    });
  return {
    // A fixed order makes concurrent writers take row locks in the same order.
    clients: [...clients.values()].sort(byClient),
    addresses: [...addresses.values()].sort(byClient),
    prefixes: [...prefixes.values()].sort(byClient),
    remoteIds: ids(remote),
    relayIds: ids(relay),
  };
}

const CLIENTS = "json_to_recordset($1::text::json) AS i(c TEXT, l TEXT, o TEXT, t BIGINT, " +
  "r TEXT, h BOOLEAN)";
const JOIN_CLIENT = "JOIN leasequery_clients c ON c.client_id = i.c AND c.link_address = i.l";

/** Write one merged batch in the transaction `tx`. */
async function writeBatch(
  tx: Transaction,
  merged: ReturnType<typeof mergeBatch>,
  now: number,
): Promise<void> {
  const json = (rows: unknown[]) => JSON.stringify(rows);
  const clients = json(merged.clients);
  await tx.query(
    "INSERT INTO leasequery_clients AS e (client_id, link_address, options, last_interaction, " +
      `relay_data) SELECT i.c, i.l, decode(i.o, 'hex'), i.t, decode(i.r, 'hex') FROM ${CLIENTS} ` +
      "WHERE i.h OR EXISTS (SELECT 1 FROM leasequery_clients x WHERE x.client_id = i.c AND " +
      "x.link_address = i.l) ON CONFLICT (client_id, link_address) DO UPDATE SET options = " +
      "excluded.options, last_interaction = excluded.last_interaction, relay_data = " +
      "excluded.relay_data WHERE e.last_interaction <= excluded.last_interaction",
    [clients],
  );
  for (
    const [table, column, rows] of [
      ["leasequery_remote_ids", "remote_id", merged.remoteIds],
      ["leasequery_relay_ids", "relay_id", merged.relayIds],
    ] as const
  ) {
    await tx.query(
      `DELETE FROM ${table} d USING ${CLIENTS} ${JOIN_CLIENT} WHERE d.client_fk = c.id`,
      [clients],
    );
    if (rows.length === 0) continue;
    await tx.query(
      `INSERT INTO ${table} (client_fk, ${column}) SELECT c.id, i.x FROM ` +
        `json_to_recordset($1::text::json) AS i(c TEXT, l TEXT, x TEXT) ${JOIN_CLIENT} ` +
        "ON CONFLICT DO NOTHING",
      [json(rows)],
    );
  }
  if (merged.addresses.length > 0) {
    const addresses = json(merged.addresses);
    const rows = "json_to_recordset($1::text::json) AS i(c TEXT, l TEXT, a TEXT, p BIGINT, " +
      "v BIGINT, o TEXT, x BOOLEAN)";
    // An address now handed to this client is no longer another's; one it released is no
    // longer its own.
    await tx.query(
      `DELETE FROM leasequery_addresses d USING ${rows} ${JOIN_CLIENT} ` +
        "WHERE d.address = i.a AND ((NOT i.x AND d.client_fk <> c.id) OR " +
        "(i.x AND d.client_fk = c.id))",
      [addresses],
    );
    await tx.query(
      "INSERT INTO leasequery_addresses AS d (client_fk, address, preferred_lifetime_end, " +
        `valid_lifetime_end, options) SELECT c.id, i.a, i.p, i.v, decode(i.o, 'hex') FROM ${rows} ` +
        `${JOIN_CLIENT} WHERE NOT i.x ON CONFLICT (client_fk, address) DO UPDATE SET preferred_lifetime_end = ` +
        "excluded.preferred_lifetime_end, valid_lifetime_end = excluded.valid_lifetime_end, " +
        "options = excluded.options",
      [addresses],
    );
  }
  if (merged.prefixes.length > 0) {
    const prefixes = json(merged.prefixes);
    const rows = "json_to_recordset($1::text::json) AS i(c TEXT, l TEXT, f TEXT, z TEXT, " +
      "p BIGINT, v BIGINT, o TEXT, x BOOLEAN)";
    await tx.query(
      `DELETE FROM leasequery_prefixes d USING ${rows} ${JOIN_CLIENT} ` +
        "WHERE (NOT i.x AND d.first_address <= i.z AND d.last_address >= i.f AND " +
        "d.client_fk <> c.id) OR (i.x AND d.client_fk = c.id AND d.first_address = i.f AND " +
        "d.last_address = i.z)",
      [prefixes],
    );
    await tx.query(
      "INSERT INTO leasequery_prefixes AS d (client_fk, first_address, last_address, " +
        "preferred_lifetime_end, valid_lifetime_end, options) SELECT c.id, i.f, i.z, i.p, i.v, " +
        `decode(i.o, 'hex') FROM ${rows} ${JOIN_CLIENT} WHERE NOT i.x ON CONFLICT (client_fk, ` +
        "first_address, " +
        "last_address) DO UPDATE SET preferred_lifetime_end = excluded.preferred_lifetime_end, " +
        "valid_lifetime_end = excluded.valid_lifetime_end, options = excluded.options",
      [prefixes],
    );
  }
  for (const table of ["leasequery_addresses", "leasequery_prefixes"]) {
    await tx.query(
      `DELETE FROM ${table} d USING ${CLIENTS} ${JOIN_CLIENT} WHERE d.client_fk = c.id ` +
        "AND d.valid_lifetime_end <= $2",
      [clients, now],
    );
  }
}

/** Queues lease records and writes them in batches (see the module documentation). */
export class LeaseWriter {
  readonly #queue: Queued[] = [];
  readonly #flushMs: number;
  readonly #batchSize: number;
  readonly #queueSize: number;
  readonly #writtenSeries?: Recorder;
  readonly #droppedSeries?: Recorder;
  #timer?: ReturnType<typeof setTimeout>;
  #flushing?: Promise<void>;
  #closed = false;
  #lastWarning = 0;
  #droppedWarned = 0;
  /** Records written. */
  written = 0;
  /** Records dropped because the queue was full. */
  dropped = 0;
  /** Batches that failed (the records were kept for the next try while they fit). */
  failedBatches = 0;

  /**
   * Write through `pool`, counting into this thread's statistics when the leasequery families
   * are registered (they are once the extension is installed).
   */
  constructor(readonly pool: PostgresPool, options: WriterOptions = {}) {
    this.#flushMs = Math.max(1, options.flushMs ?? 250);
    this.#batchSize = Math.max(1, options.batchSize ?? 500);
    this.#queueSize = Math.max(1, options.queueSize ?? 10_000);
    const families = extensionStatistics.families;
    if (families.get(LEASEQUERY_RECORDS_DROPPED.name) === LEASEQUERY_RECORDS_DROPPED) {
      this.#writtenSeries = extensionStatistics.series(
        LEASEQUERY_RECORDS_WRITTEN,
        pool.description,
      );
      this.#droppedSeries = extensionStatistics.series(
        LEASEQUERY_RECORDS_DROPPED,
        pool.description,
      );
    }
  }

  #drop(n: number): void {
    this.dropped += n;
    this.#droppedSeries?.add(n);
  }

  /** Records waiting to be written. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Queue an observation made at `time` (Unix seconds); never blocks, never throws. */
  add(seen: ObservedClient, time: number): void {
    if (this.#closed) return;
    if (this.#queue.length >= this.#queueSize) {
      this.#drop(1);
      this.#warn();
      return;
    }
    this.#queue.push({ seen, time });
    if (this.#queue.length >= this.#batchSize) this.#schedule(0);
    else this.#schedule(this.#flushMs);
  }

  #schedule(ms: number): void {
    if (this.#flushing) return; // the running flush schedules the next one
    if (this.#timer !== undefined) {
      if (ms > 0) return;
      clearTimeout(this.#timer);
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#flushing = this.#flush().finally(() => {
        this.#flushing = undefined;
        if (this.#queue.length > 0 && !this.#closed) {
          this.#schedule(this.#queue.length >= this.#batchSize ? 0 : this.#flushMs);
        }
      });
    }, ms);
  }

  async #flush(): Promise<void> {
    const batch = this.#queue.splice(0, this.#batchSize);
    if (batch.length === 0) return;
    const merged = mergeBatch(batch);
    const now = Math.floor(Date.now() / 1000);
    for (let attempt = 1;; attempt++) {
      try {
        await this.pool.transaction((tx) => writeBatch(tx, merged, now));
        this.written += batch.length;
        this.#writtenSeries?.add(batch.length);
        return;
      } catch (e) {
        if (RETRY_CODES.has(errorCode(e) ?? "") && attempt < 3) continue;
        this.failedBatches++;
        // Keep them for the next try, ahead of newer records, as far as they fit.
        this.#queue.unshift(...batch);
        const excess = this.#queue.length - this.#queueSize;
        if (excess > 0) {
          this.#queue.splice(this.#queueSize, excess);
          this.#drop(excess);
        }
        this.#warn(describeError(e));
        return;
      }
    }
  }

  #warn(reason?: string): void {
    const now = Date.now();
    if (now - this.#lastWarning < WARN_INTERVAL_MS) return;
    this.#lastWarning = now;
    const dropped = this.dropped - this.#droppedWarned;
    this.#droppedWarned = this.dropped;
    log.warning(
      "{database}: leasequery records not written yet{reason}: {queued} queued, {dropped} " +
        "dropped since the last warning ({total} in all) because the queue holds at most {max}",
      {
        database: this.pool.description,
        reason: reason ? ` (${reason})` : "",
        queued: this.#queue.length,
        dropped,
        total: this.dropped,
        max: this.#queueSize,
      },
    );
  }

  /**
   * Write what is queued, trying for at most `timeoutMs`, then stop accepting records; what is
   * still queued then is counted as dropped.
   */
  async close(timeoutMs = 2000): Promise<void> {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.#flushing) await this.#flushing;
      if (this.#queue.length === 0 || !this.pool.up) break;
      await (this.#flushing = this.#flush().finally(() => this.#flushing = undefined));
    }
    if (this.#flushing) await this.#flushing;
    this.#closed = true;
    if (this.#queue.length > 0) {
      this.#drop(this.#queue.length);
      log.warning("{database}: {count} leasequery records not written at close", {
        database: this.pool.description,
        count: this.#queue.length,
      });
      this.#queue.length = 0;
    }
  }
}
