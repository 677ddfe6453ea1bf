/**
 * Handler for `<sntp-servers>` (option 31): merges the addresses of several applicable sections,
 * the most specific scope first.
 * @module
 */

import { SimpleOptionHandler } from "../../pipeline/mod.ts";
import { SNTPServersOption } from "../../protocol/options/sntp.ts";
import { mergeAddressLists, uniqueBy } from "../dns/handler.ts";

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
