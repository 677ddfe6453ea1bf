/**
 * The looking glass's subscriber search: one text (a DUID, address, prefix, remote-id,
 * interface-id or subscriber-id) looked up in the static assignment files and databases of the
 * configuration (with file and line), in the leasequery SQLite databases (current leases with
 * their remaining lifetimes) and in the recent transactions. Read-only: files are read, and
 * databases opened read-only, for each search.
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import type { ConfigSection } from "../../config/mod.ts";
import { readAssignmentCsv } from "../../handlers/static/csv/reader.ts";
import { formatIPv6, IPv6Prefix, isIPv6, parseIPv6, toHex } from "../../protocol/mod.ts";
import { opaqueText } from "../transactions.ts";

/** Where static assignments and leases are kept, as the configuration names them. */
export interface SearchSources {
  /** `<static-csv>` files. */
  csv: string[];
  /** `<static-sqlite>` databases. */
  sqlite: string[];
  /** `<lq-sqlite>` databases. */
  leases: string[];
}

/** The sources the configuration tree `root` names (each once, in file order). */
export function searchSources(root: ConfigSection): SearchSources {
  const out: SearchSources = { csv: [], sqlite: [], leases: [] };
  const add = (list: string[], path: unknown) => {
    if (typeof path === "string" && !list.includes(path)) list.push(path);
  };
  const walk = (section: ConfigSection) => {
    const path = (section.values as { path?: unknown }).path ?? section.nameValue;
    if (section.type === "static-csv") add(out.csv, path);
    else if (section.type === "static-sqlite") add(out.sqlite, path);
    else if (section.type === "lq-sqlite") add(out.leases, path);
    for (const c of section.children) walk(c);
  };
  walk(root);
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

/** The current leases in the leasequery database at `path` that match, at most `limit`. */
export function searchLeases(
  path: string,
  term: SearchTerm,
  now = Date.now() / 1000,
  limit = 50,
): LeaseMatch[] {
  if (term.text === "") return [];
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const clientIds: number[] = [];
    const ids = (sql: string, ...params: (string | number)[]) => {
      for (const r of db.prepare(sql).all(...params) as Array<{ id: number }>) {
        if (!clientIds.includes(r.id)) clientIds.push(r.id);
      }
    };
    if (term.address) {
      const a = expanded(term.address);
      ids("SELECT client_fk AS id FROM addresses WHERE address = ?", a);
      ids(
        "SELECT client_fk AS id FROM prefixes WHERE first_address <= ? AND last_address >= ?",
        a,
        a,
      );
    } else if (term.prefix) {
      ids(
        "SELECT client_fk AS id FROM prefixes WHERE first_address = ?",
        expanded(term.prefix.bytes),
      );
    } else {
      if (term.hex) ids("SELECT id FROM clients WHERE client_id LIKE ?", `%${term.hex}%`);
      ids("SELECT client_fk AS id FROM remote_ids WHERE remote_id LIKE ?", `%${term.textHex}%`);
      if (term.hex) {
        ids("SELECT client_fk AS id FROM remote_ids WHERE remote_id LIKE ?", `%${term.hex}%`);
      }
    }
    const out: LeaseMatch[] = [];
    for (const id of clientIds.slice(0, limit)) {
      const client = db.prepare(
        "SELECT client_id, link_address, last_interaction FROM clients WHERE id = ?",
      ).get(id) as
        | { client_id: string; link_address: string; last_interaction: number }
        | undefined;
      if (!client) continue;
      const base = {
        source: path,
        client: client.client_id,
        linkAddress: short(client.link_address),
        lastSeen: client.last_interaction,
      };
      for (
        const a of db.prepare(
          "SELECT address, valid_lifetime_end AS end FROM addresses WHERE client_fk = ? AND " +
            "valid_lifetime_end > ?",
        ).all(id, now) as Array<{ address: string; end: number }>
      ) out.push({ ...base, lease: short(a.address), remaining: a.end - now });
      for (
        const p of db.prepare(
          "SELECT first_address AS first, last_address AS last, valid_lifetime_end AS end " +
            "FROM prefixes WHERE client_fk = ? AND valid_lifetime_end > ?",
        ).all(id, now) as Array<{ first: string; last: string; end: number }>
      ) {
        out.push({
          ...base,
          lease: `${short(p.first)} - ${short(p.last)}`,
          remaining: p.end - now,
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
