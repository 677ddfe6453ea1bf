/**
 * The looking glass's subscriber search: one text (a DUID, address, prefix, remote-id,
 * interface-id or subscriber-id) looked up in the static assignment files of the configuration
 * (with file and line); the databases (SQLite static assignments here, the leasequery stores,
 * the pools' lease store and PostgreSQL tables in `database_search.ts`); and the recent
 * transactions. Read-only: files are read, and databases opened read-only, for each search.
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import type { ConfigSection } from "../../config/mod.ts";
import { readAssignmentCsv } from "../../handlers/static/csv/reader.ts";
import { join } from "node:path";
import { IPv6Prefix, isIPv6, parseIPv6, toHex } from "../../protocol/mod.ts";
import type { ConnectionTarget } from "../../storage/postgresql/mod.ts";
import { DEFAULT_LEASE_FILE, DEFAULT_STATE_DIRECTORY } from "../../handlers/pools/section.ts";
import { opaqueText } from "../transactions.ts";
import type { PostgresSource, PostgresTable } from "./database_search.ts";

/** Where static assignments and leases are kept, as the configuration names them. */
export interface SearchSources {
  /** `<static-csv>` files. */
  csv: string[];
  /** `<static-sqlite>` databases. */
  sqlite: string[];
  /** `<lq-sqlite>` databases. */
  leases: string[];
  /** `<static-postgresql>` tables. */
  staticPostgresql?: PostgresTable[];
  /** `<lq-postgresql>` databases. */
  leasesPostgresql?: PostgresSource[];
  /**
   * The pools' lease store, when the configuration has pools: an SQLite file (the
   * `<lease-store-sqlite>` or the default in the state directory) or a PostgreSQL database.
   */
  poolLeases?: { sqlite: string } | { postgresql: PostgresSource };
}

/** A section's PostgreSQL connection values, without anything secret but the file's path. */
function postgresSource(values: Record<string, unknown>): PostgresSource {
  return {
    target: values.url as ConnectionTarget,
    passwordFile: values.passwordFile as string | undefined,
  };
}

/** The sources the configuration tree `root` names (each once, in file order). */
export function searchSources(root: ConfigSection): SearchSources {
  const out: SearchSources = { csv: [], sqlite: [], leases: [] };
  const statics: PostgresTable[] = [];
  const lq: PostgresSource[] = [];
  let pools = false;
  let store: SearchSources["poolLeases"];
  const add = (list: string[], path: unknown) => {
    if (typeof path === "string" && !list.includes(path)) list.push(path);
  };
  const same = (a: PostgresSource, b: PostgresSource) =>
    a.target.description === b.target.description && a.passwordFile === b.passwordFile;
  const walk = (section: ConfigSection) => {
    const values = section.values as Record<string, unknown>;
    const path = values.path ?? section.nameValue;
    if (section.type === "static-csv") add(out.csv, path);
    else if (section.type === "static-sqlite") add(out.sqlite, path);
    else if (section.type === "lq-sqlite") add(out.leases, path);
    else if (section.type === "static-postgresql") {
      const table = { ...postgresSource(values), table: String(values.table) };
      if (!statics.some((t) => same(t, table) && t.table === table.table)) statics.push(table);
    } else if (section.type === "lq-postgresql") {
      const source = postgresSource(values);
      if (!lq.some((s) => same(s, source))) lq.push(source);
    } else if (section.type === "address-pool" || section.type === "prefix-pool") pools = true;
    else if (section.type === "lease-store-sqlite") store = { sqlite: String(values.path) };
    else if (section.type === "lease-store-postgresql") {
      store = { postgresql: postgresSource(values) };
    }
    for (const c of section.children) walk(c);
  };
  walk(root);
  if (statics.length) out.staticPostgresql = statics;
  if (lq.length) out.leasesPostgresql = lq;
  if (pools) {
    const dir = (root.values as { stateDirectory?: string }).stateDirectory ??
      DEFAULT_STATE_DIRECTORY;
    out.poolLeases = store ?? { sqlite: join(dir, DEFAULT_LEASE_FILE) };
  }
  return out;
}

/** A static assignment that matched. */
export interface StaticMatch {
  /** `FILE:LINE` (CSV) or the database and key (SQLite). */
  source: string;
  /** Canonical key (`duid:HEX`, `remote-id:ENT:HEX`, ...). */
  key: string;
  /** The key's value as text when it is printable (`remote-id 40208:customer-1042`). */
  readable: string;
  /** Assigned address. */
  address?: string;
  /** Assigned prefix. */
  prefix?: string;
}

/** A current lease from a leasequery database. */
export interface LeaseMatch {
  /** The database. */
  source: string;
  /** Client DUID as hex. */
  client: string;
  /** Link address the client was seen on. */
  linkAddress: string;
  /** `ADDRESS` or `FIRST-LAST` of a prefix. */
  lease: string;
  /** Seconds of valid lifetime left. */
  remaining: number;
  /** Last time the client was seen (seconds since the epoch). */
  lastSeen: number;
}

/** What one search text means. */
export interface SearchTerm {
  /** As typed, trimmed. */
  text: string;
  /** Lower-case hex of the text's bytes (matches `*-str` ids in canonical keys). */
  textHex: string;
  /** Hex digits when the text is hex (colons allowed), else undefined. */
  hex?: string;
  /** The text as an address. */
  address?: Uint8Array;
  /** The text as a prefix. */
  prefix?: IPv6Prefix;
}

/** Interpret a search text. */
export function searchTerm(text: string): SearchTerm {
  const t = text.trim().replace(/^(duid|interface-id|remote-id|subscriber-id)[:=]/i, "");
  const term: SearchTerm = { text: t, textHex: toHex(new TextEncoder().encode(t)) };
  const hex = t.replace(/:/g, "").toLowerCase();
  if (hex.length >= 4 && hex.length % 2 === 0 && /^[0-9a-f]+$/.test(hex)) term.hex = hex;
  if (isIPv6(t)) term.address = parseIPv6(t);
  else if (t.includes("/")) {
    try {
      term.prefix = IPv6Prefix.parse(t);
    } catch {
      // not a prefix
    }
  }
  return term;
}

/** The printable form of a canonical key, e.g. `remote-id 40208:customer-1042`. */
export function readableKey(key: string): string {
  const parts = key.split(":");
  const kind = parts[0];
  const hex = parts[parts.length - 1];
  if (!/^[0-9a-f]*$/.test(hex) || hex.length % 2 !== 0 || kind === "duid") return key;
  const bytes = Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));
  const text = opaqueText(bytes);
  return `${kind} ${[...parts.slice(1, -1), text].join(":")}`;
}

/** Whether an assignment row matches `term`. */
export function rowMatches(
  term: SearchTerm,
  key: string,
  address?: string,
  prefix?: string,
): boolean {
  if (term.text === "") return false;
  if (term.address) {
    if (address && equalBytes(parseIPv6(address), term.address)) return true;
    if (prefix && IPv6Prefix.parse(prefix).contains(term.address)) return true;
    return false;
  }
  if (term.prefix) return prefix === term.prefix.toString();
  const k = key.toLowerCase();
  if (term.hex && k.includes(term.hex)) return true;
  return k.includes(term.textHex) || k.includes(term.text.toLowerCase());
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The rows of the CSV file at `path` that match, at most `limit`. */
export async function searchCsv(
  path: string,
  term: SearchTerm,
  limit = 50,
): Promise<StaticMatch[]> {
  const out: StaticMatch[] = [];
  await readAssignmentCsv(path, (row) => {
    if (out.length < limit && rowMatches(term, row.key, row.address, row.prefix)) {
      out.push({
        source: `${path}:${row.line}`,
        key: row.key,
        readable: readableKey(row.key),
        address: row.address,
        prefix: row.prefix,
      });
    }
  }, () => {});
  return out;
}

/** The rows of the SQLite assignments database at `path` that match, at most `limit`. */
export function searchSqlite(path: string, term: SearchTerm, limit = 50): StaticMatch[] {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const rows = db.prepare("SELECT id, address, prefix FROM assignments").iterate() as Iterable<
      { id: string; address: string | null; prefix: string | null }
    >;
    const out: StaticMatch[] = [];
    for (const r of rows) {
      if (out.length >= limit) break;
      if (rowMatches(term, r.id, r.address ?? undefined, r.prefix ?? undefined)) {
        out.push({
          source: `${path} (row ${r.id})`,
          key: r.id,
          readable: readableKey(r.id),
          address: r.address ?? undefined,
          prefix: r.prefix ?? undefined,
        });
      }
    }
    return out;
  } finally {
    db.close();
  }
}

/**
 * The explain parameters that ask about the client a static key names: `duid`, or the relay
 * option with the key's value (the row's address as the relay's link address, so that subnet
 * filters see the customer's link).
 */
export function explainParamsOfKey(
  key: string,
  address?: string,
): Record<string, string> | undefined {
  const parts = key.split(":");
  const hex = parts[parts.length - 1];
  const link: Record<string, string> = address ? { "link-address": address } : {};
  switch (parts[0]) {
    case "duid":
      return { duid: hex, type: "request", ...link };
    case "interface-id":
      return { "interface-id": `0x${hex}`, type: "request", ...link };
    case "remote-id":
      return { "remote-id": `${parts[1]}:0x${hex}`, type: "request", ...link };
    case "subscriber-id":
      return { "subscriber-id": `0x${hex}`, type: "request", ...link };
    default:
      return undefined;
  }
}
