/** Tests for the sip option module. */

import assert from "node:assert/strict";
import {
  ClientIdOption,
  ConfirmMessage,
  fromHex,
  InformationRequestMessage,
  LinkLayerDuid,
  type Message,
  type Option,
  optionToBytes,
  ParseError,
  parseMessage,
  parseOptions,
  RelayForwardMessage,
  ReplyMessage,
  serializeMessage,
  ServerIdOption,
  SIPServersAddressListOption,
  SIPServersDomainNameListOption,
  ValidationError,
} from "../../../src/protocol/mod.ts";

const b = (hex: string): Uint8Array => fromHex(hex.replace(/\s+/g, ""));

/** Parse one whole option, check it is alone and re-serialises to the same bytes. */
function decode(hex: string): Option {
  const bytes = b(hex);
  const options = parseOptions(bytes, 0, bytes.length);
  assert.equal(options.length, 1);
  assert.deepEqual(optionToBytes(options[0]), bytes);
  return options[0];
}

/** The bytes must be rejected with ParseError, also when followed by bytes outside the region. */
function bad(hex: string): void {
  const bytes = b(hex);
  assert.throws(() => parseOptions(bytes, 0, bytes.length), ParseError);
  const padded = new Uint8Array(bytes.length + 64).fill(0x41);
  padded.set(bytes);
  assert.throws(() => parseOptions(padded, 0, bytes.length), ParseError);
}

/** Every truncation of a valid option (length field fixed up or left lying) parses or throws ParseError. */
function total(hex: string): void {
  const bytes = b(hex);
  for (let k = 1; k < bytes.length; k++) {
    const cut = bytes.slice(0, k);
    assert.throws(() => parseOptions(cut, 0, k), ParseError);
    if (k >= 4) {
      cut[2] = (k - 4) >> 8;
      cut[3] = (k - 4) & 0xff;
      try {
        const [o] = parseOptions(cut, 0, k);
        assert.deepEqual(optionToBytes(o), cut);
      } catch (e) {
        assert.ok(e instanceof ParseError, String(e));
      }
    }
  }
}

const duid = new LinkLayerDuid(1, b("00163e112233"));
const serverId = () => new ServerIdOption(duid);
const clientId = () => new ClientIdOption(duid);

/** Validate `message` and its wire round trip. */
function valid(message: Message): void {
  message.validate();
  const wire = serializeMessage(message);
  const again = parseMessage(wire);
  assert.deepEqual(serializeMessage(again), wire);
  again.validate();
}

// RFC 3319 §3.1: SIP Servers Domain Name List, option 21, names in RFC 1035 §3.1 encoding.
const SIP_NAMES = "0015 001a 03736970076578616d706c6503636f6d00 03736970036e657400";
// RFC 3319 §3.2: SIP Servers IPv6 Address List, option 22, 16 octets per address.
const SIP_ADDRS = "0016 0010 20010db8000000000000000000000005";

Deno.test("sip-servers-domain-name-list: parse and serialise", () => {
  const o = decode(SIP_NAMES) as SIPServersDomainNameListOption;
  assert.ok(o instanceof SIPServersDomainNameListOption);
  assert.deepEqual(o.domainNames, ["sip.example.com", "sip.net"]);
  assert.deepEqual(
    optionToBytes(new SIPServersDomainNameListOption(["sip.example.com", "sip.net"])),
    b(SIP_NAMES),
  );
  o.validate();
  total(SIP_NAMES);
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
  const o = decode(SIP_ADDRS) as SIPServersAddressListOption;
  assert.ok(o instanceof SIPServersAddressListOption);
  assert.deepEqual(o.addresses, ["2001:db8::5"]);
  assert.deepEqual(optionToBytes(new SIPServersAddressListOption(["2001:db8::5"])), b(SIP_ADDRS));
  o.validate();
  total(SIP_ADDRS);
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
  valid(new ReplyMessage(1, [serverId(), clientId(), names, addrs]));
  valid(new InformationRequestMessage(2, [clientId(), names]));
  assert.throws(() => new ConfirmMessage(3, [clientId(), addrs]).validate(), ValidationError);
  assert.throws(
    () => new RelayForwardMessage(0, "2001:db8::1", "fe80::1", [names]).validate(),
    ValidationError,
  );
});
