/**
 * Handlers for `<sol-max-rt>` (option 82) and `<inf-max-rt>` (option 83). They overwrite, so
 * when several sections apply the last one run (the outermost scope) wins.
 * @module
 */

import { OverwriteOptionHandler } from "../../pipeline/mod.ts";
import { InfMaxRTOption, SolMaxRTOption } from "../../protocol/mod.ts";

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
