/** The parser keeps a private copy of each message, also when copies share a slab. */

import assert from "node:assert/strict";
import {
  ClientIdOption,
  ElapsedTimeOption,
  IAAddressOption,
  IANAOption,
  LinkLayerDuid,
  parseMessage,
  RelayForwardMessage,
  RelayMessageOption,
  RequestMessage,
  serializeMessage,
  toHex,
  UnknownOption,
} from "../../src/protocol/mod.ts";

Deno.test("parseMessage: results stay intact when the input buffer is reused (slab rollover)", () => {
  const arena = new Uint8Array(4096); // like a receive arena: every datagram lands in it
  const expected: string[] = [];
  const parsed = [];
  // ~170-byte messages: 200 of them fill several 8 KB slabs; some are larger than a slab share.
  for (let i = 0; i < 200; i++) {
    const request = new RequestMessage(i, [
      new ClientIdOption(new LinkLayerDuid(1, new Uint8Array([2, 0, 0, 0, i >> 8, i & 255]))),
      new ElapsedTimeOption(i),
      new IANAOption(i, 0, 0, [new IAAddressOption(`2001:db8::${i.toString(16)}`, 1, 2)]),
      new UnknownOption(65000, new Uint8Array(i % 7 === 0 ? 1500 : 20).fill(i & 255)),
    ]);
    const bytes = serializeMessage(
      new RelayForwardMessage(0, `2001:db8:${i.toString(16)}::1`, "fe80::1", [
        new RelayMessageOption(request),
      ]),
    );
    expected.push(toHex(bytes));
    arena.set(bytes);
    parsed.push(parseMessage(arena.subarray(0, bytes.length)));
    arena.fill(0xee); // the caller's buffer changes: the parsed message must not
  }
  parsed.forEach((m, i) => assert.equal(toHex(serializeMessage(m)), expected[i], `message ${i}`));
  const last = parsed[199] as RelayForwardMessage;
  assert.equal(last.linkAddress, "2001:db8:c7::1");
});
