/**
 * The Relay Agent Echo Request option (43) of RFC 4994.
 * @module
 */

import { MsgType } from "../constants.ts";
import { allowInMessage } from "../occurrence.ts";
import { registerOption } from "../option.ts";
import { checkUint } from "./core.ts";
import { OptionCodeListOption, parseCodeList } from "./base.ts";

/** Echo Request (43): codes of the relay's options the server should copy into its Relay-Reply. */
export class EchoRequestOption extends OptionCodeListOption {
  /** Option code. */
  static readonly code = 43;
  /** Option name. */
  static readonly optionName = "echo-request";
  /** Parse the option data (a list of 16-bit option codes). */
  static parse(buf: Uint8Array, start: number, end: number): EchoRequestOption {
    return new EchoRequestOption(parseCodeList(buf, start, end, "echo-request"));
  }

  /** Codes fit 16 bits. */
  override validate(): void {
    for (const c of this.requestedOptions) checkUint(c, 16, "echo-requested option");
  }
}

registerOption(EchoRequestOption);

// RFC 4994 §4: a relay includes it in Relay-Forward (INVENTORY decision 19).
const { RelayForward: RF } = MsgType;
allowInMessage(RF, 43, 0, 1);
