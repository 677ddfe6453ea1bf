/** Tests for IA Address and IA Prefix options made from address bytes. */

import assert from "node:assert/strict";
import {
  describeOption,
  IAAddressOption,
  IAPrefixOption,
  optionToBytes,
  parseIPv6,
  parseMessage,
  parseOptions,
  RelayForwardMessage,
  RelayMessage,
  SerializeError,
  serializeMessage,
  toHex,
} from "../../src/protocol/mod.ts";

Deno.test("ia-address: fromBytes is the same option as one made from the text", () => {
  const bytes = parseIPv6("2001:db8:1:0:2::1f");
  const built = IAAddressOption.fromBytes(bytes, 3000, 4000);
  const text = new IAAddressOption("2001:db8:1:0:2::1f", 3000, 4000);
  assert.equal(built.address, "2001:db8:1:0:2::1f");
  assert.deepEqual(optionToBytes(built), optionToBytes(text));
  assert.deepEqual(describeOption(built), describeOption(text));
  assert.deepEqual(built, text);
});

Deno.test("ia-address: a changed address is written, not the bytes it was made from", () => {
  const built = IAAddressOption.fromBytes(parseIPv6("2001:db8::1"), 1, 2);
  built.address = "2001:db8::2";
  assert.deepEqual(optionToBytes(built), optionToBytes(new IAAddressOption("2001:db8::2", 1, 2)));
  assert.throws(() => IAAddressOption.fromBytes(new Uint8Array(15)), SerializeError);
});

Deno.test("ia-prefix: fromBytes is the same option as one made from the text", () => {
  const built = IAPrefixOption.fromBytes(3000, 4000, 56, parseIPv6("2001:db8:ff00:100::"));
  const text = new IAPrefixOption(3000, 4000, 56, "2001:db8:ff00:100::");
  assert.equal(built.prefix, "2001:db8:ff00:100::");
  assert.deepEqual(optionToBytes(built), optionToBytes(text));
  assert.deepEqual(describeOption(built), describeOption(text));
  built.prefix = "2001:db8::";
  assert.deepEqual(
    optionToBytes(built),
    optionToBytes(new IAPrefixOption(3000, 4000, 56, "2001:db8::")),
  );
  assert.throws(() => IAPrefixOption.fromBytes(0, 0, 56, new Uint8Array(4)), SerializeError);
});

Deno.test("ia-address and relay addresses from the wire: bytes kept, text made on demand", () => {
  const wire = optionToBytes(new IAAddressOption("2001:db8::a", 1, 2));
  const [parsed] = parseOptions(wire, 0, wire.length) as IAAddressOption[];
  assert.deepEqual([...parsed.addressBytes], [...parseIPv6("2001:db8::a")]);
  assert.equal(parsed.address, "2001:db8::a");
  assert.equal(describeOption(parsed).address, "2001:db8::a");
  parsed.address = "2001:db8::b";
  assert.deepEqual([...parsed.addressBytes], [...parseIPv6("2001:db8::b")]);
  const bad = new IAAddressOption("not-an-address");
  assert.throws(() => bad.addressBytes, SerializeError);

  const relay = parseMessage(
    serializeMessage(new RelayForwardMessage(0, "2001:db8::1", "fe80::2", [])),
  ) as RelayForwardMessage;
  assert.equal(relay.linkAddress, "2001:db8::1");
  assert.equal(relay.peerAddress, "fe80::2");
  assert.deepEqual([...relay.peerAddressBytes], [...parseIPv6("fe80::2")]);
  const copy = new RelayForwardMessage(1);
  RelayMessage.copyAddresses(relay, copy);
  assert.equal(copy.linkAddress, "2001:db8::1");
  copy.peerAddress = "fe80::3";
  assert.equal(relay.peerAddress, "fe80::2");
  assert.equal(
    toHex(serializeMessage(copy)),
    toHex(serializeMessage(new RelayForwardMessage(1, "2001:db8::1", "fe80::3", []))),
  );
  assert.throws(() => new RelayForwardMessage(0, new Uint8Array(4)), SerializeError);
});
