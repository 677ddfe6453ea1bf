import assert from "node:assert/strict";
import fc from "fast-check";
import {
  AssignmentFormatError,
  candidateIds,
  canonicalAddress,
  canonicalId,
  canonicalPrefix,
  parsePrefix,
  visitCandidateKeys,
} from "../../../src/handlers/static/ids.ts";
import {
  ClientIdOption,
  formatIPv6,
  fromHex,
  InterfaceIdOption,
  IPv6Prefix,
  LinkLayerDuid,
  LinkLayerIdOption,
  normalizeIPv6,
  RelayForwardMessage,
  RelayMessageOption,
  RemoteIdOption,
  SolicitMessage,
  SubscriberIdOption,
  toHex,
} from "../../../src/protocol/mod.ts";
import { TransactionBundle } from "../../../src/pipeline/mod.ts";

Deno.test("canonical keys of every id form", () => {
  const cases: [string, string][] = [
    ["duid:000300010011223344AA", "duid:000300010011223344aa"],
    ["DUID:00:03:00:01:00:11:22:33:44:aa", "duid:000300010011223344aa"],
    ["duid:0002000000090102", "duid:0002000000090102"],
    ["interface-id:4661322F31", "interface-id:4661322f31"],
    ["interface-id:46:61:32:2f:31", "interface-id:4661322f31"],
    ["interface-id-str:Fa2/1", "interface-id:4661322f31"],
    ["remote-id:9:020023000001", "remote-id:9:020023000001"],
    ["remote-id:0009:02:00:23", "remote-id:9:020023"],
    [
      "remote-id-str:40208:SomeRemoteIdentifier",
      "remote-id:40208:536f6d6552656d6f74654964656e746966696572",
    ],
    ["remote-id-str:1:a:b", "remote-id:1:613a62"],
    ["subscriber-id:ABCD", "subscriber-id:abcd"],
    ["subscriber-id-str:sub 1", "subscriber-id:7375622031"],
    ["linklayer-id:1:00:11:22:33:44:55", "linklayer-id:1:001122334455"],
    ["linklayer-id-str:1:AB", "linklayer-id:1:4142"],
    ["interface-id-str:é", "interface-id:c3a9"],
  ];
  for (const [input, key] of cases) assert.equal(canonicalId(input), key, input);
});

Deno.test("malformed ids are refused with a reason", () => {
  const bad: [string, RegExp][] = [
    ["", /no type/],
    ["00:11:22", /unknown id type "00"/],
    ["mac:001122", /unknown id type/],
    ["duid:", /empty/],
    ["duid:0g", /not hexadecimal/],
    ["duid:123", /not hexadecimal/],
    ["duid:00", /shorter than 2 bytes/],
    ["duid:0001000102", /too short for a DUID of type 1/],
    ["duid:000400112233", /too short for a DUID of type 4/],
    ["duid:0004" + "00".repeat(17), /DUID-UUID/],
    ["interface-id:", /empty/],
    ["interface-id-str:", /empty/],
    ["remote-id:9", /remote-id:ENTERPRISE:VALUE/],
    ["remote-id:x:0102", /enterprise must be a number/],
    ["remote-id:99999999999:0102", /enterprise must be a number/],
    ["remote-id:9:", /empty/],
    ["linklayer-id:70000:0102", /type must be a number 0-65535/],
    ["subscriber-id:xyz", /not hexadecimal/],
  ];
  for (const [input, message] of bad) {
    assert.throws(() => canonicalId(input), (e: Error) => {
      assert.ok(e instanceof AssignmentFormatError, input);
      assert.match(e.message, message, input);
      return true;
    });
  }
});

Deno.test("addresses and prefixes: canonical form and refusals", () => {
  assert.equal(canonicalAddress(""), undefined);
  assert.equal(canonicalAddress("2001:DB8:0:0::1"), "2001:db8::1");
  assert.equal(canonicalAddress("2001:db8:0:0:1:0:0:1"), "2001:db8::1:0:0:1");
  assert.equal(canonicalAddress("::ffff:192.0.2.1"), "::ffff:192.0.2.1");
  for (
    const bad of ["2001:db8::g", "1.2.3.4", "2001:db8:::1", ":1", "1::2::3", "ff02::1", "::", "::1"]
  ) {
    assert.throws(() => canonicalAddress(bad), AssignmentFormatError, bad);
  }
  assert.equal(canonicalPrefix(""), undefined);
  assert.equal(canonicalPrefix("2001:DB8:0100::/40"), "2001:db8:100::/40");
  assert.equal(canonicalPrefix("2001:db8::/128"), "2001:db8::/128");
  for (
    const bad of [
      "2001:db8::",
      "2001:db8::/0",
      "2001:db8::/129",
      "2001:db8::1/64",
      "x/64",
      "ff00::/8",
      "2001:db8::/6x",
    ]
  ) {
    assert.throws(() => canonicalPrefix(bad), AssignmentFormatError, bad);
  }
  const p = parsePrefix("2001:db8:100::/56");
  assert.ok(p instanceof IPv6Prefix);
  assert.equal(p.toString(), "2001:db8:100::/56");
});

Deno.test("property: the fast address parser agrees with the protocol formatter", () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
      if (bytes[0] === 0xff) bytes[0] = 0x20; // unicast
      fc.pre(bytes.some((b, i) => i === 15 ? b > 1 : b !== 0)); // not :: or ::1
      const text = formatIPv6(bytes);
      assert.equal(canonicalAddress(text), text);
      // Non-canonical spellings: every group written in full, upper case.
      const full = Array.from(
        { length: 8 },
        (_, i) =>
          ((bytes[i * 2] << 8) | bytes[i * 2 + 1]).toString(16).padStart(4, "0").toUpperCase(),
      ).join(":");
      assert.equal(canonicalAddress(full), normalizeIPv6(full));
    }),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(fc.ipV6(), (text) => {
      let expected: string | undefined;
      try {
        expected = normalizeIPv6(text);
      } catch {
        return;
      }
      if (expected.startsWith("ff") || expected === "::" || expected === "::1") return;
      assert.equal(canonicalAddress(text), expected);
    }),
    { numRuns: 2000 },
  );
});

Deno.test("visitCandidateKeys: the parts of candidateIds, in the same order", () => {
  const duid = new LinkLayerDuid(1, fromHex("001122334455"));
  const message = new RelayForwardMessage(0, "2001:db8:1::1", "fe80::1", [
    new LinkLayerIdOption(1, fromHex("0a0b0c")),
    new SubscriberIdOption(new TextEncoder().encode("sub-1")),
    new RemoteIdOption(40208, fromHex("cafe")),
    new InterfaceIdOption(new TextEncoder().encode("eth0")),
    new RelayMessageOption(new SolicitMessage(1, [new ClientIdOption(duid)])),
  ]);
  const bundle = new TransactionBundle(message, true);
  const joined: string[] = [];
  visitCandidateKeys(bundle, (prefix, data) => {
    joined.push(prefix + toHex(data));
    return false;
  });
  assert.deepEqual(joined, candidateIds(bundle));
  assert.deepEqual(joined, [
    "duid:00030001001122334455",
    "interface-id:65746830",
    "remote-id:40208:cafe",
    "subscriber-id:7375622d31",
    "linklayer-id:1:0a0b0c",
  ]);
  // Stops at the first key the visitor takes.
  const seen: string[] = [];
  visitCandidateKeys(bundle, (prefix) => {
    seen.push(prefix);
    return prefix === "interface-id:";
  });
  assert.deepEqual(seen, ["duid:", "interface-id:"]);
});
