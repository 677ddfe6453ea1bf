/**
 * The SQLite backend of static assignments: table `assignments(id, address, prefix)` with the
 * canonical ids `dhcpkit build-sqlite` writes. Each worker opens its own read-only connection with
 * one prepared statement; every lookup reads the database, so rows changed while the server runs
 * are used at once.
 * @module
 */

import { DatabaseSync, type StatementSync } from "node:sqlite";
import { getLogger } from "@logtape/logtape";
import { type Assignment, AssignmentFormatError, assignmentFrom } from "../ids.ts";
import type { AssignmentSource } from "../source.ts";

const log = getLogger(["dhcpkit", "static"]);

/** How many candidate ids one lookup may pass (one per id kind). */
export const MAX_IDS = 5;

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

interface Row {
  id: string;
  address: string | null;
  prefix: string | null;
}

/** Assignments read from an SQLite database on every lookup. */
export class SqliteAssignmentSource implements AssignmentSource {
  readonly #db: DatabaseSync;
  readonly #select: StatementSync;

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
      const placeholders = Array(MAX_IDS).fill("?").join(", ");
      this.#select = db.prepare(
        `SELECT id, address, prefix FROM assignments WHERE id IN (${placeholders})`,
      );
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
   * The assignment of the first id (in the given order) that has a row: one indexed query for
   * all candidates. A row whose address or prefix is malformed is logged and skipped.
   */
  lookup(ids: readonly string[]): Assignment | undefined {
    if (ids.length === 0) return undefined;
    const params: (string | null)[] = ids.slice(0, MAX_IDS);
    while (params.length < MAX_IDS) params.push(null);
    const rows = this.#select.all(...params) as unknown as Row[];
    if (rows.length === 0) return undefined;
    for (const id of ids) {
      const row = rows.find((r) => r.id === id);
      if (!row) continue;
      try {
        return assignmentFrom(row.address, row.prefix);
      } catch (e) {
        if (!(e instanceof AssignmentFormatError)) throw e;
        log.error("{path}: row {id} is unusable and ignored: {error}", {
          path: this.path,
          id,
          error: e.message,
        });
      }
    }
    return undefined;
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
