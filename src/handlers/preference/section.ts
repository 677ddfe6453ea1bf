/**
 * Preference handler section type.
 *
 * @module
 */

import { defineSection, integer } from "../../config/mod.ts";

/** Values of `<preference>`. */
export interface PreferenceValues {
  /** Preference value 0-255. */
  level: number;
}

/** `<preference>` handler. */
export const preferenceSection = defineSection<PreferenceValues>({
  type: "preference",
  kind: "handler",
  description: "Adds a Preference option (7) to every Advertise and Reply. Clients pick the " +
    "server with the highest value; 255 makes them take this server's offer at once instead " +
    "of waiting for others.",
  example: ["<preference>", "    level 255", "</preference>"].join("\n"),
  keys: [{
    name: "level",
    type: integer(0, 255),
    required: true,
    description: "Preference from 0 to 255; higher wins.",
    example: "255",
  }],
});
