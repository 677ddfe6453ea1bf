/**
 * DNS handler section types: recursive-name-servers and domain-search-list (RFC 3646).
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

/** Values of `<recursive-name-servers>`. */
export interface RecursiveNameServersValues extends OptionHandlerValues {
  /** DNS resolver addresses in order. */
  addresses: IPv6Address[];
}

/** Values of `<domain-search-list>`. */
export interface DomainSearchListValues extends OptionHandlerValues {
  /** Search domains in order (ASCII form). */
  domainNames: string[];
}

/** `<recursive-name-servers>` handler. */
export const recursiveNameServersSection = defineSection<RecursiveNameServersValues>({
  type: "recursive-name-servers",
  kind: "handler",
  description: "Tells clients which DNS resolvers to use (option 23). When several of these " +
    "sections apply to a request their addresses are merged into one option, the more " +
    "specific scope first and without duplicates.",
  example: [
    "<recursive-name-servers>",
    "    address 2001:4860:4860::8888",
    "    address 2001:4860:4860::8844",
    "</recursive-name-servers>",
  ].join("\n"),
  keys: [
    alwaysSendKey,
    addressListKey(
      "unicast",
      "IPv6 address of a DNS resolver. Give it once per resolver.",
      "2001:db8:1::53",
    ),
  ],
});

/** `<domain-search-list>` handler. */
export const domainSearchListSection = defineSection<DomainSearchListValues>({
  type: "domain-search-list",
  kind: "handler",
  description: "Gives clients the domains to try when resolving short host names (option 24). " +
    "Several applicable sections are merged into one list.",
  example: [
    "<domain-search-list>",
    "    domain-name example.com",
    "    domain-name example.net",
    "</domain-search-list>",
  ].join("\n"),
  keys: [
    alwaysSendKey,
    domainNameListKey(
      "A domain to add to the search list; internationalised names are allowed.",
      "example.com",
    ),
  ],
});
