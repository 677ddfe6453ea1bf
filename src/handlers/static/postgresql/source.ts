/**
 * The PostgreSQL backend of static assignments: table `assignments (id TEXT PRIMARY KEY, address
 * TEXT NULL, prefix TEXT NULL)` (the name is configurable) holding the canonical ids
 * `dhcpkit build-postgresql` writes. Every lookup reads the table, so a changed row is used by the
 * next request; the lookups a worker starts in one turn of its event loop share one prepared
 * query for all their candidate ids (`id = ANY($1)`, see `batch.ts`), and each takes the first of
 * its own ids, in its lookup order, that has a row.
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
  type PostgresPool,
} from "../../../storage/postgresql/mod.ts";
import { parseIPv6 } from "../../../protocol/mod.ts";
import { type Assignment, AssignmentFormatError, assignmentFrom } from "../ids.ts";
import type { AsyncAssignmentSource } from "../source.ts";
import { type BatcherOptions, LookupBatcher, type RowsById, textArrayLiteral } from "./batch.ts";

const log = getLogger(["dhcpkit", "static"]);

/** Entries the outage cache holds at most per worker; the oldest go first. */
export const CACHE_ENTRIES = 100_000;

/** How often the same malformed row is logged at most. */
const MALFORMED_LOG_INTERVAL_MS = 60_000;

/** A table that cannot be used or a row that is malformed; the message names the source. */
export class AssignmentTableError extends Error {
  /** Create the error. */
  constructor(message: string) {
    super(message);
    this.name = "AssignmentTableError";
  }
}

/** `schema.table` or `table`, each part quoted as an SQL identifier. */
export function quoteTable(name: string): string {
  return name.split(".").map((part) => `"${part.replaceAll('"', '""')}"`).join(".");
}

interface Row {
  id: string;
  address: string | null;
  prefix: string | null;
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

  /**
   * Wrap `pool` and `table`; `cacheTime` (seconds, 0 = none) is how long rows may answer while the
   * database is away; `batching` tunes how lookups share queries (default: at most one query
   * per connection at a time). Call {@link PostgresAssignmentSource.open} before using it.
   */
  constructor(
    readonly pool: PostgresPool,
    readonly table: string,
    readonly cacheTime = 0,
    batching: BatcherOptions = {},
  ) {
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
    return this;
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
    const key = this.cacheTime > 0 ? ids.join("\n") : "";
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
    for (const id of ids) {
      const row = rows.get(id);
      if (!row) continue;
      let assignment: Assignment;
      try {
        assignment = this.#assignmentOf(row);
      } catch (e) {
        if (!(e instanceof AssignmentFormatError)) throw e;
        throw this.#malformed(id, e.message);
      }
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
    this.#cache.clear();
    this.#parsed.clear();
    await this.pool.release();
  }
}
