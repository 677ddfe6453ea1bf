#!/usr/bin/env bash
# Reproduce the FFI spike table: the Deno.listenDatagram echo vs the FFI recvmmsg/sendmmsg echo
# (three loop shapes) under the same open-loop load generator, one after another.
#
#   bash bench/spike_ffi/run.sh                 # Deno.listenDatagram and the C floor
#   RATES="5000 10000" PERIOD=5 BACKENDS="deno c-floor" bash bench/spike_ffi/run.sh
# (The ffi-* rows need the spike's echo servers: restore them from commit d28efed.)
#
# Server pinned to core 1 (all its threads), load generator to core 0. CPU per packet =
# server process utime+stime (all threads, /proc/PID/stat; 10 ms ticks) and the schedstat sum
# (ns) over the measured period (after a 1 s warm-up at the same rate), divided by packets sent.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
RATES=${RATES:-"5000 10000 20000 40000"}
PERIOD=${PERIOD:-5}
WARM=${WARM:-1}
REPS=${REPS:-1}
PORT=${PORT:-17000}
BACKENDS=${BACKENDS:-"deno c-floor"}
OUT_DIR=${OUT_DIR:-$(mktemp -d -t spike-ffi-XXXXXX)}
mkdir -p "$OUT_DIR"
gcc -O2 -Wall -o "$OUT_DIR/loadgen" "$here/loadgen.c"
gcc -O2 -Wall -o "$OUT_DIR/echo_c" "$here/echo_c.c"

server_cmd() {
  case $1 in
    deno) echo "deno run --unstable-net --allow-net $here/echo_deno.ts ::1 $PORT" ;;
    ffi-poll) echo "deno run --allow-ffi --allow-read $here/echo_ffi.ts --port $PORT --mode poll" ;;
    ffi-poll-nopktinfo) echo "deno run --allow-ffi --allow-read $here/echo_ffi.ts --port $PORT --mode poll --source kernel" ;;
    ffi-waitforone) echo "deno run --allow-ffi --allow-read $here/echo_ffi.ts --port $PORT --mode waitforone" ;;
    ffi-main-async) echo "deno run --allow-ffi --allow-read $here/echo_ffi.ts --port $PORT --mode main-async" ;;
    c-floor) echo "$OUT_DIR/echo_c $PORT" ;;
    *) echo "unknown backend $1" >&2; exit 2 ;;
  esac
}

results="$OUT_DIR/results.tsv"
: >"$results"
for backend in $BACKENDS; do
  # shellcheck disable=SC2046
  taskset -c 1 $(server_cmd "$backend") 2>"$OUT_DIR/$backend.log" &
  pid=$!
  trap 'kill $pid 2>/dev/null || true' EXIT
  sleep 2
  for _ in $(seq "$REPS"); do
    for rate in $RATES 0; do
      taskset -c 0 "$OUT_DIR/loadgen" -a ::1 -p "$PORT" -r "$rate" -d "$PERIOD" -w "$WARM" \
        -P "$pid" -l "$backend" | tee -a "$results" >&2
      sleep 0.5
    done
  done
  echo "threads: $(ls /proc/$pid/task | wc -l)" >>"$OUT_DIR/$backend.log"
  kill -TERM "$pid"
  wait "$pid" 2>/dev/null || true
  sleep 0.5
done

echo
printf '| backend | rate (pkt/s) | sent | replies | loss | CPU µs/pkt (stat) | user | sys | CPU µs/pkt (schedstat) | RTT p50 µs | RTT p99 µs | rx drops |\n'
printf '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n'
awk -F'\t' '{ r = ($2 == 0) ? sprintf("ping-pong (%d/s)", $6) : $2;
  printf "| %s | %s | %d | %d | %.2f%% | %.1f | %.1f | %.1f | %.1f | %d | %d | %d |\n", $1, r, $3, $4, $5, $7, $12, $13, $8, $9, $10, $11 }' "$results"
if [ "$REPS" -gt 1 ]; then
  echo
  echo "Summary over $REPS repetitions: mean CPU µs/pkt (stat) [min-max], total loss"
  printf '| backend | rate (pkt/s) | CPU µs/pkt mean [min-max] | user | sys | loss | worst RTT p99 µs |\n'
  printf '|---|---:|---:|---:|---:|---:|---:|\n'
  awk -F'\t' '{ k = $1 SUBSEP $2; if (!(k in n)) order[++m] = k; n[k]++; c[k] += $7; u[k] += $12; s[k] += $13;
      sent[k] += $3; rep[k] += $4; pp[k] += $6;
      if (!(k in lo) || $7 < lo[k]) lo[k] = $7; if (!(k in hi) || $7 > hi[k]) hi[k] = $7;
      if ($10 > p99[k]) p99[k] = $10 }
    END { for (i = 1; i <= m; i++) { k = order[i]; split(k, a, SUBSEP);
      r = (a[2] == 0) ? sprintf("ping-pong (~%d/s)", pp[k] / n[k]) : a[2];
      printf "| %s | %s | %.1f [%.1f-%.1f] | %.1f | %.1f | %.2f%% | %d |\n", a[1], r, c[k] / n[k], lo[k], hi[k],
        u[k] / n[k], s[k] / n[k], 100 * (sent[k] - rep[k]) / sent[k], p99[k] } }' "$results"
fi
echo "(raw: $results, logs: $OUT_DIR)"
