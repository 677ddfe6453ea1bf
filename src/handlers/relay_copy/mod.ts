/**
 * The relay option copying extension: `<copy-remote-id>`, `<copy-subscriber-id>` and
 * `<copy-linklayer-id>`.
 * @module
 */

import { defineExtension, handlerFor } from "../extension.ts";
import { CopyLinkLayerIdHandler, CopyRemoteIdHandler, CopySubscriberIdHandler } from "./handler.ts";
import { copyLinklayerIdSection, copyRemoteIdSection, copySubscriberIdSection } from "./section.ts";

/** The handlers that echo relay options back to their relay. */
export const relayCopyExtension = defineExtension({
  name: "relay-copy",
  handlers: [
    handlerFor(copyRemoteIdSection, () => new CopyRemoteIdHandler()),
    handlerFor(copySubscriberIdSection, () => new CopySubscriberIdHandler()),
    handlerFor(copyLinklayerIdSection, () => new CopyLinkLayerIdHandler()),
  ],
});
