/** Tests for the sip option module. */

import assert from "node:assert/strict";
import {
  ConfirmMessage,
  InformationRequestMessage,
  SIPServersAddressListOption,
  SIPServersDomainNameListOption,
  ValidationError,
} from "../../../src/protocol/mod.ts";
import { bad, clientId, invalid, relayForward, reply, valid, vector } from "./helpers.ts";

// RFC 3319 §3.1: SIP Servers Domain Name List, option 21, names in RFC 1035 §3.1 encoding.
const SIP_NAMES = "0015 001a 03736970076578616d706c6503636f6d00 03736970036e657400";
// RFC 3319 §3.2: SIP Servers IPv6 Address List, option 22, 16 octets per address.
const SIP_ADDRS = "0016 0010 20010db8000000000000000000000005";

Deno.test("sip-servers-domain-name-list: parse and serialise", () => {
  const o = vector(
    SIP_NAMES,
    SIPServersDomainNameListOption,
    new SIPServersDomainNameListOption(["sip.example.com", "sip.net"]),
  );
  assert.deepEqual(o.domainNames, ["sip.example.com", "sip.net"]);
});

Deno.test("sip-servers-domain-name-list: malformed input", () => {
  bad("0015 0004 03736970"); // relative name
  bad("0015 0002 c000"); // compressed
  bad("0015 0006 0373697000"); // length lies
});

Deno.test("sip-servers-domain-name-list: validate", () => {
  assert.throws(() => new SIPServersDomainNameListOption([""]).validate(), ValidationError);
  assert.throws(() => new SIPServersDomainNameListOption(["a b.com"]).validate(), ValidationError);
});

Deno.test("sip-servers-address-list: parse and serialise", () => {
  const o = vector(
    SIP_ADDRS,
    SIPServersAddressListOption,
    new SIPServersAddressListOption(["2001:db8::5"]),
  );
  assert.deepEqual(o.addresses, ["2001:db8::5"]);
});

Deno.test("sip-servers-address-list: malformed input and validate", () => {
  bad("0016 0008 20010db800000000");
  bad("0016 0011 20010db8000000000000000000000005 01");
  assert.throws(() => new SIPServersAddressListOption(["fe80::1"]).validate(), ValidationError);
  assert.throws(() => new SIPServersAddressListOption(["::"]).validate(), ValidationError);
});

Deno.test("sip options: placement", () => {
  const names = new SIPServersDomainNameListOption(["sip.example.com"]);
  const addrs = new SIPServersAddressListOption(["2001:db8::5"]);
  valid(reply(names, addrs));
  valid(new InformationRequestMessage(2, [clientId(), names]));
  invalid(new ConfirmMessage(3, [clientId(), addrs]));
  invalid(relayForward(names));
});
