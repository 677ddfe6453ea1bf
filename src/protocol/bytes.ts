/**
 * Low-level byte helpers: bounds-checked big-endian reads, a growable writer, hex and IPv6 text.
 *
 * Every read takes the buffer, a position and the end of the region it may read from, and throws
 * {@link ParseError} (with the absolute offset) instead of reading past that end.
 * @module
 */

import { ParseError, SerializeError } from "./errors.ts";

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
let groupText: string[] | undefined;

/** Text of every 16-bit group value (built on first use; formatting addresses is hot). */
function groups(): string[] {
  return groupText ??= Array.from({ length: 65536 }, (_, i) => i.toString(16));
}

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

/** Format 16 bytes at `pos` as canonical RFC 5952 IPv6 text. */
export function formatIPv6(buf: Uint8Array, pos = 0): string {
  // Find the longest run (length >= 2) of zero 16-bit groups; first one wins on ties.
  let bestStart = -1, bestLen = 0, curStart = -1, curLen = 0;
  for (let g = 0; g < 8; g++) {
    if (buf[pos + g * 2] === 0 && buf[pos + g * 2 + 1] === 0) {
      if (curStart < 0) curStart = g, curLen = 1;
      else curLen++;
      if (curLen > bestLen) bestStart = curStart, bestLen = curLen;
    } else {
      curStart = -1, curLen = 0;
    }
  }
  if (bestLen < 2) bestStart = -1;
  // IPv4-mapped ::ffff:a.b.c.d
  if (bestStart === 0 && bestLen === 5 && buf[pos + 10] === 0xff && buf[pos + 11] === 0xff) {
    return `::ffff:${buf[pos + 12]}.${buf[pos + 13]}.${buf[pos + 14]}.${buf[pos + 15]}`;
  }
  const text = groups();
  let out = "";
  for (let g = 0; g < 8; g++) {
    if (g === bestStart) {
      out += g === 0 ? "::" : ":";
      g += bestLen - 1;
      continue;
    }
    out += text[(buf[pos + g * 2] << 8) | buf[pos + g * 2 + 1]];
    if (g < 7) out += ":";
  }
  return out;
}

/** True when `text` is valid IPv6 address text. */
export function isIPv6(text: string): boolean {
  try {
    parseIPv6Into(text, new Uint8Array(16), 0);
    return true;
  } catch {
    return false;
  }
}

/** Parse IPv6 text into a new 16-byte array. Throws {@link SerializeError} when invalid. */
export function parseIPv6(text: string): Uint8Array {
  const out = new Uint8Array(16);
  parseIPv6Into(text, out, 0);
  return out;
}

/** Canonical RFC 5952 form of IPv6 text. Throws {@link SerializeError} when invalid. */
export function normalizeIPv6(text: string): string {
  return formatIPv6(parseIPv6(text));
}

const addressCache = new Map<string, Uint8Array>();

/** Parse IPv6 text into `out` at `pos`. Throws {@link SerializeError} when invalid. */
export function parseIPv6Into(text: string, out: Uint8Array, pos: number): void {
  const cached = addressCache.get(text);
  if (cached) {
    out.set(cached, pos);
    return;
  }
  const bytes = parseIPv6Text(text);
  if (!bytes) throw new SerializeError(`not an IPv6 address: ${JSON.stringify(text)}`);
  if (addressCache.size > 4096) addressCache.clear();
  addressCache.set(text, bytes);
  out.set(bytes, pos);
}

function parseIPv6Text(text: string): Uint8Array | undefined {
  if (typeof text !== "string" || text.length < 2 || text.length > 45) return undefined;
  const groups: number[] = [];
  let doubleColonAt = -1;
  let head = text;
  let v4: number[] | undefined;
  const lastColon = text.lastIndexOf(":");
  if (lastColon >= 0 && text.indexOf(".", lastColon) > lastColon) {
    const parts = text.slice(lastColon + 1).split(".");
    if (parts.length !== 4) return undefined;
    v4 = [];
    for (const p of parts) {
      if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
      v4.push(Number(p));
    }
    head = text.slice(0, lastColon + 1);
    if (head.endsWith("::")) { /* keep */ }
    else head = head.slice(0, -1);
  }
  if (head.startsWith(":") && !head.startsWith("::")) return undefined;
  if (head.endsWith(":") && !head.endsWith("::")) return undefined;
  const dc = head.indexOf("::");
  if (dc >= 0 && head.indexOf("::", dc + 1) >= 0) return undefined;
  const parseGroups = (s: string): number[] | undefined => {
    if (s === "") return [];
    const res: number[] = [];
    for (const g of s.split(":")) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      res.push(parseInt(g, 16));
    }
    return res;
  };
  const max = v4 ? 6 : 8;
  if (dc >= 0) {
    const left = parseGroups(head.slice(0, dc));
    const right = parseGroups(head.slice(dc + 2));
    if (!left || !right || left.length + right.length > max - 1) return undefined;
    groups.push(...left);
    doubleColonAt = groups.length;
    for (let i = left.length + right.length; i < max; i++) groups.push(0);
    groups.push(...right);
  } else {
    const all = parseGroups(head);
    if (!all || all.length !== max) return undefined;
    groups.push(...all);
  }
  void doubleColonAt;
  const out = new Uint8Array(16);
  for (let i = 0; i < max; i++) {
    out[i * 2] = groups[i] >>> 8;
    out[i * 2 + 1] = groups[i] & 0xff;
  }
  if (v4) out.set(v4, 12);
  return out;
}

/** Compare two byte arrays for equality. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
