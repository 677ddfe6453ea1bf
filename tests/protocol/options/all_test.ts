/** Tests for `options/all.ts`: every option module is registered under its code and name. */

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  describeOption,
  fromHex,
  optionCodeFromName,
  optionToBytes,
  optionTypes,
  optionTypesByName,
  ParseError,
  parseOptions,
} from "../../../src/protocol/mod.ts";

const EXPECTED: [number, string][] = [
  [21, "sip-servers-domain-name-list"],
  [22, "sip-servers-address-list"],
  [23, "recursive-name-servers"],
  [24, "domain-search-list"],
  [31, "sntp-servers"],
  [37, "remote-id"],
  [38, "subscriber-id"],
  [39, "client-fqdn"],
  [41, "posix-timezone"],
  [42, "tzdb-timezone"],
  [43, "echo-request"],
  [44, "lq-query"],
  [45, "client-data"],
  [46, "clt-time"],
  [47, "lq-relay-data"],
  [48, "lq-client-link"],
  [53, "relay-id"],
  [56, "ntp-servers"],
  [64, "aftr-name"],
  [67, "pd-exclude"],
  [79, "link-layer-id"],
  [89, "s46-rule"],
  [90, "s46-br"],
  [91, "s46-dmr"],
  [92, "s46-v4-v6-binding"],
  [93, "s46-port-parameters"],
  [94, "s46-map-e-container"],
  [95, "s46-map-t-container"],
  [96, "s46-lw-container"],
];

Deno.test("all extension options are registered by code and name", () => {
  for (const [code, name] of EXPECTED) {
    const type = optionTypes.get(code);
    assert.ok(type, `option ${code} not registered`);
    assert.equal(type.optionName, name);
    assert.equal(optionTypesByName.get(name), type);
    assert.equal(optionCodeFromName(name), code);
  }
});

Deno.test("JSON view uses snake_case field names", () => {
  const bytes = fromHex("005c000cc0000201382001 0db8000100".replace(/\s+/g, ""));
  const [o] = parseOptions(bytes, 0, bytes.length);
  assert.deepEqual(describeOption(o), {
    code: 92,
    name: "s46-v4-v6-binding",
    ipv4_address: "192.0.2.1",
    prefix6_len: 56,
    ipv6_prefix: "2001:db8:1::",
    options: [],
  });
  const lq = fromHex("002f0014" + "20010db8000000000000000000000002" + "01000001");
  const [r] = parseOptions(lq, 0, lq.length);
  const json = describeOption(r) as Record<string, unknown>;
  assert.equal(json.peer_address, "2001:db8::2");
  assert.equal((json.message as Record<string, unknown>).type, "solicit");
});

Deno.test("parsing is total: random option data parses and round-trips, or throws ParseError", () => {
  const codes = EXPECTED.map(([code]) => code);
  // Seed data with valid-looking structure now and then: nested TLV headers and name labels.
  const data = fc.oneof(
    fc.uint8Array({ maxLength: 48 }),
    fc.array(
      fc.oneof(
        fc.constantFrom(...codes).map((c) => [c >> 8, c & 0xff, 0, 4, 0, 0, 0, 1]),
        fc.constantFrom([0, 1, 0, 16], [3, 0x61, 0x62, 0x63, 0], [0x38], [0x40], [0x80]),
        fc.uint8Array({ maxLength: 6 }).map((a) => [...a]),
      ),
      { maxLength: 8 },
    ).map((parts) => new Uint8Array(parts.flat())),
  );
  fc.assert(
    fc.property(fc.constantFrom(...codes), data, (code, body) => {
      const bytes = new Uint8Array(4 + body.length + 8).fill(0x41);
      bytes.set([code >> 8, code & 0xff, body.length >> 8, body.length & 0xff]);
      bytes.set(body, 4);
      const end = 4 + body.length;
      try {
        const options = parseOptions(bytes, 0, end);
        assert.equal(options.length, 1);
        assert.deepEqual(optionToBytes(options[0]), bytes.slice(0, end));
        try {
          options[0].validate();
        } catch (e) {
          assert.equal((e as Error).name, "ValidationError", String(e));
        }
      } catch (e) {
        if (!(e instanceof ParseError)) throw e;
      }
    }),
    { numRuns: 3000 },
  );
});
