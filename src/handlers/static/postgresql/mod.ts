/**
 * `<static-postgresql URL>`: static assignments in a PostgreSQL table shared by several servers
 * (see `source.ts` for the table and the behaviour while the database is away, `handler.ts` for
 * the asynchronous lookup).
 * @module
 */

import { openSectionPool } from "../../postgresql.ts";
import type { StaticLifetimes } from "../handler.ts";
import { AsyncStaticAssignmentHandler } from "./handler.ts";
import type { StaticPostgresqlValues } from "./section.ts";
import { PostgresAssignmentSource } from "./source.ts";

export { AsyncStaticAssignmentHandler } from "./handler.ts";
export { staticPostgresqlSection, type StaticPostgresqlValues, tableName } from "./section.ts";
export {
  AssignmentTableError,
  PostgresAssignmentSource,
  type PostgresSourceOptions,
} from "./source.ts";
export { assignmentsSchema, quoteTable, readNotifyChannel } from "./schema.ts";

/**
 * Open this worker's source for a section: connect (sharing the worker's pool for the database)
 * and check the table. Throws with a message naming the database when either fails.
 */
export async function openPostgresSource(
  values: StaticPostgresqlValues,
): Promise<PostgresAssignmentSource> {
  const pool = await openSectionPool(values);
  const source = new PostgresAssignmentSource(pool, values.table, {
    cacheTime: values.outageCacheTime,
    preloadLimit: values.preloadRows,
  });
  try {
    return await source.open();
  } catch (e) {
    await pool.release();
    throw e;
  }
}

/** The handler of a `<static-postgresql>` section. */
export function staticPostgresqlHandler(
  values: StaticPostgresqlValues,
  lifetimes: StaticLifetimes,
): AsyncStaticAssignmentHandler {
  return new AsyncStaticAssignmentHandler(lifetimes, () => openPostgresSource(values));
}
