#!/usr/bin/env bash
# Load benchmark: dhcpkit and ISC Kea under the same perfdhcp invocations, side by side.
#
#   sudo bench/load/run.sh            (deno task bench:load)
#
# Two network namespaces joined by a veth pair; the server is pinned to core 1 and perfdhcp to
# core 0. perfdhcp itself saturates a core at ~10-12k exchanges/s on a 2-core machine, so the
# comparison is server CPU per exchange at a fixed rate (RATES, default 5000/s). Every client has
# a host reservation in Kea and the same assignment in dhcpkit's static CSV / SQLite, so both
# servers do the same work. Prints one table with the ratio dhcpkit/Kea of CPU per exchange.
# The "info" scenario (relayed Information-requests) uses bench/load/inforeq_load.ts instead of
# perfdhcp, which cannot send them; its unit is one request (IR/Reply pair). It sends them evenly,
# like perfdhcp; "info-burst" sends the same requests in bursts of about ten every 2 ms.
#
# Every case runs REPS (3) times; the first table lists every run, the second the median CPU per
# exchange of each case and the ratio of the medians, dhcpkit / Kea, next to the per-exchange
# delay of one more run per case with a capture next to the client (LATENCY=1, see harness.sh):
# perfdhcp's min/avg/max (Solicit-Advertise) and the capture's avg and p99 over every
# request/answer pair.
#
# Each run also records the CPU steal on the server's core (the share of the run the hypervisor
# gave that vCPU's time to something else, from /proc/stat): a contended host makes every wake-up
# and system call dearer, for Kea as for dhcpkit, so a run with steal is read with care.
#
# A run or median with more than INVALID_DROP_PCT (5) % drops, or compared with a Kea run that
# dropped that much, is marked "(invalid: drops)": a server that cannot keep up spends its CPU on
# what it drops too, so its CPU per exchange says nothing.
#
# Knobs: RATES ("5000"), PERIOD (5 s), REPS (3), WARMUP (5 s), LATENCY (1), CLIENTS (10000), CASES and
# MAX_CASES (see below), MAX_DROP_PCT (1, for the rate search), INVALID_DROP_PCT (5), OUT_DIR;
# NS_SRV, NS_CLI, IF_SRV, IF_CLI name the namespaces and veth ends (see harness.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ "$(id -u)" != 0 ]; then echo "bench:load needs root (network namespaces, port 547)" >&2; exit 1; fi
for tool in perfdhcp kea-dhcp6 ip taskset deno; do
  command -v "$tool" >/dev/null || { echo "bench:load needs $tool (apt-get install kea-dhcp6-server kea-admin)" >&2; exit 1; }
done

export RATES=${RATES:-5000} PERIOD=${PERIOD:-5} REPS=${REPS:-3} CLIENTS=${CLIENTS:-10000}
export LATENCY=${LATENCY:-1} INVALID_DROP_PCT=${INVALID_DROP_PCT:-5}
# Every server answers WARMUP s of load at the case's rate after it started and before the measured
# runs: the medians are a running server's cost, not its first seconds (for dhcpkit those include
# V8 compiling the request path). The warm-up runs' figures are printed in a table of their own.
export WARMUP=${WARMUP:-5}
PG_RATE=${PG_RATE:-1000}
# Kea's PostgreSQL lease backend answers one query at a time and tops out near 900-950 4-way
# exchanges/s here (18-57% drops at 1000/s, 2026-12-03): its case runs at PGL_RATE (500/s), where
# both servers answer everything; dhcpkit's also at PG_RATE.
PGL_RATE=${PGL_RATE:-500}
OUT_DIR=${OUT_DIR:-$(mktemp -d -t dhcpkit-load-XXXXXX)}
mkdir -p "$OUT_DIR"
# case = label|harness scenario|server (kea, kea-pg or
# dhcpkit:BACKEND:WORKERS[:IO[:DELAY[:GSO[:REUSE]]]])
# [|rates: instead of RATES for this case]. kea-pg is Kea with its PostgreSQL host backend,
# dhcpkit:postgresql static-postgresql: both read the same reservations from a PostgreSQL cluster
# this script starts (bench/load/postgres.sh), whose CPU (postmaster and backends) is counted as
# the server's in those cases. At 5,000/s Kea, dhcpkit and PostgreSQL together saturate two cores
# (drops on both sides: invalid), so the PostgreSQL cases also run at PG_RATE (1000/s), which both
# servers answer without drops. IO is the
# `io-backend`: empty means the default (auto, i.e. ffi here: the server runs with --allow-ffi as
# the shipped executable does); deno is the portable backend. DELAY sets `io-batch-delay` (or auto), GSO
# `io-udp-gso` and REUSE `reuse-answers` (yes or no).
CASES=${CASES:-"
2-way NA+PD|sa2-resv|kea
2-way NA+PD|sa2-resv|dhcpkit:csv:0
2-way NA+PD|sa2-resv|dhcpkit:csv:0:deno
4-way NA+PD static CSV|sarr-resv|kea
4-way NA+PD static CSV|sarr-resv|dhcpkit:csv:0
4-way NA+PD static CSV|sarr-resv|dhcpkit:csv:0::0
4-way NA+PD static CSV|sarr-resv|dhcpkit:csv:0:deno
4-way NA+PD static SQLite|sarr-resv|dhcpkit:sqlite:0
4-way NA+PD static SQLite|sarr-resv|dhcpkit:sqlite:0:deno
4-way NA+PD static PostgreSQL|sarr-resv|kea-pg
4-way NA+PD static PostgreSQL|sarr-resv|dhcpkit:postgresql:0
4-way NA+PD static PostgreSQL|sarr-resv|dhcpkit:postgresql:2
4-way NA+PD static PostgreSQL|sarr-resv|kea-pg|$PG_RATE
4-way NA+PD static PostgreSQL|sarr-resv|dhcpkit:postgresql:0|$PG_RATE
4-way NA+PD static PostgreSQL|sarr-resv|dhcpkit:postgresql:2|$PG_RATE
4-way relayed (-A 1) to unicast|sarr-resv-relay|kea
4-way relayed (-A 1) to unicast|sarr-resv-relay|dhcpkit:csv:0
4-way relayed (-A 1) to unicast|sarr-resv-relay|dhcpkit:csv:0:deno
information-request (relayed)|info|kea
information-request (relayed)|info|dhcpkit:csv:0
information-request (relayed)|info|dhcpkit:csv:0:deno
4-way static CSV, workers 1|sarr-resv|dhcpkit:csv:1
4-way static CSV, workers 1|sarr-resv|dhcpkit:csv:1:deno
4-way static CSV, workers 2|sarr-resv|dhcpkit:csv:2
4-way static CSV, workers 2|sarr-resv|dhcpkit:csv:2:deno
4-way NA+PD pools, leases on disk|sarr-napd-persist|kea
4-way NA+PD pools, leases on disk|sarr-napd-persist|dhcpkit:pools:0
4-way NA+PD pools, PostgreSQL leases|sarr-napd|kea-pgl|$PGL_RATE
4-way NA+PD pools, PostgreSQL leases|sarr-napd|dhcpkit:pools-postgresql:0|$PGL_RATE
4-way NA+PD pools, PostgreSQL leases|sarr-napd|dhcpkit:pools-postgresql:0:deno|$PGL_RATE
4-way NA+PD pools, PostgreSQL leases|sarr-napd|dhcpkit:pools-postgresql:0|$PG_RATE
"}
# Highest rate with under MAX_DROP_PCT (1) % drops, found by the harness's rate search (perfdhcp
# on core 0, the server on core 1). Set MAX_CASES="" to skip.
MAX_CASES=${MAX_CASES-"
4-way NA+PD static CSV|sarr-resv|kea
4-way NA+PD static CSV|sarr-resv|dhcpkit:csv:2
"}

results="$OUT_DIR/results.tsv" maxima="$OUT_DIR/maxima.tsv" latencies="$OUT_DIR/latency.tsv"
warmups="$OUT_DIR/warmup.tsv"
: >"$results"
: >"$warmups"
: >"$maxima"
: >"$latencies"
trap 'bash "$here/harness.sh" cleanup >/dev/null 2>&1 || true; [ -n "${PG_SOCKET_DIR:-}" ] && pg_stop "$PG_SOCKET_DIR"' EXIT
if grep -qE 'kea-pg|dhcpkit:postgresql|dhcpkit:pools-postgresql' <<<"$CASES$MAX_CASES"; then  # kea-pgl too
  . "$here/postgres.sh"
  pg_start "$OUT_DIR/pg"
fi

# run_case LABEL SCENARIO SERVER RATES N: run the harness for one server (raw data in caseN/);
# prints its RUN/SUMMARY lines
run_case() {
  local label=$1 scenario=$2 server=$3 rates=$4 no=$5 name cmd ready tree backend workers io delay gso
  local reuse
  local extra=""
  name=$server
  if [[ $server == dhcpkit:* ]]; then
    IFS=: read -r _ backend workers io delay gso reuse <<<"$server"
    name="dhcpkit ($backend, workers $workers${io:+, $io}${delay:+, delay $delay}${gso:+, gso $gso}"
    name="$name${reuse:+, reuse $reuse})"
    export DHCPKIT_BACKEND=$backend DHCPKIT_WORKERS=$workers DHCPKIT_IO=${io:-auto}
    export DHCPKIT_BATCH_DELAY=$delay DHCPKIT_UDP_GSO=$gso DHCPKIT_REUSE_ANSWERS=$reuse
    cmd="$here/dhcpkit_server.sh" ready=4 tree=1
    [ "$backend" = postgresql ] || [ "$backend" = pools-postgresql ] && extra=$PG_POSTMASTER
  elif [ "$server" = kea-pg ]; then
    cmd="$here/kea_pg_server.sh" ready=0.5 tree=0 extra=$PG_POSTMASTER
  elif [ "$server" = kea-pgl ]; then  # Kea with its PostgreSQL lease backend
    cmd="$here/kea_pg_leases_server.sh" ready=0.5 tree=0 extra=$PG_POSTMASTER
  else
    cmd='kea-dhcp6 -c "$KB_CONF"' ready=0.5 tree=0
  fi
  echo "== $label: $name $([ -n "$rates" ] && echo "at $rates/s" || echo "rate search") (case$no)" >&2
  RATES=$rates SERVER_NAME=$server SERVER_CMD=$cmd SCENARIOS=$scenario READY_WAIT=$ready \
    CPU_TREE=$tree EXTRA_CPU_PID=$extra OUT_DIR="$OUT_DIR/case$no" \
    bash "$here/harness.sh" bench 2>"$OUT_DIR/case$no.log" | grep -E '^(RUN|SUMMARY|LATENCY) ' |
    sed "s|^|$name\t|" || echo "   no result, see $OUT_DIR/case$no.log" >&2
}
case_no=0

field() { sed -n "s|.* $1=\([0-9./]*\).*|\1|p" <<<"$2"; }

while IFS='|' read -r label scenario server rates; do
  [ -z "$label" ] && continue
  case_no=$((case_no + 1))
  run_case "$label" "$scenario" "$server" "${rates:-$RATES}" "$case_no" | { grep -P '\t(RUN|LATENCY) ' || true; } | while IFS=$'\t' read -r name line; do
    if [[ $line == LATENCY* ]]; then
      printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$(field rate "$line")" "$name" \
        "$(field perfdhcp_sa "$line")" "$(field avg "$line")" "$(field p99 "$line")" >>"$latencies"
      continue
    fi
    target=$results
    [[ $line == *" rep=warm "* ]] && target=$warmups
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$(field rate "$line")" "$name" \
      "$(field completed/s "$line")" "$(field drops "$line" | tr -d %)" "$(field srv_cpu "$line")" \
      "$(field srv_us_per_exch "$line")" "$scenario" "$(field steal "$line")" >>"$target"
  done
done <<<"$CASES"

while IFS='|' read -r label scenario server; do
  [ -z "$label" ] && continue
  case_no=$((case_no + 1))
  REPS=1 run_case "$label" "$scenario" "$server" "" "$case_no" | { grep -P '\tSUMMARY ' || true; } | while IFS=$'\t' read -r name line; do
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$name" "$(field max_rate_min/med/max "$line" | cut -d/ -f2)" \
      "$(field drops_med "$line")" "$(field srv_cpu_med "$line")" "$(field srv_us_per_exch_med "$line")" >>"$maxima"
  done
done <<<"$MAX_CASES"

echo
echo "dhcpkit vs Kea $(kea-dhcp6 -v 2>/dev/null | head -1), perfdhcp at fixed rates, $(nproc) cores, $(date -u +%F)"
awk -F'\t' -v bad="$INVALID_DROP_PCT" '
  BEGIN { printf "%-34s %6s  %-34s %8s %7s %8s %8s %7s %6s\n", "scenario", "rate", "server", "done/s", "drops", "srv CPU", "us/exch", "vs Kea", "steal" }
  # Kea rows: by label (kea-pg for the PostgreSQL cases) and by scenario (kea for the others).
  { row[NR] = $0; if ($3 ~ /^kea/) { bylabel[$1 "|" $2] = $7; dlabel[$1 "|" $2] = $5
      if ($3 == "kea") { kea[$8 "|" $2] = $7; dkea[$8 "|" $2] = $5 } } }
  END {
    for (i = 1; i <= NR; i++) { split(row[i], f, "\t"); k = f[8] "|" f[2]; l = f[1] "|" f[2]
      base = l in bylabel ? bylabel[l] : kea[k]; bdrops = l in bylabel ? dlabel[l] : dkea[k]
      ratio = (f[3] !~ /^kea/ && base > 0) ? sprintf("%.2f", f[7] / base) : "-"
      invalid = (f[5] + 0 > bad || (ratio != "-" && bdrops + 0 > bad)) ? " (invalid: drops)" : ""
      printf "%-34s %6s  %-34s %8s %6s%% %7s%% %8s %7s %5s%%%s\n", f[1], f[2], f[3], f[4], f[5], f[6], f[7], ratio, f[9] == "" ? "-" : f[9], invalid } }' "$results"
echo "(vs Kea = dhcpkit CPU per exchange / Kea CPU per exchange in the same perfdhcp scenario, against kea-pg in the PostgreSQL rows, whose CPU includes the PostgreSQL server's; (invalid: drops) = this run or Kea's dropped over ${INVALID_DROP_PCT}%, so its CPU per exchange is not comparable; steal = time the hypervisor gave the server's core to something else during the run, a sign of a contended host; raw data in $OUT_DIR)"
awk -F'\t' '$9 != "" { v[++n] = $9 + 0 }
  END { if (!n) exit; for (i = 2; i <= n; i++) { t = v[i]; for (j = i - 1; j >= 1 && v[j] > t; j--) v[j + 1] = v[j]; v[j + 1] = t }
    printf "Steal on the server'"'"'s core over the %d measured runs: median %.1f%%, max %.1f%%.\n", n, (n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2), v[n] }' "$results"
echo
echo "Median of $REPS runs per case (drops and us/exch = server CPU per exchange; vs Kea = median / Kea's median"
echo "in the same scenario; delay in ms from one more run with a capture: perfdhcp Solicit-Advertise"
echo "min/avg/max, and avg and p99 over every request/answer pair of the capture):"
# medians LATENCIES RESULTS: the table of medians per case (RESULTS rows), with LATENCIES' delays
medians() {
awk -F'\t' -v bad="$INVALID_DROP_PCT" '
  FILENAME == ARGV[1] { lat[$1 "|" $2 "|" $3] = sprintf("%-20s %6s %6s", $4 == "" ? "-" : $4, $5, $6); next }
  { k = $1 "|" $2 "|" $3; if (!(k in n)) order[++cases] = k
    n[k]++; v[k, n[k]] = $7; d[k, n[k]] = $5; scen[k] = $8; label[k] = $1; rate[k] = $2; srv[k] = $3 }
  function median(k, v,   i, j, t, m, a) {
    m = n[k]; for (i = 1; i <= m; i++) a[i] = v[k, i]
    for (i = 2; i <= m; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
    return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2 }
  END {
    for (c = 1; c <= cases; c++) { k = order[c]; med[k] = median(k, v); drops[k] = median(k, d)
      if (srv[k] ~ /^kea/) { bylabel[label[k] "|" rate[k]] = med[k]; dlabel[label[k] "|" rate[k]] = drops[k]
        if (srv[k] == "kea") { kea[scen[k] "|" rate[k]] = med[k]; dkea[scen[k] "|" rate[k]] = drops[k] } } }
    printf "%-34s %6s  %-34s %4s %7s %8s %7s  %-20s %6s %6s\n", "scenario", "rate", "server", "runs", "drops", "us/exch", "vs Kea", "perfdhcp SA delay", "avg", "p99"
    for (c = 1; c <= cases; c++) { k = order[c]
      l = label[k] "|" rate[k]
      base = l in bylabel ? bylabel[l] : kea[scen[k] "|" rate[k]]
      bdrops = l in bylabel ? dlabel[l] : dkea[scen[k] "|" rate[k]]
      ratio = (srv[k] !~ /^kea/ && base > 0) ? sprintf("%.2f", med[k] / base) : "-"
      invalid = (drops[k] > bad || (ratio != "-" && bdrops > bad)) ? " (invalid: drops)" : ""
      printf "%-34s %6s  %-34s %4d %6.2f%% %8.1f %7s  %s%s\n", label[k], rate[k], srv[k], n[k], drops[k], med[k], ratio, (k in lat) ? lat[k] : "-", invalid } }' "$1" "$2"
}
medians "$latencies" "$results"
if [ -s "$warmups" ]; then
  echo
  echo "The same servers' first $WARMUP s after they started (the warm-up runs, not in the medians above; for"
  echo "dhcpkit this includes V8 compiling the request path), median of the $REPS fresh servers per case:"
  medians /dev/null "$warmups"
fi
if cut -f8 "$results" | grep -q '^info'; then
  echo "(information-request rows: open-loop relayed Information-requests from bench/load/inforeq_load.ts, not perfdhcp; done/s and us/exch count requests, i.e. IR/Reply pairs)"
fi
if [ -s "$maxima" ]; then
  echo
  echo "Highest perfdhcp rate answered with under ${MAX_DROP_PCT:-1}% drops (rate search; perfdhcp alone on core 0, server on core 1):"
  awk -F'\t' '
    BEGIN { printf "%-34s  %-30s %9s %7s %8s %8s\n", "scenario", "server", "max rate", "drops", "srv CPU", "us/exch" }
    { printf "%-34s  %-30s %9s %6s%% %7s%% %8s\n", $1, $2, $3, $4, $5, $6 }' "$maxima"
fi
