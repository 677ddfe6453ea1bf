#!/usr/bin/env bash
# harness.sh - perfdhcp -> DHCPv6 server in a netns pair (from the shared Kea baseline harness,
# with scenarios where every client has a host reservation / static assignment, so Kea and
# dhcpkit do the same work). Run it through bench/load/run.sh, which runs both servers.
#
# Topology (created and destroyed by this script; all names start with "kb"):
#   netns dklcli: dklv1 2001:db8:1::2/64  <-- veth -->  netns dklsrv: dklv0 2001:db8:1::1/64
#   perfdhcp runs in dklcli (pinned to CLIENT_CPUS), the server runs in dklsrv (pinned to SERVER_CPUS)
#
# Usage:
#   ./harness.sh [bench]        rate search per scenario, REPS times, prints SUMMARY lines
#   ./harness.sh capture        one 4-way exchange per mode -> $PCAP_DIR/kea-4way*.pcap
#   ./harness.sh setup|cleanup  only create / delete the namespaces
#
# Main knobs (environment variables):
#   SERVER_CMD   command started inside dklsrv (via "exec"; must stay in the foreground and
#                listen on UDP 547 on dklv0). Default: kea-dhcp6 -c "$KB_CONF"
#                It is evaluated by bash with these variables exported:
#                KB_CONF (Kea-format JSON written for the scenario), KB_SCENARIO, KB_WORKDIR,
#                KB_IFACE, KB_SRV_ADDR, KB_PREFIX, KB_POOL, KB_PD_PREFIX, KB_PD_LEN, KB_PD_DELEG_LEN,
#                KB_PERSIST (0/1), KB_LEASE_FILE, KB_MT (0/1), KB_RAPID (0/1), KB_RESV (0/1),
#                KB_RESV_CSV (duid,address,prefix per reserved client), KB_CLIENTS,
#                KB_INFO (0/1: answer Information-requests with DNS servers + domain search list)
#   SERVER_NAME  label used in the output (default kea)
#   SCENARIOS    default: "sa2 sarr sarr-persist sarr-napd sarr-relay sarr-resv sarr-mt rapid"
#                also: sa2-resv, sarr-resv-relay, info (relayed Information-requests from
#                inforeq_load.ts instead of perfdhcp; its unit is one IR/Reply pair)
#   INVALID_DROP_PCT=5  fixed-rate mode: RUN lines of runs that dropped more say "(invalid: drops)"
#                (the server's CPU per exchange then includes what it could not answer)
#   REPS=3 PERIOD=5 (s per run, integer) CLIENTS=10000 MAX_DROP_PCT=1 START_RATE=4000
#   MAX_RATE=64000 RES_PCT=5  (rate search resolution) RATE_STEP=100 (search rates are multiples of it)
#   RATES="1000 2000"  fixed-rate mode instead of the search (one line per rate and rep)
#   SERVER_CPUS=1 CLIENT_CPUS=0 (taskset lists; MT_SERVER_CPUS for sarr-mt, default = SERVER_CPUS)
#   CPU_TREE=1   server CPU = the server PID plus all its descendants (multi-process servers)
#   EXTRA_CPU_PID  a further process tree counted as server CPU (the PostgreSQL cluster)
#   READY_WAIT=0.3  seconds between "listens on 547" and the first run (servers that bind before they are ready)
#   WARMUP=0     fixed-rate mode: seconds of load at the first rate that every freshly started server
#                answers before its measured runs (a JIT-compiled server's first seconds include its
#                compilation); printed as RUN lines with rep=warm, left out of the medians
#   LATENCY=1    fixed-rate mode: after the REPS runs, one more run per rate with a capture next to
#                the client (dumpcap, pinned with perfdhcp), not counted in the CPU figures; prints
#                LATENCY lines: perfdhcp's min/avg/max delay and min/avg/p50/p99/max of every
#                request/answer pair of the capture (bench/load/latency.ts), in ms
#   KEEP_PCAP=1  keep those captures (OUT_DIR/lat-SCENARIO-RATE.pcapng) for a closer look
#   RUN_HOOK     a command run in the background during every fixed-rate run, as
#                `bash -c "$RUN_HOOK" hook SERVER_PID OUTPUT_PREFIX`, and sent SIGINT when perfdhcp is
#                done (e.g. perf stat / perf record on the server; see bench/load/profile.sh)
#   SERVER_UDP_SEGMENTATION=off  `ethtool -K IF_SRV tx-udp-segmentation`: off (the default) splits a
#                server's segmented send (dhcpkit's io-udp-gso) in software before it leaves, as a network
#                card without UDP segmentation offload does, so captures see each datagram; on leaves
#                veth's default (the receiving socket splits them, and a capture sees one datagram)
#   NS_SRV NS_CLI IF_SRV IF_CLI  names of the namespaces and veth ends (default dklsrv dklcli dklv0 dklv1)
#   OUT_DIR (raw logs; default: a new temporary folder)   PCAP_DIR (default: this script's dir)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MODE=${1:-bench}

: "${SERVER_CMD:=kea-dhcp6 -c \"\$KB_CONF\"}"
: "${SERVER_NAME:=kea}"
: "${SCENARIOS:=sa2 sarr sarr-persist sarr-napd sarr-relay sarr-resv sarr-mt rapid}"
: "${REPS:=3}" "${PERIOD:=5}" "${CLIENTS:=10000}" "${MAX_DROP_PCT:=1}" "${INVALID_DROP_PCT:=5}"
: "${START_RATE:=4000}" "${MAX_RATE:=64000}" "${RES_PCT:=5}" "${RATES:=}" "${RATE_STEP:=100}"
: "${SERVER_CPUS:=1}" "${CLIENT_CPUS:=0}" "${MT_SERVER_CPUS:=$SERVER_CPUS}" "${MT_THREADS:=2}"
: "${SERVER_UDP_SEGMENTATION:=off}"
command -v ethtool >/dev/null || { echo "harness.sh: ethtool is missing (apt-get install ethtool)" >&2; exit 2; }
: "${EXIT_WAIT_US:=300000}"   # perfdhcp -W: wait for in-flight replies after the test period
: "${READY_WAIT:=0.3}"        # s to wait after the server listens on 547, before the first run
: "${WARMUP:=0}"              # s of unmeasured load before the measured runs (fixed-rate mode)
: "${OUT_DIR:=$(mktemp -d -t kb-bench-XXXXXX)}"
: "${PCAP_DIR:=$HERE}"
: "${PERFDHCP:=perfdhcp}"

NS_SRV=${NS_SRV:-dklsrv} NS_CLI=${NS_CLI:-dklcli} IF_SRV=${IF_SRV:-dklv0} IF_CLI=${IF_CLI:-dklv1}
SRV_ADDR=2001:db8:1::1 CLI_ADDR=2001:db8:1::2 PREFIX=2001:db8:1::/64
POOL=2001:db8:1:0:1::/80                 # dynamic IA_NA pool
RESV_NET=2001:db8:1:0:2::                # reserved addresses  2001:db8:1:0:2::<i>   (outside pool)
PD_PREFIX=2001:db8:8000:: PD_LEN=34 PD_DELEG_LEN=56   # dynamic IA_PD pool (2^22 /56s)
# perfdhcp client identity: DUID-LL 00030001 + MAC 02:00:00:00:HH:LL, client i = 0..CLIENTS-1
# (without -s perfdhcp walks the clients sequentially; without -b duid= it uses a DUID-LLT
#  containing the current time, i.e. DUIDs change every run)
CLIENT_BASE=(-b duid=00030001000000000000 -b mac=02:00:00:00:00:00)
CLK_TCK=$(getconf CLK_TCK)

SPID="" TSPID=""
log() { echo "[$(date +%T)] $*" >&2; }

ns_cleanup() {
  [[ -n "$SPID" ]] && stop_server
  [[ -n "$TSPID" ]] && { kill "$TSPID" 2>/dev/null || true; wait "$TSPID" 2>/dev/null || true; TSPID=""; }
  for ns in $NS_SRV $NS_CLI; do ip netns del "$ns" 2>/dev/null || true; done
  ip link del $IF_SRV 2>/dev/null || true
}

ns_setup() {
  ns_cleanup
  ip netns add $NS_SRV; ip netns add $NS_CLI
  ip link add $IF_SRV type veth peer name $IF_CLI
  ip link set $IF_SRV netns $NS_SRV; ip link set $IF_CLI netns $NS_CLI
  for ns in $NS_SRV $NS_CLI; do
    ip netns exec $ns sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
    ip netns exec $ns ip link set lo up
  done
  ip netns exec $NS_SRV sysctl -qw net.ipv6.conf.$IF_SRV.accept_dad=0
  ip netns exec $NS_CLI sysctl -qw net.ipv6.conf.$IF_CLI.accept_dad=0
  ip netns exec $NS_SRV ip link set $IF_SRV up
  ip netns exec $NS_CLI ip link set $IF_CLI up
  ip netns exec $NS_SRV ethtool -K $IF_SRV tx-udp-segmentation "$SERVER_UDP_SEGMENTATION"
  ip netns exec $NS_SRV ip -6 addr add $SRV_ADDR/64 dev $IF_SRV nodad
  ip netns exec $NS_CLI ip -6 addr add $CLI_ADDR/64 dev $IF_CLI nodad
  # wait for the link-local addresses (Kea binds fe80::%IF_SRV)
  for _ in $(seq 50); do
    ip netns exec $NS_SRV ip -6 addr show dev $IF_SRV scope link | grep -q 'inet6 fe80' &&
    ip netns exec $NS_CLI ip -6 addr show dev $IF_CLI scope link | grep -q 'inet6 fe80' && return 0
    sleep 0.1
  done
  echo "link-local addresses did not appear" >&2; return 1
}

# ---------------------------------------------------------------- scenarios
# sets: P_ARGS (extra perfdhcp args), P_TARGET, TWO_WAY, KB_PERSIST, KB_MT, KB_RAPID, KB_RESV, KB_INFO, S_CPUS
scenario() {
  P_ARGS=() P_TARGET=() TWO_WAY=0 KB_PERSIST=0 KB_MT=0 KB_RAPID=0 KB_RESV=0 KB_INFO=0 INFO_PACE=even
  S_CPUS=$SERVER_CPUS
  case "$1" in
    sa2)          P_ARGS=(-i); TWO_WAY=1 ;;                         # Solicit-Advertise only
    sarr)         ;;                                                # 4-way, IA_NA, memfile persist=false
    sarr-persist) KB_PERSIST=1 ;;                                   # 4-way, IA_NA, memfile persist=true
    sarr-napd)    P_ARGS=(-e address-and-prefix) ;;                 # 4-way, IA_NA + IA_PD
    sarr-napd-persist) P_ARGS=(-e address-and-prefix); KB_PERSIST=1 ;;  # 4-way NA+PD pools, leases on disk
    sarr-relay)   P_ARGS=(-A 1); P_TARGET=($SRV_ADDR) ;;            # Relay-forw unicast to server
    sarr-resv)    P_ARGS=(-e address-and-prefix); KB_RESV=1 ;;      # 4-way, NA+PD from host reservations
    sa2-resv)     P_ARGS=(-i -e address-and-prefix); TWO_WAY=1; KB_RESV=1 ;;  # 2-way, NA+PD reserved
    sarr-resv-relay) P_ARGS=(-e address-and-prefix -A 1); P_TARGET=($SRV_ADDR); KB_RESV=1 ;;  # relayed 4-way
    sarr-mt)      KB_MT=1; S_CPUS=$MT_SERVER_CPUS ;;                # 4-way, Kea multi-threading
    rapid)        P_ARGS=(-i -c); TWO_WAY=1; KB_RAPID=1 ;;          # Solicit(+rapid commit)-Reply
    info)         TWO_WAY=1; KB_INFO=1 ;;   # relayed Information-request/Reply, from inforeq_load.ts
    info-burst)   TWO_WAY=1; KB_INFO=1; INFO_PACE=ticks ;;  # the same in bursts (~10 every 2 ms)
    *) echo "unknown scenario $1" >&2; return 1 ;;
  esac
}

write_resv_csv() {  # client i -> duid, address, prefix ; matches CLIENT_BASE numbering
  python3 - "$1" "$CLIENTS" "$RESV_NET" <<'EOF'
import sys, ipaddress
out, n, net = sys.argv[1], int(sys.argv[2]), ipaddress.IPv6Address(sys.argv[3])
assert n <= 65536, "reservation numbering supports <= 65536 clients"
with open(out, "w") as f:
    for i in range(n):
        duid = "00:03:00:01:02:00:00:00:%02x:%02x" % (i >> 8, i & 0xff)
        addr = ipaddress.IPv6Address(int(net) + i)
        pfx = "2001:db8:ff%02x:%02x00::/56" % (i >> 8, i & 0xff)   # outside the PD pool
        f.write(f"{duid},{addr},{pfx}\n")
EOF
}

write_kea_conf() {  # $1 = output file ; uses KB_* of the current scenario
  python3 - "$1" <<'EOF'
import json, os, sys
e = os.environ
wd = e["KB_WORKDIR"]
subnet = {
  "id": 1, "subnet": e["KB_PREFIX"], "interface": e["KB_IFACE"],
  "pools": [{"pool": e["KB_POOL"]}],
  "pd-pools": [{"prefix": e["KB_PD_PREFIX"], "prefix-len": int(e["KB_PD_LEN"]),
                "delegated-len": int(e["KB_PD_DELEG_LEN"])}],
  "rapid-commit": e["KB_RAPID"] == "1",
}
cfg = {
  "interfaces-config": {"interfaces": [e["KB_IFACE"] + "/" + e["KB_SRV_ADDR"]]},  # + link-local & ff02::1:2
  "server-id": {"type": "EN", "enterprise-id": 2495, "identifier": "6b6561626173656c696e65", "persist": False},
  "data-directory": wd,
  "lease-database": {"type": "memfile", "persist": e["KB_PERSIST"] == "1",
                     "name": e["KB_LEASE_FILE"], "lfc-interval": 0},
  "preferred-lifetime": 3000, "valid-lifetime": 4000, "renew-timer": 1000, "rebind-timer": 2000,
  "multi-threading": {"enable-multi-threading": e["KB_MT"] == "1",
                      "thread-pool-size": int(e.get("MT_THREADS", "2")), "packet-queue-size": 64},
  "host-reservation-identifiers": ["duid"],
  "subnet6": [subnet],
  "loggers": [{"name": "kea-dhcp6", "severity": "WARN",
               "output_options": [{"output": os.path.join(wd, "kea.log")}]}],
}
if e["KB_RESV"] == "1":
    subnet["reservations-in-subnet"] = True
    subnet["reservations-out-of-pool"] = True
    res = []
    for line in open(e["KB_RESV_CSV"]):
        duid, addr, pfx = line.strip().split(",")
        res.append({"duid": duid, "ip-addresses": [addr], "prefixes": [pfx]})
    subnet["reservations"] = res
if e.get("KB_INFO") == "1":
    cfg["option-data"] = [{"name": "dns-servers", "data": "2001:db8::53, 2001:db8::153"},
                          {"name": "domain-search", "data": "example.com"}]
json.dump({"Dhcp6": cfg}, open(sys.argv[1], "w"), indent=1)
EOF
}

start_server() {  # $1 scenario, $2 tag
  export KB_SCENARIO=$1 KB_WORKDIR="$OUT_DIR/work-$1-$2" KB_IFACE=$IF_SRV KB_SRV_ADDR=$SRV_ADDR
  export KB_PREFIX=$PREFIX KB_POOL=$POOL KB_PD_PREFIX=$PD_PREFIX KB_PD_LEN=$PD_LEN KB_PD_DELEG_LEN=$PD_DELEG_LEN
  export KB_PERSIST KB_MT KB_RAPID KB_RESV KB_INFO KB_CLIENTS=$CLIENTS MT_THREADS
  rm -rf "$KB_WORKDIR"; mkdir -p "$KB_WORKDIR"
  export KB_LEASE_FILE="$KB_WORKDIR/leases6.csv" KB_CONF="$KB_WORKDIR/kea-dhcp6.json" KB_RESV_CSV="$KB_WORKDIR/reservations.csv"
  export KEA_PIDFILE_DIR="$KB_WORKDIR" KEA_LOCKFILE_DIR="$KB_WORKDIR"
  write_resv_csv "$KB_RESV_CSV"
  write_kea_conf "$KB_CONF"
  # ip netns exec / taskset / bash all exec, so $! is the server's own PID
  taskset -c "$S_CPUS" ip netns exec $NS_SRV bash -c "exec $SERVER_CMD" \
      >"$KB_WORKDIR/server.out" 2>&1 </dev/null &
  SPID=$!
  for _ in $(seq 100); do
    if ! kill -0 "$SPID" 2>/dev/null; then
      echo "server exited early:" >&2; tail -20 "$KB_WORKDIR/server.out" "$KB_WORKDIR/kea.log" >&2 2>/dev/null; SPID=""; return 1; fi
    ip netns exec $NS_SRV ss -Huln 'sport = :547' | grep -q . && { sleep "$READY_WAIT"; return 0; }
    sleep 0.1
  done
  echo "server not listening on 547 after 10 s" >&2; return 1
}

stop_server() {
  [[ -z "$SPID" ]] && return 0
  kill "$SPID" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$SPID" 2>/dev/null || true
  wait "$SPID" 2>/dev/null || true
  SPID=""
}

proc_ticks() { awk '{sub(/.*\) /, ""); print $12 + $13}' "/proc/$1/stat"; }  # utime+stime
# CPU_TREE=1: utime+stime+cutime+cstime summed over PID and all its live descendants (servers with
# worker processes); children that exit during a run are counted through their parent's cutime/cstime.
tree_ticks() {
  cat /proc/[0-9]*/stat 2>/dev/null | awk -v root="$1" '
    { pid = $1; sub(/.*\) /, ""); pp[pid] = $2; t[pid] = $12 + $13 + $14 + $15 }
    END { in_t[root] = 1; do { ch = 0; for (p in pp) if (!(p in in_t) && (pp[p] in in_t)) { in_t[p] = 1; ch = 1 } } while (ch)
          for (p in in_t) tot += t[p]; print tot + 0 }' || true
}
# EXTRA_CPU_PID: a process tree whose CPU counts as the server's too (the PostgreSQL cluster a
# server answers from: its postmaster and every backend).
srv_ticks() {
  local t
  if [[ "${CPU_TREE:-0}" == 1 ]]; then t=$(tree_ticks "$1"); else t=$(proc_ticks "$1"); fi
  [[ -n "${EXTRA_CPU_PID:-}" ]] && t=$((t + $(tree_ticks "$EXTRA_CPU_PID")))
  echo "$t"
}

# cpu_steal LIST: "steal total" ticks summed over the CPUs of the taskset LIST (e.g. "1", "0-1",
# "0,1") from /proc/stat: the time the hypervisor ran something else while a vCPU wanted to run.
# A run with steal on the server's core ran on a contended host, where every wake-up and exit
# costs more (PROFILE.md, round eleven).
cpu_steal() {
  awk -v list="$1" '
    BEGIN { n = split(list, parts, ","); for (i = 1; i <= n; i++) {
      if (split(parts[i], r, "-") == 2) { for (c = r[1]; c <= r[2]; c++) want["cpu" c] = 1 } else want["cpu" parts[i]] = 1 } }
    $1 in want { for (i = 2; i <= NF; i++) total += $i; steal += $9 }
    END { print steal + 0, total + 0 }' /proc/stat
}

# steal_pct BEFORE AFTER: steal as a % of the ticks between two cpu_steal readings.
steal_pct() {
  awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " "); t = y[2] - x[2]
    printf "%.1f", (t > 0 ? 100 * (y[1] - x[1]) / t : 0) }'
}

# hook_start SCEN REP RATE: start RUN_HOOK in the background for a measured run (not for the
# warm-up; HOOK_PID is its PID, empty without one); hook_stop stops it once the run is over and
# waits until it has finished (perf writes its data on SIGINT).
HOOK_PID=""
hook_start() {
  HOOK_PID=""
  [[ -n "${RUN_HOOK:-}" && "$2" != warm ]] || return 0
  taskset -c "$CLIENT_CPUS" bash -c "$RUN_HOOK" hook "$SPID" "$OUT_DIR/hook-$1-r$2-$3" &
  HOOK_PID=$!; sleep 0.2
}
hook_stop() {
  [[ -n "$HOOK_PID" ]] || return 0
  # Interrupt the hook's children and let its shell wait for them to finish writing; interrupting
  # the shell too would end it (and this wait) while perf record is still writing its data. A
  # hook of one command has no children: bash ran it in its own process.
  pkill -INT -P "$HOOK_PID" 2>/dev/null || kill -INT "$HOOK_PID" 2>/dev/null || true
  wait "$HOOK_PID" 2>/dev/null || true
  # Whatever the hook started that still writes into this run's files (perf record finishing
  # its data after the hook's shell is gone) is waited for too, up to 60 s.
  for _ in $(seq 300); do pgrep -f "$OUT_DIR/hook-" >/dev/null || break; sleep 0.2; done
  HOOK_PID=""
}

# run_one SCEN REP RATE -> appends a row to runs.tsv, returns 0 if drops < MAX_DROP_PCT
run_one() {
  [[ "$KB_INFO" == 1 ]] && { run_one_info "$@"; return; }
  local scen=$1 rep=$2 rate=$3 out="$OUT_DIR/perf-$1-r$2-$3.out" t0 t1 c0 c1 m0 m1 ct s0 s1
  hook_start "$@"
  s0=$(cpu_steal "$S_CPUS")
  c0=$(srv_ticks "$SPID"); m0=$(proc_ticks "$SPID"); t0=$(date +%s.%N)
  ( taskset -c "$CLIENT_CPUS" ip netns exec $NS_CLI timeout -s INT -k 5 $((PERIOD + 15)) \
      $PERFDHCP -6 -l $IF_CLI "${CLIENT_BASE[@]}" -R "$CLIENTS" -r "$rate" -p "$PERIOD" \
      -W "$EXIT_WAIT_US" "${P_ARGS[@]}" "${P_TARGET[@]}" >"$out" 2>&1 || true
    times >"$out.times" )
  t1=$(date +%s.%N); c1=$(srv_ticks "$SPID"); m1=$(proc_ticks "$SPID")
  s1=$(cpu_steal "$S_CPUS")
  hook_stop
  ct=$(tail -1 "$out.times")
  if grep -q '^ERROR' "$out"; then
    log "$scen rate=$rate: perfdhcp error: $(grep -m1 '^ERROR' "$out")"; echo "ERROR" >"$out.status"; return 2
  fi
  local row
  row=$(awk -v scen="$scen" -v rep="$rep" -v rate="$rate" -v period="$PERIOD" -v two="$TWO_WAY" \
        -v c0="$c0" -v c1="$c1" -v t0="$t0" -v t1="$t1" -v tck="$CLK_TCK" -v ct="$ct" \
        -v maxd="$MAX_DROP_PCT" -v srv="$SERVER_NAME" -v steal="$(steal_pct "$s0" "$s1")" '
    function secs(s,  a) { split(s, a, /[ms]/); return a[1]*60 + a[2] }
    /Statistics for: SOLICIT-ADVERTISE/ {sec="SA"} /Statistics for: REQUEST-REPLY/ {sec="RR"}
    /^sent packets:/ {sent[sec]=$3} /^received packets:/ {rcvd[sec]=$3}
    /^avg delay:/ {dly[sec]=$3}
    /^min delay:/ {mind[sec]=$3} /^max delay:/ {maxd2[sec]=$3}
    END {
      s = sent["SA"]+0; done = (two ? rcvd["SA"] : rcvd["RR"]) + 0
      drops = s > 0 ? 100 * (1 - done / s) : 100
      wall = t1 - t0; scpu = (c1 - c0) / tck
      split(ct, cc, " "); ccpu = secs(cc[1]) + secs(cc[2])
      pass = (s >= 0.95 * rate * period && drops < maxd) ? "PASS" : "FAIL"
      printf "%s\t%s\t%s\t%d\t%d\t%d\t%.3f\t%.0f\t%.1f\t%.1f\t%.1f\t%.3f\t%.3f\t%s\t%s/%s/%s\t%s/%s/%s\t%s\n", srv, scen, rep, rate, s, done,
        drops, done / period, 100 * scpu / wall, (done > 0 ? 1e6 * scpu / done : 0), 100 * ccpu / wall,
        dly["SA"], dly["RR"], pass, mind["SA"]+0, dly["SA"]+0, maxd2["SA"]+0, mind["RR"]+0, dly["RR"]+0, maxd2["RR"]+0, steal
    }' "$out")
  echo "$row" >>"$OUT_DIR/runs.tsv"
  log "$(echo "$row" | awk -F'\t' '{printf "%s rep%s rate=%s sent=%s done=%s drops=%s%% ach=%s/s srvcpu=%s%% %sus/x clicpu=%s%% %s", $2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$14}')$(
      [[ "${CPU_TREE:-0}" == 1 ]] && awk -v a="$m0" -v b="$m1" -v t0="$t0" -v t1="$t1" -v tck="$CLK_TCK" \
        'BEGIN {printf " (tree; main pid alone %.1f%%)", 100 * (b - a) / tck / (t1 - t0)}' || true)"
  [[ "$row" == *PASS ]]
}

# run_one_info SCEN REP RATE: like run_one, with inforeq_load.ts (relayed Information-requests to
# the server's unicast address at a fixed rate) instead of perfdhcp; completed = Replies received.
run_one_info() {
  local scen=$1 rep=$2 rate=$3 out="$OUT_DIR/info-$1-r$2-$3.out" t0 t1 c0 c1 m0 m1 ct s0 s1
  hook_start "$@"
  s0=$(cpu_steal "$S_CPUS")
  c0=$(srv_ticks "$SPID"); m0=$(proc_ticks "$SPID"); t0=$(date +%s.%N)
  ( taskset -c "$CLIENT_CPUS" ip netns exec $NS_CLI timeout -s INT -k 5 $((PERIOD + 15)) \
      deno run --unstable-net --allow-net "$HERE/inforeq_load.ts" --rate "$rate" --period "$PERIOD" \
      --wait $((EXIT_WAIT_US / 1000)) --server $SRV_ADDR --link $CLI_ADDR --pace $INFO_PACE ${INFO_ARGS:-} >"$out" 2>&1 || true
    times >"$out.times" )
  t1=$(date +%s.%N); c1=$(srv_ticks "$SPID"); m1=$(proc_ticks "$SPID")
  s1=$(cpu_steal "$S_CPUS")
  hook_stop
  ct=$(tail -1 "$out.times")
  if ! grep -q '^sent [0-9]* received [0-9]*$' "$out"; then
    log "$scen rate=$rate: inforeq_load error: $(head -3 "$out")"; echo "ERROR" >"$out.status"; return 2
  fi
  local row
  row=$(awk -v scen="$scen" -v rep="$rep" -v rate="$rate" -v period="$PERIOD" \
        -v c0="$c0" -v c1="$c1" -v t0="$t0" -v t1="$t1" -v tck="$CLK_TCK" -v ct="$ct" \
        -v maxd="$MAX_DROP_PCT" -v srv="$SERVER_NAME" -v steal="$(steal_pct "$s0" "$s1")" '
    function secs(s,  a) { split(s, a, /[ms]/); return a[1]*60 + a[2] }
    /^sent [0-9]+ received [0-9]+$/ { s = $2; done = $4 }
    END {
      drops = s > 0 ? 100 * (1 - done / s) : 100
      wall = t1 - t0; scpu = (c1 - c0) / tck
      split(ct, cc, " "); ccpu = secs(cc[1]) + secs(cc[2])
      pass = (s >= 0.95 * rate * period && drops < maxd) ? "PASS" : "FAIL"
      printf "%s\t%s\t%s\t%d\t%d\t%d\t%.3f\t%.0f\t%.1f\t%.1f\t%.1f\t%.3f\t%.3f\t%s\t%s\t%s\t%s\n", srv, scen, rep, rate, s, done,
        drops, done / period, 100 * scpu / wall, (done > 0 ? 1e6 * scpu / done : 0), 100 * ccpu / wall, 0, 0, pass, "-", "-", steal
    }' "$out")
  echo "$row" >>"$OUT_DIR/runs.tsv"
  log "$(echo "$row" | awk -F'\t' '{printf "%s rep%s rate=%s sent=%s replies=%s drops=%s%% ach=%s/s srvcpu=%s%% %sus/req clicpu=%s%% %s", $2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$14}')$(
      [[ "${CPU_TREE:-0}" == 1 ]] && awk -v a="$m0" -v b="$m1" -v t0="$t0" -v t1="$t1" -v tck="$CLK_TCK" \
        'BEGIN {printf " (tree; main pid alone %.1f%%)", 100 * (b - a) / tck / (t1 - t0)}' || true)"
  [[ "$row" == *PASS ]]
}

# latency_one SCEN RATE: one more run (rep "lat", left out of the RUN lines) with a capture next
# to the client; appends a LATENCY line to latency.txt.
latency_one() {
  local scen=$1 rate=$2 pcap="$OUT_DIR/lat-$1-$2.pcapng" delays perf
  taskset -c "$CLIENT_CPUS" ip netns exec $NS_CLI dumpcap -q -i $IF_CLI -f 'udp port 546 or udp port 547' \
    -B 64 -w "$pcap" >"$pcap.log" 2>&1 &
  TSPID=$!
  for _ in $(seq 100); do grep -q 'Capturing on' "$pcap.log" && break; sleep 0.1; done; sleep 0.3
  run_one "$scen" lat "$rate" || true
  sleep 0.3; kill -INT "$TSPID" 2>/dev/null || true; wait "$TSPID" 2>/dev/null || true; TSPID=""
  delays=$(taskset -c "$CLIENT_CPUS" tshark -r "$pcap" -T fields -e frame.time_epoch -e dhcpv6.msgtype \
    -e dhcpv6.xid 2>/dev/null | deno run "$HERE/latency.ts" 2>/dev/null || echo "pairs=0")
  perf=$(awk -F'\t' -v s="$scen" -v r="$rate" '$2==s && $3=="lat" && $4==r {printf "perfdhcp_sa=%s perfdhcp_rr=%s", $15, $16}' "$OUT_DIR/runs.tsv" | tail -1)
  echo "LATENCY server=$SERVER_NAME scenario=$scen rate=$rate ${perf:-perfdhcp=none} capture_ms: $delays" >>"$OUT_DIR/latency.txt"
  [[ "${KEEP_PCAP:-0}" == 1 ]] || rm -f "$pcap"
}

rnd100() { local v=$1 q=$RATE_STEP; (( v < q )) && v=$q; echo $(( (v + q / 2) / q * q )); }  # round to RATE_STEP

# search SCEN REP PREV -> echoes max passing rate (0 if none)
search() {
  local scen=$1 rep=$2 prev=$3 lo=0 hi=0 r mid rc
  if (( prev > 0 )); then           # reps >1: start at previous result, step RES_PCT up/down
    r=$prev
    if run_one "$scen" "$rep" "$r"; then lo=$r
      while :; do r=$(rnd100 $(( lo * (100 + RES_PCT) / 100 ))); (( r == lo )) && r=$((lo + RATE_STEP))
        (( r > MAX_RATE )) && break
        if run_one "$scen" "$rep" "$r"; then lo=$r; else break; fi; done
    else
      rc=$?; (( rc == 2 )) && { echo 0; return; }; hi=$r
      while :; do r=$(rnd100 $(( hi * (100 - RES_PCT) / 100 ))); (( r == hi )) && r=$((hi - RATE_STEP))
        (( r < RATE_STEP )) && break
        if run_one "$scen" "$rep" "$r"; then lo=$r; break; else hi=$r; fi; done
    fi
    echo $lo; return
  fi
  r=$START_RATE
  while (( r <= MAX_RATE )); do
    if run_one "$scen" "$rep" "$r"; then lo=$r; r=$(( r * 2 )); else rc=$?; (( rc == 2 )) && { echo 0; return; }; hi=$r; break; fi
  done
  if (( lo == 0 )); then
    while (( r > RATE_STEP )); do r=$(rnd100 $(( r / 2 ))); if run_one "$scen" "$rep" "$r"; then lo=$r; break; else hi=$r; fi; done
  fi
  while (( hi > 0 && lo > 0 && (hi - lo) * 100 > RES_PCT * lo && hi - lo > RATE_STEP )); do
    mid=$(rnd100 $(( (lo + hi) / 2 ))); (( mid == lo || mid == hi )) && break
    if run_one "$scen" "$rep" "$mid"; then lo=$mid; else hi=$mid; fi
  done
  echo $lo
}

summary() {  # SCEN -> one SUMMARY line from best.tsv
  awk -F'\t' -v scen="$1" -v srv="$SERVER_NAME" -v two="$TWO_WAY" '
    $1==srv && $2==scen { n++; r[n]=$4; a[n]=$8; d[n]=$7; c[n]=$9; u[n]=$10; cc[n]=$11 }
    function med(x, k,  i, j, t, y) { for (i=1;i<=k;i++) y[i]=x[i]
      for (i=1;i<=k;i++) for (j=i+1;j<=k;j++) if (y[j]<y[i]) {t=y[i];y[i]=y[j];y[j]=t}
      return (k%2) ? y[(k+1)/2] : (y[k/2]+y[k/2+1])/2 }
    function mn(x,k, i,m){m=x[1]; for(i=2;i<=k;i++) if(x[i]<m) m=x[i]; return m}
    function mx(x,k, i,m){m=x[1]; for(i=2;i<=k;i++) if(x[i]>m) m=x[i]; return m}
    END { if (!n) { printf "SUMMARY server=%s scenario=%s result=NONE\n", srv, scen; exit }
      printf "SUMMARY server=%s scenario=%s unit=%s max_rate_min/med/max=%d/%d/%d achieved_med=%.0f drops_med=%.2f%% srv_cpu_med=%.0f%% srv_us_per_exch_med=%.1f cli_cpu_med=%.0f%% reps=%d\n",
        srv, scen, scen ~ /^info/ ? "req/s" : two ? "2way/s" : "4way/s", mn(r,n), med(r,n), mx(r,n), med(a,n), med(d,n), med(c,n), med(u,n), med(cc,n), n }' "$OUT_DIR/best.tsv"
}

bench() {
  mkdir -p "$OUT_DIR"
  printf 'server\tscenario\trep\trate\tsent\tcompleted\tdrops_pct\tachieved\tsrv_cpu_pct\tsrv_us_per_exch\tcli_cpu_pct\tsa_avg_ms\trr_avg_ms\tresult\tsa_min/avg/max_ms\trr_min/avg/max_ms\tsteal_pct\n' >"$OUT_DIR/runs.tsv"
  : >"$OUT_DIR/latency.txt"
  : >"$OUT_DIR/best.tsv"
  ns_setup
  log "server=$SERVER_NAME cmd=[$SERVER_CMD] scenarios=[$SCENARIOS] reps=$REPS period=${PERIOD}s clients=$CLIENTS out=$OUT_DIR"
  local scen rep best prev line
  for scen in $SCENARIOS; do
    scenario "$scen"
    prev=0
    for rep in $(seq "$REPS"); do
      start_server "$scen" "$rep" || { log "$scen: server failed to start"; break; }
      if [[ -n "$RATES" ]]; then
        if (( WARMUP > 0 )); then
          r=${RATES%% *}
          PERIOD=$WARMUP run_one "$scen" warm "$r" || true
        fi
        for r in $RATES; do run_one "$scen" "$rep" "$r" || true; done
        if [[ "${LATENCY:-0}" == 1 && "$rep" == "$REPS" ]]; then
          for r in $RATES; do latency_one "$scen" "$r"; done
        fi
        stop_server; continue
      fi
      best=$(search "$scen" "$rep" "$prev")
      stop_server
      if (( best == 0 )) && grep -qs '^ERROR' "$OUT_DIR"/perf-"$scen"-r"$rep"-*.out; then
        echo "SUMMARY server=$SERVER_NAME scenario=$scen result=UNSUPPORTED perfdhcp: $(grep -h -m1 '^ERROR' "$OUT_DIR"/perf-"$scen"-r"$rep"-*.out | head -1)"
        continue 2
      fi
      line=$(awk -F'\t' -v s="$scen" -v rp="$rep" -v r="$best" '$2==s && $3==rp && $4==r && $14=="PASS"' "$OUT_DIR/runs.tsv" | tail -1)
      [[ -n "$line" ]] && echo "$line" >>"$OUT_DIR/best.tsv"
      log "$scen rep $rep: max rate with <${MAX_DROP_PCT}% drops = $best"
      prev=$best
    done
    [[ -z "$RATES" ]] && summary "$scen"
  done
  if [[ -n "$RATES" ]]; then
    awk -F'\t' -v bad="$INVALID_DROP_PCT" 'NR>1 && $3 != "lat" {printf "RUN server=%s scenario=%s rep=%s rate=%s completed/s=%s drops=%s%% srv_cpu=%s%% srv_us_per_exch=%s cli_cpu=%s%% steal=%s%% %s%s\n",$1,$2,$3,$4,$8,$7,$9,$10,$11,$17,$14,($7 + 0 > bad ? " (invalid: drops)" : "")}' "$OUT_DIR/runs.tsv"
    cat "$OUT_DIR/latency.txt"
  fi
  ns_cleanup
}

capture() {  # one exchange per mode; files: kea-4way.pcap (+ -napd, -relay)
  mkdir -p "$OUT_DIR" "$PCAP_DIR"
  ns_setup
  local name args
  for spec in "kea-4way.pcap|" "kea-4way-napd.pcap|-e address-and-prefix" "kea-4way-relay.pcap|-A 1 $SRV_ADDR"; do
    name=${spec%%|*}; args=${spec#*|}
    scenario sarr; start_server capture x
    ip netns exec $NS_CLI timeout 15 tshark -q -i $IF_CLI -f 'udp port 546 or udp port 547' -c 4 \
       -w "$OUT_DIR/$name" >"$OUT_DIR/$name.log" 2>&1 &
    TSPID=$!
    for _ in $(seq 100); do grep -q 'Capturing on' "$OUT_DIR/$name.log" && break; sleep 0.1; done; sleep 0.5
    # shellcheck disable=SC2086
    ip netns exec $NS_CLI timeout -s INT 10 $PERFDHCP -6 -l $IF_CLI "${CLIENT_BASE[@]}" -r 1 -p 1 -W 200000 $args \
       >"$OUT_DIR/$name.perf" 2>&1 || true
    wait "$TSPID" || true; TSPID=""
    stop_server
    cp "$OUT_DIR/$name" "$PCAP_DIR/$name"; chmod 644 "$PCAP_DIR/$name"
    log "wrote $PCAP_DIR/$name ($(tshark -r "$PCAP_DIR/$name" 2>/dev/null | wc -l) packets)"
  done
  ns_cleanup
}

[[ $EUID -eq 0 ]] || { echo "must run as root" >&2; exit 1; }
trap 'ns_cleanup' EXIT
trap 'exit 130' INT TERM
case "$MODE" in
  bench) bench ;;
  capture) capture ;;
  setup) trap - EXIT; ns_setup ;;
  cleanup) ns_cleanup ;;
  *) sed -n '2,30p' "$0"; exit 2 ;;
esac
