/**
 * Handlers for `<sip-server-names>` (option 21) and `<sip-server-addresses>` (option 22). Both
 * merge the entries of several applicable sections, the most specific scope first.
 * @module
 */

import { SimpleOptionHandler } from "../../pipeline/mod.ts";
import {
  SIPServersAddressListOption,
  SIPServersDomainNameListOption,
} from "../../protocol/options/sip.ts";
import { mergeAddressLists, mergeDomainLists, uniqueBy } from "../dns/handler.ts";

/** Adds the SIP Servers Domain Name List (21), merged with those of more specific scopes. */
export class SipServerNamesOptionHandler
  extends SimpleOptionHandler<SIPServersDomainNameListOption> {
  /** Create the handler for SIP proxy domain names (ASCII form). */
  constructor(domainNames: readonly string[], alwaysSend = false) {
    super(
      new SIPServersDomainNameListOption(uniqueBy(domainNames, (n) => n.toLowerCase())),
      alwaysSend,
      mergeDomainLists,
    );
  }
}

/** Adds the SIP Servers IPv6 Address List (22), merged with those of more specific scopes. */
export class SipServerAddressesOptionHandler
  extends SimpleOptionHandler<SIPServersAddressListOption> {
  /** Create the handler for SIP proxy addresses (canonical IPv6 text). */
  constructor(addresses: readonly string[], alwaysSend = false) {
    super(
      new SIPServersAddressListOption(uniqueBy(addresses, (a) => a.toLowerCase())),
      alwaysSend,
      mergeAddressLists,
    );
  }
}
