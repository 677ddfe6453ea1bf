/**
 * IPv6 addresses as text and bytes: the one reader and writer of address text for the protocol,
 * the configuration and the socket layer.
 *
 * - Reading follows RFC 4291 §2.2 strictly: 1-4 hex digits per group (any case), at most one
 *   `::` standing for one or more zero groups, and an optional dotted-quad IPv4 tail for the
 *   last 32 bits (`::1.2.3.4` is `::102:304`, `::ffff:1.2.3.4` is `::ffff:102:304`) whose
 *   numbers are 0-255 without leading zeros. Nothing else is accepted: no spaces, no brackets,
 *   no zone unless asked for with {@link parseScopedIPv6} (`fe80::1%eth0`, `fe80::1%2`).
 * - Writing follows RFC 5952 §4: lower case, no leading zeros, the longest run of two or more
 *   zero groups (the first of equal runs) as `::`, and the IPv4-mapped range `::ffff:0:0/96` in
 *   the mixed notation of §5 (`::ffff:192.0.2.1`).
 *
 * Parsing and formatting are on the codec's hot paths: neither uses regular expressions, and
 * {@link formatIPv6} allocates nothing but the result text.
 * @module
 */

import { SerializeError } from "./errors.ts";

/** An address with the zone (RFC 4007 §11) it was written with, if any. */
export interface ScopedIPv6 {
  /** The 16 address bytes. */
  readonly bytes: Uint8Array;
  /** The text after `%`: an interface name or a number; absent when the text had none. */
  readonly zone?: string;
}

/** What kind of address 16 bytes are, as far as the configuration and the server care. */
export type AddressKind = "unspecified" | "loopback" | "multicast" | "link-local" | "other";

/** Groups read by {@link parseInto}; only valid while one parse runs (parsing is synchronous). */
const groups = new Uint16Array(8);

/** Value of the hex digit with character code `c`, or -1. */
function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48; // 0-9
  const lower = c | 0x20;
  if (lower >= 97 && lower <= 102) return lower - 87; // a-f, A-F
  return -1;
}

/**
 * Read the dotted quad `text[start, end)` into groups `at` and `at + 1`; false when it is not
 * exactly four numbers 0-255 without leading zeros.
 */
function parseV4(text: string, start: number, end: number, at: number): boolean {
  let i = start, value = 0, high = 0;
  for (let octet = 0; octet < 4; octet++) {
    if (octet > 0) {
      if (i >= end || text.charCodeAt(i) !== 46) return false; // '.'
      i++;
    }
    const first = i;
    value = 0;
    while (i < end) {
      const c = text.charCodeAt(i);
      if (c < 48 || c > 57) break;
      value = value * 10 + (c - 48);
      i++;
      if (i - first > 3) return false;
    }
    if (i === first || value > 255 || (i - first > 1 && text.charCodeAt(first) === 48)) {
      return false;
    }
    if (octet === 0) high = value << 8;
    else if (octet === 1) groups[at] = high | value;
    else if (octet === 2) high = value << 8;
    else groups[at + 1] = high | value;
  }
  return i === end;
}

/** Read the address `text[start, end)` into {@link groups}; false when it is not one. */
function parseInto(text: string, start: number, end: number): boolean {
  let i = start, count = 0, gap = -1;
  if (end - start < 2) return false;
  if (text.charCodeAt(i) === 58) { // leading ':' must be '::'
    if (text.charCodeAt(i + 1) !== 58) return false;
    gap = 0;
    i += 2;
    if (i === end) {
      groups.fill(0);
      return true;
    }
  }
  while (true) {
    if (count === 8) return false;
    const first = i;
    let value = 0, digit = 0;
    while (i < end && (digit = hexValue(text.charCodeAt(i))) >= 0) {
      value = (value << 4) | digit;
      i++;
    }
    if (i < end && text.charCodeAt(i) === 46) { // '.': this group starts the IPv4 tail
      if (count > 6 || !parseV4(text, first, end, count)) return false;
      count += 2;
      break;
    }
    if (i === first || i - first > 4) return false;
    groups[count++] = value;
    if (i === end) break;
    if (text.charCodeAt(i) !== 58) return false;
    i++;
    if (i === end) return false; // a single trailing ':'
    if (text.charCodeAt(i) === 58) {
      if (gap >= 0) return false; // a second '::'
      gap = count;
      i++;
      if (i === end) break;
    }
  }
  if (gap < 0) return count === 8;
  if (count === 8) return false; // '::' must stand for at least one group
  const tail = count - gap;
  for (let k = 1; k <= tail; k++) groups[8 - k] = groups[count - k];
  for (let k = gap; k < 8 - tail; k++) groups[k] = 0;
  return true;
}

/** Write {@link groups} as 16 bytes into `out` at `pos`. */
function writeGroups(out: Uint8Array, pos: number): void {
  for (let g = 0; g < 8; g++) {
    out[pos + 2 * g] = groups[g] >>> 8;
    out[pos + 2 * g + 1] = groups[g] & 0xff;
  }
}

function invalid(text: string): SerializeError {
  return new SerializeError(`not an IPv6 address: ${JSON.stringify(text)}`);
}

/**
 * Addresses read recently, by text: options hold their addresses as text and are written again
 * and again, and a lookup is cheaper than reading the text. Cleared when it grows too big.
 */
const recent = new Map<string, Uint8Array>();
/** Most entries {@link recent} holds. */
const RECENT_MAX = 4096;

/**
 * Parse IPv6 text into the 16 bytes of `out` from `pos`. Throws {@link SerializeError} when the
 * text is not an address (a zone included; see {@link parseScopedIPv6}); `out` is then untouched.
 */
export function parseIPv6Into(text: string, out: Uint8Array, pos: number): void {
  const known = recent.get(text);
  if (known !== undefined) {
    for (let i = 0; i < 16; i++) out[pos + i] = known[i];
    return;
  }
  if (typeof text !== "string" || !parseInto(text, 0, text.length)) throw invalid(text);
  const bytes = new Uint8Array(16);
  writeGroups(bytes, 0);
  if (recent.size >= RECENT_MAX) recent.clear();
  recent.set(text, bytes);
  out.set(bytes, pos);
}

/** Parse IPv6 text into a new 16-byte array. Throws {@link SerializeError} when invalid. */
export function parseIPv6(text: string): Uint8Array {
  const out = new Uint8Array(16);
  parseIPv6Into(text, out, 0);
  return out;
}

/** True when `text` is an IPv6 address (without a zone). */
export function isIPv6(text: string): boolean {
  return typeof text === "string" && parseInto(text, 0, text.length);
}

/** Canonical RFC 5952 form of IPv6 text. Throws {@link SerializeError} when invalid. */
export function normalizeIPv6(text: string): string {
  if (typeof text !== "string" || !parseInto(text, 0, text.length)) throw invalid(text);
  const bytes = new Uint8Array(16);
  writeGroups(bytes, 0);
  return formatIPv6(bytes);
}

/** Characters a zone may not contain: white space, `%` and `/`. */
const BAD_ZONE = /[\s%/]/;

/**
 * Parse an address that may name its zone (`fe80::1%eth0`, `fe80::1%2`). The zone is 1-64
 * characters without white space, `%` or `/`; what it refers to is up to the caller. Throws
 * {@link SerializeError} when the text is not such an address.
 */
export function parseScopedIPv6(text: string): ScopedIPv6 {
  const pct = typeof text === "string" ? text.indexOf("%") : -1;
  if (pct < 0) return { bytes: parseIPv6(text) };
  const zone = text.slice(pct + 1);
  if (zone.length === 0 || zone.length > 64 || BAD_ZONE.test(zone) || !parseInto(text, 0, pct)) {
    throw new SerializeError(`not an IPv6 address with a zone: ${JSON.stringify(text)}`);
  }
  const bytes = new Uint8Array(16);
  writeGroups(bytes, 0);
  return { bytes, zone };
}

let groupTexts: string[] | undefined;

/** Text of every 16-bit group value (built on first use; formatting addresses is hot). */
function groupText(): string[] {
  return groupTexts ??= Array.from({ length: 65536 }, (_, i) => i.toString(16));
}

/** Format the 16 bytes at `pos` of `buf` as canonical RFC 5952 text. */
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
  const text = groupText();
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

/** The kind of the 16-byte address at `pos` of `bytes`. */
export function addressKind(bytes: Uint8Array, pos = 0): AddressKind {
  if (bytes[pos] === 0xff) return "multicast";
  if (bytes[pos] === 0xfe && (bytes[pos + 1] & 0xc0) === 0x80) return "link-local";
  for (let i = 0; i < 15; i++) if (bytes[pos + i] !== 0) return "other";
  if (bytes[pos + 15] === 0) return "unspecified";
  return bytes[pos + 15] === 1 ? "loopback" : "other";
}

/**
 * The kind of the address written as `text` (any valid spelling), or undefined when the text is
 * not an address. Reads the text without allocating or caching: for checks on every request.
 */
export function addressKindOfText(text: string): AddressKind | undefined {
  if (typeof text !== "string" || !parseInto(text, 0, text.length)) return undefined;
  const first = groups[0];
  if (first >= 0xff00) return "multicast";
  if ((first & 0xffc0) === 0xfe80) return "link-local";
  for (let g = 0; g < 7; g++) if (groups[g] !== 0) return "other";
  if (groups[7] === 0) return "unspecified";
  return groups[7] === 1 ? "loopback" : "other";
}

/**
 * True when the 16-byte address at `pos` of `bytes` means something only on one link, so a
 * socket address needs a zone: link-local unicast (fe80::/10) and link-scope multicast (ffX2::).
 */
export function isLinkScoped(bytes: Uint8Array, pos = 0): boolean {
  return (bytes[pos] === 0xfe && (bytes[pos + 1] & 0xc0) === 0x80) ||
    (bytes[pos] === 0xff && (bytes[pos + 1] & 0x0f) === 2);
}
