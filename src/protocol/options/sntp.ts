/**
 * The Simple Network Time Protocol Servers option (31) of RFC 4075.
 * @module
 */

import { allowInMessage } from "../occurrence.ts";
import { registerOption } from "../option.ts";
import {
  AddressListOption,
  checkRoutable,
  CONFIGURATION_MESSAGES,
  parseAddressList,
} from "./base.ts";

/** SNTP Servers (31): IPv6 addresses of SNTP servers, in order of preference. */
export class SNTPServersOption extends AddressListOption {
  /** Option code. */
  static readonly code = 31;
  /** Option name. */
  static readonly optionName = "sntp-servers";
  /** Parse the option data (a whole number of 16-byte addresses). */
  static parse(buf: Uint8Array, start: number, end: number): SNTPServersOption {
    return new SNTPServersOption(parseAddressList(buf, start, end, "sntp-servers"));
  }

  /** Every address must be routable. */
  override validate(): void {
    for (const a of this.addresses) checkRoutable(a, "SNTP server address");
  }
}

registerOption(SNTPServersOption);

// RFC 4075 §4: only in messages that carry configuration.
allowInMessage(CONFIGURATION_MESSAGES, 31);
