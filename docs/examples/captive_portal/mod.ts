/**
 * The captive portal extension: one object that lists what it adds. Importing this module
 * registers nothing; the server installs the extension it exports.
 * @module
 */

import { defineExtension, handlerFor } from "@dhcpkit/dhcpkit";
import { CaptivePortalOptionHandler } from "./handler.ts";
import { captivePortalOption } from "./option.ts";
import { captivePortalSection } from "./section.ts";

/** Option 103, the `<captive-portal>` section type and the handler that sends the option. */
export const captivePortalExtension = defineExtension({
  name: "captive-portal",
  options: [captivePortalOption],
  handlers: [
    // The factory gets the section's typed values (and the build context and the section).
    handlerFor(captivePortalSection, ({ uri, alwaysSend }) => {
      return new CaptivePortalOptionHandler(uri, alwaysSend);
    }),
  ],
});
