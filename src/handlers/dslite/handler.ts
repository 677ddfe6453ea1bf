/**
 * Handler for `<aftr-name>` (option 64): added when absent, so the most specific scope wins.
 * @module
 */

import { SimpleOptionHandler } from "../../pipeline/mod.ts";
import { AFTRNameOption } from "../../protocol/options/aftr_name.ts";

/** Adds the AFTR-Name option (64) unless a more specific scope already did. */
export class AftrNameOptionHandler extends SimpleOptionHandler<AFTRNameOption> {
  /** Create the handler for the AFTR's name (ASCII form). */
  constructor(fqdn: string, alwaysSend = false) {
    super(new AFTRNameOption(fqdn.endsWith(".") ? fqdn.slice(0, -1) : fqdn), alwaysSend);
  }
}
