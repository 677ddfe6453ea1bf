/**
 * The DS-Lite extension: `<aftr-name>` (option 64).
 * @module
 */

import { defineExtension, handlerFor } from "../extension.ts";
import { AftrNameOptionHandler } from "./handler.ts";
import { aftrNameSection } from "./section.ts";

/** The AFTR name handler. */
export const dsliteExtension = defineExtension({
  name: "dslite",
  handlers: [handlerFor(aftrNameSection, (v) => new AftrNameOptionHandler(v.fqdn, v.alwaysSend))],
});
