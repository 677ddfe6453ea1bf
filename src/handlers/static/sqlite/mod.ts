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
 * What a connection read (rows and misses, by id) is kept while the database is unchanged. Each
 * batch first reads the file header's change counter (bytes 24-27, which every committing writer
 * increments in rollback-journal mode) with one `pread` and no lock: while it is the value seen
 * when the kept rows were read, known ids are answered from memory without a transaction, so a
 * batch of known clients takes no lock at all. An id not known opens the batch's read transaction
 * and, under its lock, reads the counter again, so what is kept always matches the counter it is
 * filed under; when the counter moved, everything kept is forgotten and a lookup that had already
 * used kept answers for earlier ids starts over. In WAL mode the header counter is not kept up to
 * date, so every batch opens its transaction and asks `PRAGMA data_version` instead.
 * @module
 */

import { closeSync, openSync, readSync } from "node:fs";
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

/** Added to `PRAGMA data_version` so that its values never equal a header change counter. */
const WAL_TOKEN = 2 ** 32;

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
  /** The database file, opened for reading the header's change counter; -1 once closed. */
  #fd: number;
  /** Bytes 18-27 of the file header (format versions ... change counter). */
  readonly #header = new Uint8Array(10);
  /** The change token {@link SqliteAssignmentSource.#ids} belongs to (-1: none yet). */
  #seen = -1;
  /** Bumped whenever {@link SqliteAssignmentSource.#ids} is forgotten. */
  #generation = 0;
  /** What each id looked up read while the database was unchanged: its assignment or null. */
  readonly #ids = new Map<string, Assignment | null>();
  /** This batch has checked that {@link SqliteAssignmentSource.#ids} is current. */
  #checked = false;
  /**
   * This batch holds a read transaction (until the microtask {@link SqliteAssignmentSource.#end})
   * whose change token has been read under its lock.
   */
  #locked = false;
  readonly #end = () => {
    this.#checked = false;
    this.#locked = false;
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
    try {
      this.#fd = openSync(path, "r");
    } catch {
      this.#fd = -1; // Unreadable as a plain file: every batch asks SQLite instead.
    }
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
    const generation = this.#generation;
    let found = this.#first(ids);
    // Answers kept for earlier ids were older than a later one: ask again under the lock this
    // batch now holds (so the generation cannot move again).
    if (this.#generation !== generation) found = this.#first(ids);
    return found;
  }

  #first(ids: readonly string[]): Assignment | undefined {
    for (const id of ids) {
      const found = this.lookupOne(id);
      if (found) return found;
    }
    return undefined;
  }

  /** Changes when answers given earlier in this batch came from rows changed since. */
  get generation(): number {
    return this.#generation;
  }

  /** The assignment of the row of `id`, if it has a usable one (a malformed row is logged). */
  lookupOne(id: string): Assignment | undefined {
    if (!this.#checked) this.#check();
    const known = this.#ids.get(id);
    if (known !== undefined) return known ?? undefined;
    if (!this.#locked) this.#lock(true);
    const found = this.#read(id);
    if (this.#ids.size >= IDS_CACHED) this.#ids.clear();
    this.#ids.set(id, found ?? null);
    return found;
  }

  /** Once per batch: forget what is kept if the database changed since it was read. */
  #check(): void {
    this.#checked = true;
    queueMicrotask(this.#end);
    const counter = this.#headerCounter();
    if (counter < 0) this.#lock(false);
    else if (counter !== this.#seen) this.#forget(-1, false);
  }

  /**
   * Open this batch's read transaction, take SQLite's shared lock and file what is kept under
   * the change token read while holding it; `stale`: this batch may have answered from kept rows.
   */
  #lock(stale: boolean): void {
    this.#locked = true;
    if (!this.#db.isTransaction) this.#begin.run();
    // data_version reads the schema, which takes the shared lock of the deferred transaction.
    const version = Number((this.#version.get() as { data_version: number }).data_version);
    const counter = this.#headerCounter();
    const token = counter < 0 ? WAL_TOKEN + version : counter;
    if (token !== this.#seen) this.#forget(token, stale);
  }

  /**
   * Forget every kept answer (what is kept from now on belongs to `token`); `stale` when this
   * batch may already have answered from them.
   */
  #forget(token: number, stale: boolean): void {
    if (stale && this.#ids.size > 0) this.#generation++;
    this.#ids.clear();
    this.#seen = token;
  }

  /**
   * The file header's change counter, or -1 when it cannot tell (WAL mode, whose readers and
   * writers leave it alone, or a file that cannot be read).
   */
  #headerCounter(): number {
    if (this.#fd < 0) return -1;
    const h = this.#header;
    try {
      if (readSync(this.#fd, h, 0, 10, 18) !== 10) return -1;
    } catch {
      return -1;
    }
    if (h[0] === 2 || h[1] === 2) return -1;
    return ((h[6] << 24) | (h[7] << 16) | (h[8] << 8) | h[9]) >>> 0;
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
    if (this.#fd >= 0) closeSync(this.#fd);
    this.#fd = -1;
    if (this.#db.isOpen) this.#db.close();
  }
}
