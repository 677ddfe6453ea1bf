/**
 * The DNS extension: `<recursive-name-servers>` (option 23) and `<domain-search-list>` (24).
 * @module
 */

import { defineExtension, handlerFor } from "../extension.ts";
import { DomainSearchListOptionHandler, RecursiveNameServersOptionHandler } from "./handler.ts";
import { domainSearchListSection, recursiveNameServersSection } from "./section.ts";

/** The DNS handlers. */
export const dnsExtension = defineExtension({
  name: "dns",
  handlers: [
    handlerFor(
      recursiveNameServersSection,
      (v) => new RecursiveNameServersOptionHandler(v.addresses.map((a) => a.text), v.alwaysSend),
    ),
    handlerFor(
      domainSearchListSection,
      (v) => new DomainSearchListOptionHandler(v.domainNames, v.alwaysSend),
    ),
  ],
});
