/**
 * The transaction event sink extension: the `<event-sink>` section type and its handler, in one
 * extension object. Importing this module registers nothing; the server installs the extension
 * it exports.
 * @module
 */

import { defineExtension, handlerFor } from "@dhcpkit/dhcpkit";
import { EventSinkHandler } from "./handler.ts";
import { eventSinkSection } from "./section.ts";

/** The `<event-sink>` section type and the handler that writes the events. */
export const eventSinkExtension = defineExtension({
  name: "event-sink",
  handlers: [
    handlerFor(eventSinkSection, ({ destination, queueSize }) => {
      return new EventSinkHandler(destination, queueSize);
    }),
  ],
});
