/**
 * The NTP extension: `<ntp-servers>` (option 56).
 * @module
 */

import { defineExtension, handlerFor } from "../extension.ts";
import { NtpServersOptionHandler } from "./handler.ts";
import { ntpServersSection } from "./section.ts";

/** The NTP servers handler. */
export const ntpExtension = defineExtension({
  name: "ntp",
  handlers: [
    handlerFor(ntpServersSection, (v) =>
      new NtpServersOptionHandler({
        multicastAddresses: (v.multicastAddresses ?? []).map((a) => a.text),
        serverAddresses: (v.serverAddresses ?? []).map((a) => a.text),
        serverFqdns: v.serverFqdns ?? [],
      }, v.alwaysSend)),
  ],
});
