/**
 * SIP handler section types: sip-server-addresses and sip-server-names (RFC 3319).
 *
 * @module
 */

import {
  addressListKey,
  alwaysSendKey,
  defineSection,
  domainNameListKey,
  type IPv6Address,
  type OptionHandlerValues,
} from "../../config/mod.ts";

/** Values of `<sip-server-addresses>`. */
export interface SipServerAddressesValues extends OptionHandlerValues {
  /** SIP server addresses in order. */
  addresses: IPv6Address[];
}

/** Values of `<sip-server-names>`. */
export interface SipServerNamesValues extends OptionHandlerValues {
  /** SIP server domain names in order (ASCII form). */
  domainNames: string[];
}

/** `<sip-server-addresses>` handler. */
export const sipServerAddressesSection = defineSection<SipServerAddressesValues>({
  type: "sip-server-addresses",
  kind: "handler",
  description: "Tells clients the addresses of their outbound SIP proxies (option 22). " +
    "Several applicable sections are merged.",
  example: [
    "<sip-server-addresses>",
    "    address 2001:db8::5060",
    "    address 2001:db8::5061",
    "</sip-server-addresses>",
  ].join("\n"),
  keys: [
    alwaysSendKey,
    addressListKey(
      "routable",
      "Address of a SIP proxy. Give it once per proxy.",
      "2001:db8::5060",
    ),
  ],
});

/** `<sip-server-names>` handler. */
export const sipServerNamesSection = defineSection<SipServerNamesValues>({
  type: "sip-server-names",
  kind: "handler",
  description: "Tells clients the domain names of their outbound SIP proxies (option 21). Each " +
    "name should lead to its own NAPTR record rather than to several address records. Several " +
    "applicable sections are merged.",
  example: ["<sip-server-names>", "    domain-name sip.example.org", "</sip-server-names>"].join(
    "\n",
  ),
  keys: [
    alwaysSendKey,
    domainNameListKey(
      "Domain name of a SIP proxy service (looked up through NAPTR).",
      "sip.example.org",
    ),
  ],
});
