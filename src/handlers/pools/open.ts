/**
 * Opening a lease store named on a command line (`dhcpkit leases --store FILE|URL`): an SQLite
 * file that must already exist, or a PostgreSQL URL.
 * @module
 */

import { existsSync } from "node:fs";
import { SqliteLeaseStore } from "./sqlite.ts";
import type { LeaseStore } from "./store.ts";

/** Why a store cannot be opened, in one line. */
export class LeaseStoreOpenError extends Error {
  /** Create the error. */
  constructor(message: string) {
    super(message);
    this.name = "LeaseStoreOpenError";
  }
}

/** Opens a PostgreSQL lease store from a URL (installed by `postgresql.ts` when available). */
export type PostgresqlOpener = (
  url: string,
  passwordFile: string | undefined,
) => Promise<LeaseStore>;

let postgresqlOpener: PostgresqlOpener | undefined;

/** Make `postgresql://` URLs openable (called by the PostgreSQL store module). */
export function setPostgresqlOpener(opener: PostgresqlOpener): void {
  postgresqlOpener = opener;
}

/**
 * Open the store `target`: a `postgresql://` (or `postgres://`) URL, else an existing SQLite
 * file, read-only unless `write`. Never creates a store.
 */
export async function openLeaseStore(
  target: string,
  options: { write?: boolean; passwordFile?: string } = {},
): Promise<LeaseStore> {
  if (/^postgres(ql)?:\/\//i.test(target)) {
    if (!postgresqlOpener) {
      throw new LeaseStoreOpenError("PostgreSQL lease stores are not available");
    }
    return await postgresqlOpener(target, options.passwordFile);
  }
  if (!existsSync(target)) throw new LeaseStoreOpenError(`${target}: no such lease store`);
  try {
    return new SqliteLeaseStore(target, 5000, !options.write);
  } catch (e) {
    throw new LeaseStoreOpenError(`${target}: not a usable lease store: ${(e as Error).message}`);
  }
}
