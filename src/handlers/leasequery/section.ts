/**
 * Leasequery section types: the `<leasequery>` handler and its stores `<lq-sqlite>` and
 * `<lq-postgresql>`.
 *
 * @module
 */

import {
  type ConfigSection,
  defineSection,
  integer,
  type IPv6Prefix,
  ipv6Prefix,
  optionCode,
  pathInExistingDir,
} from "../../config/mod.ts";
import { connectionKeys, type ConnectionValues, postgresqlName } from "../postgresql.ts";

/** Values of `<leasequery>`. */
export interface LeasequeryValues {
  /** Requestors allowed to query; empty = everyone (with a warning at start-up). */
  allowFrom: IPv6Prefix[];
  /** Option codes never disclosed to requestors. */
  sensitiveOptions: number[];
}

/** Values of `<lq-sqlite FILE>`. */
export interface LqSqliteValues {
  /** Absolute path of the SQLite database. */
  path: string;
}

/** Values of `<lq-postgresql URL>`. */
export interface LqPostgresqlValues extends ConnectionValues {
  /** Lease records each worker keeps while the database cannot be written. */
  queueSize: number;
}

/** `<leasequery>` handler. */
export const leasequerySection = defineSection<LeasequeryValues>({
  type: "leasequery",
  kind: "handler",
  description: "Records the leases this server hands out and answers Leasequery (RFC 5007) and " +
    "Bulk Leasequery (RFC 5460) requests about them. It needs exactly one store section, such " +
    "as `<lq-sqlite>` or `<lq-postgresql>`. Bulk leasequery runs over TCP, so it also needs a `<listen-tcp>` " +
    "listener that admits the requestor.",
  example: [
    "<leasequery>",
    "    allow-from 2001:db8::ffff:1",
    "    allow-from 2001:db8:1:2::/64",
    "    sensitive-option recursive-name-servers",
    "    <lq-sqlite /var/lib/dhcpkit/leasequery.sqlite />",
    "</leasequery>",
  ].join("\n"),
  keys: [
    {
      name: "allow-from",
      property: "allowFrom",
      type: ipv6Prefix({ allowAddress: true }),
      multiple: true,
      default: [],
      description: "Address or prefix of requestors that may send leasequeries. Lease data " +
        "reveals a lot about a network; without any `allow-from` everybody may query, which is " +
        "not recommended.",
      example: "2001:db8:beef::/48",
    },
    {
      name: "sensitive-option",
      property: "sensitiveOptions",
      type: optionCode,
      multiple: true,
      default: [],
      description: "An option, by name or number, that is never returned to a requestor even " +
        "when it asks for it.",
      example: "recursive-name-servers",
    },
  ],
  contains: [{ kind: "leasequery-store", min: 1, max: 1 }],
  validate(section: ConfigSection<LeasequeryValues>, check) {
    if (section.values.allowFrom.length === 0) {
      check.warning("<leasequery> without allow-from answers leasequeries from everywhere");
    }
  },
});

/** `<lq-sqlite FILE>` leasequery store. */
export const lqSqliteSection = defineSection<LqSqliteValues>({
  type: "lq-sqlite",
  kind: "leasequery-store",
  description: "Keeps the leases seen in outgoing replies in an SQLite database, named by the " +
    "section, and answers all leasequery and bulk leasequery query types from it. The database " +
    "is created when it does not exist; its folder must exist.",
  example: "<lq-sqlite /var/lib/dhcpkit/leasequery.sqlite />",
  name: {
    type: pathInExistingDir,
    required: true,
    property: "path",
    description: "Path of the database file; relative paths start at the configuration " +
      "file's folder.",
  },
  keys: [],
});

/** `<lq-postgresql URL>` leasequery store. */
export const lqPostgresqlSection = defineSection<LqPostgresqlValues>({
  type: "lq-postgresql",
  kind: "leasequery-store",
  description: "Keeps the leases seen in outgoing replies in a PostgreSQL database, named by the " +
    "section, and answers all leasequery and bulk leasequery query types from it. Several " +
    "servers can write into one database: a leasequery to any of them then answers for all. " +
    "The server creates (or upgrades) its tables at start-up; see the operator guide for the " +
    "schema and the rights the database user needs.\n\n" +
    "Leases are written in batches away from the request path and can be queried on every " +
    "server within a second. While the database cannot be written they are kept in memory (see " +
    "`queue-size`) and written when it is back; what does not fit is logged and counted in " +
    "the statistic `leasequery_records_dropped` (`leasequery_records_written` counts what was " +
    "written). " +
    "Queries while the database is away are answered with UnspecFail (bulk: QueryTerminated), " +
    "so that the requestor can ask another server.",
  example: [
    "<lq-postgresql postgresql://dhcpkit@/dhcp?host=/run/postgresql>",
    "    password-file /etc/dhcpkit/postgresql.password",
    "</lq-postgresql>",
  ].join("\n"),
  name: postgresqlName,
  keys: [
    ...connectionKeys,
    {
      name: "queue-size",
      type: integer(1, 10_000_000),
      default: 10000,
      description: "Lease records each worker keeps while the database cannot be written; " +
        "records beyond this are dropped and counted in `leasequery_records_dropped`.",
      example: "100000",
    },
  ],
});
