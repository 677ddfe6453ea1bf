/**
 * Versioned schemas: each component (the leasequery store, the assignments table...) lists its
 * migrations, numbered from 1; the database records in `dhcpkit_schema` which version of each
 * component it holds, and {@link migrate} applies the missing ones in one transaction.
 *
 * ```sql
 * CREATE TABLE dhcpkit_schema (
 *   component TEXT PRIMARY KEY,
 *   version INTEGER NOT NULL,
 *   updated TIMESTAMPTZ NOT NULL DEFAULT now()
 * );
 * ```
 *
 * Several servers may start at once against one database: the migration holds a transaction-level
 * advisory lock, so one of them migrates and the others find the schema current. A database that
 * is already current is only read (a role without CREATE rights can use a schema an administrator
 * created). A database whose version is newer than this program knows is refused, since an older
 * program could damage data it does not understand.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { describeError, type PostgresPool, type Transaction } from "./pool.ts";

const log = getLogger(["dhcpkit", "postgresql"]);

/** One step of a component's schema. */
export interface Migration {
  /** The version this step produces: 1 for the first, then 2, ... */
  readonly version: number;
  /** What it changes, for the log. */
  readonly description: string;
  /** The statements, run in order (one statement each). */
  readonly statements: readonly string[];
}

/** A component's schema: its name in `dhcpkit_schema` and its migrations in order. */
export interface SchemaSpec {
  /** Name in `dhcpkit_schema.component`. */
  readonly component: string;
  /** Migrations with versions 1, 2, ... in order. */
  readonly migrations: readonly Migration[];
}

/** The schema cannot be used or brought up to date; the message names the database. */
export class SchemaError extends Error {
  /** Create the error. */
  constructor(message: string) {
    super(message);
    this.name = "SchemaError";
  }
}

/** The statement creating the version table. */
export const SCHEMA_TABLE_SQL = "CREATE TABLE IF NOT EXISTS dhcpkit_schema (" +
  "component TEXT PRIMARY KEY, version INTEGER NOT NULL, " +
  "updated TIMESTAMPTZ NOT NULL DEFAULT now())";

/** The advisory lock every migration holds ("dhcp" in ASCII). */
export const MIGRATION_LOCK = 0x64686370;

/** The newest version `spec` defines. */
export function latestVersion(spec: SchemaSpec): number {
  return spec.migrations.length === 0 ? 0 : spec.migrations[spec.migrations.length - 1].version;
}

function checkSpec(spec: SchemaSpec): void {
  spec.migrations.forEach((m, i) => {
    if (m.version !== i + 1) {
      throw new Error(`schema ${spec.component}: migration ${i} has version ${m.version}`);
    }
  });
}

/** The version of `component` the database holds (0 = none), read without changing anything. */
export async function schemaVersion(
  db: Pick<PostgresPool, "query"> | Transaction,
  component: string,
): Promise<number> {
  const [exists] = await db.query<{ present: boolean }>(
    "SELECT to_regclass('dhcpkit_schema') IS NOT NULL AS present",
  );
  if (!exists.present) return 0;
  const rows = await db.query<{ version: number }>(
    "SELECT version FROM dhcpkit_schema WHERE component = $1",
    [component],
  );
  return rows.length === 0 ? 0 : Number(rows[0].version);
}

function tooNew(pool: PostgresPool, spec: SchemaSpec, found: number): SchemaError {
  return new SchemaError(
    `${pool.description}: the ${spec.component} schema is at version ${found}, newer than the ` +
      `${latestVersion(spec)} this dhcpkit knows; upgrade dhcpkit`,
  );
}

/**
 * Bring `spec`'s tables in the database of `pool` to the latest version; resolves with the
 * versions before and after. Throws {@link SchemaError} when the database holds a newer version
 * or a migration fails (nothing is changed then).
 */
export async function migrate(
  pool: PostgresPool,
  spec: SchemaSpec,
): Promise<{ from: number; to: number }> {
  checkSpec(spec);
  const latest = latestVersion(spec);
  let current: number;
  try {
    current = await schemaVersion(pool, spec.component);
  } catch (e) {
    throw new SchemaError(
      `${pool.description}: cannot read the schema version: ${describeError(e)}`,
    );
  }
  if (current === latest) return { from: current, to: current };
  if (current > latest) throw tooNew(pool, spec, current);
  try {
    return await pool.transaction(async (tx) => {
      await tx.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
      await tx.query(SCHEMA_TABLE_SQL);
      const from = await schemaVersion(tx, spec.component);
      if (from > latest) throw tooNew(pool, spec, from);
      for (const m of spec.migrations) {
        if (m.version <= from) continue;
        log.info("{database}: {component} schema version {version}: {description}", {
          database: pool.description,
          component: spec.component,
          version: m.version,
          description: m.description,
        });
        for (const statement of m.statements) await tx.query(statement);
      }
      await tx.query(
        "INSERT INTO dhcpkit_schema (component, version) VALUES ($1, $2) ON CONFLICT (component) " +
          "DO UPDATE SET version = excluded.version, updated = now()",
        [spec.component, latest],
      );
      return { from, to: latest };
    });
  } catch (e) {
    if (e instanceof SchemaError) throw e;
    throw new SchemaError(
      `${pool.description}: cannot create or update the ${spec.component} schema: ${
        describeError(e)
      }`,
    );
  }
}
