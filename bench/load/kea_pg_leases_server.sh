#!/usr/bin/env bash
# SERVER_CMD for harness.sh: Kea with its PostgreSQL lease backend. A fresh database `kea_leases`
# (kea-admin db-init) of the cluster bench/load/postgres.sh started holds the leases; the
# configuration harness.sh wrote for the scenario (the same pools dhcpkit serves) is rewritten to
# keep its leases there instead of in the memfile. Needs PG_SOCKET_DIR and PG_BIN.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/postgres.sh"
wd=$KB_WORKDIR
pg_sql postgres -c "DROP DATABASE IF EXISTS kea_leases WITH (FORCE)" -c "CREATE DATABASE kea_leases"
kea-admin db-init pgsql -u postgres -p "" -n kea_leases -h "$PG_SOCKET_DIR" >"$wd/kea-admin.log" 2>&1
python3 - "$KB_CONF" "$wd/kea-pg-leases.json" <<'PY'
import json, os, sys
cfg = json.load(open(sys.argv[1]))
cfg["Dhcp6"]["lease-database"] = {"type": "postgresql", "name": "kea_leases", "user": "postgres",
                                  "host": os.environ["PG_SOCKET_DIR"]}
json.dump(cfg, open(sys.argv[2], "w"), indent=1)
PY
exec kea-dhcp6 -c "$wd/kea-pg-leases.json"
