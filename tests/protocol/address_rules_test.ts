/**
 * Protocol rules about the kind of an address (multicast, link-local, loopback, unspecified)
 * read the address, not the first characters of its text: `ff::1` is 0ff::1 (not multicast),
 * `fe8::1` is 0fe8::1 (not link-local), `0:0::1` is the loopback address.
 */

import assert from "node:assert/strict";
import {
  IAAddressOption,
  LQQueryOption,
  NTPMulticastAddressSubOption,
  RelayForwardMessage,
  ServerUnicastOption,
  ValidationError,
} from "../../src/protocol/mod.ts";

Deno.test("address rules: relay link and peer addresses are multicast only in ff00::/8", () => {
  new RelayForwardMessage(0, "ff::1", "fe8::1").validate();
  new RelayForwardMessage(0, "2001:db8::1", "ff::2").validate();
  assert.throws(() => new RelayForwardMessage(0, "FF02::1", "fe80::1").validate(), ValidationError);
  assert.throws(() => new RelayForwardMessage(0, "::", "ff05::1:3").validate(), ValidationError);
  assert.throws(
    () => new RelayForwardMessage(0, "not-an-address", "::").validate(),
    ValidationError,
  );
});

Deno.test("address rules: routable (leases, server unicast) means not unspecified, loopback, link-local or multicast", () => {
  for (const ok of ["fe8::1", "ff::1", "fec0::1", "2001:db8::1", "::2"]) {
    new IAAddressOption(ok, 0, 0).checkLease();
    new ServerUnicastOption(ok).validate();
  }
  for (const bad of ["0:0::1", "0::0", "::", "::1", "FE80::1", "febf::1", "ff02::1", "bad"]) {
    assert.throws(() => new IAAddressOption(bad, 0, 0).checkLease(), ValidationError, bad);
    assert.throws(() => new ServerUnicastOption(bad).validate(), ValidationError, bad);
  }
});

Deno.test("address rules: leasequery link addresses and NTP multicast addresses", () => {
  for (const ok of ["::", "ff::1", "2001:db8::1"]) new LQQueryOption(1, ok).validate();
  for (const bad of ["0:0::1", "::1", "ff02::1", "FF05::1:3", "bad"]) {
    assert.throws(() => new LQQueryOption(1, bad).validate(), ValidationError, bad);
  }
  for (const ok of ["ff05::101", "FF02::101"]) new NTPMulticastAddressSubOption(ok).validate();
  for (const bad of ["ff::101", "2001:db8::1", "bad"]) {
    assert.throws(() => new NTPMulticastAddressSubOption(bad).validate(), ValidationError, bad);
  }
});
