/** Tests for the RFC 6603 prefix exclude option. */

import assert from "node:assert/strict";
import {
  IAPDOption,
  IAPrefixOption,
  optionToBytes,
  PDExcludeOption,
  ValidationError,
} from "../../../src/protocol/mod.ts";
import { b, bad, decode, invalid, reply, valid, vector } from "./helpers.ts";

// RFC 6603 §4.2: prefix-len(1) then the subnet ID bits after the delegated prefix, left-aligned.
// Delegated 2001:db8:1::/48, excluded 2001:db8:1:1::/64: 16 bits, subnet ID 0001.
const PD_EXCLUDE = "0043 0003 40 0001";
// Delegated 2001:db8:1230::/44, excluded 2001:db8:1234:5670::/60: bits 44..59 = 0x4567.
const PD_EXCLUDE_UNALIGNED = "0043 0003 3c 4567";
// Delegated 2001:db8:1::/48, excluded 2001:db8:1:c000::/50: 2 bits "11", padded to c0.
const PD_EXCLUDE_SHORT = "0043 0002 32 c0";

Deno.test("pd-exclude: parse and serialise", () => {
  const o = vector(PD_EXCLUDE, PDExcludeOption, new PDExcludeOption(64, b("0001")));
  assert.equal(o.prefixLength, 64);
  assert.deepEqual(o.subnetId, b("0001"));
  const full = decode("0043 0011 80 " + "ab".repeat(16)) as PDExcludeOption;
  assert.equal(full.subnetId.length, 16);
});

Deno.test("pd-exclude: malformed input", () => {
  bad("0043 0001 40"); // no subnet ID
  bad("0043 0012 80 " + "00".repeat(17)); // subnet ID longer than 16 octets
  bad("0043 0004 40 0001"); // length lies
  bad("0043 0000");
});

Deno.test("pd-exclude: excluded prefix from the delegated prefix", () => {
  const a = decode(PD_EXCLUDE) as PDExcludeOption;
  assert.equal(a.excludedPrefix("2001:db8:1::", 48), "2001:db8:1:1::");
  const u = decode(PD_EXCLUDE_UNALIGNED) as PDExcludeOption;
  assert.equal(u.excludedPrefix("2001:db8:1230::", 44), "2001:db8:1234:5670::");
  const s = decode(PD_EXCLUDE_SHORT) as PDExcludeOption;
  assert.equal(s.excludedPrefix("2001:db8:1::", 48), "2001:db8:1:c000::");
  // Host bits of the delegated prefix beyond its length are ignored.
  assert.equal(a.excludedPrefix("2001:db8:1:ffff::", 48), "2001:db8:1:1::");
});

Deno.test("pd-exclude: build from prefixes", () => {
  assert.deepEqual(
    optionToBytes(PDExcludeOption.fromPrefixes("2001:db8:1::", 48, "2001:db8:1:1::", 64)),
    b(PD_EXCLUDE),
  );
  assert.deepEqual(
    optionToBytes(PDExcludeOption.fromPrefixes("2001:db8:1230::", 44, "2001:db8:1234:5670::", 60)),
    b(PD_EXCLUDE_UNALIGNED),
  );
  assert.deepEqual(
    optionToBytes(PDExcludeOption.fromPrefixes("2001:db8:1::", 48, "2001:db8:1:c000::", 50)),
    b(PD_EXCLUDE_SHORT),
  );
  const o = PDExcludeOption.fromPrefixes("2001:db8::", 56, "2001:db8:0:ab::", 64);
  assert.equal(o.excludedPrefix("2001:db8::", 56), "2001:db8:0:ab::");
  assert.throws(
    () => PDExcludeOption.fromPrefixes("2001:db8:1::", 48, "2001:db8:2::", 64),
    ValidationError,
  );
  assert.throws(
    () => PDExcludeOption.fromPrefixes("2001:db8:1::", 48, "2001:db8:1::", 48),
    ValidationError,
  );
});

Deno.test("pd-exclude: validate and delegated-length checks", () => {
  assert.throws(() => new PDExcludeOption(0, b("00")).validate(), ValidationError);
  assert.throws(() => new PDExcludeOption(129, b("00")).validate(), ValidationError);
  assert.throws(() => new PDExcludeOption(64, new Uint8Array(0)).validate(), ValidationError);
  assert.throws(() => new PDExcludeOption(8, b("0000")).validate(), ValidationError);
  new PDExcludeOption(128, new Uint8Array(16)).validate();
  const o = decode(PD_EXCLUDE) as PDExcludeOption;
  o.checkDelegatedLength(48);
  assert.throws(() => o.checkDelegatedLength(64), ValidationError); // not longer
  assert.throws(() => o.checkDelegatedLength(60), ValidationError); // 4 bits need 1 octet
  assert.throws(() => o.excludedPrefix("2001:db8::", 32), ValidationError); // 32 bits need 4
  const padded = new PDExcludeOption(50, b("c1"));
  assert.throws(() => padded.checkDelegatedLength(48), ValidationError);
});

Deno.test("pd-exclude: placement inside IA prefix only (decision 21)", () => {
  const ex = new PDExcludeOption(64, b("0001"));
  const prefix = (...o: PDExcludeOption[]) => new IAPrefixOption(3600, 7200, 48, "2001:db8:1::", o);
  valid(reply(new IAPDOption(1, 0, 0, [prefix(ex)])));
  invalid(reply(new IAPDOption(1, 0, 0, [prefix(ex, ex)])));
  invalid(reply(new IAPDOption(1, 0, 0, [prefix(), ex])));
  invalid(reply(ex));
});
