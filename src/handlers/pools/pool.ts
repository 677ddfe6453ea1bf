/**
 * One dynamic pool as plain data: an address pool hands out the addresses of its prefix, a prefix
 * pool the prefixes of `delegated-length` inside its prefix. Every address or prefix of a pool has
 * an index (its offset from the start, counted in addresses or in delegated prefixes); the lease
 * store keeps leases by pool and index, so uniqueness is one database constraint.
 * @module
 */

import { formatIPv6, type IPv6Prefix, parseIPv6 } from "../../protocol/mod.ts";

/** `na` for addresses (IA_NA), `pd` for delegated prefixes (IA_PD). */
export type LeaseType = "na" | "pd";

/**
 * The largest number of slots a pool uses: 2^52, so that every index is an exact JavaScript
 * number and an SQLite/PostgreSQL 64-bit integer. A larger pool (a /64 of addresses) uses its
 * first 2^52 slots, far more than any link needs.
 */
export const MAX_POOL_SLOTS = 2 ** 52;

/** What a pool is and what it hands out. */
export interface PoolSpec {
  /** `na` or `pd`. */
  readonly type: LeaseType;
  /** The pool's prefix. */
  readonly prefix: IPv6Prefix;
  /** Length of the handed-out prefixes (128 for addresses). */
  readonly delegatedLength: number;
  /** Preferred lifetime of leases, seconds. */
  readonly preferredLifetime: number;
  /** Valid lifetime of leases, seconds. */
  readonly validLifetime: number;
  /** How long a declined address stays out of use, seconds. */
  readonly declineProbation: number;
}

/** A pool with its index arithmetic. */
export class Pool {
  /** Name in the lease store and in statistics: `na 2001:db8::/120`, `pd 2001:db8::/40 56`. */
  readonly id: string;
  /** Number of slots (addresses or prefixes) from index 0 (at most {@link MAX_POOL_SLOTS}). */
  readonly size: number;
  /**
   * The first index handed out: 1 for an address pool whose first address is a subnet-router
   * anycast address (all-zero interface identifier, RFC 4291 §2.6.1), which no host may use;
   * else 0.
   */
  readonly first: number;
  readonly #base: bigint;
  readonly #shift: bigint;

  /** Create the pool. */
  constructor(readonly spec: PoolSpec) {
    const { type, prefix, delegatedLength } = spec;
    if (delegatedLength < prefix.length || delegatedLength > 128) {
      throw new RangeError(`delegated length ${delegatedLength} does not fit in ${prefix}`);
    }
    this.id = type === "na" ? `na ${prefix.text}` : `pd ${prefix.text} ${delegatedLength}`;
    const bits = delegatedLength - prefix.length;
    this.size = bits >= 52 ? MAX_POOL_SLOTS : 2 ** bits;
    this.#base = toBigInt(prefix.bytes);
    this.#shift = BigInt(128 - delegatedLength);
    this.first = type === "na" && (this.#base & 0xffffffffffffffffn) === 0n ? 1 : 0;
  }

  /** Number of addresses or prefixes the pool hands out. */
  get total(): number {
    return this.size - this.first;
  }

  /** `na` or `pd`. */
  get type(): LeaseType {
    return this.spec.type;
  }

  /** The address (na) or network address (pd) at `index`, as text. */
  resourceAt(index: number): string {
    return formatIPv6(this.bytesAt(index));
  }

  /**
   * The address (na) or network address (pd) at `index`, as 16 new bytes: the prefix's bytes
   * plus `index` shifted to the delegated length, added byte by byte (no BigInt: this runs for
   * every lease in every reply).
   */
  bytesAt(index: number): Uint8Array {
    const out = this.spec.prefix.bytes.slice(0, 16);
    const shift = 128 - this.spec.delegatedLength;
    const bits = shift & 7;
    let byte = 15 - (shift >> 3);
    // index < 2^52: its bytes from the lowest, each shifted by `bits` (the bits shifted out go
    // to the next byte) and added to the prefix's byte with the carry of the addition.
    let rest = index, spill = 0, carry = 0;
    while ((rest > 0 || spill > 0 || carry > 0) && byte >= 0) {
      const low = rest % 256;
      rest = (rest - low) / 256;
      const shifted = (low << bits) | spill;
      spill = shifted >> 8;
      const sum = out[byte] + (shifted & 0xff) + carry;
      out[byte] = sum & 0xff;
      carry = sum >> 8;
      byte--;
    }
    return out;
  }

  /**
   * The index of an address (na) or of a prefix given by its network address and length (pd);
   * undefined when it is not one of this pool's.
   */
  indexOf(address: string, length = 128): number | undefined {
    if (length !== this.spec.delegatedLength) return undefined;
    let bytes: Uint8Array;
    try {
      bytes = parseIPv6(address);
    } catch {
      return undefined;
    }
    if (!this.spec.prefix.contains(bytes)) return undefined;
    const value = toBigInt(bytes) - this.#base;
    if (value & ((1n << this.#shift) - 1n)) return undefined; // host bits set in a prefix
    const index = value >> this.#shift;
    return index < BigInt(this.size) && index >= BigInt(this.first) ? Number(index) : undefined;
  }

  /** Where this client's search for a free slot starts: spread over the pool, stable per IA. */
  startFor(duid: string, iaid: number): number {
    // FNV-1a over the DUID text and the IAID, widened to 52 bits by two rounds.
    let h1 = 0x811c9dc5, h2 = 0x01000193 ^ iaid;
    for (let i = 0; i < duid.length; i++) {
      const c = duid.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
      h2 = Math.imul(h2 ^ c ^ (h1 >>> 7), 0x01000193) >>> 0;
    }
    h1 = Math.imul(h1 ^ iaid, 0x01000193) >>> 0;
    const wide = (h2 & 0xfffff) * 2 ** 32 + h1;
    return this.first + wide % this.total;
  }
}

function toBigInt(bytes: Uint8Array): bigint {
  const view = new DataView(bytes.buffer, bytes.byteOffset, 16);
  return (view.getBigUint64(0) << 64n) | view.getBigUint64(8);
}
