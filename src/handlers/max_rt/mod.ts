/**
 * The retransmission limits extension: `<sol-max-rt>` (option 82) and `<inf-max-rt>` (83).
 * @module
 */

import { defineExtension, handlerFor } from "../extension.ts";
import { InfMaxRtOptionHandler, SolMaxRtOptionHandler } from "./handler.ts";
import { infMaxRtSection, solMaxRtSection } from "./section.ts";

/** The SOL_MAX_RT and INF_MAX_RT handlers. */
export const maxRtExtension = defineExtension({
  name: "max-rt",
  handlers: [
    handlerFor(solMaxRtSection, (v) => new SolMaxRtOptionHandler(v.limit, v.alwaysSend)),
    handlerFor(infMaxRtSection, (v) => new InfMaxRtOptionHandler(v.limit, v.alwaysSend)),
  ],
});
