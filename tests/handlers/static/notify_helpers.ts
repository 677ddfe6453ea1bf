/**
 * Shared by the tests of `<static-postgresql>`'s notified caches (postgresql_notify_test.ts and
 * postgresql_preload_test.ts): two rows, an id without one, and waits that end on the source's
 * own signals rather than after a fixed time.
 * @module
 */

import assert from "node:assert/strict";
import { buildPostgresql, EXIT_OK } from "../../../src/handlers/static/build_postgresql.ts";
import type { PostgresAssignmentSource } from "../../../src/handlers/static/postgresql/mod.ts";
import type { PostgresCluster } from "../../helpers/postgres.ts";

/** An id with an address only. */
export const A = "duid:00030001aabbccddee01";
/** An id with an address and a prefix. */
export const B = "duid:00030001aabbccddee02";
/** An id without a row (until a test adds one). */
export const NEW = "duid:00030001aabbccddee03";
/** The CSV file of rows A and B. */
export const CSV = `id,address,prefix\n${A},2001:db8::1,\n${B},2001:db8::2,2001:db8:200::/56\n`;

/** Wait (polling, bounded) until `done()` holds; fails the test after 10 s. */
export async function until(done: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Run `sql` in database `dhcp` and wait until its notification reached `source`. */
export async function changed(
  pg: PostgresCluster,
  source: PostgresAssignmentSource,
  sql: string,
): Promise<void> {
  const before = source.cacheGeneration;
  await pg.sql(sql, "dhcp");
  await until(() => source.cacheGeneration !== before, "the change notification");
}

/** The address assigned to the first of `ids` with a row, or "none". */
export const address = async (
  source: PostgresAssignmentSource,
  ...ids: string[]
): Promise<string> => (await source.fetch(ids))?.address ?? "none";

/** Database `dhcp` owned by role `dhcp`, and `build(csv)` loading it with build-postgresql. */
export interface DhcpDatabase {
  url: string;
  passwordFile: string;
  /** Load the rows of CSV text `csv` into table `assignments` (forced, with the triggers). */
  build(csv: string): Promise<void>;
  /** Remove the temporary folder of the CSV files. */
  remove(): void;
}

/** Create the `dhcp` role and database in `pg` (see {@link DhcpDatabase}). */
export async function dhcpDatabase(pg: PostgresCluster): Promise<DhcpDatabase> {
  const passwordFile = await pg.createRole("dhcp", "dhcp secret");
  await pg.createDatabase("dhcp");
  await pg.sql("ALTER DATABASE dhcp OWNER TO dhcp");
  const url = pg.url("dhcp", "dhcp");
  const dir = Deno.makeTempDirSync();
  return {
    url,
    passwordFile,
    async build(csv: string) {
      Deno.writeTextFileSync(`${dir}/a.csv`, csv);
      const r = await buildPostgresql({ source: `${dir}/a.csv`, url, passwordFile, force: true });
      assert.equal(r.exitCode, EXIT_OK, r.message);
    },
    remove: () => Deno.removeSync(dir, { recursive: true }),
  };
}
