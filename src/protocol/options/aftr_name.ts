/**
 * The AFTR-Name option (64) of RFC 6334 (Dual-Stack Lite).
 * @module
 */

import { ParseError } from "../errors.ts";
import type { Writer } from "../bytes.ts";
import { readDomainName, writeDomainName } from "../domain.ts";
import { allowInMessage } from "../occurrence.ts";
import { Option, registerOption } from "../option.ts";
import { checkDomainName } from "./dns.ts";
import { CONFIGURATION_MESSAGES } from "./base.ts";

/** AFTR-Name (64): the fully qualified name of the DS-Lite tunnel endpoint. */
export class AFTRNameOption extends Option {
  /** Option code. */
  static readonly code = 64;
  /** Option name. */
  static readonly optionName = "aftr-name";

  /** Create the option with the AFTR's name (ASCII, no trailing dot). */
  constructor(public fqdn = "") {
    super();
  }

  /** Parse the option data: exactly one absolute name. */
  static parse(buf: Uint8Array, start: number, end: number): AFTRNameOption {
    const name = readDomainName(buf, start, end);
    if (name.next !== end) throw new ParseError(name.next, "aftr-name has data after its name");
    return new AFTRNameOption(name.name);
  }

  /** Write the option data. */
  writeData(w: Writer): void {
    writeDomainName(w, this.fqdn, true);
  }

  /** The name must be a valid, non-root domain name. */
  override validate(): void {
    checkDomainName(this.fqdn, "aftr-name");
  }
}

registerOption(AFTRNameOption);

// RFC 6334 §3: requested in ORO, returned at most once per message.
allowInMessage(CONFIGURATION_MESSAGES, 64, 0, 1);
