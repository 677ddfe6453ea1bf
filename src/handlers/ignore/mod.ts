/**
 * The ignore extension: `<ignore-request>`.
 * @module
 */

import { defineExtension, handlerFor } from "../extension.ts";
import { IgnoreRequestHandler } from "./handler.ts";
import { ignoreRequestSection } from "./section.ts";

/** The handler that drops requests of chosen message types. */
export const ignoreExtension = defineExtension({
  name: "ignore",
  handlers: [
    handlerFor(ignoreRequestSection, (v) => new IgnoreRequestHandler(v.messageTypes ?? [])),
  ],
});
