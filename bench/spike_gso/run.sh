#!/usr/bin/env bash
# bench/spike_gso/run.sh [N] [SIZE] [ROUNDS] [OFFLOAD]: the io-udp-gso spike (see gso.c) over a
# veth pair between two network namespaces of its own (deleted on exit), sender on core 1 and
# receiver on core 0; ROUNDS alternating rounds of 3 s per mode at 1,000 batches a second, then
# the median sender CPU per datagram of each. OFFLOAD on|off sets the sender veth's
# tx-udp-segmentation (off: segmented in software before the link, as bench/load's harness does).
# Needs root, gcc and ethtool.
set -euo pipefail
N=${1:-5} SIZE=${2:-120} ROUNDS=${3:-5} OFFLOAD=${4:-off}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
a=gsospa$$ b=gsospb$$
cleanup() {
  pkill -f "$work/gso recv" 2>/dev/null || true
  ip netns del "$a" 2>/dev/null || true
  ip netns del "$b" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
gcc -O2 -o "$work/gso" "$here/gso.c"
ip netns add "$a"
ip netns add "$b"
ip link add gsospv0 netns "$a" type veth peer name gsospv1 netns "$b"
for ns in "$a" "$b"; do
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
  ip -n "$ns" link set lo up
done
ip -n "$a" link set gsospv0 up
ip -n "$b" link set gsospv1 up
ip -n "$a" -6 addr add 2001:db8:9::1/64 dev gsospv0 nodad
ip -n "$b" -6 addr add 2001:db8:9::2/64 dev gsospv1 nodad
ip netns exec "$a" ethtool -K gsospv0 tx-udp-segmentation "$OFFLOAD"
sleep 1
taskset -c 0 ip netns exec "$b" "$work/gso" recv &
sleep 0.5
for _ in $(seq "$ROUNDS"); do
  for mode in mmsg gso; do
    taskset -c 1 ip netns exec "$a" "$work/gso" send "$mode" "$N" "$SIZE" 1000 3
  done
done | tee "$work/out"
for mode in mmsg gso; do
  sed -n "s/^$mode .*cpu_us_per_datagram=//p" "$work/out" | sort -n |
    awk -v m="$mode" '{v[NR] = $1} END {printf "%s: median %.2f us of sender CPU per datagram\n", m, v[int((NR + 1) / 2)]}'
done
