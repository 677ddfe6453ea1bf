/**
 * The Technicolor SOL_MAX_RT extension: option 65279, its handler and the
 * `<sol-max-rt-technicolor>` section type, in one extension object. Importing this module
 * registers nothing; name it in a configuration with `extension` or compose it into an
 * executable with `compile.sh --extension`, and the server installs the extension it exports.
 * @module
 */

import { defineExtension, handlerFor } from "@dhcpkit/dhcpkit";
import { SolMaxRtTechnicolorHandler } from "./handler.ts";
import { solMaxRtTechnicolorOption } from "./option.ts";
import { solMaxRtTechnicolorSection } from "./section.ts";

/** Option 65279, the `<sol-max-rt-technicolor>` section type and the handler that sends it. */
export const technicolorExtension = defineExtension({
  name: "technicolor",
  options: [solMaxRtTechnicolorOption],
  handlers: [
    handlerFor(solMaxRtTechnicolorSection, ({ limit, alwaysSend }) => {
      return new SolMaxRtTechnicolorHandler(limit, alwaysSend);
    }),
  ],
});
