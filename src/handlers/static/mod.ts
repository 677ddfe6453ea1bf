/**
 * The static assignments extension: `<static-csv>`, `<static-sqlite>` and `<static-postgresql>`.
 * Sources are opened in each worker's `workerInit()`; when that fails the server does not start,
 * and a reload keeps the previous pipeline (and with it the previous table) running. A CSV file
 * is loaded once per configuration by the server's main thread into a shared table that every
 * worker reads.
 * @module
 */

import { defineExtension, handlerFor, sharedDataFor } from "../extension.ts";
import {
  csvShareKey,
  loadCsvShared,
  openCsvSource,
  StaticAssignmentHandler,
  type StaticLifetimes,
} from "./handler.ts";
import { type LifetimeValues, staticCsvSection, staticSqliteSection } from "./section.ts";
import { SqliteAssignmentSource } from "./sqlite/mod.ts";
import { staticPostgresqlHandler, staticPostgresqlSection } from "./postgresql/mod.ts";

function lifetimesOf(values: LifetimeValues): StaticLifetimes {
  return {
    addressPreferredLifetime: values.addressPreferredLifetime,
    addressValidLifetime: values.addressValidLifetime,
    prefixPreferredLifetime: values.prefixPreferredLifetime,
    prefixValidLifetime: values.prefixValidLifetime,
  };
}

/** The static assignment handlers. */
export const staticExtension = defineExtension({
  name: "static",
  handlers: [
    handlerFor(
      staticCsvSection,
      (v) =>
        new StaticAssignmentHandler(
          lifetimesOf(v),
          () => openCsvSource(v.path),
          v.maxRowLoss,
        ),
    ),
    handlerFor(
      staticSqliteSection,
      (v) =>
        new StaticAssignmentHandler(
          lifetimesOf(v),
          () => new SqliteAssignmentSource(v.path),
          v.maxRowLoss,
        ),
    ),
    handlerFor(staticPostgresqlSection, (v) => staticPostgresqlHandler(v, lifetimesOf(v))),
  ],
  // One table per CSV file, loaded by the main thread and read by every worker.
  sharedData: [
    sharedDataFor(staticCsvSection, (v) => csvShareKey(v.path), (v) => loadCsvShared(v.path)),
  ],
});
