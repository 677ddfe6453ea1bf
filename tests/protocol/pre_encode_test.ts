/** preEncode: a fixed option written from bytes encoded once, and frozen against changes. */

import assert from "node:assert/strict";
import {
  DomainSearchListOption,
  optionToBytes,
  preEncode,
  RecursiveNameServersOption,
  toHex,
} from "../../src/protocol/mod.ts";

Deno.test("preEncode: the same bytes as before, and a change throws instead of being lost", () => {
  const dns = new RecursiveNameServersOption(["2001:db8::53", "2001:db8::153"]);
  const before = toHex(optionToBytes(dns));
  assert.equal(preEncode(dns), dns);
  assert.equal(toHex(optionToBytes(dns)), before);
  assert.equal(toHex(optionToBytes(dns)), before, "written twice");
  assert.throws(() => dns.addresses.push("2001:db8::1"), TypeError);
  assert.throws(() => {
    (dns as { addresses: string[] }).addresses = [];
  }, TypeError);
  assert.equal(Object.keys(dns).includes("write"), false, "not an enumerable field");
  const search = preEncode(new DomainSearchListOption(["example.com"]));
  assert.equal(
    toHex(optionToBytes(search)),
    toHex(optionToBytes(new DomainSearchListOption(["example.com"]))),
  );
  // An option that cannot be encoded stays as it is: its error comes when it is written.
  const bad = preEncode(new RecursiveNameServersOption(["not-an-address"]));
  assert.equal(Object.isFrozen(bad), false);
  assert.throws(() => optionToBytes(bad));
});
