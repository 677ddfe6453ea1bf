/**
 * SIP server options of RFC 3319: SIP Servers Domain Name List (21) and SIP Servers IPv6 Address
 * List (22).
 * @module
 */

import { allowInMessage } from "../occurrence.ts";
import { registerOption } from "../option.ts";
import {
  AddressListOption,
  checkRoutable,
  CONFIGURATION_MESSAGES,
  DomainListOption,
  parseAddressList,
  parseDomainListData,
} from "./base.ts";
import { checkDomainName } from "./dns.ts";

/** SIP Servers Domain Name List (21): outbound SIP proxy names, absolute DNS wire names. */
export class SIPServersDomainNameListOption extends DomainListOption {
  /** Option code. */
  static readonly code = 21;
  /** Option name. */
  static readonly optionName = "sip-servers-domain-name-list";
  /** Parse the option data; every name must end with the root label. */
  static parse(buf: Uint8Array, start: number, end: number): SIPServersDomainNameListOption {
    return new SIPServersDomainNameListOption(parseDomainListData(buf, start, end));
  }

  /** Every name must be a valid, non-root domain name. */
  override validate(): void {
    for (const n of this.domainNames) checkDomainName(n, "SIP server name");
  }
}

/** SIP Servers IPv6 Address List (22): outbound SIP proxy addresses, in order of preference. */
export class SIPServersAddressListOption extends AddressListOption {
  /** Option code. */
  static readonly code = 22;
  /** Option name. */
  static readonly optionName = "sip-servers-address-list";
  /** Parse the option data (a whole number of 16-byte addresses). */
  static parse(buf: Uint8Array, start: number, end: number): SIPServersAddressListOption {
    return new SIPServersAddressListOption(
      parseAddressList(buf, start, end, "sip-servers-address-list"),
    );
  }

  /** Every address must be routable. */
  override validate(): void {
    for (const a of this.addresses) checkRoutable(a, "SIP server address");
  }
}

registerOption(SIPServersDomainNameListOption);
registerOption(SIPServersAddressListOption);

// RFC 3319 §3.1, §3.2: only in messages that carry configuration.
for (const code of [21, 22]) allowInMessage(CONFIGURATION_MESSAGES, code);
