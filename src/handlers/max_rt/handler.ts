/**
 * Handlers for `<sol-max-rt>` (option 82) and `<inf-max-rt>` (option 83). They overwrite, so
 * when several sections apply the last one run (the outermost scope) wins.
 * @module
 */

import type { ConfigSection } from "../../config/mod.ts";
import { OverwriteOptionHandler } from "../../pipeline/mod.ts";
import { InfMaxRTOption, SolMaxRTOption } from "../../protocol/mod.ts";
import { registerHandlerFactory } from "../registry.ts";
import type { MaxRtValues } from "./section.ts";

/** Sets SOL_MAX_RT (82), replacing any value set before. */
export class SolMaxRtOptionHandler extends OverwriteOptionHandler<SolMaxRTOption> {
  /** Create the handler for a limit in seconds. */
  constructor(limit: number, alwaysSend = false) {
    super(new SolMaxRTOption(limit), alwaysSend);
  }
}

/** Sets INF_MAX_RT (83), replacing any value set before. */
export class InfMaxRtOptionHandler extends OverwriteOptionHandler<InfMaxRTOption> {
  /** Create the handler for a limit in seconds. */
  constructor(limit: number, alwaysSend = false) {
    super(new InfMaxRTOption(limit), alwaysSend);
  }
}

/** Register the factories of this extension (idempotent). */
export function register(): void {
  registerHandlerFactory("sol-max-rt", (section) => {
    const v = (section as ConfigSection<MaxRtValues>).values;
    return new SolMaxRtOptionHandler(v.limit, v.alwaysSend);
  });
  registerHandlerFactory("inf-max-rt", (section) => {
    const v = (section as ConfigSection<MaxRtValues>).values;
    return new InfMaxRtOptionHandler(v.limit, v.alwaysSend);
  });
}

register();
