/**
 * Load an assignment CSV file into the PostgreSQL table `<static-postgresql>` reads, safely while
 * servers are using it.
 *
 * Table: `assignments (id TEXT PRIMARY KEY, address TEXT NULL, prefix TEXT NULL)` (or the table
 * given), created when missing (recorded as schema component `static:TABLE` in
 * `dhcpkit_schema`), holding canonical ids, addresses and prefixes.
 *
 * - Everything happens in **one transaction**: the rows are loaded into a temporary table, then
 *   new and changed rows are written and rows whose ids are no longer in the CSV file deleted.
 *   Servers reading the table see the old rows until the commit and the new ones after it, never
 *   a half-loaded table.
 * - **One run at a time**: the transaction takes an advisory lock per table; a second run that
 *   finds it taken stops at once (exit 1) and changes nothing.
 * - **The 30 % rule**: rows no longer in the CSV file are deleted only when the CSV file's rows
 *   make up at least 70 % of the table afterwards; otherwise they are kept and the result is
 *   exit 2 (the rows in the file are still written), unless `force` is set.
 * - Invalid rows are reported with their line numbers and skipped; for duplicate ids the first
 *   row wins, as in `<static-csv>`. A CSV file without the `id`, `address` and `prefix` columns
 *   is refused (exit 1) before the database is touched.
 * @module
 */

import { statSync } from "node:fs";
import {
  type ConnectionTarget,
  ConnectionUrlError,
  describeError,
  migrate,
  parseConnectionUrl,
  PasswordFileError,
  PostgresPool,
  SchemaError,
} from "../../storage/postgresql/mod.ts";
import { type CsvAssignmentRow, CsvFileError, iterateAssignmentCsv } from "./csv/reader.ts";
import { assignmentsSchema, quoteTable } from "./postgresql/schema.ts";
import {
  type BuildCommonOptions,
  type BuildLogLevel,
  type BuildSqliteResult,
  BuildStop,
  EXIT_DELETION_SKIPPED,
  EXIT_ERROR,
  EXIT_OK,
  newBuildResult,
} from "./build_sqlite.ts";

export { EXIT_DELETION_SKIPPED, EXIT_ERROR, EXIT_OK };
export type { BuildLogLevel };

/** What {@link buildPostgresql} did (the same fields as `build-sqlite`'s result). */
export type BuildPostgresqlResult = BuildSqliteResult;

/** Options of {@link buildPostgresql}; `batchSize` (rows per statement) defaults to 5000. */
export interface BuildPostgresqlOptions extends BuildCommonOptions {
  /** The database (a libpq URL without password, or a parsed target). */
  url: string | ConnectionTarget;
  /** A file whose first line is the password. */
  passwordFile?: string;
  /** The table (default `assignments`; `schema.table` allowed). */
  table?: string;
  /**
   * Called inside the transaction once the rows are loaded, before the table is changed (tests
   * use it to start a concurrent run).
   */
  beforeSwap?: () => void | Promise<void>;
}

/** The advisory lock of the runs loading `table` (a 32-bit hash of its name, in a 64-bit key). */
export function buildLockKey(table: string): bigint {
  let h = 0x811c9dc5;
  for (const c of new TextEncoder().encode(table)) h = Math.imul(h ^ c, 0x01000193) >>> 0;
  return (0x64686370n << 32n) | BigInt(h);
}

/**
 * Load `options.source` into the table as described in the module documentation. Never throws
 * for expected failures: the result carries the exit code and the reason.
 */
export async function buildPostgresql(
  options: BuildPostgresqlOptions,
): Promise<BuildPostgresqlResult> {
  const log = options.log ?? (() => {});
  const result = newBuildResult();
  let pool: PostgresPool | undefined;
  let rows: AsyncGenerator<unknown, unknown> | undefined;
  let target: ConnectionTarget | undefined;
  try {
    target = typeof options.url === "string" ? parseConnectionUrl(options.url) : options.url;
    await run(options, target, log, result, (p) => pool = p, (r) => rows = r);
  } catch (e) {
    result.exitCode = e instanceof BuildStop ? e.exitCode : EXIT_ERROR;
    result.message = e instanceof BuildStop || e instanceof CsvFileError ||
        e instanceof ConnectionUrlError || e instanceof PasswordFileError ||
        e instanceof SchemaError
      ? e.message
      : `${target?.description ?? "database"}: ${describeError(e)}`;
    log(result.exitCode === EXIT_DELETION_SKIPPED ? "warning" : "error", result.message);
  } finally {
    await rows?.return(undefined); // stops reading the CSV file when the run ended early
    await pool?.close();
  }
  return result;
}

interface Counts {
  total: string;
  stale: string;
}

async function run(
  options: BuildPostgresqlOptions,
  target: ConnectionTarget,
  log: (level: BuildLogLevel, message: string) => void,
  result: BuildPostgresqlResult,
  opened: (pool: PostgresPool) => void,
  reading: (rows: AsyncGenerator<unknown, unknown>) => void,
): Promise<void> {
  const { source } = options;
  const table = options.table ?? "assignments";
  const quoted = quoteTable(table);
  const where = `table ${table} in ${target.description}`;
  const batchSize = Math.max(1, options.batchSize ?? 5000);
  let sourceSize = 0;
  try {
    sourceSize = statSync(source).size;
  } catch (e) {
    throw new BuildStop(`${source}: cannot read: ${(e as Error).message}`);
  }

  // Read the first row before touching the database: a CSV file that cannot be used at all
  // (no header, missing columns) must not create or change anything.
  const rows = iterateAssignmentCsv(source, (p) => {
    result.skipped++;
    log("warning", `${source}:${p.line}: ${p.message}`);
  });
  reading(rows);
  let next = await rows.next();

  const pool = new PostgresPool(target, { size: 1, passwordFile: options.passwordFile });
  opened(pool);
  try {
    await pool.open();
  } catch (e) {
    throw new BuildStop((e as Error).message);
  }
  await migrate(pool, assignmentsSchema(table));

  log("info", `Loading ${source} into ${where}`);
  const seen = new Set<string>();
  await pool.transaction(async (tx) => {
    const [lock] = await tx.query<{ ok: boolean }>("SELECT pg_try_advisory_xact_lock($1) AS ok", [
      buildLockKey(table).toString(),
    ]);
    if (!lock.ok) {
      throw new BuildStop(
        `another build-postgresql run is loading ${where}; stopping without changing anything`,
      );
    }
    try {
      await tx.query(`SELECT id, address, prefix FROM ${quoted} LIMIT 0`);
    } catch (e) {
      throw new BuildStop(`cannot use ${where}: ${describeError(e)}`);
    }
    await tx.query(
      "CREATE TEMPORARY TABLE dhcpkit_load (id TEXT PRIMARY KEY, address TEXT, prefix TEXT) " +
        "ON COMMIT DROP",
    );
    let batch: CsvAssignmentRow[] = [];
    let bytesRead = 0;
    const flush = async () => {
      if (batch.length === 0) return;
      const json = JSON.stringify(
        batch.map((r) => ({ id: r.key, address: r.address ?? null, prefix: r.prefix ?? null })),
      );
      batch = [];
      const [loaded] = await tx.query<{ n: string }>(
        "WITH l AS (INSERT INTO dhcpkit_load SELECT id, address, prefix FROM " +
          "json_to_recordset($1::text::json) AS r(id TEXT, address TEXT, prefix TEXT) RETURNING 1) " +
          "SELECT count(*) AS n FROM l",
        [json],
      );
      result.written += Number(loaded.n);
      log("debug", `${result.written} rows loaded`);
      options.progress?.(result.written, bytesRead, sourceSize);
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
    await flush();
    seen.clear();
    options.progress?.(result.written, sourceSize, sourceSize);
    await options.beforeSwap?.();

    const [counts] = await tx.query<Counts>(
      `SELECT (SELECT count(*) FROM ${quoted}) AS total, (SELECT count(*) FROM ${quoted} t ` +
        "WHERE NOT EXISTS (SELECT 1 FROM dhcpkit_load l WHERE l.id = t.id)) AS stale",
    );
    const stale = Number(counts.stale);
    const after = result.written + stale;
    const keep = stale > 0 && result.written < 0.7 * after && !options.force;
    await tx.query(
      `INSERT INTO ${quoted} AS t (id, address, prefix) SELECT id, address, prefix ` +
        "FROM dhcpkit_load ON CONFLICT (id) DO UPDATE SET address = excluded.address, " +
        "prefix = excluded.prefix WHERE (t.address, t.prefix) IS DISTINCT FROM " +
        "(excluded.address, excluded.prefix)",
    );
    if (stale > 0 && !keep) {
      const [deleted] = await tx.query<{ n: string }>(
        `WITH d AS (DELETE FROM ${quoted} t WHERE NOT EXISTS (SELECT 1 FROM dhcpkit_load l ` +
          "WHERE l.id = t.id) RETURNING 1) SELECT count(*) AS n FROM d",
      );
      result.deleted = Number(deleted.n);
    }
    log(
      "info",
      `${result.written} rows loaded; the table held ${counts.total} rows, ${stale} of them ` +
        "no longer in the file",
    );
    if (keep) result.kept = stale;
  });
  if (result.kept > 0) {
    throw new BuildStop(
      `${where}: ${result.written} rows loaded, but not deleting ${result.kept} stale rows: ` +
        `that is more than 30% of the ${result.written + result.kept} rows (use --force to ` +
        "delete them anyway)",
      EXIT_DELETION_SKIPPED,
    );
  }
  result.message = result.deleted > 0
    ? `${where}: ${result.written} rows loaded, ${result.deleted} stale rows deleted`
    : `${where}: ${result.written} rows loaded, nothing stale`;
  log("info", result.message);
}
