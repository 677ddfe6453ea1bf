/** Tests for IPv6 prefixes: construction without copies and the containment tests. */

import assert from "node:assert/strict";
import { IPv6Prefix, parseIPv6, SerializeError } from "../../src/protocol/mod.ts";

Deno.test("prefix: the constructor masks a copy and leaves the bytes given alone", () => {
  const bytes = parseIPv6("2001:db8:1:2::1");
  const prefix = new IPv6Prefix(bytes, 48);
  assert.equal(prefix.toString(), "2001:db8:1::/48");
  assert.notEqual(prefix.bytes, bytes);
  assert.equal(bytes[15], 1);
});

Deno.test("prefix: ofNetwork uses the bytes given, which must be a network address", () => {
  const table = new Uint8Array(40);
  table.set(parseIPv6("2001:db8:ff00::"), 8);
  const view = table.subarray(8, 24);
  const prefix = IPv6Prefix.ofNetwork(view, 40);
  assert.equal(prefix.bytes, view);
  assert.equal(prefix.toString(), "2001:db8:ff00::/40");
  assert.ok(prefix.contains("2001:db8:ff00:1::1"));
  assert.throws(() => IPv6Prefix.ofNetwork(view, 24), SerializeError); // bits past /24 set
  assert.throws(() => IPv6Prefix.ofNetwork(view, 129), SerializeError);
  assert.throws(() => IPv6Prefix.ofNetwork(table.subarray(0, 8), 0), SerializeError);
  assert.equal(
    IPv6Prefix.ofNetwork(parseIPv6("2001:db8:ff80::"), 41).toString(),
    "2001:db8:ff80::/41",
  );
  assert.throws(() => IPv6Prefix.ofNetwork(parseIPv6("2001:db8:ff80::"), 40), SerializeError);
});

Deno.test("prefix: contains takes text or bytes; invalid text throws", () => {
  const prefix = IPv6Prefix.parse("2001:db8::/33");
  assert.ok(prefix.contains("2001:db8:7fff::1"));
  assert.ok(!prefix.contains("2001:db8:8000::1"));
  assert.ok(prefix.contains(parseIPv6("2001:db8::1")));
  assert.throws(() => prefix.contains("not an address"), SerializeError);
});

Deno.test("prefix: overlapsNetwork agrees with overlaps", () => {
  const cases: Array<[string, string, number]> = [
    ["2001:db8::/32", "2001:db8:1::", 48],
    ["2001:db8:1::/48", "2001:db8::", 32],
    ["2001:db8:1::/48", "2001:db8:2::", 48],
    ["2001:db8:1::/48", "2001:db8:1:ff::1", 48], // host bits set in the other network
    ["2001:db8:1::/48", "2001:db8:1:8000::", 49],
    ["::/0", "2001:db8::", 128],
    ["2001:db8::1/128", "2001:db8::", 127],
    ["2001:db8::2/128", "2001:db8::", 127],
  ];
  for (const [text, address, length] of cases) {
    const prefix = IPv6Prefix.parse(text);
    const expected = prefix.overlaps(new IPv6Prefix(parseIPv6(address), length));
    assert.equal(prefix.overlapsNetwork(address, length), expected, `${text} ${address}/${length}`);
    assert.equal(prefix.overlapsNetwork(parseIPv6(address), length), expected);
  }
  assert.throws(() => IPv6Prefix.parse("2001:db8::/32").overlapsNetwork("2001:db8::", 129));
  assert.throws(() => IPv6Prefix.parse("2001:db8::/32").overlapsNetwork("nope", 64));
});
