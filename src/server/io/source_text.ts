/**
 * The text of a received datagram's source address, remembered for the few addresses that send
 * most requests (the relays, or the clients of one link): the address bytes are compared with
 * those of the last few sources instead of formatting them again for every datagram.
 * @module
 */

import { formatIPv6 } from "../../protocol/mod.ts";

/** How many source addresses are remembered. */
const ENTRIES = 8;

/** Remembers the text of the last {@link ENTRIES} source addresses. */
export class SourceText {
  readonly #bytes = new Uint8Array(ENTRIES * 16);
  readonly #text: string[] = [];
  #next = 0;

  /** The RFC 5952 text of the 16 address bytes at `pos` of `buf`. */
  of(buf: Uint8Array, pos: number): string {
    const bytes = this.#bytes;
    for (let e = 0; e < this.#text.length; e++) {
      const at = e * 16;
      let i = 0;
      while (i < 16 && bytes[at + i] === buf[pos + i]) i++;
      if (i === 16) return this.#text[e];
    }
    const text = formatIPv6(buf, pos);
    const e = this.#next;
    this.#next = (e + 1) % ENTRIES;
    bytes.set(buf.subarray(pos, pos + 16), e * 16);
    this.#text[e] = text;
    return text;
  }
}
