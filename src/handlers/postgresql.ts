/**
 * What every section backed by PostgreSQL shares (`<static-postgresql>`, `<lq-postgresql>`): the
 * URL datatype of the section name, the `password-file` and `pool-size` keys, and opening this
 * worker's pool from them with a start-up check.
 * @module
 */

import {
  ConfigValueError,
  type DataType,
  dataType,
  existingFile,
  integer,
  type KeySpec,
  type NameSpec,
} from "../config/mod.ts";
import {
  acquirePool,
  type ConnectionTarget,
  ConnectionUrlError,
  parseConnectionUrl,
  passwordFileWarning,
  type PostgresPool,
} from "../storage/postgresql/mod.ts";
import { getLogger } from "@logtape/logtape";

const log = getLogger(["dhcpkit", "postgresql"]);

/** A libpq connection URL (section names of the PostgreSQL sections). */
export const postgresqlUrl: DataType<ConnectionTarget> = dataType(
  "PostgreSQL URL",
  (text) => {
    try {
      return parseConnectionUrl(text);
    } catch (e) {
      if (e instanceof ConnectionUrlError) throw new ConfigValueError(e.message);
      throw e;
    }
  },
  "`postgresql://USER@/DATABASE?host=/run/postgresql` (unix socket folder) or " +
    "`postgresql://USER@HOST:PORT/DATABASE`; never with a password (see `password-file`)",
);

/** The name of a PostgreSQL section: the URL, stored as `url`. */
export const postgresqlName: NameSpec<ConnectionTarget> = {
  type: postgresqlUrl,
  required: true,
  property: "url",
  description: "The database, as a libpq URL without password.",
};

/** The values the connection keys add to a section. */
export interface ConnectionValues {
  /** Where to connect (the section name). */
  url: ConnectionTarget;
  /** The password file, if any. */
  passwordFile?: string;
  /** Connections per worker. */
  poolSize: number;
}

/** The `password-file` and `pool-size` keys. */
export const connectionKeys: KeySpec[] = [
  {
    name: "password-file",
    type: existingFile,
    description: "A file whose first line is the password of the URL's user. It is read " +
      "whenever a connection is made, by the user the server runs as, so make it readable by " +
      "that user only (mode 0600 or 0640). Without it no password is sent (peer or trust " +
      "authentication on the database server).",
    example: "/etc/dhcpkit/postgresql.password",
  },
  {
    name: "pool-size",
    type: integer(1, 100),
    default: 4,
    description: "Connections each worker keeps open to the database. Sections naming the same " +
      "database and password file share one pool in each worker.",
    example: "8",
  },
];

/**
 * This worker's pool for a section's connection values, checked by connecting once (a wrong URL
 * or password stops the server from starting, with a message naming the database). Release it
 * with {@link PostgresPool.release}.
 */
export async function openSectionPool(values: ConnectionValues): Promise<PostgresPool> {
  if (values.passwordFile) {
    const warning = passwordFileWarning(values.passwordFile);
    if (warning) log.warning("{warning}", { warning });
  }
  const pool = acquirePool(values.url, {
    size: values.poolSize,
    passwordFile: values.passwordFile,
  });
  try {
    await pool.open();
  } catch (e) {
    await pool.release();
    throw e;
  }
  return pool;
}
