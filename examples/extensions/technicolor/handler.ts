/**
 * The handler behind `<sol-max-rt-technicolor>`.
 * @module
 */

import {
  Handler,
  OptionRequestOption,
  responseMayContain,
  SolMaxRTOption,
  type TransactionBundle,
} from "@dhcpkit/dhcpkit";
import { SolMaxRTTechnicolorOption } from "./option.ts";

/**
 * Puts option 65279 in Advertise and Reply messages, replacing one set by an inner scope (so the
 * outermost section wins). Unlike the plain option-request rule, a client asking for the standard
 * SOL_MAX_RT (82) gets it too: Technicolor CPEs ask for 82 but read 65279.
 */
export class SolMaxRtTechnicolorHandler extends Handler {
  /** The option sent. */
  readonly option: SolMaxRTTechnicolorOption;

  /** Create the handler for a limit in seconds (60-86400). */
  constructor(limit: number, readonly alwaysSend = false) {
    super();
    this.option = new SolMaxRTTechnicolorOption(limit);
    this.option.validate();
  }

  /** Add or replace the option when the client asked for it (as 65279 or 82) or always. */
  override handle(bundle: TransactionBundle): void {
    const code = this.option.code;
    if (!responseMayContain(bundle, code)) return;
    const oro = bundle.request.getOption(OptionRequestOption);
    const asked = !oro || oro.requestedOptions.includes(code) ||
      oro.requestedOptions.includes(SolMaxRTOption.code);
    if (!asked && !this.alwaysSend) return;
    const options = bundle.response.options;
    const index = options.findIndex((o) => o.code === code);
    if (index < 0) options.push(this.option);
    else options[index] = this.option;
  }
}
