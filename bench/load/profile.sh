#!/usr/bin/env bash
# Where the server's CPU goes per exchange: runs the 4-way static CSV scenario (sarr-resv, RATE/s
# for PERIOD s) against Kea and dhcpkit (ffi and deno backends) with `perf stat` on the server
# (CPU time, context switches, system calls) and `perf record -g` (for dhcpkit with JavaScript
# symbols through --perf-basic-prof), and prints per exchange: CPU us, context switches, system
# calls, and the top of the profile by thread, by object and by symbol; for dhcpkit also the I/O
# worker's samples with V8's builtins named (bench/load/name_builtins.ts).
#
#   sudo bash bench/load/profile.sh      (RATE 5000, PERIOD 5, FREQ 499 (perf record -F), WARMUP 5
#                                         (s of unrecorded load after the server started), OUT_DIR,
#                                         SCENARIO sarr-resv, RECORD 1
#                                         (0: perf stat only, no perf record),
#                                         SERVERS "kea dhcpkit:ffi dhcpkit:ffi:0 dhcpkit:deno")
#
# dhcpkit:IO[:DELAY[:BACKEND]] sets io-backend, io-batch-delay and the assignments' backend (csv,
# the default, or postgresql: static-postgresql); kea-pg is Kea with its PostgreSQL host backend.
# For those two a PostgreSQL cluster is started (bench/load/postgres.sh) and its CPU is counted as
# the server's in the harness's RUN lines (srv_us_per_exch); perf stat sees the server only.
# Raw data (perf.data, perf stat output) stays in OUT_DIR.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" = 0 ] || { echo "profile.sh needs root (network namespaces, perf)" >&2; exit 1; }
command -v perf >/dev/null || { echo "profile.sh needs perf (apt-get install linux-perf)" >&2; exit 1; }
RATE=${RATE:-5000} PERIOD=${PERIOD:-5} SCENARIO=${SCENARIO:-sarr-resv} WARMUP=${WARMUP:-5}
SERVERS=${SERVERS:-"kea dhcpkit:ffi dhcpkit:ffi:0 dhcpkit:deno"}
OUT_DIR=${OUT_DIR:-$(mktemp -d -t dhcpkit-profile-XXXXXX)}
mkdir -p "$OUT_DIR"
OUT_DIR=$(cd "$OUT_DIR" && pwd)
# V8 writes its profiling logs (isolate-*.log) into the current folder: keep them with the data.
cd "$OUT_DIR"
EVENTS=task-clock,context-switches,cpu-migrations,raw_syscalls:sys_enter
if grep -qE 'kea-pg|:postgresql' <<<"$SERVERS"; then
  . "$here/postgres.sh"
  pg_start "$OUT_DIR/pg"
  trap 'pg_stop "$OUT_DIR/pg"' EXIT
fi

for server in $SERVERS; do
  dir="$OUT_DIR/${server//:/-}"
  mkdir -p "$dir"
  hook="perf stat -x, -e $EVENTS -p \$1 -o \$2.stat"
  extra=""
  if [[ $server == dhcpkit:* ]]; then
    IFS=: read -r _ io delay backend <<<"$server"
    export DHCPKIT_IO=$io DHCPKIT_BATCH_DELAY=$delay DHCPKIT_WORKERS=0 DHCPKIT_BACKEND=${backend:-csv}
    [ "${backend:-csv}" = postgresql ] && extra=$PG_POSTMASTER
    export DHCPKIT_DENO_FLAGS="--v8-flags=--perf-basic-prof"
    cmd="$here/dhcpkit_server.sh" ready=4 tree=1
  elif [ "$server" = kea-pg ]; then
    cmd="$here/kea_pg_server.sh" ready=0.5 tree=0 extra=$PG_POSTMASTER
  else
    cmd='kea-dhcp6 -c "$KB_CONF"' ready=0.5 tree=0
  fi
  [ "${RECORD:-1}" = 1 ] && hook="$hook & perf record -q -F ${FREQ:-499} -g -p \$1 -o \$2.data >/dev/null 2>&1 & wait"
  EXTRA_CPU_PID=$extra RATES=$RATE PERIOD=$PERIOD WARMUP=$WARMUP REPS=1 LATENCY=0 SERVER_NAME=$server SERVER_CMD=$cmd \
    SCENARIOS=$SCENARIO READY_WAIT=$ready CPU_TREE=$tree RUN_HOOK=$hook OUT_DIR="$dir" \
    bash "$here/harness.sh" bench 2>"$dir/harness.log" | grep '^RUN ' || true
done

echo
echo "per exchange at $RATE/s ($SCENARIO, $PERIOD s, $(nproc) cores, $(date -u +%F)):"
printf '%-22s %9s %10s %12s %12s\n' server completed "CPU us" "ctx switches" "syscalls"
for server in $SERVERS; do
  dir="$OUT_DIR/${server//:/-}"
  done_n=$(awk -F'\t' 'NR > 1 { print $6 }' "$dir/runs.tsv" | tail -1)
  stat=$(ls "$dir"/hook-*.stat 2>/dev/null | head -1)
  [ -n "$stat" ] && [ -n "$done_n" ] && [ "$done_n" -gt 0 ] || { echo "$server: no data (see $dir)"; continue; }
  awk -F, -v n="$done_n" -v s="$server" '
    $3 == "task-clock" { cpu = $1 } $3 == "context-switches" { cs = $1 } $3 == "raw_syscalls:sys_enter" { sc = $1 }
    END { printf "%-22s %9d %10.1f %12.2f %12.2f\n", s, n, cpu * 1000 / n, cs / n, sc / n }' "$stat"
done
# report DATA SORT N: the first N lines of a flat perf report sorted by SORT
report() {
  perf report -i "$1" --no-children -g none --sort "$2" --stdio 2>/dev/null | grep -E '^ +[0-9]' | sed -n "1,$3p" || true
}
for server in $SERVERS; do
  data=$(ls "$OUT_DIR/${server//:/-}"/hook-*.data 2>/dev/null | head -1)
  [ -n "$data" ] || continue
  echo
  echo "== $server: by thread"
  report "$data" comm 8
  echo "== $server: by object"
  report "$data" dso 8
  echo "== $server: top symbols"
  report "$data" sym 25
  if [[ $server == dhcpkit:* ]]; then
    # V8's builtins run from the (stripped) deno binary: name them (bench/load/name_builtins.ts).
    echo "== $server: the I/O worker's leaves, V8 builtins named"
    perf script -i "$data" 2>/dev/null |
      deno run -A "$here/name_builtins.ts" --comm worker-1 --top 30 || true
  fi
done
echo "(raw data in $OUT_DIR)"
