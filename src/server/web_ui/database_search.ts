/**
 * The looking glass's subscriber search in databases: the leasequery tables (`<lq-sqlite>` and
 * `<lq-postgresql>`, one schema with table names of their own), the dynamic pools' lease store
 * (SQLite or PostgreSQL) and `<static-postgresql>` tables. Every search is a few indexed SELECTs
 * with the search text as parameters; SQLite files are opened read-only and PostgreSQL is asked
 * over a connection of this thread's shared pool for that database (given back after the
 * search). Messages name a database by its URL, which never holds a password.
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { formatIPv6, IPv6Prefix, parseIPv6, toHex } from "../../protocol/mod.ts";
import { acquirePool, type ConnectionTarget } from "../../storage/postgresql/mod.ts";
import { quoteTable } from "../../handlers/static/postgresql/mod.ts";
import type { LeaseMatch, SearchTerm, StaticMatch } from "./subscribers.ts";
import { readableKey } from "./subscribers.ts";

/** One row source: runs a SELECT with `$1`... placeholders. */
export type Select = (
  sql: string,
  params: readonly (string | number)[],
) => Promise<Record<string, unknown>[]>;

/** A PostgreSQL database as a section names it. */
export interface PostgresSource {
  /** Where (the URL, without password). */
  target: ConnectionTarget;
  /** The password file, if any. */
  passwordFile?: string;
}

/** A `<static-postgresql>` table. */
export interface PostgresTable extends PostgresSource {
  /** The table (`name` or `schema.name`). */
  table: string;
}

/** Run `fn` with the SQLite database at `path` opened read-only. */
export async function withSqlite<T>(path: string, fn: (select: Select) => Promise<T>): Promise<T> {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return await fn((sql, params) =>
      Promise.resolve(
        db.prepare(sql.replace(/\$(\d+)/g, "?$1")).all(...params) as Record<string, unknown>[],
      )
    );
  } finally {
    db.close();
  }
}

/** Run `fn` with this thread's pool for `source` (one connection at least), given back after. */
export async function withPostgres<T>(
  source: PostgresSource,
  fn: (select: Select) => Promise<T>,
): Promise<T> {
  const pool = acquirePool(source.target, { size: 1, passwordFile: source.passwordFile });
  try {
    return await fn((sql, params) => pool.query(sql, params));
  } finally {
    await pool.release();
  }
}

/** The table names of a leasequery store. */
export interface LeaseTables {
  /** Clients. */
  clients: string;
  /** Addresses per client. */
  addresses: string;
  /** Prefixes per client. */
  prefixes: string;
  /** Remote-IDs per client. */
  remoteIds: string;
}

/** `<lq-sqlite>`'s tables. */
export const LQ_SQLITE_TABLES: LeaseTables = {
  clients: "clients",
  addresses: "addresses",
  prefixes: "prefixes",
  remoteIds: "remote_ids",
};

/** `<lq-postgresql>`'s tables. */
export const LQ_POSTGRESQL_TABLES: LeaseTables = {
  clients: "leasequery_clients",
  addresses: "leasequery_addresses",
  prefixes: "leasequery_prefixes",
  remoteIds: "leasequery_remote_ids",
};

/** Fully expanded text of 16 address bytes, as the leasequery tables store addresses. */
function expanded(bytes: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(toHex(bytes.subarray(i, i + 2)));
  return groups.join(":");
}

/** The short form of an expanded address. */
function short(text: string): string {
  try {
    return formatIPv6(parseIPv6(text));
  } catch {
    return text;
  }
}

/** `text` for a LIKE pattern: `%`, `_` and `\` matched as themselves (with `ESCAPE '\'`). */
function likeText(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/**
 * The current leases of the leasequery tables `t` that match, at most `limit`; `source` names
 * the store in the results.
 */
export async function searchLeaseTables(
  select: Select,
  t: LeaseTables,
  source: string,
  term: SearchTerm,
  now = Date.now() / 1000,
  limit = 50,
): Promise<LeaseMatch[]> {
  if (term.text === "") return [];
  const clientIds: number[] = [];
  const ids = async (sql: string, ...params: (string | number)[]) => {
    for (const r of await select(sql, params)) {
      const id = Number(r.id);
      if (!clientIds.includes(id)) clientIds.push(id);
    }
  };
  if (term.address) {
    const a = expanded(term.address);
    await ids(`SELECT client_fk AS id FROM ${t.addresses} WHERE address = $1`, a);
    await ids(
      `SELECT client_fk AS id FROM ${t.prefixes} WHERE first_address <= $1 AND ` +
        "last_address >= $1",
      a,
    );
  } else if (term.prefix) {
    await ids(
      `SELECT client_fk AS id FROM ${t.prefixes} WHERE first_address = $1`,
      expanded(term.prefix.bytes),
    );
  } else {
    if (term.hex) {
      await ids(`SELECT id FROM ${t.clients} WHERE client_id LIKE $1`, `%${term.hex}%`);
    }
    await ids(
      `SELECT client_fk AS id FROM ${t.remoteIds} WHERE remote_id LIKE $1`,
      `%${term.textHex}%`,
    );
    if (term.hex) {
      await ids(
        `SELECT client_fk AS id FROM ${t.remoteIds} WHERE remote_id LIKE $1`,
        `%${term.hex}%`,
      );
    }
  }
  const out: LeaseMatch[] = [];
  for (const id of clientIds.slice(0, limit)) {
    const [client] = await select(
      `SELECT client_id, link_address, last_interaction FROM ${t.clients} WHERE id = $1`,
      [id],
    );
    if (!client) continue;
    const base = {
      source,
      client: String(client.client_id),
      linkAddress: short(String(client.link_address)),
      lastSeen: Number(client.last_interaction),
    };
    for (
      const a of await select(
        `SELECT address, valid_lifetime_end AS lifetime_end FROM ${t.addresses} ` +
          "WHERE client_fk = $1 AND valid_lifetime_end > $2",
        [id, Math.floor(now)],
      )
    ) {
      out.push({
        ...base,
        lease: short(String(a.address)),
        remaining: Number(a.lifetime_end) - now,
      });
    }
    for (
      const p of await select(
        "SELECT first_address AS first, last_address AS last, valid_lifetime_end AS lifetime_end " +
          `FROM ${t.prefixes} WHERE client_fk = $1 AND valid_lifetime_end > $2`,
        [id, Math.floor(now)],
      )
    ) {
      out.push({
        ...base,
        lease: `${short(String(p.first))} - ${short(String(p.last))}`,
        remaining: Number(p.lifetime_end) - now,
      });
    }
  }
  return out;
}

/** The current leases in the `<lq-sqlite>` database at `path` that match, at most `limit`. */
export function searchLeases(
  path: string,
  term: SearchTerm,
  now = Date.now() / 1000,
  limit = 50,
): Promise<LeaseMatch[]> {
  if (term.text === "") return Promise.resolve([]);
  return withSqlite(path, (s) => searchLeaseTables(s, LQ_SQLITE_TABLES, path, term, now, limit));
}

/** A lease of the dynamic pools' lease store that matched. */
export interface PoolLeaseMatch {
  /** The lease store. */
  source: string;
  /** The pool's id, e.g. `na 2001:db8:1::/64`. */
  pool: string;
  /** Client DUID as hex. */
  client: string;
  /** The IA's IAID. */
  iaid: number;
  /** The address, or the delegated prefix with its length. */
  lease: string;
  /** `assigned`, `expired`, `released` or `declined` (an assigned lease past its end: expired). */
  state: string;
  /** Seconds of valid lifetime left (0 once over; Infinity for an infinite lease). */
  remaining: number;
}

/** The pools' lease table: `leases` in SQLite, `pool_leases` in PostgreSQL. */
export const POOL_LEASE_TABLES = { sqlite: "leases", postgresql: "pool_leases" } as const;

/**
 * The delegated prefixes (as the lease store writes them) that contain `bytes`/`length`: the
 * prefix itself and every shorter one around it.
 */
function enclosingPrefixes(bytes: Uint8Array, length: number): string[] {
  const out: string[] = [];
  for (let l = length; l >= 1; l--) out.push(new IPv6Prefix(bytes, l).text);
  return out;
}

/**
 * The pool leases in `table` that match: by DUID (hex, any part), by address (the address
 * lease, or the delegated prefix around it) or by prefix (that prefix, or a delegated prefix
 * around it). Remote-IDs and other relay ids are not kept with pool leases.
 */
export async function searchPoolLeases(
  select: Select,
  table: string,
  source: string,
  term: SearchTerm,
  now = Date.now() / 1000,
  limit = 50,
): Promise<PoolLeaseMatch[]> {
  let where: string;
  let params: string[];
  if (term.address) {
    const prefixes = enclosingPrefixes(term.address, 128);
    params = [formatIPv6(term.address), ...prefixes];
    where = `(type = 'na' AND resource = $1) OR (type = 'pd' AND resource IN (${
      prefixes.map((_, i) => `$${i + 2}`).join(", ")
    }))`;
  } else if (term.prefix) {
    params = enclosingPrefixes(term.prefix.bytes, term.prefix.length);
    where = `type = 'pd' AND resource IN (${params.map((_, i) => `$${i + 1}`).join(", ")})`;
  } else if (term.hex) {
    params = [`%${term.hex}%`];
    where = "duid LIKE $1";
  } else return [];
  const rows = await select(
    `SELECT pool, duid, iaid, resource, state, valid_until FROM ${table} WHERE ${where} ` +
      `ORDER BY pool, idx LIMIT ${Math.max(1, Math.floor(limit))}`,
    params,
  );
  return rows.map((r) => {
    const end = Number(r.valid_until);
    const left = end >= Number.MAX_SAFE_INTEGER ? Infinity : Math.max(0, end - now);
    const state = String(r.state);
    return {
      source,
      pool: String(r.pool),
      client: String(r.duid),
      iaid: Number(r.iaid),
      lease: String(r.resource),
      state: state === "assigned" && left === 0 ? "expired" : state,
      remaining: left,
    };
  });
}

/** A text that PostgreSQL's `inet` accepts (checked before a cast, so a bad row never fails). */
const INET_TEXT = "'^[0-9A-Fa-f:.]+(/[0-9]{1,3})?$'";

/**
 * The rows of a `<static-postgresql>` table that match, at most `limit`: found in the database
 * (the key by its parts, the address and prefix with `inet` comparisons), never the whole
 * table read. `description` names the table in the results.
 */
export async function searchStaticTable(
  select: Select,
  table: string,
  description: string,
  term: SearchTerm,
  limit = 50,
): Promise<StaticMatch[]> {
  if (term.text === "") return [];
  const q = quoteTable(table);
  const cast = (column: string, op: string, param: string) =>
    `(CASE WHEN ${column} ~ ${INET_TEXT} THEN ${column}::inet ${op} ${param}::inet ELSE false END)`;
  let where: string;
  let params: string[];
  if (term.address) {
    params = [formatIPv6(term.address)];
    where = `${cast("address", "=", "$1")} OR ${cast("prefix", ">>=", "$1")}`;
  } else if (term.prefix) {
    params = [term.prefix.text];
    where = cast("prefix", "=", "$1");
  } else {
    params = [`%${term.textHex}%`, `%${likeText(term.text.toLowerCase())}%`];
    if (term.hex) params.push(`%${term.hex}%`);
    where = params.map((_, i) => `lower(id) LIKE $${i + 1} ESCAPE '\\'`).join(" OR ");
  }
  const rows = await select(
    `SELECT id, address, prefix FROM ${q} WHERE ${where} ORDER BY id ` +
      `LIMIT ${Math.max(1, Math.floor(limit))}`,
    params,
  );
  return rows.map((r) => ({
    source: `${description} (row ${r.id})`,
    key: String(r.id),
    readable: readableKey(String(r.id)),
    address: r.address === null ? undefined : String(r.address),
    prefix: r.prefix === null ? undefined : String(r.prefix),
  }));
}
