/**
 * Retransmission limit section types: sol-max-rt and inf-max-rt (RFC 8415 §21.24-25).
 *
 * @module
 */

import {
  alwaysSendKey,
  defineSection,
  integer,
  type OptionHandlerValues,
} from "../../config/mod.ts";

/** Values of `<sol-max-rt>` and `<inf-max-rt>`. */
export interface MaxRtValues extends OptionHandlerValues {
  /** The limit in seconds, 60-86400. */
  limit: number;
}

/** `<sol-max-rt>` handler. */
export const solMaxRtSection = defineSection<MaxRtValues>({
  type: "sol-max-rt",
  kind: "handler",
  description: "Sends SOL_MAX_RT (option 82): the longest time a client waits between two " +
    "Solicits. Raising it calms down clients that get no usable answer. When several sections " +
    "apply, the outermost one wins.",
  example: ["<sol-max-rt>", "    limit 43200", "    always-send yes", "</sol-max-rt>"].join("\n"),
  keys: [alwaysSendKey, {
    name: "limit",
    type: integer(60, 86400),
    required: true,
    description: "Maximum Solicit retransmission time in seconds, from 60 to 86400.",
    example: "21600",
  }],
});

/** `<inf-max-rt>` handler. */
export const infMaxRtSection = defineSection<MaxRtValues>({
  type: "inf-max-rt",
  kind: "handler",
  description: "Sends INF_MAX_RT (option 83): the longest time a client waits between two " +
    "Information-requests. When several sections apply, the outermost one wins.",
  example: ["<inf-max-rt>", "    limit 43200", "    always-send yes", "</inf-max-rt>"].join("\n"),
  keys: [alwaysSendKey, {
    name: "limit",
    type: integer(60, 86400),
    required: true,
    description: "Maximum Information-request retransmission time in seconds, from 60 to 86400.",
    example: "21600",
  }],
});
