/**
 * The captive portal extension: importing this module registers the option, the section type
 * and the factory that turns a section into a handler.
 * @module
 */

import { type ConfigSection, registerHandlerFactory, registerSectionType } from "@dhcpkit/dhcpkit";
import { CaptivePortalOptionHandler } from "./handler.ts";
import { captivePortalSection, type CaptivePortalValues } from "./section.ts";

export { CaptivePortalOption, OPTION_CAPTIVE_PORTAL } from "./option.ts";
export { CaptivePortalOptionHandler } from "./handler.ts";
export { captivePortalSection, type CaptivePortalValues } from "./section.ts";

registerSectionType(captivePortalSection);
registerHandlerFactory(captivePortalSection.type, (section, _context) => {
  const { uri, alwaysSend } = (section as ConfigSection<CaptivePortalValues>).values;
  return new CaptivePortalOptionHandler(uri, alwaysSend);
});
