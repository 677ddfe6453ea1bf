import { SimpleOptionHandler } from "@dhcpkit/dhcpkit";
import { CaptivePortalOption } from "./option.ts";

/**
 * Adds the captive portal option to responses. SimpleOptionHandler does the work: it follows the
 * option-request rule (sent only when the client asks for option 103, unless `alwaysSend`),
 * respects the placement rules, and leaves an option set by an inner scope alone.
 */
export class CaptivePortalOptionHandler extends SimpleOptionHandler<CaptivePortalOption> {
  /** Create the handler for a portal URI; an invalid URI fails here, at start-up. */
  constructor(uri: string, alwaysSend = false) {
    const option = new CaptivePortalOption(uri);
    option.validate();
    super(option, alwaysSend);
  }
}
