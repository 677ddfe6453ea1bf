/**
 * Reusable option shapes: DUID, opaque bytes, 32-bit value, empty, address list, name list and
 * option-code list. Concrete options extend these and add their static `code`, `optionName` and
 * `parse`.
 * @module
 */

import { MsgType } from "../constants.ts";
import { ParseError, ValidationError } from "../errors.ts";
import { exactLength, type Writer } from "../bytes.ts";
import { addressKindOfText, formatIPv6 } from "../ipv6.ts";
import { type Duid, parseDuid } from "../duid.ts";
import { readDomainList, writeDomainList } from "../domain.ts";
import { Option } from "../option.ts";

/**
 * The message types that carry configuration options: Solicit, Advertise, Request, Renew, Rebind,
 * Reply and Information-request.
 */
export const CONFIGURATION_MESSAGES: readonly number[] = [
  MsgType.Solicit,
  MsgType.Advertise,
  MsgType.Request,
  MsgType.Renew,
  MsgType.Rebind,
  MsgType.Reply,
  MsgType.InformationRequest,
];

/** An option whose data is one DUID (Client ID, Server ID, Relay ID). */
export abstract class DuidOption extends Option {
  /** Create the option around `duid`. */
  constructor(public duid: Duid) {
    super();
  }

  /** Write the DUID. */
  writeData(w: Writer): void {
    this.duid.write(w);
  }

  /** The DUID must be valid. */
  override validate(): void {
    this.duid.validate();
  }
}

/** Parse DUID option data (at least the 2-byte type). */
export function parseDuidData(buf: Uint8Array, start: number, end: number, what: string): Duid {
  if (end - start < 2) throw new ParseError(start, `${what} must hold a DUID of at least 2 bytes`);
  return parseDuid(buf, start, end);
}

/** An option whose data is opaque bytes (Interface ID, Subscriber ID, ...). */
export abstract class OpaqueOption extends Option {
  /** Create the option around `data`. */
  constructor(public data: Uint8Array = new Uint8Array(0)) {
    super();
  }

  /** Write the bytes. */
  writeData(w: Writer): void {
    w.bytes(this.data);
  }
}

/** An option whose data is one unsigned 32-bit number. */
export abstract class U32Option extends Option {
  /** Create the option with `value`. */
  constructor(public value: number = 0) {
    super();
  }

  /** Write the number. */
  writeData(w: Writer): void {
    w.u32(this.value);
  }

  /** The value must fit 32 bits. */
  override validate(): void {
    if (!Number.isInteger(this.value) || this.value < 0 || this.value > 0xffffffff) {
      throw new ValidationError(`value ${this.value} does not fit 32 bits`);
    }
  }
}

/** Read exactly 4 bytes of option data as an unsigned 32-bit number. */
export function parseU32Data(buf: Uint8Array, start: number, end: number, what: string): number {
  exactLength(start, end, 4, what);
  return buf[start] * 0x1000000 + ((buf[start + 1] << 16) | (buf[start + 2] << 8) | buf[start + 3]);
}

/** An option without data (Rapid Commit, Reconfigure Accept). */
export abstract class EmptyOption extends Option {
  /** Nothing to write. */
  writeData(_w: Writer): void {}
}

/** An option whose data is a list of IPv6 addresses. */
export abstract class AddressListOption extends Option {
  /** Create the option with `addresses` (IPv6 text). */
  constructor(public addresses: string[] = []) {
    super();
  }

  /** Write the addresses. */
  writeData(w: Writer): void {
    for (const a of this.addresses) w.address(a);
  }
}

/** Read a list of 16-byte addresses filling exactly `buf[start, end)`. */
export function parseAddressList(
  buf: Uint8Array,
  start: number,
  end: number,
  what: string,
): string[] {
  if ((end - start) % 16 !== 0) {
    throw new ParseError(start, `${what} length ${end - start} is not a multiple of 16`);
  }
  const out: string[] = [];
  for (let p = start; p < end; p += 16) out.push(formatIPv6(buf, p));
  return out;
}

/** Throw when an address is not routable (unspecified, loopback, link-local or multicast). */
export function checkRoutable(address: string, what: string): void {
  const kind = addressKindOfText(address);
  if (kind === undefined) throw new ValidationError(`${what} ${address} is not an IPv6 address`);
  if (kind !== "other") {
    throw new ValidationError(`${what} ${address} is not a routable address`);
  }
}

/** An option whose data is a list of absolute domain names. */
export abstract class DomainListOption extends Option {
  /** Create the option with `domainNames` (ASCII, no trailing dot). */
  constructor(public domainNames: string[] = []) {
    super();
  }

  /** Write the names. */
  writeData(w: Writer): void {
    writeDomainList(w, this.domainNames);
  }
}

/** Read a list of absolute domain names. */
export { readDomainList as parseDomainListData };

/** An option whose data is a list of 16-bit option codes (ORO, ERO). */
export abstract class OptionCodeListOption extends Option {
  /** Create the option with `requestedOptions`. */
  constructor(public requestedOptions: number[] = []) {
    super();
  }

  /** Write the codes. */
  writeData(w: Writer): void {
    for (const c of this.requestedOptions) w.u16(c);
  }
}

/** Read a list of 16-bit codes filling exactly `buf[start, end)`. */
export function parseCodeList(buf: Uint8Array, start: number, end: number, what: string): number[] {
  if ((end - start) % 2 !== 0) throw new ParseError(start, `${what} length ${end - start} is odd`);
  const out: number[] = [];
  for (let p = start; p < end; p += 2) out.push((buf[p] << 8) | buf[p + 1]);
  return out;
}
