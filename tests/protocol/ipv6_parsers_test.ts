/**
 * The places that read IPv6 text (the protocol library, the configuration datatypes, the ffi
 * backend's socket addresses and the static assignments' fast reader) must read it the same way:
 * the same bytes for the same text, the same texts refused, and the configuration's canonical
 * text is the protocol's.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { addressKind, formatIPv6, parseIPv6, toHex } from "../../src/protocol/mod.ts";
import { ipv6Address, type ValueContext } from "../../src/config/datatypes.ts";
import { parseIPv6 as socketAddress } from "../../src/server/io/libc.ts";
import { canonicalAddress } from "../../src/handlers/static/ids.ts";
import { addressText } from "./ipv6_arbitraries.ts";

const ctx: ValueContext = { configDir: "/", hostChecks: false };

/** The bytes as hex, or `invalid` when `read` throws. */
function outcome(read: () => Uint8Array): string {
  try {
    return toHex(read());
  } catch {
    return "invalid";
  }
}

Deno.test("ipv6 parsers: protocol, configuration and socket addresses agree on every text", () => {
  fc.assert(
    fc.property(addressText.filter((t) => !t.includes("%")), (text) => {
      const protocol = outcome(() => parseIPv6(text));
      const config = outcome(() => ipv6Address().parse(text, ctx).bytes);
      const socket = outcome(() => socketAddress(text).bytes);
      assert.deepEqual({ config, socket }, { config: protocol, socket: protocol }, text);
      if (protocol !== "invalid") {
        assert.equal(ipv6Address().parse(text, ctx).text, formatIPv6(parseIPv6(text)), text);
      }
    }),
    { numRuns: 3000 },
  );
});

Deno.test("ipv6 parsers: static assignments read unicast addresses like the protocol", () => {
  fc.assert(
    fc.property(addressText.filter((t) => t !== ""), (text) => {
      let expected: string;
      try {
        const bytes = parseIPv6(text);
        const kind = addressKind(bytes);
        expected = kind === "other" || kind === "link-local" ? formatIPv6(bytes) : "refused";
      } catch {
        expected = "refused";
      }
      let actual: string;
      try {
        actual = canonicalAddress(text) ?? "empty";
      } catch {
        actual = "refused";
      }
      assert.equal(actual, expected, text);
    }),
    { numRuns: 3000 },
  );
});

Deno.test("ipv6 parsers: an embedded IPv4 tail is the last 32 bits, in every parser", () => {
  const compatible = "00000000000000000000000001020304";
  const mapped = "00000000000000000000ffff01020304";
  assert.equal(toHex(ipv6Address().parse("::1.2.3.4", ctx).bytes), compatible);
  assert.equal(ipv6Address().parse("::1.2.3.4", ctx).text, "::102:304");
  assert.equal(toHex(socketAddress("::1.2.3.4").bytes), compatible);
  assert.equal(toHex(ipv6Address().parse("::ffff:1.2.3.4", ctx).bytes), mapped);
  assert.equal(ipv6Address().parse("::ffff:102:304", ctx).text, "::ffff:1.2.3.4");
  assert.equal(toHex(socketAddress("::ffff:1.2.3.4").bytes), mapped);
});

Deno.test("ipv6 parsers: socket addresses refuse a `::` that stands for no group", () => {
  assert.throws(() => socketAddress("1:2:3:4:5:6:7:8::"));
  assert.throws(() => socketAddress("::1:2:3:4:5:6:7:8"));
  assert.throws(() => socketAddress("fe80::1%"));
});

Deno.test("ipv6 parsers: socket addresses take a numeric scope id", () => {
  const a = socketAddress("fe80::1%7");
  assert.equal(formatIPv6(a.bytes), "fe80::1");
  assert.equal(a.scopeId, 7);
  assert.equal(socketAddress("2001:db8::1").scopeId, 0);
});
