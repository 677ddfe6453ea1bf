/**
 * DS-Lite handler section type: aftr-name (RFC 6334).
 *
 * @module
 */

import {
  alwaysSendKey,
  defineSection,
  domainName,
  type OptionHandlerValues,
} from "../../config/mod.ts";

/** Values of `<aftr-name>`. */
export interface AftrNameValues extends OptionHandlerValues {
  /** Name of the tunnel concentrator (ASCII form). */
  fqdn: string;
}

/** `<aftr-name>` handler. */
export const aftrNameSection = defineSection<AftrNameValues>({
  type: "aftr-name",
  kind: "handler",
  description: "Tells DS-Lite clients the name of the AFTR, the concentrator at the far end of " +
    "their IPv4-in-IPv6 tunnel (option 64). The most specific applicable section wins.",
  example: ["<aftr-name>", "    fqdn aftr.example.org", "</aftr-name>"].join("\n"),
  keys: [alwaysSendKey, {
    name: "fqdn",
    type: domainName,
    required: true,
    description: "Fully qualified domain name of the AFTR.",
    example: "aftr.example.org",
  }],
});
