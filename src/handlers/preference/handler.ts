/**
 * Handler for `<preference>` (option 7): always sent (where the response type allows it), added
 * when absent so the most specific scope wins.
 * @module
 */

import { SimpleOptionHandler } from "../../pipeline/mod.ts";
import { PreferenceOption } from "../../protocol/mod.ts";

/** Adds a Preference option (7) unless a more specific scope already did. */
export class PreferenceOptionHandler extends SimpleOptionHandler<PreferenceOption> {
  /** Create the handler for a preference level 0-255. */
  constructor(level: number) {
    super(new PreferenceOption(level), true);
  }
}
