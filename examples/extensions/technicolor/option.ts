/**
 * The Technicolor flavour of SOL_MAX_RT: private option 65279, which some Technicolor CPEs read
 * instead of the standard SOL_MAX_RT option (82). Its data is the same: one 32-bit number of
 * seconds.
 *
 * {@link solMaxRtTechnicolorOption} pairs the class with its placement rules; once the extension
 * is installed, messages carrying the option parse into it and `dhcpkit decode` names it.
 * @module
 */

import {
  AdvertiseMessage,
  Option,
  type OptionDefinition,
  parseU32Data,
  ReplyMessage,
  ValidationError,
  type Writer,
} from "@dhcpkit/dhcpkit";

/** The option code Technicolor uses (from the private-use range). */
export const OPTION_SOL_MAX_RT_TECHNICOLOR = 65279;

/** SOL_MAX_RT as Technicolor CPEs expect it: the longest Solicit retransmission time, in seconds. */
export class SolMaxRTTechnicolorOption extends Option {
  /** Option code. */
  static readonly code = OPTION_SOL_MAX_RT_TECHNICOLOR;
  /** Option name, used in JSON output and configuration. */
  static readonly optionName = "sol-max-rt-technicolor";

  /** Create the option with a limit in seconds. */
  constructor(public solMaxRt: number = 0) {
    super();
  }

  /** Write the limit as 4 bytes. */
  writeData(w: Writer): void {
    w.u32(this.solMaxRt);
  }

  /** RFC 8415 §21.24 bounds SOL_MAX_RT to 60-86400 seconds; Technicolor's copy follows it. */
  override validate(): void {
    if (!Number.isInteger(this.solMaxRt) || this.solMaxRt < 60 || this.solMaxRt > 86400) {
      throw new ValidationError(`SOL_MAX_RT ${this.solMaxRt} is not between 60 and 86400`);
    }
  }

  /** Parse the option data (exactly 4 bytes). */
  static parse(buf: Uint8Array, start: number, end: number): SolMaxRTTechnicolorOption {
    return new SolMaxRTTechnicolorOption(
      parseU32Data(buf, start, end, SolMaxRTTechnicolorOption.optionName),
    );
  }
}

/** The option and where it may appear: like the standard one, at most once in Advertise and Reply. */
export const solMaxRtTechnicolorOption: OptionDefinition = {
  option: SolMaxRTTechnicolorOption,
  placements: [{ messages: [AdvertiseMessage.messageType, ReplyMessage.messageType], max: 1 }],
};
