/**
 * DNS wire-format domain names (RFC 1035 §3.1, no compression) and IDNA conversion.
 *
 * Names are handled as ASCII text (internationalised labels in their `xn--` form), labels joined
 * with `.`, without a trailing dot. Whether a name was absolute (ends with the root label) is
 * reported separately, so relative names (RFC 4704 partial names) survive a round trip.
 * @module
 */

import { domainToASCII, domainToUnicode } from "node:url";
import { ParseError, SerializeError } from "./errors.ts";
import type { Writer } from "./bytes.ts";

/** A name read from the wire. */
export interface WireName {
  /** The labels joined by dots (no trailing dot); empty for the root name. */
  name: string;
  /** True when the name ended with the zero-length root label. */
  absolute: boolean;
  /** Position after the name. */
  next: number;
}

function labelText(buf: Uint8Array, pos: number, length: number): string {
  let s = "";
  for (let i = pos; i < pos + length; i++) {
    const c = buf[i];
    if (c <= 0x20 || c >= 0x7f || c === 0x2e) {
      throw new ParseError(
        i,
        `domain label contains a byte (0x${c.toString(16)}) not allowed in a name`,
      );
    }
    s += String.fromCharCode(c);
  }
  return s;
}

/**
 * Read one name starting at `pos`. With `allowRelative`, a name that reaches `end` without a root
 * label is returned as relative; otherwise that is an error.
 */
export function readDomainName(
  buf: Uint8Array,
  pos: number,
  end: number,
  allowRelative = false,
): WireName {
  const start = pos;
  const labels: string[] = [];
  while (true) {
    if (pos >= end) {
      if (allowRelative && labels.length > 0) {
        return { name: labels.join("."), absolute: false, next: pos };
      }
      throw new ParseError(pos, "domain name is not terminated by the root label");
    }
    const length = buf[pos];
    if (length === 0) {
      pos++;
      break;
    }
    if (length > 63) {
      throw new ParseError(
        pos,
        length >= 0xc0
          ? "compressed domain names are not allowed"
          : `label length ${length} exceeds 63`,
      );
    }
    if (pos + 1 + length > end) {
      throw new ParseError(pos, "domain label runs past the end of its option");
    }
    labels.push(labelText(buf, pos + 1, length));
    pos += 1 + length;
    if (pos - start > 255) throw new ParseError(start, "domain name longer than 255 bytes");
  }
  if (pos - start > 255) throw new ParseError(start, "domain name longer than 255 bytes");
  return { name: labels.join("."), absolute: true, next: pos };
}

/** Read a list of absolute names filling exactly `buf[start, end)`. */
export function readDomainList(buf: Uint8Array, start: number, end: number): string[] {
  const names: string[] = [];
  let pos = start;
  while (pos < end) {
    const read = readDomainName(buf, pos, end);
    names.push(read.name);
    pos = read.next;
  }
  return names;
}

/** Write `name` (ASCII, labels joined by dots, trailing dot optional); root label unless relative. */
export function writeDomainName(w: Writer, name: string, absolute = true): void {
  const trimmed = name.endsWith(".") ? name.slice(0, -1) : name;
  const start = w.pos;
  if (trimmed !== "") {
    for (const label of trimmed.split(".")) {
      if (label.length < 1 || label.length > 63) {
        throw new SerializeError(
          `domain name ${JSON.stringify(name)} has a label of ${label.length} characters`,
        );
      }
      w.ensure(label.length + 1);
      const b = w.buf;
      b[w.pos++] = label.length;
      for (let i = 0; i < label.length; i++) {
        const c = label.charCodeAt(i);
        b[w.pos++] = c;
        if (c <= 0x20 || c >= 0x7f) {
          throw new SerializeError(
            `domain name ${JSON.stringify(name)} is not ASCII; convert it with toAsciiDomain()`,
          );
        }
      }
    }
  } else if (!absolute) {
    return;
  }
  if (absolute) w.u8(0);
  if (w.pos - start > 255) {
    throw new SerializeError(`domain name ${JSON.stringify(name)} is longer than 255 bytes`);
  }
}

/** Write a list of absolute names. */
export function writeDomainList(w: Writer, names: readonly string[]): void {
  for (const name of names) writeDomainName(w, name, true);
}

/** Convert a possibly internationalised name to its ASCII (punycode) form; throws when invalid. */
export function toAsciiDomain(name: string): string {
  const trimmed = name.endsWith(".") ? name.slice(0, -1) : name;
  if (/^[\x21-\x7e]*$/.test(trimmed)) return trimmed.toLowerCase();
  const ascii = domainToASCII(trimmed);
  if (!ascii) {
    throw new SerializeError(`not a valid internationalised domain name: ${JSON.stringify(name)}`);
  }
  return ascii;
}

/** Convert an ASCII name with `xn--` labels to Unicode for display. */
export function toUnicodeDomain(name: string): string {
  if (!name.includes("xn--")) return name;
  return domainToUnicode(name) || name;
}
