/**
 * The IPv6 address module: RFC 5952 text out, strict RFC 4291 text in, zones on request.
 *
 * Two independent readers serve as oracles: Node's `net.isIPv6` (which text is an address) and
 * the WHATWG URL host parser (which bytes it is, printed per RFC 5952 but without the mixed
 * notation for IPv4-mapped addresses).
 */

import assert from "node:assert/strict";
import { isIPv6 as nodeIsIPv6 } from "node:net";
import fc from "fast-check";
import {
  addressKind,
  addressKindOfText,
  formatIPv6,
  isIPv6,
  isLinkScoped,
  normalizeIPv6,
  parseIPv6,
  parseIPv6Into,
  parseScopedIPv6,
  SerializeError,
} from "../../src/protocol/mod.ts";
import { addressBytes, addressText, groupsToBytes, spelledAddress } from "./ipv6_arbitraries.ts";

/** The WHATWG URL parser's reading of `text` as RFC 5952 text, or undefined when it refuses. */
function urlReading(text: string): string | undefined {
  try {
    return new URL(`http://[${text}]/`).hostname.slice(1, -1);
  } catch {
    return undefined;
  }
}

/** True for ::ffff:0:0/96, the range RFC 5952 §5 writes as `::ffff:a.b.c.d`. */
function isMapped(b: Uint8Array): boolean {
  return b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
}

/** The canonical text of `b` according to the URL parser (plus §5's mixed notation). */
function oracleText(b: Uint8Array): string {
  if (isMapped(b)) return `::ffff:${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  const groups = Array.from({ length: 8 }, (_, i) => ((b[2 * i] << 8) | b[2 * i + 1]).toString(16));
  return urlReading(groups.join(":"))!;
}

Deno.test("ipv6: RFC 5952 §4 and §2 examples are written in the recommended form", () => {
  const cases: [string[], string][] = [
    // §4.1 leading zeros, §2.1
    [["2001:0db8::0001", "2001:db8::001", "2001:db8::01"], "2001:db8::1"],
    [[
      "2001:db8:aaaa:bbbb:cccc:dddd:eeee:0001",
      "2001:db8:aaaa:bbbb:cccc:dddd:eeee:001",
      "2001:db8:aaaa:bbbb:cccc:dddd:eeee:01",
    ], "2001:db8:aaaa:bbbb:cccc:dddd:eeee:1"],
    // §4.2.1 shorten as much as possible
    [["2001:db8:0:0:0:0:2:1", "2001:db8::0:2:1"], "2001:db8::2:1"],
    [["2001:db8::0:1", "2001:db8:0:0:0::1", "2001:db8:0:0::1", "2001:db8:0::1"], "2001:db8::1"],
    // §4.2.2 no `::` for a single zero group
    [["2001:db8:0:1:1:1:1:1", "2001:db8::1:1:1:1:1"], "2001:db8:0:1:1:1:1:1"],
    [["2001:db8:aaaa:bbbb:cccc:dddd::1"], "2001:db8:aaaa:bbbb:cccc:dddd:0:1"],
    // §4.2.3 the longest run; the first of equal runs
    [["2001:0:0:1:0:0:0:1"], "2001:0:0:1::1"],
    [["2001:db8:0:0:1:0:0:1"], "2001:db8::1:0:0:1"],
    [["2001:db8:0:0:aaaa::1", "2001:db8::aaaa:0:0:1"], "2001:db8::aaaa:0:0:1"],
    // §2 the many spellings of one address
    [[
      "2001:db8:0:0:1:0:0:1",
      "2001:0db8:0:0:1:0:0:1",
      "2001:db8::1:0:0:1",
      "2001:db8::0:1:0:0:1",
      "2001:0db8::1:0:0:1",
      "2001:db8:0:0:1::1",
      "2001:db8:0000:0:1::1",
      "2001:DB8:0:0:1::1",
    ], "2001:db8::1:0:0:1"],
    // §4.3 lower case, §2.3
    [["2001:DB8::1"], "2001:db8::1"],
    [
      ["2001:db8:aaaa:bbbb:cccc:dddd:eeee:AAAA", "2001:db8:aaaa:bbbb:cccc:dddd:eeee:AaAa"],
      "2001:db8:aaaa:bbbb:cccc:dddd:eeee:aaaa",
    ],
    // §5 IPv4-mapped addresses in mixed notation; other embedded IPv4 tails in hex
    [["::ffff:192.0.2.1", "::ffff:c000:201", "0:0:0:0:0:FFFF:192.0.2.1"], "::ffff:192.0.2.1"],
    [["::1.2.3.4", "::102:304", "::0:102:304", "0:0::1.2.3.4"], "::102:304"],
    [["64:ff9b::192.0.2.33"], "64:ff9b::c000:221"],
    [["::", "0:0:0:0:0:0:0:0", "::0.0.0.0"], "::"],
    [["::1", "0:0:0:0:0:0:0:1", "::0.0.0.1"], "::1"],
    [["1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"], "1:2:3:4:5:6:7:0"],
  ];
  for (const [inputs, canonical] of cases) {
    for (const text of inputs) assert.equal(normalizeIPv6(text), canonical, text);
    assert.equal(normalizeIPv6(canonical), canonical);
  }
});

Deno.test("ipv6: parse(format(bytes)) gives the bytes back, for every 16 bytes", () => {
  fc.assert(
    fc.property(addressBytes, (bytes) => {
      assert.deepEqual(parseIPv6(formatIPv6(bytes)), bytes);
    }),
    { numRuns: 5000 },
  );
});

Deno.test("ipv6: format writes the RFC 5952 form, also from an offset", () => {
  fc.assert(
    fc.property(addressBytes, fc.nat(8), (bytes, offset) => {
      const text = formatIPv6(bytes);
      assert.equal(text, oracleText(bytes));
      const buf = new Uint8Array(offset + 16).fill(0xa5);
      buf.set(bytes, offset);
      assert.equal(formatIPv6(buf, offset), text);
    }),
    { numRuns: 5000 },
  );
});

Deno.test("ipv6: every spelling of an address reads as its bytes, and formats canonically", () => {
  fc.assert(
    fc.property(spelledAddress, ({ bytes, text }) => {
      assert.deepEqual(parseIPv6(text), bytes, text);
      assert.equal(normalizeIPv6(text), formatIPv6(bytes), text);
      assert.equal(normalizeIPv6(normalizeIPv6(text)), normalizeIPv6(text));
      assert.ok(isIPv6(text));
    }),
    { numRuns: 5000 },
  );
});

Deno.test("ipv6: text is accepted exactly when Node and the URL parser accept it", () => {
  fc.assert(
    fc.property(addressText.filter((t) => !/[%\s]/.test(t)), (text) => {
      const url = urlReading(text);
      assert.equal(isIPv6(text), nodeIsIPv6(text), text);
      assert.equal(isIPv6(text), url !== undefined, text);
      if (url === undefined) {
        assert.throws(() => parseIPv6(text), SerializeError, text);
      } else {
        assert.equal(normalizeIPv6(text), oracleText(parseIPv6(url)), text);
      }
    }),
    { numRuns: 20000 },
  );
});

Deno.test("ipv6: malformed text is refused and leaves the output alone", () => {
  const bad = [
    "",
    ":",
    ":::",
    "1",
    "1:2:3:4:5:6:7",
    "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:6:7:8::",
    "::1:2:3:4:5:6:7:8",
    "1::2::3",
    ":1::",
    "1::2:",
    "12345::",
    "g::",
    " ::1",
    "::1 ",
    "[::1]",
    "1.2.3.4",
    "::1.2.3",
    "::1.2.3.4.5",
    "::256.0.0.1",
    "::01.2.3.4",
    "::1.2.3.04",
    "::1.2.3.4:5",
    "1:2:3:4:5:6:7:1.2.3.4",
    "1:2:3:4:5:6::1.2.3.4",
    "::1a.2.3.4",
    "fe80::1%eth0",
    "0x1::",
    "+1::",
  ];
  const out = new Uint8Array(20).fill(7);
  for (const text of bad) {
    assert.equal(isIPv6(text), false, text);
    assert.throws(() => parseIPv6Into(text, out, 2), SerializeError, text);
    assert.ok(out.every((b) => b === 7), text);
  }
  assert.throws(() => parseIPv6(undefined as unknown as string), SerializeError);
});

Deno.test("ipv6: zones are read only on request, as names or numbers", () => {
  assert.deepEqual(parseScopedIPv6("fe80::1%eth0"), { bytes: parseIPv6("fe80::1"), zone: "eth0" });
  assert.deepEqual(parseScopedIPv6("ff02::1:2%2"), { bytes: parseIPv6("ff02::1:2"), zone: "2" });
  assert.deepEqual(parseScopedIPv6("2001:db8::1"), { bytes: parseIPv6("2001:db8::1") });
  assert.deepEqual(parseScopedIPv6("::ffff:1.2.3.4%br-lan.10").zone, "br-lan.10");
  for (const bad of ["fe80::1%", "fe80::1%a%b", "fe80::1%a b", "fe80::1%a/b", "fe80::%1%", "%1"]) {
    assert.throws(() => parseScopedIPv6(bad), SerializeError, bad);
  }
  assert.throws(() => parseScopedIPv6(`fe80::1%${"x".repeat(65)}`), SerializeError);
  fc.assert(
    fc.property(
      spelledAddress,
      fc.stringMatching(/^[0-9A-Za-z.:-]{1,16}$/),
      ({ bytes, text }, zone) => {
        assert.deepEqual(parseScopedIPv6(`${text}%${zone}`), { bytes, zone });
        assert.ok(nodeIsIPv6(`${text}%${zone}`));
      },
    ),
  );
});

Deno.test("ipv6: address kinds", () => {
  const kind = (t: string) => addressKind(parseIPv6(t));
  assert.equal(kind("::"), "unspecified");
  assert.equal(kind("::1"), "loopback");
  assert.equal(kind("::2"), "other");
  assert.equal(kind("ff02::1:2"), "multicast");
  assert.equal(kind("fe80::1"), "link-local");
  assert.equal(kind("febf::1"), "link-local");
  assert.equal(kind("fec0::1"), "other");
  assert.equal(kind("fe8::1"), "other");
  assert.equal(kind("2001:db8::1"), "other");
  const buf = new Uint8Array(20);
  buf.set(parseIPv6("::1"), 4);
  assert.equal(addressKind(buf, 4), "loopback");
  assert.deepEqual(groupsToBytes([0xfe80, 0, 0, 0, 0, 0, 0, 1]), parseIPv6("fe80::1"));
});

Deno.test("ipv6: link-scoped addresses need a zone", () => {
  for (const t of ["fe80::1", "fe81::1", "febf::1", "ff02::1:2", "ff12::1", "ff32::1"]) {
    assert.ok(isLinkScoped(parseIPv6(t)), t);
  }
  for (const t of ["fec0::1", "fe8::1", "ff05::1:3", "ff0e::1", "ff::2", "2001:db8::1", "::1"]) {
    assert.ok(!isLinkScoped(parseIPv6(t)), t);
  }
  const buf = new Uint8Array(20);
  buf.set(parseIPv6("fe80::1"), 4);
  assert.ok(isLinkScoped(buf, 4));
});

Deno.test("ipv6: the kind of address text is the kind of its bytes", () => {
  fc.assert(
    fc.property(addressText, (text) => {
      const expected = isIPv6(text) ? addressKind(parseIPv6(text)) : undefined;
      assert.equal(addressKindOfText(text), expected, text);
    }),
    { numRuns: 5000 },
  );
  assert.equal(addressKindOfText("ff::1"), "other");
  assert.equal(addressKindOfText("FF02::1"), "multicast");
  assert.equal(addressKindOfText("0:0::1"), "loopback");
  assert.equal(addressKindOfText("fe8::1"), "other");
  assert.equal(addressKindOfText("fe80::1%eth0"), undefined);
});
