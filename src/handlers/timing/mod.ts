/**
 * The timing limits extension: `<iana-timing-limits>` and `<iapd-timing-limits>`.
 * @module
 */

import { defineExtension, handlerFor } from "../extension.ts";
import { IANATimingLimitsHandler, IAPDTimingLimitsHandler } from "./handler.ts";
import { ianaTimingLimitsSection, iapdTimingLimitsSection } from "./section.ts";

/** The T1/T2 limit handlers. */
export const timingExtension = defineExtension({
  name: "timing",
  handlers: [
    handlerFor(ianaTimingLimitsSection, (v) => new IANATimingLimitsHandler(v)),
    handlerFor(iapdTimingLimitsSection, (v) => new IAPDTimingLimitsHandler(v)),
  ],
});
