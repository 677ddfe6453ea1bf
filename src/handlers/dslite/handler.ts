/**
 * Handler for `<aftr-name>` (option 64): added when absent, so the most specific scope wins.
 * @module
 */

import type { ConfigSection } from "../../config/mod.ts";
import { SimpleOptionHandler } from "../../pipeline/mod.ts";
import { AFTRNameOption } from "../../protocol/options/aftr_name.ts";
import { registerHandlerFactory } from "../registry.ts";
import type { AftrNameValues } from "./section.ts";

/** Adds the AFTR-Name option (64) unless a more specific scope already did. */
export class AftrNameOptionHandler extends SimpleOptionHandler<AFTRNameOption> {
  /** Create the handler for the AFTR's name (ASCII form). */
  constructor(fqdn: string, alwaysSend = false) {
    super(new AFTRNameOption(fqdn.endsWith(".") ? fqdn.slice(0, -1) : fqdn), alwaysSend);
  }
}

/** Register the factory of this extension (idempotent). */
export function register(): void {
  registerHandlerFactory("aftr-name", (section) => {
    const v = (section as ConfigSection<AftrNameValues>).values;
    return new AftrNameOptionHandler(v.fqdn, v.alwaysSend);
  });
}

register();
