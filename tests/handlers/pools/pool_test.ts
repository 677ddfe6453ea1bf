/** Pool index arithmetic: addresses and prefixes by index, and the subnet-router anycast rule. */

import assert from "node:assert/strict";
import fc from "fast-check";
import { Pool } from "../../../src/handlers/pools/pool.ts";
import { formatIPv6, IPv6Prefix } from "../../../src/protocol/mod.ts";

function pool(type: "na" | "pd", prefix: string, delegatedLength = 128): Pool {
  return new Pool({
    type,
    prefix: IPv6Prefix.parse(prefix),
    delegatedLength,
    preferredLifetime: 1,
    validLifetime: 2,
    declineProbation: 3,
  });
}

Deno.test("an address pool never hands out the subnet-router anycast address", () => {
  const p = pool("na", "2001:db8::/120");
  assert.equal(p.first, 1);
  assert.equal(p.total, 255);
  assert.equal(p.indexOf("2001:db8::"), undefined);
  assert.equal(p.indexOf("2001:db8::1"), 1);
  assert.equal(p.resourceAt(255), "2001:db8::ff");
  const q = pool("na", "2001:db8::100/120");
  assert.equal(q.first, 0);
  assert.equal(q.total, 256);
  // Prefix pools have no such address.
  assert.equal(pool("pd", "2001:db8::/40", 56).first, 0);
});

Deno.test("prefix pool indexes: network addresses of delegated-length, host bits refused", () => {
  const p = pool("pd", "2001:db8:100::/40", 56);
  assert.equal(p.size, 65536);
  assert.equal(p.resourceAt(3), "2001:db8:100:300::");
  assert.equal(p.indexOf("2001:db8:100:300::", 56), 3);
  assert.equal(p.indexOf("2001:db8:100:300::", 48), undefined);
  assert.equal(p.indexOf("2001:db8:100:301::", 56), undefined);
  assert.equal(p.indexOf("2001:db8:200::", 56), undefined);
  // A /64 address pool uses its first 2^52 slots.
  assert.equal(pool("na", "2001:db8::/64").size, 2 ** 52);
});

Deno.test("indexOf inverts resourceAt, and startFor stays inside the pool", () => {
  const p = pool("pd", "2001:db8:8000::/34", 56);
  const a = pool("na", "2001:db8:1:0:1::/80");
  fc.assert(fc.property(fc.integer({ min: 0, max: p.size - 1 }), (i) => {
    assert.equal(p.indexOf(p.resourceAt(i), 56), i);
  }));
  fc.assert(fc.property(fc.integer({ min: a.first, max: a.size - 1 }), (i) => {
    assert.equal(a.indexOf(a.resourceAt(i)), i);
  }));
  fc.assert(fc.property(fc.string(), fc.nat(), (duid, iaid) => {
    const s = a.startFor(duid, iaid);
    assert.ok(s >= a.first && s < a.size && Number.isInteger(s));
  }));
});

Deno.test("bytesAt is the prefix plus the index shifted to the delegated length (checked with BigInt)", () => {
  const big = (b: Uint8Array) => b.reduce((v, x) => (v << 8n) | BigInt(x), 0n);
  fc.assert(fc.property(
    fc.uint8Array({ minLength: 16, maxLength: 16 }),
    fc.integer({ min: 0, max: 120 }),
    fc.integer({ min: 1, max: 128 }),
    fc.double({ min: 0, max: 1, noNaN: true }),
    (bytes, length, width, at) => {
      const delegated = Math.min(128, length + width);
      const masked = bytes.map((b, i) => {
        const keep = Math.max(0, Math.min(8, length - 8 * i));
        return b & (0xff << (8 - keep)) & 0xff;
      });
      const p = pool("pd", `${formatIPv6(masked)}/${length}`, delegated);
      const prefix = p.spec.prefix;
      const index = Math.min(p.size - 1, Math.floor(at * p.size));
      const want = big(prefix.bytes) + (BigInt(index) << BigInt(128 - delegated));
      assert.equal(big(p.bytesAt(index)), want);
    },
  ));
});
