/**
 * The `<static-postgresql URL>` section type.
 * @module
 */

import {
  ConfigValueError,
  type DataType,
  dataType,
  defineSection,
  duration,
  integer,
} from "../../../config/mod.ts";
import { connectionKeys, type ConnectionValues, postgresqlName } from "../../postgresql.ts";
import { checkLifetimes, lifetimeKeys, lifetimeSyntax, type LifetimeValues } from "../section.ts";

/** Values of `<static-postgresql URL>`. */
export interface StaticPostgresqlValues extends LifetimeValues, ConnectionValues {
  /** The table holding the assignments (`name` or `schema.name`). */
  table: string;
  /** Seconds rows already read may answer while the database cannot be reached (0 = never). */
  outageCacheTime: number;
  /** Read the whole table when it has at most this many rows (0 = never). */
  preloadRows: number;
}

/** An SQL table name: `name` or `schema.name`, letters, digits and `_`. */
export const tableName: DataType<string> = dataType("table name", (t) => {
  if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/.test(t) || t.length > 127) {
    throw new ConfigValueError(
      `${JSON.stringify(t)} is not a table name (letters, digits and _, optionally schema.table)`,
    );
  }
  return t;
}, "`name` or `schema.name`: letters, digits and `_`");

/** `<static-postgresql URL>` handler. */
export const staticPostgresqlSection = defineSection<StaticPostgresqlValues>({
  type: "static-postgresql",
  kind: "handler",
  description: "Assigns fixed addresses and prefixes stored in a PostgreSQL table, so that " +
    "several servers share one set of assignments. The table (default `assignments`) has the " +
    "text columns `id`, `address` and `prefix`, filled like the columns of `<static-csv>`; " +
    "`dhcpkit build-postgresql` loads a CSV file into it. A changed row is used by the next " +
    "request, without a reload: when the table has the change triggers that " +
    "`dhcpkit build-postgresql` installs, each worker keeps the rows it read and PostgreSQL " +
    "notifies it (LISTEN/NOTIFY) of every change, so known clients are answered without a " +
    "query and a change is used as soon as its notification arrives, normally well under a " +
    "millisecond after the commit. Without the triggers, or while the notification connection " +
    "is down, every request reads the table. A table of at most `preload-rows` rows is read " +
    "whole, so that clients never seen before are answered without a query too.\n\n" +
    "While the database cannot be reached, requests that need a row are not answered (never " +
    "answered as if the client had no row): they are counted as lookup failures, and answers " +
    "resume by themselves when the database is back. Rows read shortly before still answer " +
    "(see `outage-cache-time`). A row with a malformed address or prefix is logged and its " +
    "client is not answered. At start-up the server connects and checks the table; when that " +
    "fails it does not start." + lifetimeSyntax,
  example: [
    "<static-postgresql postgresql://dhcpkit@/dhcp?host=/run/postgresql>",
    "    password-file /etc/dhcpkit/postgresql.password",
    "    address-preferred-lifetime 1d",
    "    address-valid-lifetime 7d",
    "</static-postgresql>",
  ].join("\n"),
  name: postgresqlName,
  keys: [
    ...lifetimeKeys,
    {
      name: "table",
      type: tableName,
      default: "assignments",
      description: "The table with the assignments.",
      example: "dhcp.assignments",
    },
    ...connectionKeys,
    {
      name: "outage-cache-time",
      type: duration({ max: 86400 }),
      default: 60,
      defaultText: "1m",
      description: "While the database cannot be reached, a request is still answered when the " +
        "same client's row was read this long ago or less. `0` answers nothing during an outage.",
      example: "5m",
    },
    {
      name: "preload-rows",
      type: integer(0, 10_000_000),
      default: 100_000,
      description: "When the table has at most this many rows and its changes are notified " +
        "(see above), each worker reads all of them once it listens, and then answers every " +
        "client from memory, including those it never saw (an id without a row is then known " +
        "to have none). The ids a notification names are read from the table again. About " +
        "200 bytes per row per worker (a 1,000,000-row table took 2-3 s and 170 MiB). A " +
        "larger table is read row by row as clients come; `0` never reads it whole.",
      example: "1000000",
    },
  ],
  validate: checkLifetimes,
});
