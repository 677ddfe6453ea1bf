/**
 * The SQLite backend of static assignments: table `assignments(id, address, prefix)` with the
 * canonical ids `dhcpkit build-sqlite` writes. Each worker opens its own read-only connection with
 * one prepared statement, asked key by key in lookup order (an indexed equality lookup, stopping
 * at the first key with a row).
 *
 * The lookups of one batch of requests share one read transaction: it is begun by the first
 * lookup and ended when the batch is done (a microtask, which runs once the synchronous handling
 * of the batch returns), so SQLite takes and checks its file lock once per batch instead of once
 * per key (about eight system calls each). Rows changed while the server runs are used from the
 * next batch on; a writer (`dhcpkit build-sqlite`) waits at most for the batch in hand.
 *
 * What a connection read (rows and misses, by id) is kept while the database is unchanged:
 * `PRAGMA data_version`, read once per batch inside its transaction, tells whether another
 * connection committed since; when it did, everything kept is forgotten. A known id then costs a
 * map lookup instead of an SQLite query.
 * @module
 */

import { DatabaseSync, type StatementSync } from "node:sqlite";
import { getLogger } from "@logtape/logtape";
import { parseIPv6 } from "../../../protocol/mod.ts";
import { type Assignment, AssignmentFormatError, assignmentFrom } from "../ids.ts";
import type { AssignmentSource } from "../source.ts";

const log = getLogger(["dhcpkit", "static"]);

/** How long a lookup waits for a writer (`build-sqlite`) to finish a batch, in milliseconds. */
export const BUSY_TIMEOUT_MS = 5000;

/** A database that cannot be used; the message names the file. */
export class SqliteFileError extends Error {
  /** Create the error. */
  constructor(message: string) {
    super(message);
    this.name = "SqliteFileError";
  }
}

/** How many distinct rows {@link SqliteAssignmentSource} keeps as objects (then starts over). */
const ASSIGNMENTS_CACHED = 4096;

/** How many ids (rows and misses) {@link SqliteAssignmentSource} remembers (then starts over). */
const IDS_CACHED = 1 << 17;

/** The assignment with the bytes of its address, so that answers need not parse the text. */
function withAddressBytes(assignment: Assignment): Assignment {
  return assignment.address === undefined
    ? assignment
    : { ...assignment, addressBytes: parseIPv6(assignment.address) };
}

interface Row {
  address: string | null;
  prefix: string | null;
}

/** Assignments read from an SQLite database on every lookup. */
export class SqliteAssignmentSource implements AssignmentSource {
  readonly #db: DatabaseSync;
  readonly #select: StatementSync;
  readonly #begin: StatementSync;
  readonly #commit: StatementSync;
  readonly #version: StatementSync;
  /** `data_version` when {@link SqliteAssignmentSource.#ids} was last known true. */
  #seen = -1;
  /** What each id looked up read while the database was unchanged: its assignment or null. */
  readonly #ids = new Map<string, Assignment | null>();
  /** A read transaction is open (until the microtask {@link SqliteAssignmentSource.#end}). */
  #reading = false;
  readonly #end = () => {
    this.#reading = false;
    if (this.#db.isOpen && this.#db.isTransaction) this.#commit.run();
  };
  /** Assignments by their row's address and prefix text: rows are turned into objects once. */
  readonly #assignments = new Map<string, Assignment>();

  /**
   * Open `path` read-only and check that it holds an `assignments` table with the columns `id`,
   * `address` and `prefix`; throws {@link SqliteFileError} naming the file otherwise.
   */
  constructor(readonly path: string) {
    let db: DatabaseSync;
    try {
      db = new DatabaseSync(path, { readOnly: true, timeout: BUSY_TIMEOUT_MS });
    } catch (e) {
      throw new SqliteFileError(
        `${path}: cannot open the SQLite database: ${(e as Error).message}`,
      );
    }
    try {
      const columns = new Set(
        (db.prepare("PRAGMA table_info(assignments)").all() as { name: string }[]).map((c) =>
          c.name.toLowerCase()
        ),
      );
      if (columns.size === 0) {
        throw new SqliteFileError(
          `${path}: the database has no table "assignments" (create it with dhcpkit build-sqlite)`,
        );
      }
      const missing = ["id", "address", "prefix"].filter((c) => !columns.has(c));
      if (missing.length > 0) {
        throw new SqliteFileError(
          `${path}: table "assignments" lacks the column(s) ${missing.join(", ")}`,
        );
      }
      this.#select = db.prepare("SELECT address, prefix FROM assignments WHERE id = ?");
      this.#begin = db.prepare("BEGIN");
      this.#commit = db.prepare("COMMIT");
      this.#version = db.prepare("PRAGMA data_version");
    } catch (e) {
      db.close();
      if (e instanceof SqliteFileError) throw e;
      throw new SqliteFileError(`${path}: not a usable SQLite database: ${(e as Error).message}`);
    }
    try {
      // Counting walks a whole b-tree: a truncated file or a damaged page fails here, at open.
      db.prepare("SELECT COUNT(*) AS n FROM assignments").get();
    } catch (e) {
      db.close();
      throw new SqliteFileError(
        `${path}: the database is damaged (truncated or a corrupt page): ${(e as Error).message}`,
      );
    }
    this.#db = db;
  }

  /** The database and the row's key. */
  locate(key: string): string {
    return `${this.path} (row ${key})`;
  }

  /** Description for logs. */
  get description(): string {
    return `SQLite database ${this.path}`;
  }

  /**
   * The assignment of the first id (in the given order) that has a usable row. A row whose
   * address or prefix is malformed is logged and skipped.
   */
  lookup(ids: readonly string[]): Assignment | undefined {
    for (const id of ids) {
      const found = this.lookupOne(id);
      if (found) return found;
    }
    return undefined;
  }

  /** The assignment of the row of `id`, if it has a usable one (a malformed row is logged). */
  lookupOne(id: string): Assignment | undefined {
    if (!this.#reading) {
      this.#reading = true;
      try {
        if (!this.#db.isTransaction) this.#begin.run();
        const version = Number((this.#version.get() as { data_version: number }).data_version);
        if (version !== this.#seen) {
          this.#ids.clear();
          this.#seen = version;
        }
      } finally {
        queueMicrotask(this.#end);
      }
    }
    const known = this.#ids.get(id);
    if (known !== undefined) return known ?? undefined;
    const found = this.#read(id);
    if (this.#ids.size >= IDS_CACHED) this.#ids.clear();
    this.#ids.set(id, found ?? null);
    return found;
  }

  /** The assignment of the row of `id` in the database (a malformed row is logged). */
  #read(id: string): Assignment | undefined {
    const row = this.#select.get(id) as Row | undefined;
    if (!row) return undefined;
    const key = `${row.address ?? ""}\n${row.prefix ?? ""}`;
    const known = this.#assignments.get(key);
    if (known) return known;
    try {
      const assignment = withAddressBytes(assignmentFrom(row.address, row.prefix));
      if (this.#assignments.size >= ASSIGNMENTS_CACHED) this.#assignments.clear();
      this.#assignments.set(key, assignment);
      return assignment;
    } catch (e) {
      if (!(e instanceof AssignmentFormatError)) throw e;
      log.error("{path}: row {id} is unusable and ignored: {error}", {
        path: this.path,
        id,
        error: e.message,
      });
      return undefined;
    }
  }

  /** Number of rows in the `assignments` table now. */
  count(): number {
    const row = this.#db.prepare("SELECT COUNT(*) AS n FROM assignments").get() as { n: number };
    return Number(row.n);
  }

  /** Close the connection. */
  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }
}
