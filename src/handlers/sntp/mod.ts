/**
 * The SNTP extension: `<sntp-servers>` (option 31).
 * @module
 */

import { defineExtension, handlerFor } from "../extension.ts";
import { SntpServersOptionHandler } from "./handler.ts";
import { sntpServersSection } from "./section.ts";

/** The SNTP servers handler. */
export const sntpExtension = defineExtension({
  name: "sntp",
  handlers: [
    handlerFor(
      sntpServersSection,
      (v) => new SntpServersOptionHandler(v.addresses.map((a) => a.text), v.alwaysSend),
    ),
  ],
});
