/**
 * The NTP Server option (56) of RFC 5908 and its suboptions, which have their own code space
 * (registry {@link ntpSubOptionTypes}) but the same code(2) length(2) data layout as options.
 * @module
 */

import { ParseError, ValidationError } from "../errors.ts";
import { exactLength, readAddress, type Writer } from "../bytes.ts";
import { addressKindOfText } from "../ipv6.ts";
import { readDomainName, writeDomainName } from "../domain.ts";
import { allowInMessage } from "../occurrence.ts";
import {
  Option,
  type OptionType,
  parseOptions,
  registerOption,
  UnknownOption,
  writeOptions,
} from "../option.ts";
import { checkRoutable, CONFIGURATION_MESSAGES } from "./base.ts";
import { checkDomainName } from "./dns.ts";

/** Suboption code -> class for every registered NTP suboption. */
export const ntpSubOptionTypes: Map<number, OptionType> = new Map();

/** Name -> class for every registered NTP suboption (`server-address`, ...). */
export const ntpSubOptionTypesByName: Map<string, OptionType> = new Map();

/** Register an NTP suboption class under its code (replacing an earlier one). */
export function registerNtpSubOption(type: OptionType): void {
  ntpSubOptionTypes.set(type.code, type);
  ntpSubOptionTypesByName.set(type.optionName, type);
}

/** NTP_SUBOPTION_SRV_ADDR (1): the unicast address of an NTP or SNTP server. */
export class NTPServerAddressSubOption extends Option {
  /** Suboption code. */
  static readonly code = 1;
  /** Suboption name. */
  static readonly optionName = "server-address";

  /** Create the suboption with a unicast IPv6 address. */
  constructor(public address = "::") {
    super();
  }

  /** Parse the suboption data (exactly 16 bytes). */
  static parse(buf: Uint8Array, start: number, end: number): NTPServerAddressSubOption {
    exactLength(start, end, 16, "ntp server-address");
    return new NTPServerAddressSubOption(readAddress(buf, start, end));
  }

  /** Write the suboption data. */
  writeData(w: Writer): void {
    w.address(this.address);
  }

  /** The address must be routable unicast. */
  override validate(): void {
    checkRoutable(this.address, "NTP server address");
  }
}

/** NTP_SUBOPTION_MC_ADDR (2): the multicast group address NTP uses on the local network. */
export class NTPMulticastAddressSubOption extends Option {
  /** Suboption code. */
  static readonly code = 2;
  /** Suboption name. */
  static readonly optionName = "multicast-address";

  /** Create the suboption with a multicast IPv6 address. */
  constructor(public address = "ff05::101") {
    super();
  }

  /** Parse the suboption data (exactly 16 bytes). */
  static parse(buf: Uint8Array, start: number, end: number): NTPMulticastAddressSubOption {
    exactLength(start, end, 16, "ntp multicast-address");
    return new NTPMulticastAddressSubOption(readAddress(buf, start, end));
  }

  /** Write the suboption data. */
  writeData(w: Writer): void {
    w.address(this.address);
  }

  /** The address must be multicast (ff00::/8). */
  override validate(): void {
    if (addressKindOfText(this.address) !== "multicast") {
      throw new ValidationError(`NTP multicast address ${this.address} is not a multicast address`);
    }
  }
}

/** NTP_SUBOPTION_SRV_FQDN (3): the fully qualified name of an NTP or SNTP server. */
export class NTPServerFQDNSubOption extends Option {
  /** Suboption code. */
  static readonly code = 3;
  /** Suboption name. */
  static readonly optionName = "server-fqdn";

  /** Create the suboption with a server name (ASCII, no trailing dot). */
  constructor(public fqdn = "") {
    super();
  }

  /** Parse the suboption data: exactly one absolute name. */
  static parse(buf: Uint8Array, start: number, end: number): NTPServerFQDNSubOption {
    const name = readDomainName(buf, start, end);
    if (name.next !== end) {
      throw new ParseError(name.next, "ntp server-fqdn has data after its name");
    }
    return new NTPServerFQDNSubOption(name.name);
  }

  /** Write the suboption data. */
  writeData(w: Writer): void {
    writeDomainName(w, this.fqdn, true);
  }

  /** The name must be a valid, non-root ASCII domain name (RFC 5908 §4.3: no IDNs). */
  override validate(): void {
    checkDomainName(this.fqdn, "NTP server FQDN");
  }
}

for (
  const type of [NTPServerAddressSubOption, NTPMulticastAddressSubOption, NTPServerFQDNSubOption]
) registerNtpSubOption(type);

/** The suboption codes that name a time source (RFC 5908 §4). */
export const NTP_TIME_SOURCE_CODES: ReadonlySet<number> = new Set([1, 2, 3]);

/** NTP Server (56): one NTP/SNTP time source, described by suboptions. */
export class NTPServersOption extends Option {
  /** Option code. */
  static readonly code = 56;
  /** Option name. */
  static readonly optionName = "ntp-servers";

  /** Create the option with its suboptions (unknown ones are {@link UnknownOption}s). */
  constructor(public options: Option[] = []) {
    super();
  }

  /** Parse the option data: suboptions filling it exactly, looked up in the NTP registry. */
  static parse(buf: Uint8Array, start: number, end: number): NTPServersOption {
    return new NTPServersOption(parseOptions(buf, start, end, ntpSubOptionTypes));
  }

  /** Write the option data. */
  writeData(w: Writer): void {
    writeOptions(w, this.options);
  }

  /** Exactly one time source suboption (RFC 5908 §4); every suboption valid. */
  override validate(): void {
    let sources = 0;
    for (const o of this.options) {
      if (!(o instanceof UnknownOption) && NTP_TIME_SOURCE_CODES.has(o.code)) sources++;
    }
    if (sources !== 1) {
      throw new ValidationError(`ntp-servers must contain exactly 1 time source, found ${sources}`);
    }
    for (const o of this.options) o.validate();
  }
}

registerOption(NTPServersOption);

// RFC 5908 §4: any number of time sources, one per option, in configuration-carrying messages.
allowInMessage(CONFIGURATION_MESSAGES, 56);
