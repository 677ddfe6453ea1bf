#!/usr/bin/env bash
# SERVER_CMD for harness.sh: Kea with its PostgreSQL host-reservation backend. A fresh database
# `kea` (kea-admin db-init) gets the scenario's reservations (KB_RESV_CSV: the same rows dhcpkit's
# static-postgresql table holds); the configuration harness.sh wrote is rewritten to read them from
# there instead of from the file. Needs PG_SOCKET_DIR and PG_BIN (bench/load/postgres.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/postgres.sh"
wd=$KB_WORKDIR
pg_sql postgres -c "DROP DATABASE IF EXISTS kea WITH (FORCE)" -c "CREATE DATABASE kea"
kea-admin db-init pgsql -u postgres -p "" -n kea -h "$PG_SOCKET_DIR" >"$wd/kea-admin.log" 2>&1
# One host per reservation: its DUID, an address (type 0) and a prefix (type 2) in subnet 1.
pg_sql kea >/dev/null <<SQL
CREATE TEMPORARY TABLE r (h SERIAL, duid TEXT, address TEXT, prefix TEXT);
\copy r (duid, address, prefix) FROM '$KB_RESV_CSV' WITH (FORMAT csv)
INSERT INTO hosts (host_id, dhcp_identifier, dhcp_identifier_type, dhcp6_subnet_id)
  SELECT h, decode(replace(duid, ':', ''), 'hex'), 1, 1 FROM r;
INSERT INTO ipv6_reservations (address, prefix_len, type, host_id)
  SELECT address, 128, 0, h FROM r
  UNION ALL SELECT split_part(prefix, '/', 1), split_part(prefix, '/', 2)::smallint, 2, h FROM r;
SELECT setval('hosts_host_id_seq', (SELECT max(h) FROM r));
SQL
python3 - "$KB_CONF" "$wd/kea-pg.json" <<'PY'
import json, os, sys
cfg = json.load(open(sys.argv[1]))
d6 = cfg["Dhcp6"]
for s in d6["subnet6"]:
    s.pop("reservations", None)
d6["hosts-database"] = {"type": "postgresql", "name": "kea", "user": "postgres",
                        "host": os.environ["PG_SOCKET_DIR"]}
json.dump(cfg, open(sys.argv[2], "w"), indent=1)
PY
exec kea-dhcp6 -c "$wd/kea-pg.json"
