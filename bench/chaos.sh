#!/usr/bin/env bash
# chaos.sh - dhcpkit under perfdhcp load while things go wrong around it (issue 20's campaign).
#
#   sudo bash bench/chaos.sh            (DURATION=180 s, RATE=300 4-way exchanges/s, CLIENTS=2000,
#                                         DHCPKIT_IO=auto, DHCPKIT_WORKERS=2, KEEP=1 keeps the work dir)
#
# Topology (created here, removed on exit; every name starts with dkb):
#   netns dkb-ccli: dkbv1 2001:db8:1::2/64  <-- veth -->  netns dkb-csrv: dkbv0 2001:db8:1::1/64
# The server runs as `nobody` with a static CSV (one row per perfdhcp client), a leasequery store
# in SQLite, a TCP leasequery listener and a control socket. While perfdhcp runs (4-way, address
# and prefix) the script, at fixed points of the run:
#   - reloads with SIGHUP and with `dhcpkit ctl reload`;
#   - swaps the CSV for a truncated one and for an empty one (each reload must be refused, the
#     table in use keeps serving) and back (accepted);
#   - makes the leasequery SQLite file read-only (the lease store fails; requests are still
#     answered) and writable again;
#   - floods the server with malformed datagrams (random bytes and cut-off DHCPv6 messages);
#   - holds every TCP leasequery slot with idle connections, and 70 idle control connections
#     while `dhcpkit ctl stats` must still get through;
#   - kills an I/O worker three times (a request with a magic transaction id makes the worker that
#     handles it exit, through the tests-only fault extension in tests/helpers/fault); each must
#     be replaced (stats-json `server.worker_restarts` equals the number of kills);
# Every Advertise/Reply is captured in the client namespace and checked against the CSV with
# tshark: an address or prefix that is not the client's row, or NoAddrsAvail/NoPrefixAvail for a
# client that has a row, is a wrong answer. Printed at the end: answered/expected, wrong answers
# (must be 0), the reload outcomes, worker restarts, and the server's resident memory before and
# after.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
[ "$(id -u)" = 0 ] || { echo "chaos.sh needs root (network namespaces, port 547)" >&2; exit 1; }
for tool in perfdhcp tshark ip python3; do
  command -v "$tool" >/dev/null || { echo "chaos.sh needs $tool" >&2; exit 1; }
done
DURATION=${DURATION:-180} RATE=${RATE:-300} CLIENTS=${CLIENTS:-2000}
DHCPKIT_IO=${DHCPKIT_IO:-auto} DHCPKIT_WORKERS=${DHCPKIT_WORKERS:-2}
(( CLIENTS <= 65536 )) || { echo "CLIENTS must be at most 65536" >&2; exit 1; }
(( DURATION >= 60 )) || { echo "DURATION must be at least 60 s" >&2; exit 1; }
NS_SRV=dkb-csrv NS_CLI=dkb-ccli IF_SRV=dkbv0 IF_CLI=dkbv1
SRV=2001:db8:1::1 CLI=2001:db8:1::2
wd=$(mktemp -d -t dhcpkit-chaos-XXXXXX)
chmod 755 "$wd"
deno_run=(deno run --unstable-net --allow-net --allow-read --allow-write --allow-env --allow-sys --allow-ffi)
ctl() { "${deno_run[@]}" "$repo/cli/main.ts" ctl -c "$wd/run/dhcpkit.sock" "$@"; }
log() { printf '[%s] %s\n' "$(date +%T)" "$*" | tee -a "$wd/chaos.log"; }

spid="" ppid_="" cap="" pids=()
cleanup() {
  set +e
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  [ -n "$ppid_" ] && kill "$ppid_" 2>/dev/null
  [ -n "$cap" ] && kill "$cap" 2>/dev/null
  if [ -n "$spid" ]; then
    kill "$spid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$spid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$spid" 2>/dev/null
  fi
  wait 2>/dev/null
  ip netns del $NS_SRV 2>/dev/null; ip netns del $NS_CLI 2>/dev/null
  if [ "${KEEP:-0}" = 1 ]; then echo "work dir kept: $wd"; else rm -rf "$wd"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ----------------------------------------------------------------------------- topology
ip netns del $NS_SRV 2>/dev/null || true; ip netns del $NS_CLI 2>/dev/null || true
ip netns add $NS_SRV; ip netns add $NS_CLI
ip link add $IF_SRV type veth peer name $IF_CLI
ip link set $IF_SRV netns $NS_SRV; ip link set $IF_CLI netns $NS_CLI
for ns in $NS_SRV $NS_CLI; do
  ip netns exec $ns sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
  ip netns exec $ns ip link set lo up
done
ip netns exec $NS_SRV ip link set $IF_SRV up; ip netns exec $NS_CLI ip link set $IF_CLI up
ip netns exec $NS_SRV ip -6 addr add $SRV/64 dev $IF_SRV nodad
ip netns exec $NS_CLI ip -6 addr add $CLI/64 dev $IF_CLI nodad
# Both link-local addresses present and past duplicate address detection (the veths were made
# before accept_dad was turned off in the namespaces), or the server cannot bind its own.
for _ in $(seq 100); do
  if ip netns exec $NS_CLI ip -6 addr show dev $IF_CLI scope link | grep -q 'inet6 fe80' &&
    ip netns exec $NS_SRV ip -6 addr show dev $IF_SRV scope link | grep -q 'inet6 fe80' &&
    [ -z "$(ip netns exec $NS_SRV ip -6 addr show tentative)" ] &&
    [ -z "$(ip netns exec $NS_CLI ip -6 addr show tentative)" ]; then break; fi
  sleep 0.1
done

# ----------------------------------------------------------------------------- data, config
# perfdhcp client i: DUID-LL 00030001 + 02:00:00:00:HH:LL (as bench/load/harness.sh).
python3 - "$wd/assignments.csv" "$CLIENTS" <<'EOF'
import sys
out, n = sys.argv[1], int(sys.argv[2])
with open(out, "w") as f:
    f.write("id,address,prefix\n")
    for i in range(n):
        f.write("duid:0003000102000000%02x%02x,2001:db8:1:0:2::%x,2001:db8:ff%02x:%02x00::/56\n"
                % (i >> 8, i & 0xff, i, i >> 8, i & 0xff))
EOF
cp "$wd/assignments.csv" "$wd/good.csv"
head -c $(( $(stat -c %s "$wd/good.csv") / 2 )) "$wd/good.csv" >"$wd/truncated.csv"
printf 'id,address,prefix\n' >"$wd/empty.csv"
mkdir -p "$wd/run" "$wd/state"
chown nobody:nogroup "$wd/state"
cat >"$wd/dhcpkit.conf" <<CONF
user nobody
group nogroup
extension $repo/tests/helpers/fault/mod.ts
<fault>
</fault>
workers $DHCPKIT_WORKERS
io-backend $DHCPKIT_IO
pid-file $wd/run/dhcpkit.pid
control-socket $wd/run/dhcpkit.sock
<logging>
    <file $wd/state/server.log>
        level info
    </file>
</logging>
<duid-en server-id>
    enterprise-number 40208
    identifier 63:68:61:6f:73
</duid-en>
<listen-interface $IF_SRV>
    link-address $SRV
</listen-interface>
<listen-unicast $SRV />
<listen-tcp $SRV>
    allow-from 2001:db8:1::/64
    max-connections 5
    idle-timeout 20s
</listen-tcp>
<leasequery>
    allow-from 2001:db8:1::/64
    <lq-sqlite $wd/state/leasequery.sqlite />
</leasequery>
<static-csv assignments.csv>
    address-preferred-lifetime 3000
    address-valid-lifetime 4000
    prefix-preferred-lifetime 3000
    prefix-valid-lifetime 4000
</static-csv>
<iana-timing-limits>
    min-t1 1000
    min-t2 2000
</iana-timing-limits>
<iapd-timing-limits>
    min-t1 1000
    min-t2 2000
</iapd-timing-limits>
CONF

# ----------------------------------------------------------------------------- server
ip netns exec $NS_SRV "${deno_run[@]}" "$repo/cli/main.ts" serve "$wd/dhcpkit.conf" \
  >"$wd/server.out" 2>&1 </dev/null &
spid=$!
for _ in $(seq 300); do
  kill -0 "$spid" 2>/dev/null || { echo "server exited:"; tail -20 "$wd/server.out"; exit 1; }
  [ -S "$wd/run/dhcpkit.sock" ] && ctl stats >/dev/null 2>&1 && break
  sleep 0.2
done
rss() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' /proc/"$spid"/status; }
stat_json() { ctl stats-json 2>/dev/null | head -1; }
restarts_now() {
  stat_json | python3 -c 'import json,sys
try: print(json.loads(sys.stdin.read()).get("server",{}).get("worker_restarts",0))
except Exception: print(0)'
}
log "server up (pid $spid, io-backend $DHCPKIT_IO, workers $DHCPKIT_WORKERS, $CLIENTS clients), RSS $(rss) MB"

# ----------------------------------------------------------------------------- load + capture
ip netns exec $NS_CLI tshark -q -i $IF_CLI -f 'udp dst port 546' -w "$wd/replies.pcap" \
  >"$wd/tshark.log" 2>&1 &
cap=$!
for _ in $(seq 100); do grep -q 'Capturing on' "$wd/tshark.log" 2>/dev/null && break; sleep 0.1; done
ip netns exec $NS_CLI timeout -s INT -k 10 $((DURATION + 30)) perfdhcp -6 -l $IF_CLI \
  -b duid=00030001000000000000 -b mac=02:00:00:00:00:00 -R "$CLIENTS" -r "$RATE" -p "$DURATION" \
  -W 500000 -e address-and-prefix >"$wd/perfdhcp.out" 2>&1 &
ppid_=$!
t0=$(date +%s)
at() { local s=$1; while (( $(date +%s) - t0 < s )); do sleep 0.2; done; }
sleep 5
rss_before=$(rss)

reload_ok=0 reload_refused=0 unexpected=0
reload() {  # $1 = expected ok|refused, $2 = what
  local out
  out=$(ctl reload 2>&1) && got=ok || got=refused
  if [ "$got" = ok ]; then reload_ok=$((reload_ok + 1)); else reload_refused=$((reload_refused + 1)); fi
  [ "$got" = "$1" ] || unexpected=$((unexpected + 1))
  log "reload ($2): $got (expected $1)$( [ "$got" = refused ] && echo ": $(echo "$out" | grep -v '^$' | head -2 | tr '\n' ' ')")"
}
swap() { cp "$wd/$1" "$wd/assignments.tmp"; mv "$wd/assignments.tmp" "$wd/assignments.csv"; }

step() { at "$1"; shift; "$@"; }
d=$DURATION
# Worker deaths: the tests-only fault extension (tests/helpers/fault, loaded by this run's
# configuration, never shipped) makes the worker that handles an Information-request with
# transaction id 0xfa0003 call Deno.exit; the server must replace it (stats-json
# server.worker_restarts).
kills=0
worker_kill() {
  local before after
  before=$(restarts_now)
  ip netns exec $NS_CLI python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
# Information-request, xid fa0003, client id DUID-LLT, elapsed time 0.
# Sent to All_DHCP_Relay_Agents_and_Servers on the link, as a client does.
s.sendto(bytes.fromhex("0bfa00030001000e000100011d1d6071002436ef1d89000800020000"),
         ("ff02::1:2", 547, 0, socket.if_nametoindex(sys.argv[1])))' "$IF_CLI"
  kills=$((kills + 1))
  for _ in $(seq 1 40); do
    after=$(restarts_now)
    [ "${after:-0}" -gt "${before:-0}" ] && break
    sleep 0.25
  done
  log "worker kill $kills: worker_restarts ${before:-?} -> ${after:-?}"
}
flood() {
  log "flood: 20000 malformed datagrams to [$SRV]:547"
  ip netns exec $NS_CLI python3 - "$SRV" <<'EOF'
import os, random, socket, sys, time
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
random.seed(20)
base = bytes.fromhex("011234560001000e000100011d1d6071002436ef1d890008000200000003000c000000010000000000000000")
for i in range(20000):
    k = i % 4
    if k == 0: data = os.urandom(random.randrange(0, 600))
    elif k == 1: data = base[:random.randrange(0, len(base))]
    elif k == 2: data = bytes([12, 255]) + os.urandom(32) + b"\x00\x09\xff\xff" + base
    else:
        b = bytearray(base); b[random.randrange(4, len(b))] = random.randrange(256); data = bytes(b)
    s.sendto(data, (sys.argv[1], 547))
    if i % 500 == 0: time.sleep(0.01)
EOF
}
hold_tcp() {
  log "holding 8 TCP connections (max-connections 5) and 70 idle control connections for 40 s"
  ip netns exec $NS_CLI python3 - "$SRV" <<'EOF' &
import socket, sys, time
conns = []
for i in range(8):
    try:
        c = socket.create_connection((sys.argv[1], 547), timeout=2); conns.append(c)
    except OSError:
        pass
for _ in range(40):
    for c in conns:
        try: c.send(b"\x00\x00")   # empty frames: must not count as activity
        except OSError: pass
    time.sleep(1)
EOF
  pids+=($!)
  python3 - "$wd/run/dhcpkit.sock" <<'EOF' &
import socket, sys, time
conns = []
for i in range(70):
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try: c.connect(sys.argv[1]); conns.append(c)
    except OSError: pass
time.sleep(40)
EOF
  pids+=($!)
  sleep 3
  if ctl stats >/dev/null 2>&1; then ctl_during_hold=OK; else ctl_during_hold=FAILED; fi
  log "ctl stats while 70 idle control connections are held: $ctl_during_hold"
}
readonly_store() { chmod 0444 "$wd/state/leasequery.sqlite"*; chattr +i "$wd/state/leasequery.sqlite" 2>/dev/null || true; log "leasequery store made read-only"; }
writable_store() { chattr -i "$wd/state/leasequery.sqlite" 2>/dev/null || true; chmod 0644 "$wd/state/leasequery.sqlite"*; chown nobody:nogroup "$wd/state/leasequery.sqlite"*; log "leasequery store writable again"; }

ctl_during_hold=n/a
step $((d * 5 / 100)) bash -c "kill -HUP $spid" && log "SIGHUP"
step $((d * 10 / 100)) reload ok "unchanged"
step $((d * 15 / 100)) worker_kill
step $((d * 17 / 100)) worker_kill
step $((d * 20 / 100)) swap truncated.csv
reload refused "CSV truncated halfway"
step $((d * 28 / 100)) swap empty.csv
reload refused "CSV without rows"
step $((d * 35 / 100)) swap good.csv
reload ok "CSV restored"
step $((d * 40 / 100)) readonly_store
step $((d * 45 / 100)) bash -c "kill -HUP $spid" && log "SIGHUP (store read-only)"
step $((d * 50 / 100)) flood
step $((d * 55 / 100)) writable_store
step $((d * 60 / 100)) hold_tcp
step $((d * 75 / 100)) reload ok "after the flood"
step $((d * 80 / 100)) worker_kill
step $((d * 85 / 100)) bash -c "kill -HUP $spid" && log "SIGHUP"

wait "$ppid_" || true; ppid_=""
sleep 1
kill "$cap" 2>/dev/null || true; wait "$cap" 2>/dev/null || true; cap=""
for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done; pids=()
sleep 2
rss_after=$(rss)
alive=$(kill -0 "$spid" 2>/dev/null && echo yes || echo no)
stats=$(stat_json)

# ----------------------------------------------------------------------------- verdict
sent=$(awk '/Statistics for: SOLICIT-ADVERTISE/ {s=1} s && /^sent packets:/ {print $3; exit}' "$wd/perfdhcp.out")
done4=$(awk '/Statistics for: REQUEST-REPLY/ {s=1} s && /^received packets:/ {print $3; exit}' "$wd/perfdhcp.out")
tshark -r "$wd/replies.pcap" -Y 'dhcpv6.msgtype == 2 || dhcpv6.msgtype == 7' -T fields -E separator='|' \
  -E occurrence=a -E aggregator=, -e dhcpv6.msgtype -e dhcpv6.duidll.link_layer_addr \
  -e dhcpv6.iaaddr.ip -e dhcpv6.iaprefix.pref_addr -e dhcpv6.iaprefix.pref_len -e dhcpv6.status_code \
  >"$wd/replies.txt" 2>/dev/null || true
read -r checked wrong <<<"$(python3 - "$wd/good.csv" "$wd/replies.txt" <<'EOF'
import ipaddress, sys
rows = {}
for line in open(sys.argv[1]).read().splitlines()[1:]:
    i, a, p = line.split(",")
    rows[i[len("duid:00030001"):]] = (ipaddress.IPv6Address(a), ipaddress.IPv6Network(p))
checked = wrong = 0
examples = []
for line in open(sys.argv[2]):
    f = line.rstrip("\n").split("|")
    if len(f) < 6: continue
    mac = f[1].split(",")[0].replace(":", "")
    row = rows.get(mac)
    checked += 1
    bad = None
    if row is None: bad = "client not in the CSV"
    else:
        for a in filter(None, f[2].split(",")):
            if ipaddress.IPv6Address(a) != row[0]: bad = f"address {a}"
        for a, l in zip(filter(None, f[3].split(",")), filter(None, f[4].split(","))):
            if ipaddress.IPv6Network(f"{a}/{l}") != row[1]: bad = f"prefix {a}/{l}"
        if {"2", "6"} & set(filter(None, f[5].split(","))): bad = "NoAddrsAvail/NoPrefixAvail"
        if not f[2] and not f[3]: bad = "no address and no prefix"
    if bad:
        wrong += 1
        if len(examples) < 5: examples.append(f"{mac}: {bad}")
print(checked, wrong)
for e in examples: print(e, file=sys.stderr)
EOF
)"
restarts=$(echo "$stats" | python3 -c 'import json,sys
try: d=json.loads(sys.stdin.read()); print(d.get("server",{}).get("worker_restarts","n/a"))
except Exception: print("n/a")')
errors=$(grep -c 'ERROR\|FATAL' "$wd/state/server.log" 2>/dev/null || true)

echo
echo "chaos: ${DURATION} s at ${RATE} 4-way exchanges/s, ${CLIENTS} clients, io-backend ${DHCPKIT_IO}, workers ${DHCPKIT_WORKERS}"
echo "answered/expected:  ${done4:-0}/${sent:-0} exchanges completed ($(awk -v a="${done4:-0}" -v b="${sent:-0}" 'BEGIN {printf "%.2f", b ? 100 * a / b : 0}')%)"
echo "wrong answers:      ${wrong:-?} (of ${checked:-0} Advertise/Reply messages checked against the CSV)"
echo "reloads:            ${reload_ok} accepted, ${reload_refused} refused, ${unexpected} not as expected (+ 3 SIGHUP)"
echo "control socket:     ctl stats while 70 idle connections held: ${ctl_during_hold}"
echo "worker restarts:    ${restarts} (after ${kills} worker deaths)"
echo "server alive:       ${alive}; error lines in its log: ${errors}"
echo "RSS:                ${rss_before} MB before, ${rss_after} MB after"
[ "${wrong:-1}" = 0 ] && [ "$unexpected" = 0 ] && [ "$alive" = yes ] && [ "$restarts" = "$kills" ]
