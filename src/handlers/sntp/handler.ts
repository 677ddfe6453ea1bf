/**
 * Handler for `<sntp-servers>` (option 31): merges the addresses of several applicable sections,
 * the most specific scope first.
 * @module
 */

import type { ConfigSection } from "../../config/mod.ts";
import { SimpleOptionHandler } from "../../pipeline/mod.ts";
import { SNTPServersOption } from "../../protocol/options/sntp.ts";
import { mergeAddressLists, uniqueBy } from "../dns/handler.ts";
import { registerHandlerFactory } from "../registry.ts";
import type { SntpServersValues } from "./section.ts";

/** Adds SNTP Servers (31), merged with those of more specific scopes. */
export class SntpServersOptionHandler extends SimpleOptionHandler<SNTPServersOption> {
  /** Create the handler for SNTP server addresses (canonical IPv6 text). */
  constructor(addresses: readonly string[], alwaysSend = false) {
    super(
      new SNTPServersOption(uniqueBy(addresses, (a) => a.toLowerCase())),
      alwaysSend,
      mergeAddressLists,
    );
  }
}

/** Register the factory of this extension (idempotent). */
export function register(): void {
  registerHandlerFactory("sntp-servers", (section) => {
    const v = (section as ConfigSection<SntpServersValues>).values;
    return new SntpServersOptionHandler(v.addresses.map((a) => a.text), v.alwaysSend);
  });
}

register();
