/**
 * One subscriber search over every source the configuration names (see `subscribers.ts` and
 * `database_search.ts`): a source that cannot be read adds one line to `problems` and the
 * others are still searched.
 * @module
 */

import { describeError } from "../../storage/postgresql/mod.ts";
import {
  LQ_POSTGRESQL_TABLES,
  POOL_LEASE_TABLES,
  type PoolLeaseMatch,
  searchLeases,
  searchLeaseTables,
  searchPoolLeases,
  searchStaticTable,
  withPostgres,
  withSqlite,
} from "./database_search.ts";
import {
  type LeaseMatch,
  searchCsv,
  type SearchSources,
  searchSqlite,
  type SearchTerm,
  type StaticMatch,
} from "./subscribers.ts";

/** Everything one search found. */
export interface SearchResults {
  /** Static assignments (CSV, SQLite, PostgreSQL). */
  statics: StaticMatch[];
  /** Current leases of the leasequery stores. */
  leases: LeaseMatch[];
  /** Leases of the pools' lease store (any state). */
  poolLeases: PoolLeaseMatch[];
  /** One line per source that could not be searched. */
  problems: string[];
}

/** Search `term` in every source of `where`. */
export async function searchEverywhere(
  where: SearchSources,
  term: SearchTerm,
): Promise<SearchResults> {
  const out: SearchResults = { statics: [], leases: [], poolLeases: [], problems: [] };
  if (term.text === "") return out;
  const attempt = async (name: string, work: () => Promise<void>) => {
    try {
      await work();
    } catch (e) {
      out.problems.push(`${name}: ${describeError(e)}`);
    }
  };
  for (const path of where.csv) {
    await attempt(path, async () => void out.statics.push(...await searchCsv(path, term)));
  }
  for (const path of where.sqlite) {
    await attempt(path, () => Promise.resolve(void out.statics.push(...searchSqlite(path, term))));
  }
  for (const t of where.staticPostgresql ?? []) {
    const name = `PostgreSQL table ${t.table} in ${t.target.description}`;
    await attempt(name, async () =>
      void out.statics.push(
        ...await withPostgres(t, (s) => searchStaticTable(s, t.table, name, term)),
      ));
  }
  for (const path of where.leases) {
    await attempt(path, async () => void out.leases.push(...await searchLeases(path, term)));
  }
  for (const db of where.leasesPostgresql ?? []) {
    const name = db.target.description;
    await attempt(name, async () =>
      void out.leases.push(
        ...await withPostgres(db, (s) => searchLeaseTables(s, LQ_POSTGRESQL_TABLES, name, term)),
      ));
  }
  const store = where.poolLeases;
  if (store && "sqlite" in store) {
    const path = store.sqlite;
    await attempt(path, async () => {
      try {
        Deno.statSync(path);
      } catch {
        return; // no pool lease yet: the store is made with the first
      }
      out.poolLeases.push(
        ...await withSqlite(
          path,
          (s) => searchPoolLeases(s, POOL_LEASE_TABLES.sqlite, `lease store ${path}`, term),
        ),
      );
    });
  } else if (store) {
    const db = store.postgresql;
    const name = `lease store ${db.target.description}`;
    await attempt(name, async () =>
      void out.poolLeases.push(
        ...await withPostgres(db, (s) =>
          searchPoolLeases(s, POOL_LEASE_TABLES.postgresql, name, term)),
      ));
  }
  return out;
}
