#!/usr/bin/env bash
# RUN_HOOK for bench/load/run.sh and harness.sh: host hiccups on the server's core during every
# measured run (bench/load/stall.c), to see what io-batch-delay does to the reply delay's tail on
# a host that takes the server's core now and then.
#
#   RUN_HOOK='exec bash bench/load/stall_hook.sh "$@"' STALL_BURST_US=1200 STALL_PERIOD_US=50000 \
#     CASES=... bash bench/load/run.sh
#
# STALL_CPU (default 1, the core harness.sh pins servers to), STALL_BURST_US (1200) and
# STALL_PERIOD_US (50000), from the environment. harness.sh runs the hook as
# `bash -c "$RUN_HOOK" hook SERVER_PID OUTPUT_PREFIX` and stops it with SIGINT; the stall program
# replaces this script (exec), so the signal reaches it and it writes how many bursts it made to
# OUTPUT_PREFIX.stall.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
prefix=${2:-/tmp/stall}
bin=${STALL_BIN:-/tmp/dhcpkit-bench-stall}
if [[ ! -x $bin || $here/stall.c -nt $bin ]]; then
  cc -O2 -o "$bin.tmp.$$" "$here/stall.c" && mv "$bin.tmp.$$" "$bin"
fi
exec "$bin" "${STALL_CPU:-1}" "${STALL_BURST_US:-1200}" "${STALL_PERIOD_US:-50000}" \
  >"$prefix.stall" 2>&1
