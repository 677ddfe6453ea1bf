/**
 * IPv6 prefixes: parsing `address/length` text and containment tests.
 * @module
 */

import { formatIPv6, parseIPv6 } from "./bytes.ts";
import { SerializeError } from "./errors.ts";

/** An IPv6 prefix (network bytes + length). */
export class IPv6Prefix {
  /** Create a prefix; bits past `length` are cleared. */
  constructor(readonly bytes: Uint8Array, readonly length: number) {
    if (!Number.isInteger(length) || length < 0 || length > 128) {
      throw new SerializeError(`prefix length ${length} is not 0-128`);
    }
    this.bytes = maskBytes(bytes, length);
  }

  /** Parse `address/length`; with `strict`, host bits must be zero. */
  static parse(text: string, strict = false): IPv6Prefix {
    const slash = text.indexOf("/");
    if (slash < 0) {
      throw new SerializeError(`not an IPv6 prefix (no length): ${JSON.stringify(text)}`);
    }
    const lengthText = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(lengthText)) {
      throw new SerializeError(`bad prefix length in ${JSON.stringify(text)}`);
    }
    const length = Number(lengthText);
    const bytes = parseIPv6(text.slice(0, slash));
    const prefix = new IPv6Prefix(bytes, length);
    if (strict && prefix.bytes.some((b, i) => b !== bytes[i])) {
      throw new SerializeError(`${text} has host bits set (did you mean ${prefix}?)`);
    }
    return prefix;
  }

  /** The network address as text. */
  get address(): string {
    return formatIPv6(this.bytes);
  }

  /** True when the address (text or 16 bytes) lies inside this prefix. */
  contains(address: string | Uint8Array): boolean {
    const a = typeof address === "string" ? parseIPv6(address) : address;
    return containsBytes(this.bytes, this.length, a);
  }

  /** True when `other` lies entirely inside this prefix. */
  containsPrefix(other: IPv6Prefix): boolean {
    return other.length >= this.length && containsBytes(this.bytes, this.length, other.bytes);
  }

  /** True when the two prefixes share any address. */
  overlaps(other: IPv6Prefix): boolean {
    return this.containsPrefix(other) || other.containsPrefix(this);
  }

  /** `address/length` text. */
  toString(): string {
    return `${this.address}/${this.length}`;
  }
}

/** Copy of `bytes` with bits past `length` cleared. */
export function maskBytes(bytes: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(16);
  const full = length >> 3;
  out.set(bytes.subarray(0, full));
  if (full < 16 && (length & 7)) out[full] = bytes[full] & (0xff << (8 - (length & 7)));
  return out;
}

function containsBytes(network: Uint8Array, length: number, address: Uint8Array): boolean {
  const full = length >> 3;
  for (let i = 0; i < full; i++) if (network[i] !== address[i]) return false;
  const rest = length & 7;
  if (rest === 0) return true;
  const mask = 0xff << (8 - rest) & 0xff;
  return (network[full] & mask) === (address[full] & mask);
}
