#!/usr/bin/env bash
# SERVER_CMD for harness.sh: write a dhcpkit configuration for the scenario (the same host
# reservations Kea gets, as a static CSV or a static SQLite file) and exec the server.
#   DHCPKIT_WORKERS (default 0)   DHCPKIT_BACKEND csv|sqlite|postgresql|pools|pools-postgresql
#     (default csv; postgresql loads the rows with build-postgresql into a fresh database
#     `dhcpkit` of the cluster bench/load/postgres.sh started: PG_SOCKET_DIR, PG_BIN; pools and
#     pools-postgresql serve Kea's dynamic pools from an SQLite / PostgreSQL lease store)
#   DHCPKIT_IO auto|deno|ffi (default auto): the UDP I/O backend (`io-backend`). The server runs
#     with --allow-ffi, as systemd/dhcpkit.service does, so auto means ffi on Linux.
#   DHCPKIT_BATCH_DELAY: `io-batch-delay`, seconds or auto (default: the server's default)
#   DHCPKIT_UDP_GSO: `io-udp-gso` yes|no (default: the server's default)
#   DHCPKIT_REUSE_ANSWERS: `reuse-answers` yes|no (default: the server's default)
#   DHCPKIT_LOG_FILE: log at info level to this file (default: the server's default logging), e.g.
#     to see `io-batch-delay auto` change its wait
#   DHCPKIT_DENO_FLAGS: extra deno flags, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile
#   KB_INFO=1 (from harness.sh): also DNS servers + domain search list, for Information-requests
#   DHCPKIT_EXTRA_ROWS: add this many more (unused) assignment rows, e.g. 990000 for a 1M-row file
set -euo pipefail
wd=$KB_WORKDIR
repo=$(cd "$(dirname "$0")/../.." && pwd)
io=${DHCPKIT_IO:-auto}
deno_run=(deno run ${DHCPKIT_DENO_FLAGS:-} --unstable-net --allow-net --allow-read --allow-write --allow-env --allow-sys --allow-ffi)
{
  echo "id,address,prefix"
  while IFS=, read -r duid addr pfx; do echo "duid:${duid//:/},$addr,$pfx"; done <"$KB_RESV_CSV"
  # Filler clients that perfdhcp never uses (DUID-EN), so the table has a production size.
  awk -v n="${DHCPKIT_EXTRA_ROWS:-0}" 'BEGIN { for (i = 0; i < n; i++)
    printf "duid:00020000a0f2%08x,2001:db8:a:%x:%x::1,2001:db8:%x:%x00::/56\n", i, int(i / 65536), i % 65536, 16384 + int(i / 256), i % 256 }'
} >"$wd/assignments.csv"
backend=${DHCPKIT_BACKEND:-csv}
if [ "$backend" = sqlite ]; then
  "${deno_run[@]}" "$repo/cli/main.ts" build-sqlite -f "$wd/assignments.csv" "$wd/assignments.sqlite" >/dev/null
  static="<static-sqlite assignments.sqlite>"; close="</static-sqlite>"
elif [ "$backend" = postgresql ]; then
  . "$repo/bench/load/postgres.sh"
  pg_sql postgres -c "DROP DATABASE IF EXISTS dhcpkit WITH (FORCE)" -c "CREATE DATABASE dhcpkit"
  url="postgresql://postgres@/dhcpkit?host=$PG_SOCKET_DIR"
  "${deno_run[@]}" "$repo/cli/main.ts" build-postgresql -f "$wd/assignments.csv" "$url" >/dev/null
  static="<static-postgresql $url>"; close="</static-postgresql>"
elif [ "$backend" = pools ] || [ "$backend" = pools-postgresql ]; then
  # Dynamic pools instead of static rows: the pools Kea gets (KB_POOL, KB_PD_*), leases in an
  # SQLite file in the work folder (pools) or in a fresh database of the benchmark's cluster.
  if [ "$backend" = pools ]; then
    store="<lease-store-sqlite $wd/leases.sqlite />"
  else
    . "$repo/bench/load/postgres.sh"
    pg_sql postgres -c "DROP DATABASE IF EXISTS dhcpkit WITH (FORCE)" -c "CREATE DATABASE dhcpkit"
    store="<lease-store-postgresql postgresql://postgres@/dhcpkit?host=$PG_SOCKET_DIR />"
  fi
  static="$store
<address-pool $KB_POOL>
    preferred-lifetime 3000
    valid-lifetime 4000
</address-pool>
<prefix-pool $KB_PD_PREFIX/$KB_PD_LEN>
    delegated-length $KB_PD_DELEG_LEN
    preferred-lifetime 3000
    valid-lifetime 4000
</prefix-pool>
"; close=""
else
  static="<static-csv assignments.csv>"; close="</static-csv>"
fi
lifetimes="    address-preferred-lifetime 3000
    address-valid-lifetime 4000
    prefix-preferred-lifetime 3000
    prefix-valid-lifetime 4000"
case "$backend" in pools*) lifetimes="" ;; esac
info=""
if [ "${KB_INFO:-0}" = 1 ]; then  # the info scenario: the same options Kea gets as option-data
  info="<recursive-name-servers>
    address 2001:db8::53
    address 2001:db8::153
</recursive-name-servers>
<domain-search-list>
    domain-name example.com
</domain-search-list>"
fi
cat >"$wd/dhcpkit.conf" <<CONF
user root
group root
workers ${DHCPKIT_WORKERS:-0}
io-backend $io
${DHCPKIT_BATCH_DELAY:+io-batch-delay $DHCPKIT_BATCH_DELAY}
${DHCPKIT_UDP_GSO:+io-udp-gso $DHCPKIT_UDP_GSO}
${DHCPKIT_REUSE_ANSWERS:+reuse-answers $DHCPKIT_REUSE_ANSWERS}
${DHCPKIT_LOG_FILE:+<logging>
    <file $DHCPKIT_LOG_FILE>
        level info
    </file>
</logging>}
pid-file $wd/dhcpkit.pid
control-socket $wd/dhcpkit.sock
<duid-ll server-id>
    hardware-type 1
    link-layer-address 00:16:3e:00:00:08
</duid-ll>
<listen-interface $KB_IFACE>
    link-address $KB_SRV_ADDR
</listen-interface>
<listen-unicast $KB_SRV_ADDR />
$info
$static
$lifetimes
$close
<iana-timing-limits>
    min-t1 1000
    min-t2 2000
</iana-timing-limits>
<iapd-timing-limits>
    min-t1 1000
    min-t2 2000
</iapd-timing-limits>
CONF
exec "${deno_run[@]}" "$repo/cli/main.ts" serve "$wd/dhcpkit.conf"
