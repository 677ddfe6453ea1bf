/**
 * The transaction event sink extension: the `<event-sink>` section type and its handler.
 * Importing this module registers both.
 * @module
 */

import { type ConfigSection, registerHandlerFactory, registerSectionType } from "@dhcpkit/dhcpkit";
import { EventSinkHandler } from "./handler.ts";
import { eventSinkSection, type EventSinkValues } from "./section.ts";

export { EventSinkHandler, openDestination } from "./handler.ts";
export {
  type RelayEvent,
  type StatusEvent,
  type TransactionEvent,
  transactionEvent,
} from "./event.ts";
export { LineQueue, type QueueStats, type Target } from "./queue.ts";
export {
  type Destination,
  destination,
  eventSinkSection,
  type EventSinkValues,
} from "./section.ts";

registerSectionType(eventSinkSection);
registerHandlerFactory(eventSinkSection.type, (section) => {
  const { destination, queueSize } = (section as ConfigSection<EventSinkValues>).values;
  return new EventSinkHandler(destination, queueSize);
});
