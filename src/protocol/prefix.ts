/**
 * IPv6 prefixes: parsing `address/length` text and containment tests.
 * @module
 */

import { formatIPv6, parseIPv6, parseIPv6Into } from "./ipv6.ts";
import { SerializeError } from "./errors.ts";

/** Set only while {@link IPv6Prefix.ofNetwork} constructs: keep the given bytes as they are. */
let adoptBytes = false;

/** Scratch space for addresses given as text to the containment tests; never held across calls. */
const scratch = new Uint8Array(16);

/** An IPv6 prefix (network bytes + length). */
export class IPv6Prefix {
  /** Create a prefix; bits past `length` are cleared (in a copy: `bytes` is left as it is). */
  constructor(readonly bytes: Uint8Array, readonly length: number) {
    checkLength(length);
    this.bytes = adoptBytes ? bytes : maskBytes(bytes, length);
  }

  /**
   * A prefix whose bytes are `network` itself, without a copy (a view into a table, say): 16
   * bytes with every bit past `length` already clear, which must not change afterwards. Throws
   * {@link SerializeError} when the bytes are not such a network address.
   */
  static ofNetwork(network: Uint8Array, length: number): IPv6Prefix {
    checkLength(length);
    if (network.length !== 16 || !hostBitsClear(network, length)) {
      throw new SerializeError(`not a /${length} network address: ${formatIPv6(network)}`);
    }
    adoptBytes = true;
    try {
      return new IPv6Prefix(network, length);
    } finally {
      adoptBytes = false;
    }
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
    return containsBytes(this.bytes, this.length, addressBytes(address));
  }

  /** True when `other` lies entirely inside this prefix. */
  containsPrefix(other: IPv6Prefix): boolean {
    return other.length >= this.length && containsBytes(this.bytes, this.length, other.bytes);
  }

  /** True when the two prefixes share any address. */
  overlaps(other: IPv6Prefix): boolean {
    return this.containsPrefix(other) || other.containsPrefix(this);
  }

  /**
   * True when the network `address/length` (text or 16 bytes; host bits may be set) shares any
   * address with this prefix, like {@link IPv6Prefix.overlaps} without building a prefix for it.
   * Throws {@link SerializeError} for an invalid address or length.
   */
  overlapsNetwork(address: string | Uint8Array, length: number): boolean {
    checkLength(length);
    return containsBytes(this.bytes, Math.min(this.length, length), addressBytes(address));
  }

  /** Canonical `address/length` text (RFC 5952 address). */
  get text(): string {
    return `${this.address}/${this.length}`;
  }

  /** `address/length` text, as {@link IPv6Prefix.text}. */
  toString(): string {
    return this.text;
  }
}

function checkLength(length: number): void {
  if (!Number.isInteger(length) || length < 0 || length > 128) {
    throw new SerializeError(`prefix length ${length} is not 0-128`);
  }
}

/** The 16 bytes of an address given as bytes or text (text is parsed into shared scratch space). */
function addressBytes(address: string | Uint8Array): Uint8Array {
  if (typeof address !== "string") return address;
  parseIPv6Into(address, scratch, 0);
  return scratch;
}

/** Copy of `bytes` with bits past `length` cleared. */
export function maskBytes(bytes: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(16);
  const full = length >> 3;
  out.set(bytes.subarray(0, full));
  if (full < 16 && (length & 7)) out[full] = bytes[full] & (0xff << (8 - (length & 7)));
  return out;
}

/** True when every bit of `bytes` past the first `length` is zero. */
function hostBitsClear(bytes: Uint8Array, length: number): boolean {
  const full = length >> 3;
  const rest = length & 7;
  if (rest !== 0 && (bytes[full] & (0xff >> rest)) !== 0) return false;
  for (let i = rest === 0 ? full : full + 1; i < 16; i++) if (bytes[i] !== 0) return false;
  return true;
}

function containsBytes(network: Uint8Array, length: number, address: Uint8Array): boolean {
  const full = length >> 3;
  for (let i = 0; i < full; i++) if (network[i] !== address[i]) return false;
  const rest = length & 7;
  if (rest === 0) return true;
  const mask = 0xff << (8 - rest) & 0xff;
  return (network[full] & mask) === (address[full] & mask);
}
