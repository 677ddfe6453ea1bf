#!/usr/bin/env python3
"""Build DHCPv6 messages with scapy's DHCP6 layers and print them as JSON for
tests/protocol/scapy_crosscheck_test.ts.

Output: a JSON list of {"name", "hex", "expected"}. "expected" mirrors the field names of
dhcpkit's message and option classes (a subset: only the keys given are compared); byte
values are lower-case hex, addresses IPv6 text.

scapy 2.5 has no layers for Leasequery (message 14/15), OPTION_LQ_QUERY (44), OPTION_CLIENT_DATA
(45), OPTION_CLT_TIME (46) or OPTION_NTP_SERVER (56); those are built with the generic DHCP6 header
and DHCP6OptUnknown around sub-options that scapy does encode (IA Address, ORO, Client ID, ...).
"""

import json
import socket
import struct
import sys

from scapy.layers.dhcp6 import (
    DHCP6,
    DHCP6_Advertise,
    DHCP6_InfoRequest,
    DHCP6_Reconf,
    DHCP6_RelayForward,
    DHCP6_RelayReply,
    DHCP6_Reply,
    DHCP6_Request,
    DHCP6_Solicit,
    DHCP6OptAuth,
    DHCP6OptClientFQDN,
    DHCP6OptClientId,
    DHCP6OptClientLinkLayerAddr,
    DHCP6OptDNSDomains,
    DHCP6OptDNSServers,
    DHCP6OptElapsedTime,
    DHCP6OptIA_NA,
    DHCP6OptIA_PD,
    DHCP6OptIA_TA,
    DHCP6OptIAAddress,
    DHCP6OptIAPrefix,
    DHCP6OptIfaceId,
    DHCP6OptInfoRefreshTime,
    DHCP6OptNewPOSIXTimeZone,
    DHCP6OptNewTZDBTimeZone,
    DHCP6OptOptReq,
    DHCP6OptPref,
    DHCP6OptRapidCommit,
    DHCP6OptReconfAccept,
    DHCP6OptReconfMsg,
    DHCP6OptRelayAgentERO,
    DHCP6OptRelayMsg,
    DHCP6OptRemoteID,
    DHCP6OptServerId,
    DHCP6OptServerUnicast,
    DHCP6OptSIPDomains,
    DHCP6OptSIPServers,
    DHCP6OptSNTPServers,
    DHCP6OptStatusCode,
    DHCP6OptSubscriberID,
    DHCP6OptUnknown,
    DHCP6OptUserClass,
    DHCP6OptVendorClass,
    DHCP6OptVendorSpecificInfo,
    DUID_EN,
    DUID_LL,
    DUID_LLT,
    DUID_UUID,
    USER_CLASS_DATA,
    VENDOR_CLASS_DATA,
    VENDOR_SPECIFIC_OPTION,
)

MAC = "00:1b:21:3c:4d:5e"
MAC_HEX = MAC.replace(":", "")
SERVER_MAC = "52:54:00:12:34:56"


def hexof(b):
    return bytes(b).hex()


def duid_ll(mac=MAC):
    return DUID_LL(hwtype=1, lladdr=mac)


def exp_duid_ll(mac=MAC):
    return {"type": 3, "hardwareType": 1, "linkLayerAddress": mac.replace(":", "")}


def solicit_options():
    return (
        DHCP6OptClientId(duid=duid_ll())
        / DHCP6OptIA_NA(iaid=0x0A0B0C0D, T1=0, T2=0)
        / DHCP6OptIA_PD(
            iaid=0x01020304,
            T1=0,
            T2=0,
            iapdopt=[DHCP6OptIAPrefix(preflft=0, validlft=0, plen=56, prefix="::")],
        )
        / DHCP6OptOptReq(reqopts=[23, 24, 31, 56])
        / DHCP6OptElapsedTime(elapsedtime=150)
        / DHCP6OptRapidCommit()
        / DHCP6OptReconfAccept()
        / DHCP6OptVendorClass(enterprisenum=4491, vcdata=[VENDOR_CLASS_DATA(data=b"docsis3.0")])
        / DHCP6OptUserClass(userclassdata=[USER_CLASS_DATA(data=b"class-a"), USER_CLASS_DATA(data=b"b")])
    )


SOLICIT_EXPECTED_OPTIONS = [
    {"code": 1, "duid": exp_duid_ll()},
    {"code": 3, "iaid": 0x0A0B0C0D, "t1": 0, "t2": 0, "options": []},
    {
        "code": 25,
        "iaid": 0x01020304,
        "options": [{"code": 26, "prefixLength": 56, "prefix": "::", "validLifetime": 0}],
    },
    {"code": 6, "requestedOptions": [23, 24, 31, 56]},
    {"code": 8, "elapsedTime": 150},
    {"code": 14},
    {"code": 20},
    {"code": 16, "enterpriseNumber": 4491, "vendorClasses": [b"docsis3.0".hex()]},
    {"code": 15, "userClasses": [b"class-a".hex(), b"b".hex()]},
]


def reply_options():
    return (
        DHCP6OptClientId(duid=duid_ll())
        / DHCP6OptServerId(duid=DUID_LLT(hwtype=1, timeval=0x2A3B4C5D, lladdr=SERVER_MAC))
        / DHCP6OptIA_NA(
            iaid=0x0A0B0C0D,
            T1=3600,
            T2=5760,
            ianaopts=[DHCP6OptIAAddress(addr="2001:db8::1:100", preflft=7200, validlft=10800)],
        )
        / DHCP6OptIA_PD(
            iaid=0x01020304,
            T1=3600,
            T2=5760,
            iapdopt=[
                DHCP6OptIAPrefix(preflft=7200, validlft=10800, plen=56, prefix="2001:db8:ff00:1200::")
            ],
        )
        / DHCP6OptDNSServers(dnsservers=["2001:db8::53", "2001:db8::35"])
        / DHCP6OptDNSDomains(dnsdomains=["example.com.", "corp.example.com."])
        / DHCP6OptSNTPServers(sntpservers=["2001:db8::123"])
        / DHCP6OptStatusCode(statuscode=0, statusmsg="All addresses assigned")
    )


REPLY_EXPECTED_OPTIONS = [
    {"code": 1, "duid": exp_duid_ll()},
    {
        "code": 2,
        "duid": {
            "type": 1,
            "hardwareType": 1,
            "time": 0x2A3B4C5D,
            "linkLayerAddress": SERVER_MAC.replace(":", ""),
        },
    },
    {
        "code": 3,
        "iaid": 0x0A0B0C0D,
        "t1": 3600,
        "t2": 5760,
        "options": [
            {
                "code": 5,
                "address": "2001:db8::1:100",
                "preferredLifetime": 7200,
                "validLifetime": 10800,
            }
        ],
    },
    {
        "code": 25,
        "iaid": 0x01020304,
        "t1": 3600,
        "t2": 5760,
        "options": [
            {
                "code": 26,
                "preferredLifetime": 7200,
                "validLifetime": 10800,
                "prefixLength": 56,
                "prefix": "2001:db8:ff00:1200::",
            }
        ],
    },
    {"code": 23, "addresses": ["2001:db8::53", "2001:db8::35"]},
    {"code": 24, "domainNames": ["example.com", "corp.example.com"]},
    {"code": 31, "addresses": ["2001:db8::123"]},
    {"code": 13, "statusCode": 0, "statusMessage": "All addresses assigned"},
]


def build():
    cases = []

    def add(name, pkt, expected):
        cases.append({"name": name, "hex": hexof(pkt), "expected": expected})

    add(
        "solicit",
        DHCP6_Solicit(trid=0x3E5F01) / solicit_options(),
        {"type": 1, "transactionId": 0x3E5F01, "options": SOLICIT_EXPECTED_OPTIONS},
    )
    add(
        "reply",
        DHCP6_Reply(trid=0x3E5F01) / reply_options(),
        {"type": 7, "transactionId": 0x3E5F01, "options": REPLY_EXPECTED_OPTIONS},
    )
    add(
        "advertise_pref_unicast",
        DHCP6_Advertise(trid=0x000102)
        / DHCP6OptClientId(duid=DUID_EN(enterprisenum=9, id=b"\x0c\xc0\x84\xd3\x03\x00"))
        / DHCP6OptServerId(duid=DUID_UUID(uuid="00112233-4455-6677-8899-aabbccddeeff"))
        / DHCP6OptPref(prefval=255)
        / DHCP6OptServerUnicast(srvaddr="2001:db8::547")
        / DHCP6OptIA_TA(iaid=7, iataopts=[DHCP6OptIAAddress(addr="2001:db8::7:7", preflft=100, validlft=200)])
        / DHCP6OptVendorSpecificInfo(
            enterprisenum=4491, vso=[VENDOR_SPECIFIC_OPTION(optcode=1, optdata=b"\x00\x20")]
        ),
        {
            "type": 2,
            "transactionId": 0x000102,
            "options": [
                {"code": 1, "duid": {"type": 2, "enterpriseNumber": 9, "identifier": "0cc084d30300"}},
                {"code": 2, "duid": {"type": 4, "uuid": "00112233445566778899aabbccddeeff"}},
                {"code": 7, "preference": 255},
                {"code": 12, "serverAddress": "2001:db8::547"},
                {
                    "code": 4,
                    "iaid": 7,
                    "options": [{"code": 5, "address": "2001:db8::7:7", "validLifetime": 200}],
                },
                {
                    "code": 17,
                    "enterpriseNumber": 4491,
                    "options": [{"code": 1, "data": "0020"}],
                },
            ],
        },
    )
    add(
        "request_fqdn",
        DHCP6_Request(trid=0xABCDEF)
        / DHCP6OptClientId(duid=DUID_LLT(hwtype=1, timeval=1, lladdr=MAC))
        / DHCP6OptServerId(duid=duid_ll(SERVER_MAC))
        / DHCP6OptIA_NA(iaid=1, T1=0, T2=0, ianaopts=[DHCP6OptIAAddress(addr="2001:db8::1:100")])
        / DHCP6OptClientFQDN(flags=1, fqdn="host1.example.com.")
        / DHCP6OptElapsedTime(elapsedtime=0),
        {
            "type": 3,
            "transactionId": 0xABCDEF,
            "options": [
                {"code": 1, "duid": {"type": 1, "time": 1, "linkLayerAddress": MAC_HEX}},
                {"code": 2, "duid": exp_duid_ll(SERVER_MAC)},
                {"code": 3, "iaid": 1, "options": [{"code": 5, "address": "2001:db8::1:100"}]},
                {"code": 39, "flags": 1, "domainName": "host1.example.com", "absolute": True},
                {"code": 8, "elapsedTime": 0},
            ],
        },
    )
    add(
        "information_request",
        DHCP6_InfoRequest(trid=0x0BADF0)
        / DHCP6OptClientId(duid=duid_ll())
        / DHCP6OptOptReq(reqopts=[21, 22, 23, 24, 31, 32, 41, 42, 56])
        / DHCP6OptElapsedTime(elapsedtime=0),
        {
            "type": 11,
            "transactionId": 0x0BADF0,
            "options": [
                {"code": 1, "duid": exp_duid_ll()},
                {"code": 6, "requestedOptions": [21, 22, 23, 24, 31, 32, 41, 42, 56]},
                {"code": 8, "elapsedTime": 0},
            ],
        },
    )
    ntp_data = (
        struct.pack("!HH", 1, 16)
        + socket.inet_pton(socket.AF_INET6, "2001:db8::123")
        + struct.pack("!HH", 3, 17)
        + b"\x03ntp\x07example\x03com\x00"
    )
    add(
        "reply_information",
        DHCP6_Reply(trid=0x0BADF0)
        / DHCP6OptClientId(duid=duid_ll())
        / DHCP6OptServerId(duid=duid_ll(SERVER_MAC))
        / DHCP6OptSIPDomains(sipdomains=["sip.example.com."])
        / DHCP6OptSIPServers(sipservers=["2001:db8::5060"])
        / DHCP6OptDNSServers(dnsservers=["2001:db8::53"])
        / DHCP6OptDNSDomains(dnsdomains=["example.com."])
        / DHCP6OptInfoRefreshTime(reftime=86400)
        / DHCP6OptNewPOSIXTimeZone(optdata="CET-1CEST,M3.5.0,M10.5.0/3")
        / DHCP6OptNewTZDBTimeZone(optdata="Europe/Amsterdam")
        / DHCP6OptUnknown(optcode=56, data=ntp_data),
        {
            "type": 7,
            "options": [
                {"code": 1},
                {"code": 2},
                {"code": 21, "domainNames": ["sip.example.com"]},
                {"code": 22, "addresses": ["2001:db8::5060"]},
                {"code": 23, "addresses": ["2001:db8::53"]},
                {"code": 24, "domainNames": ["example.com"]},
                {"code": 32, "data": "00015180"},
                {"code": 41, "timezone": "CET-1CEST,M3.5.0,M10.5.0/3"},
                {"code": 42, "timezone": "Europe/Amsterdam"},
                {
                    "code": 56,
                    "options": [
                        {"code": 1, "address": "2001:db8::123"},
                        {"code": 3, "fqdn": "ntp.example.com"},
                    ],
                },
            ],
        },
    )
    relayed = DHCP6_Solicit(trid=0x8C2F41) / solicit_options()
    add(
        "relay_forward_solicit",
        DHCP6_RelayForward(hopcount=0, linkaddr="2001:db8:1:2::1", peeraddr="fe80::21b:21ff:fe3c:4d5e")
        / DHCP6OptIfaceId(ifaceid=b"Gi0/0/1.100")
        / DHCP6OptRemoteID(enterprisenum=9, remoteid=b"CPE-000123")
        / DHCP6OptSubscriberID(subscriberid=b"subscriber-42")
        / DHCP6OptClientLinkLayerAddr(lltype=1, clladdr=MAC)
        / DHCP6OptRelayAgentERO(reqopts=[18, 37])
        / DHCP6OptRelayMsg(message=relayed),
        {
            "type": 12,
            "hopCount": 0,
            "linkAddress": "2001:db8:1:2::1",
            "peerAddress": "fe80::21b:21ff:fe3c:4d5e",
            "options": [
                {"code": 18, "data": b"Gi0/0/1.100".hex()},
                {"code": 37, "enterpriseNumber": 9, "remoteId": b"CPE-000123".hex()},
                {"code": 38, "data": b"subscriber-42".hex()},
                {"code": 79, "linkLayerType": 1, "linkLayerAddress": MAC_HEX},
                {"code": 43, "requestedOptions": [18, 37]},
                {
                    "code": 9,
                    "message": {
                        "type": 1,
                        "transactionId": 0x8C2F41,
                        "options": SOLICIT_EXPECTED_OPTIONS,
                    },
                },
            ],
        },
    )
    add(
        "relay_reply_nested",
        DHCP6_RelayReply(hopcount=1, linkaddr="2001:db8:2::1", peeraddr="fe80::1")
        / DHCP6OptIfaceId(ifaceid=b"\x00\x00\x00\x07")
        / DHCP6OptRelayMsg(
            message=DHCP6_RelayReply(hopcount=0, linkaddr="::", peeraddr="fe80::21b:21ff:fe3c:4d5e")
            / DHCP6OptIfaceId(ifaceid=b"eth0")
            / DHCP6OptRelayMsg(message=DHCP6_Reply(trid=0x3E5F01) / reply_options())
        ),
        {
            "type": 13,
            "hopCount": 1,
            "linkAddress": "2001:db8:2::1",
            "peerAddress": "fe80::1",
            "options": [
                {"code": 18, "data": "00000007"},
                {
                    "code": 9,
                    "message": {
                        "type": 13,
                        "hopCount": 0,
                        "linkAddress": "::",
                        "options": [
                            {"code": 18, "data": b"eth0".hex()},
                            {
                                "code": 9,
                                "message": {
                                    "type": 7,
                                    "transactionId": 0x3E5F01,
                                    "options": REPLY_EXPECTED_OPTIONS,
                                },
                            },
                        ],
                    },
                },
            ],
        },
    )
    add(
        "reply_status_noaddrsavail",
        DHCP6_Reply(trid=0x3E5F03)
        / DHCP6OptClientId(duid=duid_ll())
        / DHCP6OptServerId(duid=duid_ll(SERVER_MAC))
        / DHCP6OptIA_NA(
            iaid=0x0A0B0C0D,
            T1=0,
            T2=0,
            ianaopts=[DHCP6OptStatusCode(statuscode=2, statusmsg="no addresses available")],
        )
        / DHCP6OptStatusCode(statuscode=6, statusmsg="no prefixes"),
        {
            "type": 7,
            "options": [
                {"code": 1},
                {"code": 2},
                {
                    "code": 3,
                    "options": [
                        {"code": 13, "statusCode": 2, "statusMessage": "no addresses available"}
                    ],
                },
                {"code": 13, "statusCode": 6, "statusMessage": "no prefixes"},
            ],
        },
    )
    add(
        "reconfigure_auth",
        DHCP6_Reconf(trid=0)
        / DHCP6OptServerId(duid=duid_ll(SERVER_MAC))
        / DHCP6OptClientId(duid=duid_ll())
        / DHCP6OptReconfMsg(msgtype=5)
        / DHCP6OptAuth(proto=3, alg=1, rdm=0, replay=b"\x00" * 7 + b"\x07", authinfo=b"\x02" + b"\xa5" * 16),
        {
            "type": 10,
            "options": [
                {"code": 2},
                {"code": 1},
                {"code": 19, "messageType": 5},
                {
                    "code": 11,
                    "protocol": 3,
                    "algorithm": 1,
                    "rdm": 0,
                    "replayDetection": "0000000000000007",
                    "authInfo": "02" + "a5" * 16,
                },
            ],
        },
    )
    # Leasequery (RFC 5007): scapy 2.5 has no layers for it; generic header + DHCP6OptUnknown
    # around scapy-encoded sub-options.
    lq_query = (
        b"\x01"
        + socket.inet_pton(socket.AF_INET6, "2001:db8::1")
        + bytes(DHCP6OptIAAddress(addr="2001:db8::1:100", preflft=0, validlft=0))
        + bytes(DHCP6OptOptReq(reqopts=[46, 47, 48]))
    )
    add(
        "leasequery",
        DHCP6(msgtype=14, trid=0x5A5A5A)
        / DHCP6OptClientId(duid=duid_ll(SERVER_MAC))
        / DHCP6OptUnknown(optcode=44, data=lq_query),
        {
            "type": 14,
            "transactionId": 0x5A5A5A,
            "options": [
                {"code": 1, "duid": exp_duid_ll(SERVER_MAC)},
                {
                    "code": 44,
                    "queryType": 1,
                    "linkAddress": "2001:db8::1",
                    "options": [
                        {"code": 5, "address": "2001:db8::1:100"},
                        {"code": 6, "requestedOptions": [46, 47, 48]},
                    ],
                },
            ],
        },
    )
    client_data = (
        bytes(DHCP6OptClientId(duid=duid_ll()))
        + bytes(DHCP6OptIAAddress(addr="2001:db8::1:100", preflft=7200, validlft=10800))
        + struct.pack("!HHI", 46, 4, 600)
    )
    add(
        "leasequery_reply",
        DHCP6(msgtype=15, trid=0x5A5A5A)
        / DHCP6OptClientId(duid=duid_ll(SERVER_MAC))
        / DHCP6OptServerId(duid=duid_ll())
        / DHCP6OptUnknown(optcode=45, data=client_data)
        / DHCP6OptStatusCode(statuscode=0, statusmsg=""),
        {
            "type": 15,
            "transactionId": 0x5A5A5A,
            "options": [
                {"code": 1},
                {"code": 2},
                {
                    "code": 45,
                    "options": [
                        {"code": 1, "duid": exp_duid_ll()},
                        {"code": 5, "address": "2001:db8::1:100", "preferredLifetime": 7200},
                        {"code": 46, "cltTime": 600},
                    ],
                },
                {"code": 13, "statusCode": 0, "statusMessage": ""},
            ],
        },
    )
    return cases


if __name__ == "__main__":
    json.dump(build(), sys.stdout, indent=1)
    sys.stdout.write("\n")
