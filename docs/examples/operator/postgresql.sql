-- Run once as a PostgreSQL superuser (psql -f postgresql.sql). Three roles: dhcpkit_admin owns
-- the tables and loads the assignments, dhcpkit is what the DHCP servers log in as, and
-- dhcpkit_reader may only read (a server with <static-postgresql> alone, reports).
CREATE ROLE dhcpkit_admin LOGIN PASSWORD 'admin-secret';
CREATE ROLE dhcpkit LOGIN PASSWORD 'server-secret';
CREATE ROLE dhcpkit_reader LOGIN PASSWORD 'reader-secret';
CREATE DATABASE dhcp OWNER dhcpkit_admin;
\connect dhcp
SET ROLE dhcpkit_admin;

-- The versions of dhcpkit's tables; the servers check it at start-up.
CREATE TABLE dhcpkit_schema (
  component TEXT PRIMARY KEY,
  version INTEGER NOT NULL,
  updated TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- <static-postgresql>: one row per customer, filled by dhcpkit build-postgresql.
CREATE TABLE assignments (id TEXT PRIMARY KEY, address TEXT NULL, prefix TEXT NULL);

-- <lq-postgresql>: the leases every server hands out.
CREATE TABLE leasequery_clients (
  id BIGSERIAL PRIMARY KEY,
  client_id TEXT NOT NULL,
  link_address TEXT NOT NULL,
  options BYTEA,
  last_interaction BIGINT NOT NULL,
  relay_data BYTEA,
  UNIQUE (client_id, link_address)
);
CREATE INDEX leasequery_clients_link_address ON leasequery_clients (link_address);
CREATE TABLE leasequery_addresses (
  client_fk BIGINT NOT NULL REFERENCES leasequery_clients (id) ON DELETE CASCADE,
  address TEXT NOT NULL,
  preferred_lifetime_end BIGINT NOT NULL,
  valid_lifetime_end BIGINT NOT NULL,
  options BYTEA,
  PRIMARY KEY (client_fk, address)
);
CREATE INDEX leasequery_addresses_address ON leasequery_addresses (address);
CREATE TABLE leasequery_prefixes (
  client_fk BIGINT NOT NULL REFERENCES leasequery_clients (id) ON DELETE CASCADE,
  first_address TEXT NOT NULL,
  last_address TEXT NOT NULL,
  preferred_lifetime_end BIGINT NOT NULL,
  valid_lifetime_end BIGINT NOT NULL,
  options BYTEA,
  PRIMARY KEY (client_fk, first_address, last_address)
);
CREATE INDEX leasequery_prefixes_range ON leasequery_prefixes (first_address, last_address);
CREATE TABLE leasequery_remote_ids (
  client_fk BIGINT NOT NULL REFERENCES leasequery_clients (id) ON DELETE CASCADE,
  remote_id TEXT NOT NULL,
  PRIMARY KEY (client_fk, remote_id)
);
CREATE INDEX leasequery_remote_ids_remote_id ON leasequery_remote_ids (remote_id);
CREATE TABLE leasequery_relay_ids (
  client_fk BIGINT NOT NULL REFERENCES leasequery_clients (id) ON DELETE CASCADE,
  relay_id TEXT NOT NULL,
  PRIMARY KEY (client_fk, relay_id)
);
CREATE INDEX leasequery_relay_ids_relay_id ON leasequery_relay_ids (relay_id);
CREATE TABLE leasequery_meta (key TEXT PRIMARY KEY, value BIGINT NOT NULL);

INSERT INTO dhcpkit_schema (component, version) VALUES
  ('static:assignments', 1),
  ('leasequery', 1);

-- The servers: read the assignments, write the leases.
GRANT CONNECT ON DATABASE dhcp TO dhcpkit, dhcpkit_reader;
GRANT USAGE ON SCHEMA public TO dhcpkit, dhcpkit_reader;
GRANT SELECT ON dhcpkit_schema, assignments TO dhcpkit;
GRANT SELECT, INSERT, UPDATE, DELETE ON leasequery_clients, leasequery_addresses,
  leasequery_prefixes, leasequery_remote_ids, leasequery_relay_ids, leasequery_meta TO dhcpkit;
GRANT USAGE ON SEQUENCE leasequery_clients_id_seq TO dhcpkit;

-- Read only: the assignments (enough for <static-postgresql>) and the leases.
GRANT SELECT ON dhcpkit_schema, assignments, leasequery_clients, leasequery_addresses,
  leasequery_prefixes, leasequery_remote_ids, leasequery_relay_ids TO dhcpkit_reader;
