/**
 * The tables of `<lq-postgresql>` (schema component `leasequery`, version 1), shared by every
 * server that writes into the database. Addresses and prefix bounds are stored fully expanded
 * (`2001:0db8:0000:...`) so that text order is address order; times are Unix seconds, `2^52`
 * meaning "infinite"; option blobs are DHCPv6 options on the wire.
 * @module
 */

import type { SchemaSpec } from "../../../storage/postgresql/mod.ts";

/** The statements creating the tables, in order. */
export const LEASEQUERY_TABLES: readonly string[] = [
  `CREATE TABLE leasequery_clients (
  id BIGSERIAL PRIMARY KEY,
  client_id TEXT NOT NULL,
  link_address TEXT NOT NULL,
  options BYTEA,
  last_interaction BIGINT NOT NULL,
  relay_data BYTEA,
  UNIQUE (client_id, link_address)
)`,
  "CREATE INDEX leasequery_clients_link_address ON leasequery_clients (link_address)",
  `CREATE TABLE leasequery_addresses (
  client_fk BIGINT NOT NULL REFERENCES leasequery_clients (id) ON DELETE CASCADE,
  address TEXT NOT NULL,
  preferred_lifetime_end BIGINT NOT NULL,
  valid_lifetime_end BIGINT NOT NULL,
  options BYTEA,
  PRIMARY KEY (client_fk, address)
)`,
  "CREATE INDEX leasequery_addresses_address ON leasequery_addresses (address)",
  `CREATE TABLE leasequery_prefixes (
  client_fk BIGINT NOT NULL REFERENCES leasequery_clients (id) ON DELETE CASCADE,
  first_address TEXT NOT NULL,
  last_address TEXT NOT NULL,
  preferred_lifetime_end BIGINT NOT NULL,
  valid_lifetime_end BIGINT NOT NULL,
  options BYTEA,
  PRIMARY KEY (client_fk, first_address, last_address)
)`,
  "CREATE INDEX leasequery_prefixes_range ON leasequery_prefixes (first_address, last_address)",
  `CREATE TABLE leasequery_remote_ids (
  client_fk BIGINT NOT NULL REFERENCES leasequery_clients (id) ON DELETE CASCADE,
  remote_id TEXT NOT NULL,
  PRIMARY KEY (client_fk, remote_id)
)`,
  "CREATE INDEX leasequery_remote_ids_remote_id ON leasequery_remote_ids (remote_id)",
  `CREATE TABLE leasequery_relay_ids (
  client_fk BIGINT NOT NULL REFERENCES leasequery_clients (id) ON DELETE CASCADE,
  relay_id TEXT NOT NULL,
  PRIMARY KEY (client_fk, relay_id)
)`,
  "CREATE INDEX leasequery_relay_ids_relay_id ON leasequery_relay_ids (relay_id)",
  "CREATE TABLE leasequery_meta (key TEXT PRIMARY KEY, value BIGINT NOT NULL)",
];

/** The versioned schema of the leasequery tables. */
export const LEASEQUERY_SCHEMA: SchemaSpec = {
  component: "leasequery",
  migrations: [{
    version: 1,
    description: "leasequery tables",
    statements: LEASEQUERY_TABLES,
  }],
};
