/**
 * The Prefix Exclude option (67) of RFC 6603, which lives inside an IA Prefix (26) (INVENTORY
 * decision 21) and names one subnet of the delegated prefix the client must not use.
 *
 * The option only carries the excluded prefix's bits after the delegated prefix length, so
 * {@link PDExcludeOption.excludedPrefix} and {@link PDExcludeOption.fromPrefixes} need the
 * delegated prefix to convert between the option and the excluded prefix.
 * @module
 */

import { ParseError, ValidationError } from "../errors.ts";
import type { Writer } from "../bytes.ts";
import { formatIPv6, parseIPv6 } from "../ipv6.ts";
import { allowInOption } from "../occurrence.ts";
import { Option, registerOption } from "../option.ts";

function getBit(bytes: Uint8Array, i: number): number {
  return (bytes[i >> 3] >> (7 - (i & 7))) & 1;
}

function setBit(bytes: Uint8Array, i: number, bit: number): void {
  if (bit) bytes[i >> 3] |= 0x80 >> (i & 7);
  else bytes[i >> 3] &= ~(0x80 >> (i & 7));
}

/** PD Exclude (67): excluded prefix length and its subnet ID bits, left-aligned. */
export class PDExcludeOption extends Option {
  /** Option code. */
  static readonly code = 67;
  /** Option name. */
  static readonly optionName = "pd-exclude";

  /** Create the option from the excluded prefix length and the subnet ID bytes (1-16). */
  constructor(public prefixLength = 64, public subnetId: Uint8Array = new Uint8Array(1)) {
    super();
  }

  /** Parse the option data: prefix-len(1) subnet-id(1-16); option-len 2 to 17 (RFC 6603 §4.2). */
  static parse(buf: Uint8Array, start: number, end: number): PDExcludeOption {
    const length = end - start;
    if (length < 2 || length > 17) {
      throw new ParseError(start, `pd-exclude length must be 2 to 17, not ${length}`);
    }
    return new PDExcludeOption(buf[start], buf.subarray(start + 1, end));
  }

  /** Build the option excluding `excludedPrefix/excludedLength` from `delegatedPrefix/delegatedLength`. */
  static fromPrefixes(
    delegatedPrefix: string,
    delegatedLength: number,
    excludedPrefix: string,
    excludedLength: number,
  ): PDExcludeOption {
    if (
      !Number.isInteger(delegatedLength) || !Number.isInteger(excludedLength) ||
      delegatedLength < 0 || excludedLength <= delegatedLength || excludedLength > 128
    ) {
      throw new ValidationError(
        `cannot exclude a /${excludedLength} from a /${delegatedLength}`,
      );
    }
    const delegated = parseIPv6(delegatedPrefix);
    const excluded = parseIPv6(excludedPrefix);
    for (let i = 0; i < delegatedLength; i++) {
      if (getBit(delegated, i) !== getBit(excluded, i)) {
        throw new ValidationError(
          `${excludedPrefix}/${excludedLength} is not inside ${delegatedPrefix}/${delegatedLength}`,
        );
      }
    }
    const bits = excludedLength - delegatedLength;
    const subnetId = new Uint8Array(Math.ceil(bits / 8));
    for (let i = 0; i < bits; i++) setBit(subnetId, i, getBit(excluded, delegatedLength + i));
    return new PDExcludeOption(excludedLength, subnetId);
  }

  /** Write the option data. */
  writeData(w: Writer): void {
    w.u8(this.prefixLength);
    w.bytes(this.subnetId);
  }

  /**
   * Throw a {@link ValidationError} unless this option fits a delegated prefix of
   * `delegatedLength` bits: the excluded prefix is longer, the subnet ID has exactly
   * ceil((prefix-len - delegated length) / 8) octets and its padding bits are zero.
   */
  checkDelegatedLength(delegatedLength: number): void {
    const bits = this.prefixLength - delegatedLength;
    if (bits < 1) {
      throw new ValidationError(
        `pd-exclude prefix length ${this.prefixLength} is not longer than the delegated /${delegatedLength}`,
      );
    }
    if (this.subnetId.length !== Math.ceil(bits / 8)) {
      throw new ValidationError(
        `pd-exclude subnet ID of ${this.subnetId.length} octets does not hold ${bits} bits`,
      );
    }
    for (let i = bits; i < this.subnetId.length * 8; i++) {
      if (getBit(this.subnetId, i)) {
        throw new ValidationError("pd-exclude subnet ID has non-zero padding bits");
      }
    }
  }

  /** The excluded prefix (IPv6 text; its length is {@link prefixLength}) within a delegated prefix. */
  excludedPrefix(delegatedPrefix: string, delegatedLength: number): string {
    this.checkDelegatedLength(delegatedLength);
    const out = parseIPv6(delegatedPrefix);
    for (let i = delegatedLength; i < 128; i++) setBit(out, i, 0);
    const bits = this.prefixLength - delegatedLength;
    for (let i = 0; i < bits; i++) setBit(out, delegatedLength + i, getBit(this.subnetId, i));
    return formatIPv6(out);
  }

  /** Prefix length 1..128 and a subnet ID of 1 to 16 octets, no longer than the prefix needs. */
  override validate(): void {
    if (!Number.isInteger(this.prefixLength) || this.prefixLength < 1 || this.prefixLength > 128) {
      throw new ValidationError(`pd-exclude prefix length ${this.prefixLength} is not 1 to 128`);
    }
    if (this.subnetId.length < 1 || this.subnetId.length > 16) {
      throw new ValidationError(`pd-exclude subnet ID must be 1 to 16 octets`);
    }
    // The subnet ID holds prefix-len minus the delegated length bits, so never more than prefix-len.
    if (this.subnetId.length > Math.ceil(this.prefixLength / 8)) {
      throw new ValidationError(
        `pd-exclude subnet ID of ${this.subnetId.length} octets is too long for a /${this.prefixLength}`,
      );
    }
  }
}

registerOption(PDExcludeOption);

// RFC 6603 §4.2: at most one, inside an IA Prefix.
allowInOption(26, 67, 0, 1);
