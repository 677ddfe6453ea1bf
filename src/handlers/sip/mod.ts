/**
 * The SIP extension: `<sip-server-names>` (option 21) and `<sip-server-addresses>` (22).
 * @module
 */

import { defineExtension, handlerFor } from "../extension.ts";
import { SipServerAddressesOptionHandler, SipServerNamesOptionHandler } from "./handler.ts";
import { sipServerAddressesSection, sipServerNamesSection } from "./section.ts";

/** The SIP server handlers. */
export const sipExtension = defineExtension({
  name: "sip",
  handlers: [
    handlerFor(
      sipServerNamesSection,
      (v) => new SipServerNamesOptionHandler(v.domainNames, v.alwaysSend),
    ),
    handlerFor(
      sipServerAddressesSection,
      (v) => new SipServerAddressesOptionHandler(v.addresses.map((a) => a.text), v.alwaysSend),
    ),
  ],
});
