/**
 * Relay option echo section types: copy-remote-id, copy-subscriber-id and copy-linklayer-id.
 *
 * @module
 */

import { defineSection } from "../../config/mod.ts";

function copySection(type: string, what: string, code: number) {
  return defineSection<Record<string, never>>({
    type,
    kind: "handler",
    description: `Returns the ${what} option (${code}) that a relay added to a request in the ` +
      "matching Relay-reply. Servers need not do this, but some relays expect it.",
    example: `<${type}/>`,
    keys: [],
  });
}

/** `<copy-remote-id/>` handler. */
export const copyRemoteIdSection = copySection("copy-remote-id", "Remote-ID", 37);
/** `<copy-subscriber-id/>` handler. */
export const copySubscriberIdSection = copySection("copy-subscriber-id", "Subscriber-ID", 38);
/** `<copy-linklayer-id/>` handler. */
export const copyLinklayerIdSection = copySection(
  "copy-linklayer-id",
  "Client Link-Layer Address",
  79,
);
