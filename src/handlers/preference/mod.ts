/**
 * The preference extension: `<preference>` (option 7).
 * @module
 */

import { defineExtension, handlerFor } from "../extension.ts";
import { PreferenceOptionHandler } from "./handler.ts";
import { preferenceSection } from "./section.ts";

/** The preference handler. */
export const preferenceExtension = defineExtension({
  name: "preference",
  handlers: [handlerFor(preferenceSection, (v) => new PreferenceOptionHandler(v.level))],
});
