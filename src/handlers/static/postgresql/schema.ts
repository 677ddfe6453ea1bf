/**
 * The schema of a `<static-postgresql>` table (schema component `static:TABLE` in
 * `dhcpkit_schema`, created by `dhcpkit build-postgresql`), and how servers learn of changes:
 *
 * ```sql
 * -- version 1
 * CREATE TABLE assignments (id TEXT PRIMARY KEY, address TEXT NULL, prefix TEXT NULL);
 * -- version 2: every change is announced on a channel (see CHANGE_SQL for the function)
 * CREATE TRIGGER dhcpkit_notify_insert AFTER INSERT ON assignments
 *   REFERENCING NEW TABLE AS dhcpkit_new FOR EACH STATEMENT
 *   EXECUTE FUNCTION dhcpkit_static_notify('dhcpkit:assignments');
 * -- ... the same for UPDATE (old and new rows), DELETE (old rows) and TRUNCATE,
 * -- each ENABLE ALWAYS (they fire on logical replication subscribers too).
 * ```
 *
 * The payload of a notification is the ids of the changed rows, one a line, or the empty string
 * ("forget everything") for TRUNCATE and for statements that change more than
 * {@link NOTIFY_MAX_IDS} rows (such as a `build-postgresql` run that rewrites the table).
 * Servers LISTEN on the channel named in the trigger's argument (read with
 * {@link readNotifyChannel}), so two spellings of one table (`assignments`,
 * `public.assignments`) still meet on one channel.
 * @module
 */

import type { PostgresPool, SchemaSpec, Transaction } from "../../../storage/postgresql/mod.ts";

/** `schema.table` or `table`, each part quoted as an SQL identifier. */
export function quoteTable(name: string): string {
  return name.split(".").map((part) => `"${part.replaceAll('"', '""')}"`).join(".");
}

/** Statements changing more rows than this notify "forget everything" instead of the ids. */
export const NOTIFY_MAX_IDS = 100;

/** The trigger function every assignments table shares. */
export const CHANGE_SQL = `CREATE OR REPLACE FUNCTION dhcpkit_static_notify() RETURNS trigger
LANGUAGE plpgsql AS $dhcpkit$
DECLARE
  ids TEXT[];
BEGIN
  IF TG_OP = 'INSERT' THEN
    SELECT array_agg(id) INTO ids FROM (SELECT id FROM dhcpkit_new LIMIT ${NOTIFY_MAX_IDS + 1}) r;
  ELSIF TG_OP = 'DELETE' THEN
    SELECT array_agg(id) INTO ids FROM (SELECT id FROM dhcpkit_old LIMIT ${NOTIFY_MAX_IDS + 1}) r;
  ELSIF TG_OP = 'UPDATE' THEN
    SELECT array_agg(id) INTO ids FROM (SELECT id FROM dhcpkit_old UNION
      SELECT id FROM dhcpkit_new LIMIT ${NOTIFY_MAX_IDS + 1}) r;
  END IF;
  IF TG_OP = 'TRUNCATE' OR cardinality(ids) > ${NOTIFY_MAX_IDS} OR
      octet_length(array_to_string(ids, E'\\n')) > 7000 THEN
    PERFORM pg_notify(TG_ARGV[0], '');
  ELSIF cardinality(ids) > 0 THEN
    PERFORM pg_notify(TG_ARGV[0], array_to_string(ids, E'\\n'));
  END IF;
  RETURN NULL;
END
$dhcpkit$`;

/** The names of the four triggers, by event. */
export const TRIGGERS = {
  INSERT: "dhcpkit_notify_insert",
  UPDATE: "dhcpkit_notify_update",
  DELETE: "dhcpkit_notify_delete",
  TRUNCATE: "dhcpkit_notify_truncate",
} as const;

/** The channel the migration names for `table` (at most 63 bytes, PostgreSQL's limit). */
export function notifyChannel(table: string): string {
  const name = `dhcpkit:${table}`;
  return new TextEncoder().encode(name).length <= 63 ? name : `dhcpkit:${fnv(table)}`;
}

function fnv(text: string): string {
  let h = 0x811c9dc5;
  for (const c of new TextEncoder().encode(text)) h = Math.imul(h ^ c, 0x01000193) >>> 0;
  return h.toString(16).padStart(8, "0");
}

const literal = (text: string) => `'${text.replaceAll("'", "''")}'`;

/** The statements installing the change triggers on `table`. */
export function triggerStatements(table: string): string[] {
  const quoted = quoteTable(table);
  const channel = literal(notifyChannel(table));
  const referencing = {
    INSERT: "REFERENCING NEW TABLE AS dhcpkit_new FOR EACH STATEMENT",
    UPDATE: "REFERENCING OLD TABLE AS dhcpkit_old NEW TABLE AS dhcpkit_new FOR EACH STATEMENT",
    DELETE: "REFERENCING OLD TABLE AS dhcpkit_old FOR EACH STATEMENT",
    TRUNCATE: "FOR EACH STATEMENT",
  };
  const statements = [CHANGE_SQL];
  for (const [event, name] of Object.entries(TRIGGERS)) {
    statements.push(
      `DROP TRIGGER IF EXISTS ${name} ON ${quoted}`,
      `CREATE TRIGGER ${name} AFTER ${event} ON ${quoted} ` +
        `${referencing[event as keyof typeof TRIGGERS]} ` +
        `EXECUTE FUNCTION dhcpkit_static_notify(${channel})`,
      `ALTER TABLE ${quoted} ENABLE ALWAYS TRIGGER ${name}`,
    );
  }
  return statements;
}

/** The schema component of an assignments table. */
export function assignmentsSchema(table: string): SchemaSpec {
  return {
    component: `static:${table}`,
    migrations: [{
      version: 1,
      description: `table ${table}`,
      statements: [
        `CREATE TABLE IF NOT EXISTS ${quoteTable(table)} (id TEXT PRIMARY KEY, ` +
        "address TEXT NULL, prefix TEXT NULL)",
      ],
    }, {
      version: 2,
      description: `table ${table}: changes announced with NOTIFY (servers cache rows)`,
      statements: triggerStatements(table),
    }],
  };
}

/**
 * The channel the change triggers of `table` notify on, when all four are installed, enabled,
 * call `dhcpkit_static_notify` and name one channel; undefined otherwise (then nothing may be
 * cached, since changes would go unnoticed).
 */
export async function readNotifyChannel(
  db: Pick<PostgresPool, "query"> | Transaction,
  table: string,
): Promise<string | undefined> {
  const rows = await db.query<{ name: string; enabled: string; fn: string; args: string }>(
    "SELECT tgname AS name, tgenabled AS enabled, tgfoid::regproc::text AS fn, " +
      "encode(tgargs, 'hex') AS args FROM pg_trigger WHERE tgrelid = to_regclass($1) " +
      "AND tgname = ANY($2::text[])",
    [quoteTable(table), `{${Object.values(TRIGGERS).join(",")}}`],
  );
  const channels = new Set<string>();
  for (const row of rows) {
    if (row.enabled !== "O" && row.enabled !== "A") return undefined;
    if (!/(^|\.)dhcpkit_static_notify$/.test(row.fn)) return undefined;
    channels.add(row.args);
  }
  if (rows.length !== Object.keys(TRIGGERS).length || channels.size !== 1) return undefined;
  const hex = [...channels][0];
  const bytes = new Uint8Array((hex.match(/../g) ?? []).map((b) => parseInt(b, 16)));
  const [channel] = new TextDecoder().decode(bytes).split("\0");
  return channel || undefined;
}
