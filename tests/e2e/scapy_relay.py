#!/usr/bin/python3
"""A minimal DHCPv6 relay agent for the end-to-end tests, built on scapy (run with /usr/bin/python3).

ISC dhcrelay -6 cannot add a Remote-ID option (RFC 4649; it only has -I for the Interface-ID and
-s for a Subscriber-ID), so the tests that need a relay-added Remote-ID run this one in the relay
namespace instead:

  scapy_relay.py LOWER_IFACE LINK_ADDRESS SERVER_ADDRESS ENTERPRISE REMOTE_ID_HEX

Client messages arriving on LOWER_IFACE (multicast to ff02::1:2 or unicast, port 547) are wrapped
in a Relay-forward (hop count 0, link-address LINK_ADDRESS, peer-address the client's address)
carrying a Remote-ID option (ENTERPRISE, REMOTE_ID_HEX) and sent to SERVER_ADDRESS port 547.
A Relay-reply from the server is unwrapped and its message sent to the peer-address, port 546,
on LOWER_IFACE. One line per relayed message is printed; "ready" once the socket is bound.

Only ever used inside the namespaces of a test; it stops on SIGTERM.
"""

import signal
import socket
import struct
import sys

from scapy.layers.dhcp6 import (
    DHCP6OptRelayMsg,
    DHCP6OptRemoteID,
    DHCP6_RelayForward,
    DHCP6_RelayReply,
)
from scapy.packet import Raw

RELAY_REPL = 13
CLIENT_TYPES = {1, 3, 4, 5, 6, 8, 9, 11}  # Solicit .. Information-request (client to server)


def main():
    lower, link, server, enterprise, remote_hex = sys.argv[1:6]
    remote_id = bytes.fromhex(remote_hex)
    ifindex = socket.if_nametoindex(lower)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("::", 547))
    group = socket.inet_pton(socket.AF_INET6, "ff02::1:2") + struct.pack("@I", ifindex)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, group)
    print("ready", flush=True)

    while True:
        data, addr = sock.recvfrom(65535)
        if not data:
            continue
        src, scope = addr[0].split("%")[0], addr[3]
        if data[0] in CLIENT_TYPES and scope in (0, ifindex):
            fwd = (
                DHCP6_RelayForward(hopcount=0, linkaddr=link, peeraddr=src)
                / DHCP6OptRemoteID(enterprisenum=int(enterprise), remoteid=remote_id)
                / DHCP6OptRelayMsg(message=Raw(data))
            )
            sock.sendto(bytes(fwd), (server, 547))
            print(f"forward type {data[0]} from {src} to {server}", flush=True)
        elif data[0] == RELAY_REPL:
            reply = DHCP6_RelayReply(data)
            inner = bytes(reply[DHCP6OptRelayMsg].message)
            peer = reply.peeraddr
            sock.sendto(inner, (peer, 546, 0, ifindex))
            print(f"reply type {inner[0]} to {peer}", flush=True)
        else:
            print(f"ignored type {data[0]} from {src}", flush=True)


if __name__ == "__main__":
    main()
