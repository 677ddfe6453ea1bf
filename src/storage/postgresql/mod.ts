/**
 * PostgreSQL access shared by every part of dhcpkit that keeps data in PostgreSQL
 * (`<static-postgresql>`, `<lq-postgresql>`, `dhcpkit build-postgresql`, and later lease stores).
 * This layer sits between the pipeline and the handlers: it imports nothing of dhcpkit's own.
 *
 * - {@link parseConnectionUrl}: a libpq-style URL (`postgresql://USER@/DB?host=/run/postgresql`
 *   or `postgresql://USER@HOST:PORT/DB`) into a {@link ConnectionTarget}, whose `description` is
 *   the form used in every message. Passwords are refused in URLs.
 * - {@link readPasswordFile}: the password, from the first line of a file (`password-file`).
 * - {@link acquirePool} / {@link PostgresPool}: one pool per worker and database with prepared
 *   statements, transactions, bounded waiting, and fail-fast with backoff while the
 *   database is away ({@link DatabaseUnavailableError}); {@link PostgresPool.open} checks the
 *   connection at start-up ({@link DatabaseOpenError}).
 * - {@link migrate}: versioned schemas per component, recorded in `dhcpkit_schema`
 *   ({@link SchemaSpec}, {@link SchemaError}).
 *
 * ```ts ignore
 * const target = parseConnectionUrl("postgresql://dhcpkit@/dhcp?host=/run/postgresql");
 * const pool = acquirePool(target, { size: 4, passwordFile: "/etc/dhcpkit/db.password" });
 * await pool.open();
 * await migrate(pool, MY_SCHEMA);
 * const rows = await pool.query<{ address: string }>("SELECT address FROM t WHERE id = $1", [id]);
 * await pool.release();
 * ```
 * @module
 */

export {
  type ConnectionTarget,
  ConnectionUrlError,
  DEFAULT_PORT,
  DEFAULT_SOCKET_FOLDER,
  parseConnectionUrl,
  redactUrl,
  type SslMode,
} from "./url.ts";
export { PasswordFileError, passwordFileWarning, readPasswordFile } from "./password.ts";
export {
  acquirePool,
  DatabaseOpenError,
  DatabaseUnavailableError,
  describeError,
  errorCode,
  isConnectionError,
  type Listener,
  type ListenHandlers,
  type PoolOptions,
  PostgresPool,
  type Transaction,
} from "./pool.ts";
export {
  latestVersion,
  migrate,
  type Migration,
  MIGRATION_LOCK,
  SCHEMA_TABLE_SQL,
  SchemaError,
  type SchemaSpec,
  schemaVersion,
} from "./migrate.ts";
