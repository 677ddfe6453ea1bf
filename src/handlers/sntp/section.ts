/**
 * SNTP handler section type: sntp-servers (RFC 4075).
 *
 * @module
 */

import {
  addressListKey,
  alwaysSendKey,
  defineSection,
  type IPv6Address,
  type OptionHandlerValues,
} from "../../config/mod.ts";

/** Values of `<sntp-servers>`. */
export interface SntpServersValues extends OptionHandlerValues {
  /** SNTP server addresses in order. */
  addresses: IPv6Address[];
}

/** `<sntp-servers>` handler. */
export const sntpServersSection = defineSection<SntpServersValues>({
  type: "sntp-servers",
  kind: "handler",
  description: "Tells clients which SNTP servers to get the time from (option 31). Several " +
    "applicable sections are merged.",
  example: ["<sntp-servers>", "    address 2001:db8::123", "</sntp-servers>"].join("\n"),
  keys: [
    alwaysSendKey,
    addressListKey(
      "routable",
      "Address of an SNTP server. Give it once per server.",
      "2001:db8::123",
    ),
  ],
});
