/**
 * The Technicolor SOL_MAX_RT extension: option 65279, its handler and the
 * `<sol-max-rt-technicolor>` section type. Importing this module registers all three; name it in
 * a configuration with `extension` or compose it into an executable with `compile.sh --extension`.
 * @module
 */

import { type ConfigSection, registerHandlerFactory, registerSectionType } from "@dhcpkit/dhcpkit";
import { SolMaxRtTechnicolorHandler } from "./handler.ts";
import { solMaxRtTechnicolorSection, type SolMaxRtTechnicolorValues } from "./section.ts";

export { OPTION_SOL_MAX_RT_TECHNICOLOR, SolMaxRTTechnicolorOption } from "./option.ts";
export { SolMaxRtTechnicolorHandler } from "./handler.ts";
export { solMaxRtTechnicolorSection, type SolMaxRtTechnicolorValues } from "./section.ts";

registerSectionType(solMaxRtTechnicolorSection);
registerHandlerFactory(solMaxRtTechnicolorSection.type, (section) => {
  const { limit, alwaysSend } = (section as ConfigSection<SolMaxRtTechnicolorValues>).values;
  return new SolMaxRtTechnicolorHandler(limit, alwaysSend);
});
