/**
 * Ignore-request handler section type.
 *
 * @module
 */

import { defineSection, messageType } from "../../config/mod.ts";

/** Values of `<ignore-request>`. */
export interface IgnoreRequestValues {
  /** Message types to drop; empty = all. */
  messageTypes: number[];
}

/** `<ignore-request>` handler. */
export const ignoreRequestSection = defineSection<IgnoreRequestValues>({
  type: "ignore-request",
  kind: "handler",
  description: "Drops matching requests without answering: processing stops and nothing is " +
    "sent. Without `message-type` every request is dropped.",
  example: ["<ignore-request>", "    message-type solicit", "</ignore-request>"].join("\n"),
  keys: [{
    name: "message-type",
    property: "messageTypes",
    type: messageType,
    multiple: true,
    default: [],
    defaultText: "all message types",
    description: "Type of message to drop, such as `solicit` or `information-request`. May be " +
      "given more than once.",
    example: "information-request",
  }],
});
