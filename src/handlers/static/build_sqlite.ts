/**
 * Convert an assignment CSV file into the SQLite database `<static-sqlite>` reads, safely while a
 * server is using that database.
 *
 * Table: `assignments(id TEXT PRIMARY KEY NOT NULL, address TEXT NULL, prefix TEXT NULL,
 * csv_mtime INT NOT NULL) WITHOUT ROWID`, holding canonical ids, addresses and prefixes.
 *
 * - Generation marker: every row written is tagged with the CSV file's modification time in
 *   nanoseconds (`csv_mtime`). A one-row table `dhcpkit_build(csv_mtime)` records the newest
 *   generation any run has started writing, so "is someone writing newer data?" costs one lookup.
 * - Rows are upserted in batches, each inside its own `BEGIN IMMEDIATE` transaction, with a pause
 *   after each commit so the server's readers get the database between batches (they wait for a
 *   batch through their busy timeout instead of failing).
 * - At the start of every batch the marker is checked: when another run has started writing data
 *   from a newer CSV file, this run stops (exit 1) and leaves the database to it. A CSV file older
 *   than what the database already holds is refused the same way (touch it to import it anyway).
 * - The 30 % rule: afterwards, rows of older generations (ids no longer in the CSV) are deleted,
 *   but only when this run's rows make up at least 70 % of the table; otherwise nothing is
 *   deleted and the result is exit 2, unless `force` is set.
 * - Invalid rows are reported with their line numbers and skipped; for duplicate ids the first
 *   row wins, as in `<static-csv>`. A CSV file without the `id`, `address` and `prefix` columns is
 *   refused (exit 1) before the database is touched.
 * @module
 */

import { statSync } from "node:fs";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { type CsvAssignmentRow, CsvFileError, iterateAssignmentCsv } from "./csv/reader.ts";

/** Exit code: the database now matches the CSV file. */
export const EXIT_OK = 0;
/** Exit code: an error, or stopped because another run writes newer data. */
export const EXIT_ERROR = 1;
/** Exit code: the rows were imported but stale rows were kept because of the 30 % rule. */
export const EXIT_DELETION_SKIPPED = 2;

/** Log levels of {@link BuildSqliteOptions.log}. */
export type BuildLogLevel = "error" | "warning" | "info" | "debug";

/** What the build functions (SQLite, PostgreSQL) take besides where to write. */
export interface BuildCommonOptions {
  /** The CSV file. */
  source: string;
  /** Delete stale rows even when they are more than 30 % of the table. */
  force?: boolean;
  /** Rows per transaction or statement. */
  batchSize?: number;
  /** Receives every message. */
  log?: (level: BuildLogLevel, message: string) => void;
  /** Called after every batch with the rows written and the CSV bytes read so far. */
  progress?: (rows: number, bytesRead: number, bytesTotal: number) => void;
}

/** Options of {@link buildSqlite}; `batchSize` defaults to 2000. */
export interface BuildSqliteOptions extends BuildCommonOptions {
  /** The SQLite database (created when missing). */
  destination: string;
  /** Pause after each committed batch, in milliseconds (default 5). */
  pauseMs?: number;
  /** How long to wait for a lock held by someone else, in milliseconds (default 10000). */
  busyTimeoutMs?: number;
  /** Called after every committed batch (tests use it to interleave writers). */
  afterBatch?: (batch: number) => void | Promise<void>;
}

/** What {@link buildSqlite} did. */
export interface BuildSqliteResult {
  /** {@link EXIT_OK}, {@link EXIT_ERROR} or {@link EXIT_DELETION_SKIPPED}. */
  exitCode: number;
  /** Rows written (unique ids). */
  written: number;
  /** Rows skipped as invalid or duplicate. */
  skipped: number;
  /** Stale rows deleted. */
  deleted: number;
  /** Stale rows kept (30 % rule). */
  kept: number;
  /** One-line summary (or the reason it failed). */
  message: string;
}

/** Stops a run; `exitCode` says how (also used by `build-postgresql`). */
export class BuildStop extends Error {
  /** Stop with `message` and `exitCode`. */
  constructor(message: string, readonly exitCode = EXIT_ERROR) {
    super(message);
  }
}

/** The result of a run before anything happened. */
export function newBuildResult(): BuildSqliteResult {
  return { exitCode: EXIT_OK, written: 0, skipped: 0, deleted: 0, kept: 0, message: "" };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The file's modification time in nanoseconds. */
function mtimeNs(path: string): bigint {
  try {
    return statSync(path, { bigint: true }).mtimeNs;
  } catch (e) {
    throw new BuildStop(`${path}: cannot read: ${(e as Error).message}`);
  }
}

/** Create or check the tables; returns the newest generation started so far (or -1). */
function prepareSchema(db: DatabaseSync, path: string, log: BuildSqliteOptions["log"]): bigint {
  const columns = new Set(
    (db.prepare("PRAGMA table_info(assignments)").all() as { name: string }[]).map((c) =>
      c.name.toLowerCase()
    ),
  );
  if (columns.size === 0) {
    db.exec(
      "CREATE TABLE IF NOT EXISTS assignments (id TEXT PRIMARY KEY NOT NULL, address TEXT NULL, " +
        "prefix TEXT NULL, csv_mtime INT NOT NULL) WITHOUT ROWID",
    );
  } else {
    const missing = ["id", "address", "prefix"].filter((c) => !columns.has(c));
    if (missing.length > 0) {
      throw new BuildStop(
        `${path}: table "assignments" lacks the column(s) ${missing.join(", ")}`,
      );
    }
    if (!columns.has("csv_mtime")) {
      log?.("info", `${path}: adding column csv_mtime; existing rows count as stale`);
      db.exec("ALTER TABLE assignments ADD COLUMN csv_mtime INT NOT NULL DEFAULT 0");
    }
  }
  db.exec(
    "CREATE TABLE IF NOT EXISTS dhcpkit_build (one INTEGER PRIMARY KEY CHECK (one = 1), " +
      "csv_mtime INT NOT NULL)",
  );
  const marker = db.prepare("SELECT csv_mtime FROM dhcpkit_build WHERE one = 1");
  marker.setReadBigInts(true);
  const row = marker.get() as { csv_mtime: bigint } | undefined;
  if (row) return row.csv_mtime;
  const max = db.prepare("SELECT max(csv_mtime) AS m FROM assignments");
  max.setReadBigInts(true);
  return (max.get() as { m: bigint | null }).m ?? -1n;
}

/** Run a function inside `BEGIN IMMEDIATE` ... `COMMIT`, rolling back when it throws. */
function immediate<T>(db: DatabaseSync, work: () => T): T {
  db.exec("BEGIN IMMEDIATE");
  try {
    const out = work();
    db.exec("COMMIT");
    return out;
  } catch (e) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw e;
  }
}

/**
 * Import `options.source` into `options.destination` as described in the module documentation.
 * Never throws for expected failures: the result carries the exit code and the reason.
 */
export async function buildSqlite(options: BuildSqliteOptions): Promise<BuildSqliteResult> {
  const log = options.log ?? (() => {});
  const result = newBuildResult();
  let db: DatabaseSync | undefined;
  let rows: AsyncGenerator<unknown, unknown> | undefined;
  try {
    await run(options, log, result, (opened) => db = opened, (reading) => rows = reading);
  } catch (e) {
    result.exitCode = e instanceof BuildStop ? e.exitCode : EXIT_ERROR;
    result.message = e instanceof BuildStop || e instanceof CsvFileError
      ? e.message
      : `${options.destination}: ${(e as Error).message}`;
    log(result.exitCode === EXIT_DELETION_SKIPPED ? "warning" : "error", result.message);
  } finally {
    await rows?.return(undefined); // stops reading the CSV file when the run ended early
    if (db?.isOpen) db.close();
  }
  return result;
}

async function run(
  options: BuildSqliteOptions,
  log: (level: BuildLogLevel, message: string) => void,
  result: BuildSqliteResult,
  opened: (db: DatabaseSync) => void,
  reading: (rows: AsyncGenerator<unknown, unknown>) => void,
): Promise<void> {
  const { source, destination } = options;
  const batchSize = Math.max(1, options.batchSize ?? 2000);
  const pauseMs = options.pauseMs ?? 5;
  const generation = mtimeNs(source);
  const sourceSize = statSync(source).size;

  // Read the first row before touching the database: a CSV file that cannot be used at all
  // (no header, missing columns) must not create or change anything.
  const rows = iterateAssignmentCsv(source, (p) => {
    result.skipped++;
    log("warning", `${source}:${p.line}: ${p.message}`);
  });
  reading(rows);
  let next = await rows.next();

  let db: DatabaseSync;
  try {
    db = new DatabaseSync(destination, { timeout: options.busyTimeoutMs ?? 10000 });
  } catch (e) {
    throw new BuildStop(`${destination}: cannot open: ${(e as Error).message}`);
  }
  opened(db);
  let newest: bigint;
  try {
    newest = prepareSchema(db, destination, log);
  } catch (e) {
    if (e instanceof BuildStop) throw e;
    throw new BuildStop(`${destination}: not a usable SQLite database: ${(e as Error).message}`);
  }
  const stopIfNewer = (found: bigint) => {
    if (found > generation) {
      throw new BuildStop(
        `${destination} holds data from a newer CSV file (${found} > ${generation} ns): ` +
          `another build-sqlite run is writing newer data, or ${source} is older than what was ` +
          "imported before (touch it to import it anyway); stopping",
      );
    }
  };
  stopIfNewer(newest);

  const marker = db.prepare("SELECT csv_mtime FROM dhcpkit_build WHERE one = 1");
  marker.setReadBigInts(true);
  const currentMarker = () => (marker.get() as { csv_mtime: bigint } | undefined)?.csv_mtime ?? -1n;
  const setMarker = db.prepare(
    "INSERT INTO dhcpkit_build (one, csv_mtime) VALUES (1, ?) " +
      "ON CONFLICT (one) DO UPDATE SET csv_mtime = max(csv_mtime, excluded.csv_mtime)",
  );
  const upsert: StatementSync = db.prepare(
    "INSERT OR REPLACE INTO assignments (id, address, prefix, csv_mtime) VALUES (?, ?, ?, ?)",
  );

  log("info", `Importing ${source} into ${destination} (generation ${generation})`);
  const seen = new Set<string>();
  let batch: CsvAssignmentRow[] = [];
  let batches = 0;
  let bytesRead = 0;
  const flush = async () => {
    const rowsNow = batch;
    batch = [];
    immediate(db, () => {
      stopIfNewer(currentMarker());
      if (batches === 0) setMarker.run(generation);
      for (const r of rowsNow) upsert.run(r.key, r.address ?? null, r.prefix ?? null, generation);
    });
    result.written += rowsNow.length;
    batches++;
    log("debug", `Batch ${batches}: ${result.written} rows written`);
    options.progress?.(result.written, bytesRead, sourceSize);
    await options.afterBatch?.(batches);
    if (pauseMs > 0) await sleep(pauseMs);
  };

  for (; !next.done; next = await rows.next()) {
    const row = next.value;
    bytesRead = row.bytes ?? bytesRead;
    if (seen.has(row.key)) {
      result.skipped++;
      log("warning", `${source}:${row.line}: duplicate id ${row.key}; the first row is used`);
      continue;
    }
    seen.add(row.key);
    batch.push(row);
    if (batch.length >= batchSize) await flush();
  }
  if (batch.length > 0 || batches === 0) await flush();
  seen.clear();
  bytesRead = sourceSize;
  options.progress?.(result.written, bytesRead, sourceSize);

  // The 30 % rule.
  const count = db.prepare(
    "SELECT count(*) AS total, count(CASE WHEN csv_mtime < ? THEN 1 END) AS stale FROM assignments",
  );
  const { total, stale } = count.get(generation) as { total: number; stale: number };
  const current = total - stale;
  log("info", `${result.written} rows imported; the table holds ${total} rows, ${stale} stale`);
  if (stale === 0) {
    result.message = `${destination}: ${result.written} rows imported, nothing stale`;
    log("info", result.message);
    return;
  }
  if (current < 0.7 * total && !options.force) {
    result.kept = stale;
    throw new BuildStop(
      `${destination}: not deleting ${stale} stale rows: that is more than 30% of the ` +
        `${total} rows (use --force to delete them anyway)`,
      EXIT_DELETION_SKIPPED,
    );
  }
  const staleIds = db.prepare("SELECT id FROM assignments WHERE csv_mtime < ?").all(generation)
    .map((r) => (r as { id: string }).id);
  const remove = db.prepare("DELETE FROM assignments WHERE id = ? AND csv_mtime < ?");
  for (let i = 0; i < staleIds.length; i += batchSize) {
    const slice = staleIds.slice(i, i + batchSize);
    immediate(db, () => {
      stopIfNewer(currentMarker());
      for (const id of slice) {
        result.deleted += Number(remove.run(id, generation).changes);
      }
    });
    if (pauseMs > 0) await sleep(pauseMs);
  }
  result.message = `${destination}: ${result.written} rows imported, ${result.deleted} stale ` +
    "rows deleted";
  log("info", result.message);
}
