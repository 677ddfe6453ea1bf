/**
 * The Softwire46 options of RFC 7598 (MAP-E, MAP-T and Lightweight 4over6): rules, BR, DMR,
 * address binding, port parameters (89-93) and the three containers (94-96).
 *
 * IPv6 prefixes travel as ceil(length / 8) octets; they are kept as IPv6 text with the received
 * octets in place and the rest zero, so any received padding bits survive a round trip. IPv4
 * prefixes and addresses are dotted-quad text.
 * @module
 */

import { MsgType } from "../constants.ts";
import { ParseError, SerializeError, ValidationError } from "../errors.ts";
import { exactLength, minLength, readBytes, readU16, type Writer } from "../bytes.ts";
import { formatIPv6, parseIPv6 } from "../ipv6.ts";
import { allowInMessage, allowInOption } from "../occurrence.ts";
import { Option, parseOptions, registerOption, writeOptions } from "../option.ts";
import { checkRoutable } from "./base.ts";
import { checkUint, validateChildren } from "./core.ts";

/** Format the 4 bytes at `pos` as dotted-quad IPv4 text. */
export function formatIPv4Address(buf: Uint8Array, pos = 0): string {
  return `${buf[pos]}.${buf[pos + 1]}.${buf[pos + 2]}.${buf[pos + 3]}`;
}

/** Parse dotted-quad IPv4 text into 4 bytes; undefined when it is not an IPv4 address. */
export function parseIPv4Address(text: string): Uint8Array | undefined {
  if (typeof text !== "string") return undefined;
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    if (!/^(0|[1-9]\d{0,2})$/.test(parts[i]) || Number(parts[i]) > 255) return undefined;
    out[i] = Number(parts[i]);
  }
  return out;
}

function writeIPv4(w: Writer, text: string): void {
  const bytes = parseIPv4Address(text);
  if (!bytes) throw new SerializeError(`not an IPv4 address: ${JSON.stringify(text)}`);
  w.bytes(bytes);
}

function checkIPv4(text: string, what: string): Uint8Array {
  const bytes = parseIPv4Address(text);
  if (!bytes) throw new ValidationError(`${what} ${JSON.stringify(text)} is not an IPv4 address`);
  return bytes;
}

/** Read a prefix length (0-128) at `pos` and its ceil(length / 8) octets after it. */
function readPrefix6(
  buf: Uint8Array,
  pos: number,
  end: number,
  what: string,
): { length: number; prefix: string; next: number } {
  minLength(pos, end, 1, what);
  const length = buf[pos];
  if (length > 128) throw new ParseError(pos, `${what} length ${length} exceeds 128`);
  const octets = (length + 7) >> 3;
  const padded = new Uint8Array(16);
  padded.set(readBytes(buf, pos + 1, end, octets, what));
  return { length, prefix: formatIPv6(padded), next: pos + 1 + octets };
}

function writePrefix6(w: Writer, length: number, prefix: string): void {
  w.u8(length);
  w.bytes(parseIPv6(prefix).subarray(0, (length + 7) >> 3));
}

/** Length 0..128, valid text, and no bits set in octets the wire form leaves out. */
function checkPrefix6(length: number, prefix: string, what: string): void {
  if (!Number.isInteger(length) || length < 0 || length > 128) {
    throw new ValidationError(`${what} length ${length} is not 0 to 128`);
  }
  let bytes: Uint8Array;
  try {
    bytes = parseIPv6(prefix);
  } catch {
    throw new ValidationError(`${what} ${JSON.stringify(prefix)} is not an IPv6 address`);
  }
  for (let i = (length + 7) >> 3; i < 16; i++) {
    if (bytes[i] !== 0) {
      throw new ValidationError(`${what} ${prefix} has bits set beyond its /${length}`);
    }
  }
}

/** OPTION_S46_RULE (89): a Basic (and, with the F flag, Forwarding) Mapping Rule. */
export class S46RuleOption extends Option {
  /** Option code. */
  static readonly code = 89;
  /** Option name. */
  static readonly optionName = "s46-rule";

  /** Create a rule; prefixes as text, `ipv6Prefix` zero beyond its length. */
  constructor(
    public flags = 0,
    public eaLen = 0,
    public prefix4Len = 0,
    public ipv4Prefix = "0.0.0.0",
    public prefix6Len = 0,
    public ipv6Prefix = "::",
    public options: Option[] = [],
  ) {
    super();
  }

  /** Parse: flags(1) ea-len(1) prefix4-len(1) ipv4-prefix(4) prefix6-len(1) ipv6-prefix options. */
  static parse(buf: Uint8Array, start: number, end: number): S46RuleOption {
    minLength(start, end, 8, "s46-rule");
    const p6 = readPrefix6(buf, start + 7, end, "s46-rule ipv6-prefix");
    return new S46RuleOption(
      buf[start],
      buf[start + 1],
      buf[start + 2],
      formatIPv4Address(buf, start + 3),
      p6.length,
      p6.prefix,
      parseOptions(buf, p6.next, end),
    );
  }

  /** Write the option data. */
  writeData(w: Writer): void {
    w.u8(this.flags);
    w.u8(this.eaLen);
    w.u8(this.prefix4Len);
    writeIPv4(w, this.ipv4Prefix);
    writePrefix6(w, this.prefix6Len, this.ipv6Prefix);
    writeOptions(w, this.options);
  }

  /** The F flag: this rule is also a Forwarding Mapping Rule. */
  get fmr(): boolean {
    return (this.flags & 1) !== 0;
  }
  set fmr(on: boolean) {
    this.flags = on ? this.flags | 1 : this.flags & ~1;
  }

  /** Flags fit 8 bits, EA length 0..48, IPv4 prefix length 0..32, IPv6 prefix valid. */
  override validate(): void {
    checkUint(this.flags, 8, "s46-rule flags");
    if (!Number.isInteger(this.eaLen) || this.eaLen < 0 || this.eaLen > 48) {
      throw new ValidationError(`s46-rule ea-len ${this.eaLen} is not 0 to 48`);
    }
    if (!Number.isInteger(this.prefix4Len) || this.prefix4Len < 0 || this.prefix4Len > 32) {
      throw new ValidationError(`s46-rule prefix4-len ${this.prefix4Len} is not 0 to 32`);
    }
    checkIPv4(this.ipv4Prefix, "s46-rule ipv4-prefix");
    checkPrefix6(this.prefix6Len, this.ipv6Prefix, "s46-rule ipv6-prefix");
    validateChildren(this, "s46-rule", this.options);
  }
}

/** OPTION_S46_BR (90): the IPv6 address of a Border Relay. */
export class S46BROption extends Option {
  /** Option code. */
  static readonly code = 90;
  /** Option name. */
  static readonly optionName = "s46-br";

  /** Create the option with the BR's IPv6 address. */
  constructor(public brAddress = "::") {
    super();
  }

  /** Parse the option data (exactly 16 bytes). */
  static parse(buf: Uint8Array, start: number, end: number): S46BROption {
    exactLength(start, end, 16, "s46-br");
    return new S46BROption(formatIPv6(buf, start));
  }

  /** Write the option data. */
  writeData(w: Writer): void {
    w.address(this.brAddress);
  }

  /** The address must be routable. */
  override validate(): void {
    checkRoutable(this.brAddress, "s46-br address");
  }
}

/** OPTION_S46_DMR (91): the Default Mapping Rule's IPv6 prefix (MAP-T). */
export class S46DMROption extends Option {
  /** Option code. */
  static readonly code = 91;
  /** Option name. */
  static readonly optionName = "s46-dmr";

  /** Create the option with the DMR prefix length and prefix (text, zero beyond its length). */
  constructor(public prefix6Len = 0, public ipv6Prefix = "::") {
    super();
  }

  /** Parse the option data: dmr-prefix6-len(1) dmr-ipv6-prefix(ceil(len/8)), nothing after. */
  static parse(buf: Uint8Array, start: number, end: number): S46DMROption {
    const p6 = readPrefix6(buf, start, end, "s46-dmr prefix");
    if (p6.next !== end) throw new ParseError(p6.next, "s46-dmr has data after its prefix");
    return new S46DMROption(p6.length, p6.prefix);
  }

  /** Write the option data. */
  writeData(w: Writer): void {
    writePrefix6(w, this.prefix6Len, this.ipv6Prefix);
  }

  /** The prefix must be valid. */
  override validate(): void {
    checkPrefix6(this.prefix6Len, this.ipv6Prefix, "s46-dmr prefix");
  }
}

/** OPTION_S46_V4V6BIND (92): the CE's IPv4 address and the IPv6 prefix used as tunnel source. */
export class S46V4V6BindingOption extends Option {
  /** Option code. */
  static readonly code = 92;
  /** Option name. */
  static readonly optionName = "s46-v4-v6-binding";

  /** Create a binding; the IPv6 prefix is text, zero beyond its length. */
  constructor(
    public ipv4Address = "0.0.0.0",
    public prefix6Len = 0,
    public ipv6Prefix = "::",
    public options: Option[] = [],
  ) {
    super();
  }

  /** Parse: ipv4-address(4) bindprefix6-len(1) bind-ipv6-prefix(ceil(len/8)) options. */
  static parse(buf: Uint8Array, start: number, end: number): S46V4V6BindingOption {
    minLength(start, end, 5, "s46-v4-v6-binding");
    const p6 = readPrefix6(buf, start + 4, end, "s46-v4-v6-binding ipv6-prefix");
    return new S46V4V6BindingOption(
      formatIPv4Address(buf, start),
      p6.length,
      p6.prefix,
      parseOptions(buf, p6.next, end),
    );
  }

  /** Write the option data. */
  writeData(w: Writer): void {
    writeIPv4(w, this.ipv4Address);
    writePrefix6(w, this.prefix6Len, this.ipv6Prefix);
    writeOptions(w, this.options);
  }

  /** Valid IPv4 address and IPv6 prefix; sub-options allowed. */
  override validate(): void {
    checkIPv4(this.ipv4Address, "s46-v4-v6-binding ipv4-address");
    checkPrefix6(this.prefix6Len, this.ipv6Prefix, "s46-v4-v6-binding ipv6-prefix");
    validateChildren(this, "s46-v4-v6-binding", this.options);
  }
}

/** OPTION_S46_PORTPARAMS (93): PSID offset, PSID length and the PSID (left-aligned in 16 bits). */
export class S46PortParametersOption extends Option {
  /** Option code. */
  static readonly code = 93;
  /** Option name. */
  static readonly optionName = "s46-port-parameters";

  /** Create port parameters; `psid` is the raw 16-bit field (the PSID in its top `psidLen` bits). */
  constructor(public offset = 0, public psidLen = 0, public psid = 0) {
    super();
  }

  /** Parse the option data: offset(1) PSID-len(1) PSID(2), exactly 4 bytes. */
  static parse(buf: Uint8Array, start: number, end: number): S46PortParametersOption {
    exactLength(start, end, 4, "s46-port-parameters");
    return new S46PortParametersOption(buf[start], buf[start + 1], readU16(buf, start + 2, end));
  }

  /** Write the option data. */
  writeData(w: Writer): void {
    w.u8(this.offset);
    w.u8(this.psidLen);
    w.u16(this.psid);
  }

  /** The PSID as a number (the top `psidLen` bits of the field); 0 when `psidLen` is 0. */
  get psidValue(): number {
    return this.psidLen === 0 ? 0 : this.psid >>> (16 - this.psidLen);
  }

  /** Offset 0..15, PSID length 0..16, offset + PSID length <= 16, PSID padding bits zero. */
  override validate(): void {
    if (!Number.isInteger(this.offset) || this.offset < 0 || this.offset > 15) {
      throw new ValidationError(`s46-port-parameters offset ${this.offset} is not 0 to 15`);
    }
    if (!Number.isInteger(this.psidLen) || this.psidLen < 0 || this.psidLen > 16) {
      throw new ValidationError(`s46-port-parameters PSID length ${this.psidLen} is not 0 to 16`);
    }
    if (this.offset + this.psidLen > 16) {
      throw new ValidationError(
        `s46-port-parameters offset ${this.offset} + PSID length ${this.psidLen} exceeds 16`,
      );
    }
    checkUint(this.psid, 16, "s46-port-parameters PSID");
    const padding = this.psidLen === 16 ? 0 : 0xffff >>> this.psidLen;
    if ((this.psid & padding) !== 0) {
      throw new ValidationError(
        `s46-port-parameters PSID 0x${this.psid.toString(16)} has bits beyond its ${this.psidLen}`,
      );
    }
  }
}

/** Common shape of the MAP-E, MAP-T and Lightweight 4over6 containers: only sub-options. */
export abstract class S46ContainerOption extends Option {
  /** Create a container around `options`. */
  constructor(public options: Option[] = []) {
    super();
  }

  /** Write the option data. */
  writeData(w: Writer): void {
    writeOptions(w, this.options);
  }

  /** The container's content rules (RFC 7598 §5); every sub-option valid. */
  override validate(): void {
    validateChildren(
      this,
      (this.constructor as unknown as { optionName: string }).optionName,
      this.options,
    );
  }
}

/** OPTION_S46_CONT_MAPE (94): one MAP-E domain: at least one rule and at least one BR. */
export class S46MapEContainerOption extends S46ContainerOption {
  /** Option code. */
  static readonly code = 94;
  /** Option name. */
  static readonly optionName = "s46-map-e-container";
  /** Parse the option data (sub-options filling it exactly). */
  static parse(buf: Uint8Array, start: number, end: number): S46MapEContainerOption {
    return new S46MapEContainerOption(parseOptions(buf, start, end));
  }
}

/** OPTION_S46_CONT_MAPT (95): one MAP-T domain: at least one rule and exactly one DMR. */
export class S46MapTContainerOption extends S46ContainerOption {
  /** Option code. */
  static readonly code = 95;
  /** Option name. */
  static readonly optionName = "s46-map-t-container";
  /** Parse the option data (sub-options filling it exactly). */
  static parse(buf: Uint8Array, start: number, end: number): S46MapTContainerOption {
    return new S46MapTContainerOption(parseOptions(buf, start, end));
  }
}

/** OPTION_S46_CONT_LW (96): one Lightweight 4over6 domain: at most one binding, at least one BR. */
export class S46LWContainerOption extends S46ContainerOption {
  /** Option code. */
  static readonly code = 96;
  /** Option name. */
  static readonly optionName = "s46-lw-container";
  /** Parse the option data (sub-options filling it exactly). */
  static parse(buf: Uint8Array, start: number, end: number): S46LWContainerOption {
    return new S46LWContainerOption(parseOptions(buf, start, end));
  }
}

for (
  const type of [
    S46RuleOption,
    S46BROption,
    S46DMROption,
    S46V4V6BindingOption,
    S46PortParametersOption,
    S46MapEContainerOption,
    S46MapTContainerOption,
    S46LWContainerOption,
  ]
) registerOption(type);

// RFC 7598 §3: containers are requested in ORO and returned in configuration-carrying messages.
const S46_MESSAGES = [
  MsgType.Solicit,
  MsgType.Advertise,
  MsgType.Request,
  MsgType.Confirm,
  MsgType.Renew,
  MsgType.Rebind,
  MsgType.Release,
  MsgType.Reply,
  MsgType.InformationRequest,
];
for (const code of [94, 95, 96]) allowInMessage(S46_MESSAGES, code);

// RFC 7598 §5.1-5.3 (INVENTORY §3.6): what each container holds.
allowInOption(94, 89, 1);
allowInOption(94, 90, 1);
allowInOption(95, 89, 1);
allowInOption(95, 91, 1, 1);
allowInOption(96, 92, 0, 1);
allowInOption(96, 90, 1);
// RFC 7598 §4.5: port parameters inside rules and bindings, and (INVENTORY §3.6) containers.
allowInOption([89, 92, 94, 95, 96], 93, 0, 1);
