#!/usr/bin/python3
"""DHCPv6 test client for the end-to-end tests, built on scapy (run with /usr/bin/python3).

Modes (first argument):

  cases      read a JSON list of cases on stdin; for each, build the message with scapy, send it
             and collect the replies; print one JSON object per case on stdout:
             {"name", "replies": [{"src", "sport", "local_port", "hex", "scapy"}]}
             A case: {"name", "dst", "iface" (for multicast/link-local), "from_port" (546|547),
             "message": spec, "raw": hex (instead of message), "timeout", "grace"}.
             A spec: {"type", "xid", "client_mac", "server_mac", "server_hex", "oro", "elapsed",
             "rapid_commit", "client_duid" / "server_duid" (hex, instead of client_mac /
             server_mac),
             "ia_na": [{"iaid", "addresses": [addr]}],
             "ia_pd": [{"iaid", "prefixes": [[prefix, len]]}],
             "relays": [{"hop", "link", "peer", "interface_id", "remote_id" (text),
             "remote_id_hex", "remote_id_enterprise" (default 9), "subscriber_id",
             "client_linklayer": [hwtype, mac], "ero", "source_port"}] (closest to the client
             first)}.
  flood      ADDR PORT SECONDS RATE: send malformed datagrams (random bytes, truncated messages,
             server-to-client types, over-deep relay chains, unknown types) for SECONDS at about
             RATE per second; print {"sent": N}.
  probe      ADDR PORT SECONDS: send relayed Information-requests one after another (each waits
             for its reply, 2 s at most) for SECONDS; print {"sent", "answered", "late"}.

Only ever pointed at the server of a test, in a namespace of the test or on loopback.
"""

import json
import os
import random
import select
import socket
import struct
import sys
import time

from scapy.layers.dhcp6 import (
    DHCP6OptClientId,
    DHCP6OptClientLinkLayerAddr,
    DHCP6OptElapsedTime,
    DHCP6OptIA_NA,
    DHCP6OptIA_PD,
    DHCP6OptIAAddress,
    DHCP6OptIAPrefix,
    DHCP6OptIfaceId,
    DHCP6OptOptReq,
    DHCP6OptRapidCommit,
    DHCP6OptRelayMsg,
    DHCP6OptRemoteID,
    DHCP6OptRelayAgentERO,
    DHCP6OptServerId,
    DHCP6OptSubscriberID,
    DHCP6OptUnknown,
    DHCP6_Advertise,
    DHCP6_Confirm,
    DHCP6_Decline,
    DHCP6_InfoRequest,
    DHCP6_Rebind,
    DHCP6_RelayForward,
    DHCP6_Release,
    DHCP6_Renew,
    DHCP6_Reply,
    DHCP6_Request,
    DHCP6_Solicit,
    DUID_LL,
    dhcp6_cls_by_type,
)
from scapy.packet import NoPayload, Raw
import scapy.layers.dhcp6 as scapy_dhcp6

MESSAGES = {
    "solicit": DHCP6_Solicit,
    "request": DHCP6_Request,
    "confirm": DHCP6_Confirm,
    "renew": DHCP6_Renew,
    "rebind": DHCP6_Rebind,
    "release": DHCP6_Release,
    "decline": DHCP6_Decline,
    "information-request": DHCP6_InfoRequest,
    "advertise": DHCP6_Advertise,
    "reply": DHCP6_Reply,
}


def build(spec):
    """Build the message of a case with scapy's layers."""
    msg = MESSAGES[spec["type"]](trid=spec.get("xid", 0x123456))
    opts = []
    if spec.get("client_duid"):
        raw = bytes.fromhex(spec["client_duid"])
        opts.append(DHCP6OptUnknown(optcode=1, optlen=len(raw), data=raw))
    elif spec.get("client_mac"):
        opts.append(DHCP6OptClientId(duid=DUID_LL(lladdr=spec["client_mac"])))
    if spec.get("server_duid"):
        raw = bytes.fromhex(spec["server_duid"])
        opts.append(DHCP6OptUnknown(optcode=2, optlen=len(raw), data=raw))
    elif spec.get("server_mac"):
        opts.append(DHCP6OptServerId(duid=DUID_LL(lladdr=spec["server_mac"])))
    for ia in spec.get("ia_na", []):
        addrs = [DHCP6OptIAAddress(addr=a, preflft=3000, validlft=4000) for a in ia.get("addresses", [])]
        opts.append(DHCP6OptIA_NA(iaid=ia["iaid"], T1=0, T2=0, ianaopts=addrs))
    for ia in spec.get("ia_pd", []):
        prefixes = [
            DHCP6OptIAPrefix(prefix=p, plen=length, preflft=3000, validlft=4000)
            for p, length in ia.get("prefixes", [])
        ]
        opts.append(DHCP6OptIA_PD(iaid=ia["iaid"], T1=0, T2=0, iapdopt=prefixes))
    if spec.get("oro") is not None:
        opts.append(DHCP6OptOptReq(reqopts=spec["oro"]))
    if spec.get("elapsed", True):
        opts.append(DHCP6OptElapsedTime(elapsedtime=0))
    if spec.get("rapid_commit"):
        opts.append(DHCP6OptRapidCommit())
    for o in opts:
        msg = msg / o
    for relay in spec.get("relays", []):
        fwd = DHCP6_RelayForward(hopcount=relay.get("hop", 0), linkaddr=relay["link"], peeraddr=relay["peer"])
        if relay.get("interface_id"):
            fwd = fwd / DHCP6OptIfaceId(ifaceid=relay["interface_id"].encode())
        if relay.get("remote_id") or relay.get("remote_id_hex"):
            remote = bytes.fromhex(relay["remote_id_hex"]) if relay.get("remote_id_hex") else relay["remote_id"].encode()
            fwd = fwd / DHCP6OptRemoteID(enterprisenum=relay.get("remote_id_enterprise", 9), remoteid=remote)
        if relay.get("subscriber_id"):
            fwd = fwd / DHCP6OptSubscriberID(subscriberid=relay["subscriber_id"].encode())
        if relay.get("client_linklayer"):
            hwtype, mac = relay["client_linklayer"]
            fwd = fwd / DHCP6OptClientLinkLayerAddr(lltype=hwtype, clladdr=mac)
        if relay.get("ero"):
            fwd = fwd / DHCP6OptRelayAgentERO(reqopts=relay["ero"])
        if relay.get("source_port") is not None:
            # Relay Source Port option (RFC 8357, code 135); scapy has no layer for it.
            fwd = fwd / DHCP6OptUnknown(optcode=135, optlen=2, data=struct.pack("!H", relay["source_port"]))
        msg = fwd / DHCP6OptRelayMsg(message=msg)
    return bytes(msg)


def describe(data):
    """scapy's view of a received message: type and option codes, relay layers unwrapped."""
    name = dhcp6_cls_by_type.get(data[0]) if data else None
    cls = getattr(scapy_dhcp6, name, None) if isinstance(name, str) else name
    if cls is None:
        return {"msgtype": data[0] if data else None}
    pkt = cls(data)
    out = {"msgtype": pkt.msgtype, "layer": pkt.__class__.__name__, "options": []}
    layer = pkt.payload
    while layer is not None and not isinstance(layer, (NoPayload, Raw)):
        code = getattr(layer, "optcode", None)
        out["options"].append(code)
        if isinstance(layer, DHCP6OptRelayMsg):
            out["message"] = describe(bytes(layer.message))
            break
        layer = layer.payload
    return out


def open_sockets():
    socks = {}
    for port in (546, 547):
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("::", port))
        socks[port] = s
    return socks


def drain(socks):
    while True:
        ready, _, _ = select.select(list(socks.values()), [], [], 0)
        if not ready:
            return
        for s in ready:
            s.recvfrom(65535)


def run_cases():
    cases = json.load(sys.stdin)
    socks = open_sockets()
    by_fd = {s.fileno(): port for port, s in socks.items()}
    for case in cases:
        drain(socks)
        data = bytes.fromhex(case["raw"]) if case.get("raw") else build(case["message"])
        sock = socks[case.get("from_port", 546)]
        dst = case["dst"]
        scope = socket.if_nametoindex(case["iface"]) if case.get("iface") else 0
        sock.sendto(data, (dst, 547, 0, scope))
        replies = []
        deadline = time.monotonic() + case.get("timeout", 0.6)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            ready, _, _ = select.select(list(socks.values()), [], [], left)
            for s in ready:
                payload, addr = s.recvfrom(65535)
                replies.append({
                    "src": addr[0].split("%")[0],
                    "sport": addr[1],
                    "local_port": by_fd[s.fileno()],
                    "hex": payload.hex(),
                    "scapy": describe(payload),
                })
            if replies:
                # A little longer, to catch duplicates.
                deadline = min(deadline, time.monotonic() + case.get("grace", 0.15))
        print(json.dumps({"name": case["name"], "sent": data.hex(), "replies": replies}), flush=True)


def relay_forward(inner, depth, hop=0):
    msg = inner
    for i in range(depth):
        msg = bytes([12, min(255, hop + i)]) + socket.inet_pton(socket.AF_INET6, "2001:db8::1") + \
            socket.inet_pton(socket.AF_INET6, "fe80::1") + struct.pack("!HH", 9, len(msg)) + msg
    return msg


def malformed(rng):
    """One malformed or unwanted datagram."""
    kind = rng.randrange(8)
    xid = rng.getrandbits(24).to_bytes(3, "big")
    good = bytes([11]) + xid + bytes.fromhex("0001000a00030001020000000099") + bytes.fromhex("000600020017")
    if kind == 0:
        return os.urandom(rng.randrange(0, 200))
    if kind == 1:
        return good[: rng.randrange(1, len(good) - 1)]  # truncated inside an option
    if kind == 2:
        return bytes([rng.choice([2, 7, 10, 13, 15, 17])]) + good[1:]  # server-to-client types
    if kind == 3:
        return relay_forward(good, rng.randrange(33, 60))  # over-deep relay chain
    if kind == 4:
        return bytes([rng.randrange(36, 256)]) + good[1:]  # unknown types
    if kind == 5:
        bad = bytearray(good)
        bad[5] = 0xFF  # option length past the end
        return bytes(bad)
    if kind == 6:
        return relay_forward(good, 1)[: rng.randrange(2, 34)]  # truncated relay header
    # relayed garbage
    return relay_forward(os.urandom(rng.randrange(0, 40)), rng.randrange(1, 4))


def flood(addr, port, seconds, rate):
    rng = random.Random(4242)
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setblocking(False)
    sent = 0
    start = time.monotonic()
    end = start + seconds
    while True:
        now = time.monotonic()
        if now >= end:
            break
        target = int((now - start) * rate)
        while sent < target:
            try:
                s.sendto(malformed(rng), (addr, port))
            except (BlockingIOError, OSError):
                pass
            sent += 1
        time.sleep(0.001)
    print(json.dumps({"sent": sent}), flush=True)


def probe(addr, port, seconds):
    """Send well-formed relayed Information-requests one after another for `seconds`. Like a real
    client (RFC 8415 section 15: IRT 1 s), a request without an answer within a second is sent
    again with the same transaction id, up to twice. Prints sent, answered (at all), first_try
    (answered without retransmission), retransmitted and late (answers to earlier ones)."""
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.bind(("::1", 0))
    local_port = s.getsockname()[1]
    sent = answered = first_try = retransmitted = late = 0
    end = time.monotonic() + seconds
    xid = 1
    while time.monotonic() < end:
        xid = (xid + 1) & 0xFFFFFF
        spec = {
            "type": "information-request",
            "xid": xid,
            "client_mac": "02:00:00:00:%02x:%02x" % ((xid >> 8) & 0xFF, xid & 0xFF),
            "oro": [23, 24],
            "relays": [{"link": "2001:db8::1", "peer": "fe80::2", "interface_id": "probe",
                        "source_port": local_port}],
        }
        packet = build(spec)
        sent += 1
        got = False
        for attempt in range(3):
            if attempt > 0:
                retransmitted += 1
            s.sendto(packet, (addr, port))
            deadline = time.monotonic() + 1.0
            while not got:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                ready, _, _ = select.select([s], [], [], left)
                if not ready:
                    break
                data, _ = s.recvfrom(65535)
                # Relay-reply -> relay-message option -> reply: its xid.
                pos = 34
                inner_xid = None
                while pos + 4 <= len(data):
                    code, length = struct.unpack("!HH", data[pos:pos + 4])
                    if code == 9:
                        inner = data[pos + 4:pos + 4 + length]
                        inner_xid = int.from_bytes(inner[1:4], "big")
                        break
                    pos += 4 + length
                if inner_xid == xid:
                    got = True
                else:
                    late += 1
            if got:
                if attempt == 0:
                    first_try += 1
                break
        if got:
            answered += 1
        time.sleep(0.002)
    print(json.dumps({"sent": sent, "answered": answered, "first_try": first_try,
                      "retransmitted": retransmitted, "late": late}), flush=True)


def main():
    mode = sys.argv[1]
    if mode == "cases":
        run_cases()
    elif mode == "flood":
        flood(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]))
    elif mode == "probe":
        probe(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
