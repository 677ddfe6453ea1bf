/**
 * The options of RFC 8415 (the DHCPv6 base specification), including SOL_MAX_RT and INF_MAX_RT
 * (RFC 7083, merged into RFC 8415), with their placement rules.
 * @module
 */

import { MsgType } from "../constants.ts";
import { ParseError, SerializeError, ValidationError } from "../errors.ts";
import {
  exactLength,
  minLength,
  readAddress,
  readBytes,
  readU16,
  readU32,
  type Writer,
} from "../bytes.ts";
import { addressKind, formatIPv6, parseIPv6 } from "../ipv6.ts";
import type { Duid } from "../duid.ts";
import { type Message, parseMessageAt } from "../message.ts";
import { allowInMessage, allowInOption, checkOccurrence, optionOccurrence } from "../occurrence.ts";
import {
  Option,
  parseOptions,
  registerOption,
  type UnknownOption,
  writeOptions,
} from "../option.ts";
import {
  checkRoutable,
  DuidOption,
  EmptyOption,
  OpaqueOption,
  OptionCodeListOption,
  parseCodeList,
  parseDuidData,
  parseU32Data,
  U32Option,
} from "./base.ts";

/** Status codes (RFC 8415 §21.13, RFC 5007, RFC 5460). */
export const StatusCode = {
  Success: 0,
  UnspecFail: 1,
  NoAddrsAvail: 2,
  NoBinding: 3,
  NotOnLink: 4,
  UseMulticast: 5,
  NoPrefixAvail: 6,
  UnknownQueryType: 7,
  MalformedQuery: 8,
  NotConfigured: 9,
  NotAllowed: 10,
  QueryTerminated: 11,
} as const;

/** Status code number -> name. */
export const STATUS_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(StatusCode).map(([name, code]) => [code, name]),
);

/** Throws {@link SerializeError} unless `address` has the 16 bytes of an IPv6 address. */
function checkAddressBytes(address: Uint8Array): void {
  if (address.length !== 16) {
    throw new SerializeError(`an IPv6 address has 16 bytes, not ${address.length}`);
  }
}

/** Check that a number fits an unsigned field of `bits` bits. */
export function checkUint(value: number, bits: 8 | 16 | 32, what: string): void {
  const max = bits === 32 ? 0xffffffff : (1 << bits) - 1;
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new ValidationError(`${what} ${value} does not fit ${bits} bits`);
  }
}

/** Validate the sub-options of a container option against its placement rules. */
export function validateChildren(
  container: Option,
  where: string,
  options: readonly Option[],
): void {
  checkOccurrence(where, optionOccurrence.get(container.code), options);
  for (const o of options) o.validate();
}

/** Client Identifier (1). */
export class ClientIdOption extends DuidOption {
  /** Option code. */
  static readonly code = 1;
  /** Option name. */
  static readonly optionName = "client-id";
  /** Parse the option data. */
  static parse(buf: Uint8Array, start: number, end: number): ClientIdOption {
    return new ClientIdOption(parseDuidData(buf, start, end, "client-id"));
  }
}

/** Server Identifier (2). */
export class ServerIdOption extends DuidOption {
  /** Option code. */
  static readonly code = 2;
  /** Option name. */
  static readonly optionName = "server-id";
  /** Parse the option data. */
  static parse(buf: Uint8Array, start: number, end: number): ServerIdOption {
    return new ServerIdOption(parseDuidData(buf, start, end, "server-id"));
  }
}

/** Identity Association for Non-temporary Addresses (3). */
export class IANAOption extends Option {
  /** Option code. */
  static readonly code = 3;
  /** Option name. */
  static readonly optionName = "iana";

  /** Create an IA_NA. */
  constructor(public iaid = 0, public t1 = 0, public t2 = 0, public options: Option[] = []) {
    super();
  }

  /** Parse the option data. */
  static parse(buf: Uint8Array, start: number, end: number): IANAOption {
    minLength(start, end, 12, "iana");
    return new IANAOption(
      readU32(buf, start, end),
      readU32(buf, start + 4, end),
      readU32(buf, start + 8, end),
      parseOptions(buf, start + 12, end),
    );
  }

  /** Write the option data. */
  writeData(w: Writer): void {
    w.u32(this.iaid);
    w.u32(this.t1);
    w.u32(this.t2);
    writeOptions(w, this.options);
  }

  /** IAID and timers fit 32 bits and sub-options are allowed (T1 > T2 is the receiver's to ignore). */
  override validate(): void {
    checkUint(this.iaid, 32, "IAID");
    checkUint(this.t1, 32, "T1");
    checkUint(this.t2, 32, "T2");
    validateChildren(this, "iana", this.options);
  }
}

/** Identity Association for Temporary Addresses (4). */
export class IATAOption extends Option {
  /** Option code. */
  static readonly code = 4;
  /** Option name. */
  static readonly optionName = "iata";

  /** Create an IA_TA. */
  constructor(public iaid = 0, public options: Option[] = []) {
    super();
  }

  /** Parse the option data. */
  static parse(buf: Uint8Array, start: number, end: number): IATAOption {
    minLength(start, end, 4, "iata");
    return new IATAOption(readU32(buf, start, end), parseOptions(buf, start + 4, end));
  }

  /** Write the option data. */
  writeData(w: Writer): void {
    w.u32(this.iaid);
    writeOptions(w, this.options);
  }

  /** IAID fits 32 bits, sub-options allowed. */
  override validate(): void {
    checkUint(this.iaid, 32, "IAID");
    validateChildren(this, "iata", this.options);
  }
}

/** IA Address (5). */
export class IAAddressOption extends Option {
  /** Option code. */
  static readonly code = 5;
  /** Option name. */
  static readonly optionName = "ia-address";

  /** Field names in the order `dhcpkit decode` shows them (the address is an accessor). */
  static readonly fieldNames: readonly string[] = [
    "address",
    "preferredLifetime",
    "validLifetime",
    "options",
  ];

  /**
   * The address as text and/or as its 16 bytes: a parsed or {@link IAAddressOption.fromBytes}
   * option has the bytes and makes the text only when asked for it (an address hint is rarely
   * read as text), one made from text parses it only when written or compared as bytes.
   */
  #text?: string;
  #bytes?: Uint8Array;

  /** Create an IA Address. */
  constructor(
    address: string = "::",
    public preferredLifetime = 0,
    public validLifetime = 0,
    public options: Option[] = [],
  ) {
    super();
    this.#text = address;
  }

  /** The fields as plain data (the address as text), as they were before it became an accessor. */
  toJSON(): Record<string, unknown> {
    const { address, preferredLifetime, validLifetime, options } = this;
    return { address, preferredLifetime, validLifetime, options };
  }

  /** The address, as canonical text when it came as bytes. */
  get address(): string {
    return this.#text ??= formatIPv6(this.#bytes!);
  }

  /** Replace the address. */
  set address(text: string) {
    this.#text = text;
    this.#bytes = undefined;
  }

  /**
   * The 16 bytes of the address (not to be modified). Throws {@link SerializeError} when the
   * address was set to text that is not an IPv6 address.
   */
  get addressBytes(): Uint8Array {
    return this.#bytes ??= parseIPv6(this.#text!);
  }

  /**
   * An IA Address whose address comes as its 16 bytes (which must not change afterwards): they
   * are written as they are, and the text is made from them only when asked for.
   */
  static fromBytes(
    address: Uint8Array,
    preferredLifetime = 0,
    validLifetime = 0,
    options: Option[] = [],
  ): IAAddressOption {
    checkAddressBytes(address);
    const option = new IAAddressOption(undefined, preferredLifetime, validLifetime, options);
    option.#text = undefined;
    option.#bytes = address;
    return option;
  }

  /** Parse the option data. */
  static parse(buf: Uint8Array, start: number, end: number): IAAddressOption {
    minLength(start, end, 24, "ia-address");
    return IAAddressOption.fromBytes(
      buf.subarray(start, start + 16),
      readU32(buf, start + 16, end),
      readU32(buf, start + 20, end),
      parseOptions(buf, start + 24, end),
    );
  }

  /** Write the option data. */
  writeData(w: Writer): void {
    w.addressBytes(this.addressBytes);
    w.u32(this.preferredLifetime);
    w.u32(this.validLifetime);
    writeOptions(w, this.options);
  }

  /**
   * Lifetimes fit 32 bits and sub-options are allowed. The address and the lifetime relation are
   * not judged here: in a request they are only hints, which a server ignores when unusable
   * (RFC 8415 §18.3) instead of discarding the whole message; {@link IAAddressOption.checkLease}
   * holds those rules for addresses a server hands out.
   */
  override validate(): void {
    checkUint(this.preferredLifetime, 32, "preferred lifetime");
    checkUint(this.validLifetime, 32, "valid lifetime");
    validateChildren(this, "ia-address", this.options);
  }

  /** The rules for an address handed out: routable, and preferred lifetime <= valid lifetime. */
  checkLease(): void {
    if (this.#text === undefined) {
      // From bytes: judged on them, the text is made only for the error.
      if (addressKind(this.#bytes!) !== "other") {
        throw new ValidationError(`ia-address ${this.address} is not a routable address`);
      }
    } else checkRoutable(this.#text, "ia-address");
    if (this.preferredLifetime > this.validLifetime) {
      throw new ValidationError("ia-address preferred lifetime is greater than its valid lifetime");
    }
  }
}

/** Option Request (6). */
export class OptionRequestOption extends OptionCodeListOption {
  /** Option code. */
  static readonly code = 6;
  /** Option name. */
  static readonly optionName = "option-request";
  /** Parse the option data. */
  static parse(buf: Uint8Array, start: number, end: number): OptionRequestOption {
    return new OptionRequestOption(parseCodeList(buf, start, end, "option-request"));
  }

  /** Codes fit 16 bits. */
  override validate(): void {
    for (const c of this.requestedOptions) checkUint(c, 16, "requested option");
  }
}

/** Preference (7). */
export class PreferenceOption extends Option {
  /** Option code. */
  static readonly code = 7;
  /** Option name. */
  static readonly optionName = "preference";

  /** Create a Preference option (0-255). */
  constructor(public preference = 0) {
    super();
  }

  /** Parse the option data. */
  static parse(buf: Uint8Array, start: number, end: number): PreferenceOption {
    exactLength(start, end, 1, "preference");
    return new PreferenceOption(buf[start]);
  }

  /** Write the option data. */
  writeData(w: Writer): void {
    w.u8(this.preference);
  }

  /** Preference fits 8 bits. */
  override validate(): void {
    checkUint(this.preference, 8, "preference");
  }
}

/** Elapsed Time (8), in hundredths of a second. */
export class ElapsedTimeOption extends Option {
  /** Option code. */
  static readonly code = 8;
  /** Option name. */
  static readonly optionName = "elapsed-time";

  /** Create an Elapsed Time option. */
  constructor(public elapsedTime = 0) {
    super();
  }

  /** Parse the option data. */
  static parse(buf: Uint8Array, start: number, end: number): ElapsedTimeOption {
    exactLength(start, end, 2, "elapsed-time");
    return new ElapsedTimeOption(readU16(buf, start, end));
  }

  /** Write the option data. */
  writeData(w: Writer): void {
    w.u16(this.elapsedTime);
  }

  /** Elapsed time fits 16 bits. */
  override validate(): void {
    checkUint(this.elapsedTime, 16, "elapsed time");
  }
}

/** Relay Message (9): the message a relay forwards or the reply for it. */
export class RelayMessageOption extends Option {
  /** Option code. */
  static readonly code = 9;
  /** Option name. */
  static readonly optionName = "relay-message";

  /** Create a Relay Message option around `message`. */
  constructor(public message: Message) {
    super();
  }

  /** Parse the option data: one whole message. */
  static parse(buf: Uint8Array, start: number, end: number): RelayMessageOption {
    minLength(start, end, 1, "relay-message");
    return new RelayMessageOption(parseMessageAt(buf, start, end));
  }

  /** Write the option data. */
  writeData(w: Writer): void {
    this.message.write(w);
  }

  /** The carried message must be valid. */
  override validate(): void {
    this.message.validate();
  }
}

/** Authentication (11): parsed and re-emitted, not processed. */
export class AuthenticationOption extends Option {
  /** Option code. */
  static readonly code = 11;
  /** Option name. */
  static readonly optionName = "authentication";

  /** Create an Authentication option. */
  constructor(
    public protocol = 0,
    public algorithm = 0,
    public rdm = 0,
    public replayDetection: Uint8Array = new Uint8Array(8),
    public authInfo: Uint8Array = new Uint8Array(0),
  ) {
    super();
  }

  /** Parse the option data. */
  static parse(buf: Uint8Array, start: number, end: number): AuthenticationOption {
    minLength(start, end, 11, "authentication");
    return new AuthenticationOption(
      buf[start],
      buf[start + 1],
      buf[start + 2],
      readBytes(buf, start + 3, end, 8),
      readBytes(buf, start + 11, end, end - start - 11),
    );
  }

  /** Write the option data. */
  writeData(w: Writer): void {
    w.u8(this.protocol);
    w.u8(this.algorithm);
    w.u8(this.rdm);
    w.bytes(this.replayDetection);
    w.bytes(this.authInfo);
  }

  /** Replay detection is 8 bytes. */
  override validate(): void {
    if (this.replayDetection.length !== 8) {
      throw new ValidationError("replay detection must be 8 bytes");
    }
  }
}

/** Server Unicast (12). */
export class ServerUnicastOption extends Option {
  /** Option code. */
  static readonly code = 12;
  /** Option name. */
  static readonly optionName = "server-unicast";

  /** Create a Server Unicast option. */
  constructor(public serverAddress = "::") {
    super();
  }

  /** Parse the option data. */
  static parse(buf: Uint8Array, start: number, end: number): ServerUnicastOption {
    exactLength(start, end, 16, "server-unicast");
    return new ServerUnicastOption(readAddress(buf, start, end));
  }

  /** Write the option data. */
  writeData(w: Writer): void {
    w.address(this.serverAddress);
  }

  /** The address must be routable. */
  override validate(): void {
    checkRoutable(this.serverAddress, "server-unicast address");
  }
}

// ignoreBOM keeps a leading U+FEFF in the text, so the bytes survive a round trip.
const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

/** Decode UTF-8 bytes in `buf[start, end)`, throwing {@link ParseError} when invalid. */
export function readUtf8(buf: Uint8Array, start: number, end: number, what: string): string {
  if (start === end) return "";
  try {
    return utf8Decoder.decode(buf.subarray(start, end));
  } catch {
    throw new ParseError(start, `${what} is not valid UTF-8`);
  }
}

/** Status Code (13). */
export class StatusCodeOption extends Option {
  /** Option code. */
  static readonly code = 13;
  /** Option name. */
  static readonly optionName = "status-code";

  /** Create a Status Code option. */
  constructor(public statusCode = 0, public statusMessage = "") {
    super();
  }

  /** Parse the option data. */
  static parse(buf: Uint8Array, start: number, end: number): StatusCodeOption {
    minLength(start, end, 2, "status-code");
    return new StatusCodeOption(
      readU16(buf, start, end),
      readUtf8(buf, start + 2, end, "status message"),
    );
  }

  /** Write the option data. */
  writeData(w: Writer): void {
    w.u16(this.statusCode);
    if (this.statusMessage) w.bytes(utf8Encoder.encode(this.statusMessage));
  }

  /** Status code fits 16 bits. */
  override validate(): void {
    checkUint(this.statusCode, 16, "status code");
  }
}

/** Rapid Commit (14). */
export class RapidCommitOption extends EmptyOption {
  /** Option code. */
  static readonly code = 14;
  /** Option name. */
  static readonly optionName = "rapid-commit";
  /** Parse the option data (must be empty). */
  static parse(_buf: Uint8Array, start: number, end: number): RapidCommitOption {
    exactLength(start, end, 0, "rapid-commit");
    return new RapidCommitOption();
  }
}

/** Read a sequence of 2-byte-length-prefixed opaque items filling `buf[start, end)`. */
export function parseOpaqueList(
  buf: Uint8Array,
  start: number,
  end: number,
  what: string,
): Uint8Array[] {
  const items: Uint8Array[] = [];
  let pos = start;
  while (pos < end) {
    const length = readU16(buf, pos, end, `${what} item length`);
    items.push(readBytes(buf, pos + 2, end, length, `${what} item`));
    pos += 2 + length;
  }
  return items;
}

function writeOpaqueList(w: Writer, items: readonly Uint8Array[]): void {
  for (const item of items) {
    w.u16(item.length);
    w.bytes(item);
  }
}

/** User Class (15). */
export class UserClassOption extends Option {
  /** Option code. */
  static readonly code = 15;
  /** Option name. */
  static readonly optionName = "user-class";

  /** Create a User Class option. */
  constructor(public userClasses: Uint8Array[] = []) {
    super();
  }

  /** Parse the option data. */
  static parse(buf: Uint8Array, start: number, end: number): UserClassOption {
    return new UserClassOption(parseOpaqueList(buf, start, end, "user-class"));
  }

  /** Write the option data. */
  writeData(w: Writer): void {
    writeOpaqueList(w, this.userClasses);
  }
}

/** Vendor Class (16). */
export class VendorClassOption extends Option {
  /** Option code. */
  static readonly code = 16;
  /** Option name. */
  static readonly optionName = "vendor-class";

  /** Create a Vendor Class option. */
  constructor(public enterpriseNumber = 0, public vendorClasses: Uint8Array[] = []) {
    super();
  }

  /** Parse the option data. */
  static parse(buf: Uint8Array, start: number, end: number): VendorClassOption {
    minLength(start, end, 4, "vendor-class");
    return new VendorClassOption(
      readU32(buf, start, end),
      parseOpaqueList(buf, start + 4, end, "vendor-class"),
    );
  }

  /** Write the option data. */
  writeData(w: Writer): void {
    w.u32(this.enterpriseNumber);
    writeOpaqueList(w, this.vendorClasses);
  }
}

const NO_OPTIONS = new Map();

/** Vendor-specific Information (17): enterprise number and vendor-defined options kept raw. */
export class VendorSpecificInformationOption extends Option {
  /** Option code. */
  static readonly code = 17;
  /** Option name. */
  static readonly optionName = "vendor-specific-information";

  /** Create a Vendor-specific Information option. */
  constructor(public enterpriseNumber = 0, public options: UnknownOption[] = []) {
    super();
  }

  /** Parse the option data; vendor options use their own code space, so they stay raw. */
  static parse(buf: Uint8Array, start: number, end: number): VendorSpecificInformationOption {
    minLength(start, end, 4, "vendor-specific-information");
    return new VendorSpecificInformationOption(
      readU32(buf, start, end),
      parseOptions(buf, start + 4, end, NO_OPTIONS) as UnknownOption[],
    );
  }

  /** Write the option data. */
  writeData(w: Writer): void {
    w.u32(this.enterpriseNumber);
    writeOptions(w, this.options);
  }
}

/** Interface ID (18): opaque identifier of the relay's interface. */
export class InterfaceIdOption extends OpaqueOption {
  /** Option code. */
  static readonly code = 18;
  /** Option name. */
  static readonly optionName = "interface-id";
  /** Parse the option data. */
  static parse(buf: Uint8Array, start: number, end: number): InterfaceIdOption {
    return new InterfaceIdOption(buf.subarray(start, end));
  }
}

/** Reconfigure Message (19). */
export class ReconfigureMessageOption extends Option {
  /** Option code. */
  static readonly code = 19;
  /** Option name. */
  static readonly optionName = "reconfigure-message";

  /** Create a Reconfigure Message option (5 = Renew, 6 = Rebind, 11 = Information-request). */
  constructor(public messageType = 5) {
    super();
  }

  /** Parse the option data. */
  static parse(buf: Uint8Array, start: number, end: number): ReconfigureMessageOption {
    exactLength(start, end, 1, "reconfigure-message");
    return new ReconfigureMessageOption(buf[start]);
  }

  /** Write the option data. */
  writeData(w: Writer): void {
    w.u8(this.messageType);
  }

  /** Only Renew, Rebind and Information-request may be asked for. */
  override validate(): void {
    if (![5, 6, 11].includes(this.messageType)) {
      throw new ValidationError(`reconfigure-message type ${this.messageType} is not 5, 6 or 11`);
    }
  }
}

/** Reconfigure Accept (20). */
export class ReconfigureAcceptOption extends EmptyOption {
  /** Option code. */
  static readonly code = 20;
  /** Option name. */
  static readonly optionName = "reconfigure-accept";
  /** Parse the option data (must be empty). */
  static parse(_buf: Uint8Array, start: number, end: number): ReconfigureAcceptOption {
    exactLength(start, end, 0, "reconfigure-accept");
    return new ReconfigureAcceptOption();
  }
}

/** Identity Association for Prefix Delegation (25). */
export class IAPDOption extends Option {
  /** Option code. */
  static readonly code = 25;
  /** Option name. */
  static readonly optionName = "iapd";

  /** Create an IA_PD. */
  constructor(public iaid = 0, public t1 = 0, public t2 = 0, public options: Option[] = []) {
    super();
  }

  /** Parse the option data. */
  static parse(buf: Uint8Array, start: number, end: number): IAPDOption {
    minLength(start, end, 12, "iapd");
    return new IAPDOption(
      readU32(buf, start, end),
      readU32(buf, start + 4, end),
      readU32(buf, start + 8, end),
      parseOptions(buf, start + 12, end),
    );
  }

  /** Write the option data. */
  writeData(w: Writer): void {
    w.u32(this.iaid);
    w.u32(this.t1);
    w.u32(this.t2);
    writeOptions(w, this.options);
  }

  /** IAID and timers fit 32 bits and sub-options are allowed (T1 > T2 is the receiver's to ignore). */
  override validate(): void {
    checkUint(this.iaid, 32, "IAID");
    checkUint(this.t1, 32, "T1");
    checkUint(this.t2, 32, "T2");
    validateChildren(this, "iapd", this.options);
  }
}

/** IA Prefix (26). */
export class IAPrefixOption extends Option {
  /** Option code. */
  static readonly code = 26;
  /** Option name. */
  static readonly optionName = "ia-prefix";

  /** Field names in the order `dhcpkit decode` shows them (the prefix is an accessor). */
  static readonly fieldNames: readonly string[] = [
    "preferredLifetime",
    "validLifetime",
    "prefixLength",
    "prefix",
    "options",
  ];

  /** The prefix address as text and/or bytes, as for {@link IAAddressOption.address}. */
  #text?: string;
  #bytes?: Uint8Array;

  /** Create an IA Prefix. */
  constructor(
    public preferredLifetime = 0,
    public validLifetime = 0,
    public prefixLength = 0,
    prefix: string = "::",
    public options: Option[] = [],
  ) {
    super();
    this.#text = prefix;
  }

  /** The fields as plain data (the prefix as text), as they were before it became an accessor. */
  toJSON(): Record<string, unknown> {
    const { preferredLifetime, validLifetime, prefixLength, prefix, options } = this;
    return { preferredLifetime, validLifetime, prefixLength, prefix, options };
  }

  /** The prefix address, as canonical text when it came as bytes. */
  get prefix(): string {
    return this.#text ??= formatIPv6(this.#bytes!);
  }

  /** Replace the prefix address. */
  set prefix(text: string) {
    this.#text = text;
    this.#bytes = undefined;
  }

  /**
   * The 16 bytes of the prefix address (not to be modified). Throws {@link SerializeError} when
   * it was set to text that is not an IPv6 address.
   */
  get prefixBytes(): Uint8Array {
    return this.#bytes ??= parseIPv6(this.#text!);
  }

  /**
   * An IA Prefix whose prefix address comes as its 16 bytes (which must not change afterwards):
   * they are written as they are, and the text is made from them only when asked for.
   */
  static fromBytes(
    preferredLifetime: number,
    validLifetime: number,
    prefixLength: number,
    prefix: Uint8Array,
    options: Option[] = [],
  ): IAPrefixOption {
    checkAddressBytes(prefix);
    const option = new IAPrefixOption(
      preferredLifetime,
      validLifetime,
      prefixLength,
      undefined,
      options,
    );
    option.#text = undefined;
    option.#bytes = prefix;
    return option;
  }

  /** Parse the option data. */
  static parse(buf: Uint8Array, start: number, end: number): IAPrefixOption {
    minLength(start, end, 25, "ia-prefix");
    return IAPrefixOption.fromBytes(
      readU32(buf, start, end),
      readU32(buf, start + 4, end),
      buf[start + 8],
      buf.subarray(start + 9, start + 25),
      parseOptions(buf, start + 25, end),
    );
  }

  /** Write the option data. */
  writeData(w: Writer): void {
    w.u32(this.preferredLifetime);
    w.u32(this.validLifetime);
    w.u8(this.prefixLength);
    w.addressBytes(this.prefixBytes);
    writeOptions(w, this.options);
  }

  /**
   * Prefix length 0..128, lifetimes fit 32 bits, sub-options allowed. As for IA Address, the
   * lifetime relation of a hint is not judged here (see {@link IAPrefixOption.checkLease}).
   */
  override validate(): void {
    checkUint(this.preferredLifetime, 32, "preferred lifetime");
    checkUint(this.validLifetime, 32, "valid lifetime");
    if (this.prefixLength > 128) {
      throw new ValidationError(`prefix length ${this.prefixLength} exceeds 128`);
    }
    validateChildren(this, "ia-prefix", this.options);
    // Sub-options that depend on the delegated prefix (PD-Exclude, RFC 6603) check against it.
    for (const o of this.options) {
      (o as { checkDelegatedLength?: (length: number) => void }).checkDelegatedLength?.(
        this.prefixLength,
      );
    }
  }

  /** The rule for a prefix handed out: preferred lifetime <= valid lifetime. */
  checkLease(): void {
    if (this.preferredLifetime > this.validLifetime) {
      throw new ValidationError("ia-prefix preferred lifetime is greater than its valid lifetime");
    }
  }
}

/** SOL_MAX_RT (82): upper bound for the client's Solicit retransmission timeout. */
export class SolMaxRTOption extends U32Option {
  /** Option code. */
  static readonly code = 82;
  /** Option name. */
  static readonly optionName = "sol-max-rt";
  /** Parse the option data. */
  static parse(buf: Uint8Array, start: number, end: number): SolMaxRTOption {
    return new SolMaxRTOption(parseU32Data(buf, start, end, "sol-max-rt"));
  }
}

/** INF_MAX_RT (83): upper bound for the client's Information-request retransmission timeout. */
export class InfMaxRTOption extends U32Option {
  /** Option code. */
  static readonly code = 83;
  /** Option name. */
  static readonly optionName = "inf-max-rt";
  /** Parse the option data. */
  static parse(buf: Uint8Array, start: number, end: number): InfMaxRTOption {
    return new InfMaxRTOption(parseU32Data(buf, start, end, "inf-max-rt"));
  }
}

for (
  const type of [
    ClientIdOption,
    ServerIdOption,
    IANAOption,
    IATAOption,
    IAAddressOption,
    OptionRequestOption,
    PreferenceOption,
    ElapsedTimeOption,
    RelayMessageOption,
    AuthenticationOption,
    ServerUnicastOption,
    StatusCodeOption,
    RapidCommitOption,
    UserClassOption,
    VendorClassOption,
    VendorSpecificInformationOption,
    InterfaceIdOption,
    ReconfigureMessageOption,
    ReconfigureAcceptOption,
    IAPDOption,
    IAPrefixOption,
    SolMaxRTOption,
    InfMaxRTOption,
  ]
) registerOption(type);

// Message type codes used in the placement rules below.
const {
  Solicit: S,
  Advertise: A,
  Request: RQ,
  Confirm: CF,
  Renew: RN,
  Rebind: RB,
  Reply: RP,
  Release: RL,
  Decline: D,
  Reconfigure: RC,
  InformationRequest: IR,
  RelayForward: RF,
  RelayReply: RR,
  Leasequery: LQ,
  LeasequeryReply: LQR,
  LeasequeryDone: LQDONE,
  LeasequeryData: LQDATA,
} = MsgType;
const ALL = [S, A, RQ, CF, RN, RB, RP, RL, D, RC, IR, RF, RR, LQ, LQR, LQDONE, LQDATA];

// RFC 8415 Appendix B, with this project's decisions (INVENTORY.md §13): Elapsed Time is optional,
// Information-request may carry Server ID, relay agents may add vendor options.
allowInMessage([S, RQ, CF, RN, RB, RL, D, RC], 1, 1, 1);
allowInMessage([A, RP, IR], 1, 0, 1);
allowInMessage([A, RQ, RN, RL, D, RP, RC], 2, 1, 1);
allowInMessage([IR, LQ], 2, 0, 1);
for (const code of [3, 4]) allowInMessage([S, A, RQ, CF, RN, RB, RP, RL, D], code);
allowInMessage([S, A, RQ, CF, RN, RB, RP, RL, D], 25);
allowInMessage([S, RQ, CF, RN, RB, RL, D, IR, RC, LQ], 6, 0, 1);
allowInMessage([A, RP], 7, 0, 1);
allowInMessage([S, RQ, CF, RN, RB, RL, D, IR], 8, 0, 1);
allowInMessage(RF, 9, 0, 1);
allowInMessage(RR, 9, 1, 1);
allowInMessage(ALL, 11, 0, 1);
allowInMessage([A, RP], 12, 0, 1);
allowInMessage([A, RP, LQDONE], 13, 0, 1);
allowInMessage([LQ, LQR], 13);
allowInMessage([S, RP], 14, 0, 1);
for (const code of [15, 16, 17]) allowInMessage([S, A, RQ, CF, RN, RB, RP, RL, D, IR, RC], code);
for (const code of [16, 17]) allowInMessage([RF, RR], code);
allowInMessage([RF, RR], 18, 0, 1);
allowInMessage(RC, 19, 1, 1);
allowInMessage([S, A, RQ, RN, RB, RP, IR], 20, 0, 1);
for (const code of [82, 83]) allowInMessage([A, RP], code, 0, 1);

allowInOption([3, 4], 5);
allowInOption([3, 4, 5], 13);
allowInOption([25, 26], 13, 0, 1);
allowInOption(25, 26);

/** The DUID carried by a Client ID option in `options`, if any. */
export function clientDuidOf(options: readonly Option[]): Duid | undefined {
  for (const o of options) if (o instanceof ClientIdOption) return o.duid;
  return undefined;
}
