#!/usr/bin/env bash
# Soak: dhcpkit with a 1,000,000-row static CSV under perfdhcp load for SOAK_SECONDS (default
# 600), sampling the server's resident memory every SAMPLE seconds. Shows whether memory stays
# flat under sustained load.
#
#   sudo bash bench/load/soak.sh        (SOAK_SECONDS, SAMPLE, RATE, DHCPKIT_IO, DHCPKIT_WORKERS)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" = 0 ] || { echo "soak needs root (network namespaces, port 547)" >&2; exit 1; }
export SOAK_SECONDS=${SOAK_SECONDS:-600} SAMPLE=${SAMPLE:-30} RATE=${RATE:-5000}
export DHCPKIT_EXTRA_ROWS=${DHCPKIT_EXTRA_ROWS:-990000} DHCPKIT_IO=${DHCPKIT_IO:-auto}
export DHCPKIT_WORKERS=${DHCPKIT_WORKERS:-0}
out=${OUT_DIR:-$(mktemp -d -t dhcpkit-soak-XXXXXX)}
mkdir -p "$out"
samples="$out/rss.tsv"
(
  # Wait for the server, then sample until it is gone.
  for _ in $(seq 600); do pid=$(pgrep -f "cli/main.ts serve" | head -1 || true); [ -n "$pid" ] && break; sleep 0.5; done
  start=$(date +%s)
  while kill -0 "$pid" 2>/dev/null; do
    printf '%s\t%s\n' $(( $(date +%s) - start )) "$(awk '/VmRSS/ {print $2}' /proc/"$pid"/status 2>/dev/null)" >>"$samples"
    sleep "$SAMPLE"
  done
) &
sampler=$!
SERVER_NAME=dhcpkit SERVER_CMD="$here/dhcpkit_server.sh" SCENARIOS=sarr-resv RATES="$RATE" \
  PERIOD="$SOAK_SECONDS" REPS=1 READY_WAIT=8 CPU_TREE=1 OUT_DIR="$out/run" \
  bash "$here/harness.sh" bench 2>"$out/harness.log" | grep '^RUN ' || true
wait "$sampler" 2>/dev/null || true
echo "seconds  RSS (MB), 1,000,000-row CSV, $RATE 4-way exchanges/s, io-backend $DHCPKIT_IO"
awk -F'\t' '$2 != "" { printf "%7d  %8.1f\n", $1, $2 / 1024 }' "$samples"
