/**
 * The `<sol-max-rt-technicolor>` section type.
 * @module
 */

import {
  alwaysSendKey,
  datatypes,
  defineSection,
  type OptionHandlerValues,
} from "@dhcpkit/dhcpkit";

/** Values of `<sol-max-rt-technicolor>`. */
export interface SolMaxRtTechnicolorValues extends OptionHandlerValues {
  /** The limit in seconds, 60-86400. */
  limit: number;
}

/** `<sol-max-rt-technicolor>`: a handler section. */
export const solMaxRtTechnicolorSection = defineSection<SolMaxRtTechnicolorValues>({
  type: "sol-max-rt-technicolor",
  kind: "handler",
  description: "Sends SOL_MAX_RT in Technicolor's private option 65279, which some Technicolor " +
    "CPEs read instead of the standard option 82. The option is sent to clients that ask for " +
    "option 65279 or for the standard SOL_MAX_RT, and to every client with `always-send yes`. " +
    "When several sections apply, the outermost one wins. Combine it with `<sol-max-rt>` to " +
    "serve both kinds of client.",
  example: [
    "<sol-max-rt-technicolor>",
    "    limit 3600",
    "    always-send yes",
    "</sol-max-rt-technicolor>",
  ].join("\n"),
  keys: [alwaysSendKey, {
    name: "limit",
    type: datatypes.integer(60, 86400),
    required: true,
    description: "Maximum Solicit retransmission time in seconds, from 60 to 86400.",
    example: "3600",
  }],
});
