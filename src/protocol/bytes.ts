/**
 * Low-level byte helpers: bounds-checked big-endian reads, a growable writer, hex text (IPv6
 * address text is in `ipv6.ts`).
 *
 * Every read takes the buffer, a position and the end of the region it may read from, and throws
 * {@link ParseError} (with the absolute offset) instead of reading past that end.
 * @module
 */

import { ParseError, SerializeError } from "./errors.ts";
import { formatIPv6, parseIPv6Into } from "./ipv6.ts";

/** Throw a {@link ParseError} unless `need` bytes are available at `pos` before `end`. */
export function need(pos: number, end: number, need: number, what: string): void {
  if (end - pos < need) {
    throw new ParseError(pos, `${what}: need ${need} bytes, only ${Math.max(0, end - pos)} left`);
  }
}

/** Read an unsigned 8-bit integer. */
export function readU8(buf: Uint8Array, pos: number, end: number, what = "uint8"): number {
  need(pos, end, 1, what);
  return buf[pos];
}

/** Read an unsigned big-endian 16-bit integer. */
export function readU16(buf: Uint8Array, pos: number, end: number, what = "uint16"): number {
  need(pos, end, 2, what);
  return (buf[pos] << 8) | buf[pos + 1];
}

/** Read an unsigned big-endian 32-bit integer. */
export function readU32(buf: Uint8Array, pos: number, end: number, what = "uint32"): number {
  need(pos, end, 4, what);
  return buf[pos] * 0x1000000 + ((buf[pos + 1] << 16) | (buf[pos + 2] << 8) | buf[pos + 3]);
}

/**
 * The `length` bytes starting at `pos`, as a view (no copy). Parsing works on a private copy of
 * the input (see `parseMessage`), so views stay valid and independent of the caller's buffer.
 */
export function readBytes(
  buf: Uint8Array,
  pos: number,
  end: number,
  length: number,
  what = "bytes",
): Uint8Array {
  need(pos, end, length, what);
  return buf.subarray(pos, pos + length);
}

/** Read a 16-byte IPv6 address and return its canonical (RFC 5952) text. */
export function readAddress(buf: Uint8Array, pos: number, end: number, what = "address"): string {
  need(pos, end, 16, what);
  return formatIPv6(buf, pos);
}

/** Throw unless the region `[pos, end)` has exactly `length` bytes. */
export function exactLength(pos: number, end: number, length: number, what: string): void {
  if (end - pos !== length) {
    throw new ParseError(pos, `${what} must be exactly ${length} bytes, not ${end - pos}`);
  }
}

/** Throw unless the region `[pos, end)` has at least `length` bytes. */
export function minLength(pos: number, end: number, length: number, what: string): void {
  if (end - pos < length) {
    throw new ParseError(pos, `${what} must be at least ${length} bytes, not ${end - pos}`);
  }
}

/** Longest run of bytes {@link Writer.bytes} copies in a loop. */
const SHORT_COPY = 32;

/** A growable big-endian byte writer. Reuse one with {@link Writer.reset} to avoid allocation. */
export class Writer {
  /** The backing buffer; only `[0, pos)` is meaningful. */
  buf: Uint8Array;
  /** Current write position (also the number of bytes written). */
  pos = 0;

  /** Create a writer with an initial capacity. */
  constructor(capacity = 512) {
    this.buf = new Uint8Array(capacity);
  }

  /** Forget what was written, keeping the buffer. */
  reset(): void {
    this.pos = 0;
  }

  /** Make room for `n` more bytes. */
  ensure(n: number): void {
    const required = this.pos + n;
    if (required <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < required) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  /** Write an unsigned 8-bit integer. */
  u8(value: number): void {
    this.ensure(1);
    this.buf[this.pos++] = value;
  }

  /** Write an unsigned big-endian 16-bit integer. */
  u16(value: number): void {
    this.ensure(2);
    const b = this.buf;
    b[this.pos++] = value >>> 8;
    b[this.pos++] = value;
  }

  /** Write an unsigned big-endian 32-bit integer. */
  u32(value: number): void {
    this.ensure(4);
    const b = this.buf;
    b[this.pos++] = value >>> 24;
    b[this.pos++] = value >>> 16;
    b[this.pos++] = value >>> 8;
    b[this.pos++] = value;
  }

  /** Write raw bytes. */
  bytes(data: Uint8Array): void {
    const n = data.length;
    this.ensure(n);
    const b = this.buf;
    const p = this.pos;
    // Short runs (DUIDs, addresses, identifiers) copy faster in a loop than through `set`.
    if (n <= SHORT_COPY) { for (let i = 0; i < n; i++) b[p + i] = data[i]; }
    else b.set(data, p);
    this.pos = p + n;
  }

  /** Write an IPv6 address given as text. */
  address(text: string): void {
    this.ensure(16);
    parseIPv6Into(text, this.buf, this.pos);
    this.pos += 16;
  }

  /** Write a 16-byte IPv6 address given as bytes. */
  addressBytes(address: Uint8Array): void {
    this.ensure(16);
    const b = this.buf;
    const p = this.pos;
    for (let i = 0; i < 16; i++) b[p + i] = address[i];
    this.pos = p + 16;
  }

  /** Start a TLV with a 2-byte code and a 2-byte length to be filled by {@link Writer.endTLV}. */
  beginTLV(code: number): number {
    this.u16(code);
    this.u16(0);
    return this.pos;
  }

  /** Fill in the length of the TLV whose data started at `dataStart`. */
  endTLV(dataStart: number): void {
    const length = this.pos - dataStart;
    if (length > 0xffff) throw new SerializeError(`option data of ${length} bytes exceeds 65535`);
    this.buf[dataStart - 2] = length >>> 8;
    this.buf[dataStart - 1] = length;
  }

  /** A copy of the bytes written so far. */
  toBytes(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** Lower-case hex of `data` without separators. */
export function toHex(data: Uint8Array, separator = ""): string {
  let out = "";
  for (let i = 0; i < data.length; i++) {
    if (i > 0 && separator) out += separator;
    out += HEX[data[i]];
  }
  return out;
}

/** Parse hex text (optional `:` separators, any case) into bytes; throws `SyntaxError` when not hex. */
export function fromHex(text: string): Uint8Array {
  const clean = text.replaceAll(":", "");
  if (clean.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(clean)) {
    throw new SyntaxError(`not a hex string: ${JSON.stringify(text)}`);
  }
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.substr(i * 2, 2), 16);
  return out;
}

/** Compare two byte arrays for equality. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
