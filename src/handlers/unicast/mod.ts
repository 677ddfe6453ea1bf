/**
 * The server unicast extension: `<server-unicast>` (option 12).
 * @module
 */

import { defineExtension, handlerFor } from "../extension.ts";
import { ServerUnicastOptionHandler } from "./handler.ts";
import { serverUnicastSection } from "./section.ts";

/** The server unicast handler. */
export const unicastExtension = defineExtension({
  name: "unicast",
  handlers: [
    handlerFor(serverUnicastSection, (v) => new ServerUnicastOptionHandler(v.address.text)),
  ],
});
