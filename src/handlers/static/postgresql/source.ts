/**
 * The PostgreSQL backend of static assignments: table `assignments (id TEXT PRIMARY KEY, address
 * TEXT NULL, prefix TEXT NULL)` (the name is configurable) holding the canonical ids
 * `dhcpkit build-postgresql` writes. A lookup the rows cache (below) cannot answer reads the
 * table; the lookups a worker starts in one turn of its event loop share one prepared
 * query for all their candidate ids (`id = ANY($1)`, see `batch.ts`), and each takes the first of
 * its own ids, in its lookup order, that has a row.
 *
 * With `preloadLimit`, a worker whose table has at most that many rows reads all of them once it
 * listens for changes, and then knows that an id it has no row for has none: clients it never saw
 * are answered without a query too. The ids a notification names are read from the table again
 * (until a query answered without a notification in between); "forget everything" drops the whole
 * copy until the next check reads the table again.
 *
 * While the database cannot be reached, rows read in the last `outage-cache-time` seconds still
 * answer the same request; anything else makes the lookup fail (the request is not answered).
 * A row with a malformed address or prefix fails the lookup too: the client has a row, so it must
 * never be told that nothing is assigned to it.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import {
  describeError,
  errorCode,
  isConnectionError,
  type Listener,
  type PostgresPool,
} from "../../../storage/postgresql/mod.ts";
import { parseIPv6 } from "../../../protocol/mod.ts";
import { type Assignment, AssignmentFormatError, assignmentFrom } from "../ids.ts";
import type { AsyncAssignmentSource } from "../source.ts";
import { type BatcherOptions, LookupBatcher, type RowsById, textArrayLiteral } from "./batch.ts";
import { quoteTable, readNotifyChannel } from "./schema.ts";

const log = getLogger(["dhcpkit", "static"]);

/** Entries the outage cache and the rows cache each hold at most per worker; the oldest go first. */
export const CACHE_ENTRIES = 100_000;

/** How often the change triggers and the LISTEN connection are checked, ms. */
export const CHECK_INTERVAL_MS = 5_000;

/** After finding the table too large to preload, how long until counting its rows again, ms. */
export const PRELOAD_RETRY_MS = 60_000;

/** How often the same malformed row is logged at most. */
const MALFORMED_LOG_INTERVAL_MS = 60_000;

/** `promise`, or a rejection when it takes longer than {@link CHECK_INTERVAL_MS}. */
async function deadline<T>(promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${CHECK_INTERVAL_MS} ms`)),
          CHECK_INTERVAL_MS,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** A table that cannot be used or a row that is malformed; the message names the source. */
export class AssignmentTableError extends Error {
  /** Create the error. */
  constructor(message: string) {
    super(message);
    this.name = "AssignmentTableError";
  }
}

interface Row {
  id: string;
  address: string | null;
  prefix: string | null;
}

/** Options of a {@link PostgresAssignmentSource}. */
export interface PostgresSourceOptions {
  /** Seconds rows already read may answer while the database cannot be reached (0 = none). */
  cacheTime?: number;
  /** How lookups share queries (default: at most one query per connection at a time). */
  batching?: BatcherOptions;
  /** Read every row when the table has at most this many (0 = never; the default). */
  preloadLimit?: number;
}

/** A preload under way: the ids notified meanwhile, and whether everything was to be forgotten. */
interface Loading {
  ids: Set<string>;
  flushed: boolean;
}

interface Cached {
  assignment: Assignment;
  until: number;
}

/** Assignments read from a PostgreSQL table on every lookup. */
export class PostgresAssignmentSource implements AsyncAssignmentSource {
  readonly #select: string;
  readonly #batcher: LookupBatcher<Row>;
  readonly #cache = new Map<string, Cached>();
  /** Assignments parsed from rows, by their address and prefix text. */
  readonly #parsed = new Map<string, Assignment>();
  readonly #malformedLogged = new Map<string, number>();
  #count = 0;
  /** Lookups answered from the outage cache. */
  cacheAnswers = 0;
  /** The rows cache: the assignment of an id, or null for "no row" (see the module documentation). */
  readonly #known = new Map<string, Assignment | null>();
  /** The channel of the table's change triggers, when they exist. */
  #channel: string | undefined;
  #listener: Listener | undefined;
  /** Bumped by every notification and whenever the rows cache is emptied. */
  #generation = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #checking: Promise<void> | undefined;
  #closed = false;
  /** The notification the last check sent itself, and whether it came back. */
  #token: { token: string; seen: boolean } | undefined;
  readonly #tokenPrefix = `#check ${crypto.randomUUID()} `;
  #checks = 0;
  #distrustLogged = false;
  /** Lookups answered from the rows cache. */
  rowCacheAnswers = 0;
  /** Change notifications received. */
  notifications = 0;
  /** Seconds rows already read may answer while the database cannot be reached (0 = never). */
  readonly cacheTime: number;
  /** The most rows the table may have to be read whole (0 = never). */
  readonly preloadLimit: number;
  /**
   * Every row of the table as the last preload read it, kept current by the notifications (ids
   * in {@link #stale} excepted); undefined when there is none.
   */
  #all: Map<string, Row> | undefined;
  /** Ids whose row changed since the preload: read from the table until known again. */
  #stale = new Set<string>();
  #loading: Loading | undefined;
  #preloading: Promise<void> | undefined;
  /** No preload is started before this time (ms), after the table was found too large. */
  #nextPreload = 0;
  #tooLargeLogged = false;

  /**
   * Wrap `pool` and `table` (see {@link PostgresSourceOptions}); call
   * {@link PostgresAssignmentSource.open} before using it.
   */
  constructor(
    readonly pool: PostgresPool,
    readonly table: string,
    options: PostgresSourceOptions = {},
  ) {
    this.cacheTime = options.cacheTime ?? 0;
    this.preloadLimit = options.preloadLimit ?? 0;
    const batching = options.batching ?? {};
    this.#select = `SELECT id, address, prefix FROM ${
      quoteTable(table)
    } WHERE id = ANY($1::text[])`;
    this.#batcher = new LookupBatcher((ids) => this.#rows(ids), {
      maxInFlight: pool.size,
      description: this.description,
      ...batching,
    });
  }

  /** One query for the distinct ids of a batch. */
  async #rows(ids: string[]): Promise<RowsById<Row>> {
    const rows = await this.pool.query<Row>(this.#select, [textArrayLiteral(ids)]);
    const byId = new Map<string, Row>();
    for (const row of rows) byId.set(row.id, row);
    return byId;
  }

  /** Queries sent and lookups they carried (their ratio is the mean batch size). */
  get batches(): { queries: number; lookups: number } {
    return { queries: this.#batcher.queries, lookups: this.#batcher.lookups };
  }

  /** For log lines: the database (no password) and table. */
  get description(): string {
    return `PostgreSQL table ${this.table} in ${this.pool.description}`;
  }

  /** The `source` label in `/metrics`. */
  get path(): string {
    return `${this.pool.description}#${this.table}`;
  }

  /**
   * Check that the table exists with the columns `id`, `address` and `prefix` and may be read, and
   * count its rows; throws {@link AssignmentTableError} naming the source otherwise.
   */
  async open(): Promise<this> {
    try {
      await this.pool.query(this.#select, ["{}"]);
      const [row] = await this.pool.query<{ n: string }>(
        `SELECT count(*) AS n FROM ${quoteTable(this.table)}`,
      );
      this.#count = Number(row.n);
    } catch (e) {
      const code = errorCode(e);
      const hint = code === "42P01"
        ? " (create it with dhcpkit build-postgresql)"
        : code === "42703"
        ? " (it needs the columns id, address and prefix)"
        : code === "42501"
        ? ` (GRANT SELECT ON ${this.table} TO ${this.pool.target.user})`
        : "";
      throw new AssignmentTableError(
        `${this.pool.description}: cannot read table ${this.table}: ${describeError(e)}${hint}`,
      );
    }
    await this.check();
    if (!this.#channel) {
      log.info(
        "{source}: the table has no change triggers (dhcpkit build-postgresql installs them); " +
          "every lookup reads the table",
        { source: this.description },
      );
    }
    // The first requests find the whole table when it may be read whole.
    await this.#preloading;
    const timer = setInterval(() => this.check(), CHECK_INTERVAL_MS);
    Deno.unrefTimer(timer);
    this.#timer = timer;
    return this;
  }

  /** True while the rows cache is used (the triggers exist and the LISTEN connection is up). */
  get caching(): boolean {
    return this.#listener !== undefined;
  }

  /**
   * Bumped by every notification received and whenever the rows cache is emptied: a test changes
   * a row, then waits for this to move before the next lookup.
   */
  get cacheGeneration(): number {
    return this.#generation;
  }

  /** Ids in the rows cache. */
  get cachedRows(): number {
    return this.#known.size;
  }

  /** Rows of the whole-table copy (0 when there is none, see `preloadLimit`). */
  get preloadedRows(): number {
    return this.#all?.size ?? 0;
  }

  /** Whether a preload is under way (a test waits for it). */
  get preloading(): boolean {
    return this.#preloading !== undefined;
  }

  /**
   * Check the change triggers and the LISTEN connection now (also done every
   * {@link CHECK_INTERVAL_MS}): start listening when the triggers appeared, stop when they are
   * gone or the listening connection does not answer.
   */
  check(): Promise<void> {
    this.#checking ??= this.#check().finally(() => this.#checking = undefined);
    return this.#checking;
  }

  async #check(): Promise<void> {
    if (this.#closed) return;
    let channel: string | undefined;
    const listener = this.#listener;
    if (listener) {
      // Asked on the listening connection itself (see #verify); no answer within the interval
      // (a silently dead connection), or its own notification missing, stops the caching.
      try {
        channel = await deadline(this.#verify(listener));
      } catch (e) {
        this.#stopCaching(`the notification connection failed: ${describeError(e)}`);
        return;
      }
    } else {
      try {
        channel = await readNotifyChannel(this.pool, this.table);
      } catch {
        return; // the lookups report the database's state
      }
    }
    if (this.#closed) return;
    if (channel !== this.#channel) {
      this.#stopCaching("the change triggers changed");
      this.#channel = channel;
    }
    if (this.#listener) this.#startPreload(this.#listener);
    if (!channel || this.#listener) return;
    let opened: Listener;
    try {
      opened = await this.pool.listen(channel, {
        notify: (payload) => this.#notified(payload),
        lost: () => this.#lost(opened),
      });
    } catch (e) {
      log.debug("{source}: cannot LISTEN: {error}", {
        source: this.description,
        error: describeError(e),
      });
      return;
    }
    try {
      if (await deadline(this.#verify(opened)) !== channel) {
        throw new Error("the change triggers changed");
      }
    } catch (e) {
      if (!this.#distrustLogged) {
        this.#distrustLogged = true;
        log.warning("{source}: notifications cannot be trusted ({error}); rows are not cached", {
          source: this.description,
          error: describeError(e),
        });
      }
      await opened.close();
      return;
    }
    if (this.#closed || this.#channel !== channel) {
      await opened.close();
      return;
    }
    this.#forget();
    this.#listener = opened;
    log.info("{source}: listening for changes on channel {channel}; rows are cached", {
      source: this.description,
      channel,
    });
    this.#startPreload(opened);
  }

  /**
   * Read the whole table when `preloadLimit` allows and it is not held already (at most one
   * preload at a time; after finding the table too large, not again for
   * {@link PRELOAD_RETRY_MS}). Drops a copy that grew a quarter beyond the limit.
   */
  #startPreload(listener: Listener): void {
    const limit = this.preloadLimit;
    if (limit <= 0 || this.#loading || this.#closed) return;
    if (this.#all) {
      if (this.#all.size + this.#stale.size <= limit + limit / 4) return;
      this.#dropAll();
    }
    if (Date.now() < this.#nextPreload) return;
    const loading: Loading = { ids: new Set(), flushed: false };
    this.#loading = loading;
    this.#preloading = this.#preload(listener, loading)
      .catch((e) =>
        log.debug("{source}: cannot read the whole table: {error}", {
          source: this.description,
          error: describeError(e),
        })
      )
      .finally(() => {
        this.#loading = undefined;
        this.#preloading = undefined;
      });
  }

  /**
   * Read every row while `listener` listens. The query starts after LISTEN took effect, so every
   * change its snapshot misses is notified later; ids notified during the read are read again
   * from the table, and a "forget everything" meanwhile discards the read.
   */
  async #preload(listener: Listener, loading: Loading): Promise<void> {
    const limit = this.preloadLimit;
    const table = quoteTable(this.table);
    const [counted] = await this.pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
    const rows = Number(counted.n) > limit
      ? []
      : await this.pool.query<Row>(`SELECT id, address, prefix FROM ${table} LIMIT ${limit + 1}`);
    if (Number(counted.n) > limit || rows.length > limit) {
      this.#nextPreload = Date.now() + PRELOAD_RETRY_MS;
      if (!this.#tooLargeLogged) {
        this.#tooLargeLogged = true;
        log.info(
          "{source}: the table has more than {limit} rows (preload-rows); clients not seen " +
            "before are read from the table",
          { source: this.description, limit },
        );
      }
      return;
    }
    if (loading.flushed || this.#listener !== listener || this.#closed) return;
    const all = new Map<string, Row>();
    for (const row of rows) if (!loading.ids.has(row.id)) all.set(row.id, row);
    this.#all = all;
    this.#stale = new Set(loading.ids);
    this.#tooLargeLogged = false;
    log.info("{source}: read all {rows} rows; clients not seen before are answered from memory", {
      source: this.description,
      rows: all.size,
    });
  }

  /** Drop the whole-table copy (lookups of ids not known read the table again). */
  #dropAll(): void {
    this.#all = undefined;
    this.#stale.clear();
    if (this.#loading) this.#loading.flushed = true;
  }

  /**
   * The channel of the triggers, read on `listener` after a notification sent on it, which must
   * have come back by then (PostgreSQL delivers it before the NOTIFY's answer): this shows that
   * the session receives notifications. Throws when it did not come back, e.g. through a
   * transaction-pooling proxy between the server and PostgreSQL.
   */
  async #verify(listener: Listener): Promise<string | undefined> {
    const token = `${this.#tokenPrefix}${++this.#checks}`;
    this.#token = { token, seen: false };
    await listener.query("SELECT pg_notify($1, $2)", [this.#channel, token]);
    const found = await readNotifyChannel(listener, this.table);
    if (!this.#token.seen) throw new Error("its own notification did not come back");
    return found;
  }

  #notified(payload: string): void {
    if (payload.startsWith("#")) {
      // A check's own notification (ids never start with "#"); other servers' are ignored.
      if (this.#token?.token === payload) this.#token.seen = true;
      return;
    }
    this.notifications++;
    this.#generation++;
    if (payload === "") {
      this.#known.clear();
      this.#dropAll();
      return;
    }
    const all = this.#all;
    for (const id of payload.split("\n")) {
      this.#known.delete(id);
      this.#loading?.ids.add(id);
      if (all) {
        all.delete(id);
        this.#stale.add(id);
      }
    }
    // Many changed ids, each read again: read the whole table again instead (next check).
    if (all && this.#stale.size > Math.max(1000, this.preloadLimit / 10)) this.#dropAll();
  }

  #lost(listener: Listener): void {
    if (this.#listener !== listener) return;
    this.#stopCaching("the LISTEN connection was lost");
    if (!this.#closed) queueMicrotask(() => this.check());
  }

  /** Forget every row and stop using the cache until listening again. */
  #stopCaching(reason: string): void {
    const listener = this.#listener;
    this.#forget();
    if (!listener) return;
    this.#listener = undefined;
    listener.close();
    log.warning("{source}: {reason}; rows are no longer cached until it listens again", {
      source: this.description,
      reason,
    });
  }

  #forget(): void {
    this.#generation++;
    this.#known.clear();
    this.#dropAll();
  }

  /**
   * The answer of the rows cache for `ids` (the first id with a row, or none when every id is
   * known to have none); undefined when an id is not known or nothing is cached.
   */
  peek(ids: readonly string[]): { assignment?: Assignment; key?: string } | undefined {
    if (!this.#listener) return undefined;
    const all = this.#all;
    for (const id of ids) {
      let row = this.#known.get(id);
      if (row === undefined) {
        if (!all || this.#stale.has(id)) return undefined;
        const raw = all.get(id);
        if (raw === undefined) continue; // the whole table is known: no row
        try {
          row = this.#assignmentOf(raw);
        } catch (e) {
          if (!(e instanceof AssignmentFormatError)) throw e;
          // Malformed: read it from the table, whose answer fails the lookup.
          this.#stale.add(id);
          return undefined;
        }
        // Not moved to the bounded rows cache: with a large table its evictions would cost
        // more than parsing again (which the parsed-assignments map mostly saves).
      }
      if (row === null) continue;
      this.rowCacheAnswers++;
      // The outage cache stays as fresh as when every lookup read the table.
      if (this.cacheTime > 0) this.#remember(ids.join("\n"), row);
      return { assignment: row, key: id };
    }
    if (ids.length === 0) return undefined;
    this.rowCacheAnswers++;
    if (this.cacheTime > 0) this.#cache.delete(ids.join("\n"));
    return {};
  }

  #keep(id: string, row: Assignment | null): void {
    if (this.#known.size >= CACHE_ENTRIES && !this.#known.has(id)) {
      this.#known.delete(this.#known.keys().next().value!);
    }
    this.#known.set(id, row);
  }

  /** Where the row of `key` is, for explain: the table, the database and the row's id. */
  locate(key: string): string {
    return `${this.description} (row ${key})`;
  }

  /** Rows in the table when it was opened. */
  count(): number {
    return this.#count;
  }

  /** The assignment of the first id that has a row (see the module documentation). */
  async fetch(
    ids: readonly string[],
    found?: { key?: string; cached?: string },
  ): Promise<Assignment | undefined> {
    if (ids.length === 0) return undefined;
    const known = this.peek(ids);
    if (known) {
      if (found && known.key) found.key = known.key;
      return known.assignment;
    }
    const key = this.cacheTime > 0 ? ids.join("\n") : "";
    // Rows read are kept only when no notification came between now and the answer.
    const generation = this.#listener ? this.#generation : -1;
    let rows: RowsById<Row>;
    try {
      rows = await this.#batcher.get(ids);
    } catch (e) {
      const cached = this.cacheTime > 0 && isConnectionError(e) ? this.#cache.get(key) : undefined;
      if (cached && cached.until > Date.now()) {
        this.cacheAnswers++;
        if (found) found.cached = `the database cannot be reached: ${describeError(e)}`;
        return cached.assignment;
      }
      throw e;
    }
    const keep = generation === this.#generation && this.#listener !== undefined;
    const all = keep ? this.#all : undefined;
    for (const id of ids) {
      const row = rows.get(id);
      if (all) {
        // The table's current row: the whole-table copy holds it again.
        if (row) all.set(id, row);
        else all.delete(id);
      }
      if (!row) {
        if (keep) this.#keep(id, null);
        if (all) this.#stale.delete(id);
        continue;
      }
      let assignment: Assignment;
      try {
        assignment = this.#assignmentOf(row);
      } catch (e) {
        if (!(e instanceof AssignmentFormatError)) throw e;
        throw this.#malformed(id, e.message);
      }
      if (keep) this.#keep(id, assignment);
      if (all) this.#stale.delete(id);
      if (key) this.#remember(key, assignment);
      if (found) found.key = id;
      return assignment;
    }
    if (key) this.#cache.delete(key);
    return undefined;
  }

  /**
   * The assignment of `row`, parsed once per distinct address and prefix text (the same rows
   * are read over and over) with the address also as bytes for the answer; throws
   * {@link AssignmentFormatError} for a malformed row (never remembered).
   */
  #assignmentOf(row: Row): Assignment {
    const text = `${row.address ?? ""}\n${row.prefix ?? ""}`;
    let assignment = this.#parsed.get(text);
    if (!assignment) {
      const parsed = assignmentFrom(row.address, row.prefix);
      assignment = parsed.address === undefined
        ? parsed
        : { ...parsed, addressBytes: parseIPv6(parsed.address) };
      if (this.#parsed.size >= CACHE_ENTRIES) this.#parsed.clear();
      this.#parsed.set(text, assignment);
    }
    return assignment;
  }

  #malformed(id: string, reason: string): AssignmentTableError {
    const error = new AssignmentTableError(
      `${this.description}: row ${id} is malformed: ${reason}; its client is not answered`,
    );
    const now = Date.now();
    if ((this.#malformedLogged.get(id) ?? 0) < now) {
      if (this.#malformedLogged.size > 10_000) this.#malformedLogged.clear();
      this.#malformedLogged.set(id, now + MALFORMED_LOG_INTERVAL_MS);
      log.error("{error}", { error: error.message });
    }
    return error;
  }

  #remember(key: string, assignment: Assignment): void {
    this.#cache.delete(key);
    if (this.#cache.size >= CACHE_ENTRIES) {
      this.#cache.delete(this.#cache.keys().next().value!);
    }
    this.#cache.set(key, { assignment, until: Date.now() + this.cacheTime * 1000 });
  }

  /** Give the pool back. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#checking;
    await this.#preloading;
    const listener = this.#listener;
    this.#listener = undefined;
    this.#forget();
    await listener?.close();
    this.#cache.clear();
    this.#parsed.clear();
    await this.pool.release();
  }
}
