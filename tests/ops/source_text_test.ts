/** The I/O worker's source address texts: equal to formatIPv6 for any sequence of addresses. */

import assert from "node:assert/strict";
import fc from "fast-check";
import { SourceText } from "../../src/server/io/source_text.ts";
import { formatIPv6 } from "../../src/protocol/mod.ts";

Deno.test("source text: the remembered text is always the address's own", () => {
  // Few distinct addresses (so entries are reused and replaced), at any offset of a buffer.
  const address = fc.constantFrom(
    ...Array.from({ length: 12 }, (_, i) => {
      const a = new Uint8Array(16);
      a[0] = 0xfe, a[1] = 0x80, a[15] = i, a[7] = i % 3;
      return a;
    }),
  );
  fc.assert(
    fc.property(fc.array(fc.tuple(address, fc.nat(40)), { maxLength: 200 }), (list) => {
      const cache = new SourceText();
      for (const [bytes, pos] of list) {
        const buf = new Uint8Array(64).fill(0xaa);
        buf.set(bytes, pos);
        assert.equal(cache.of(buf, pos), formatIPv6(bytes));
      }
    }),
  );
});
