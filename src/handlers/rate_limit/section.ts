/**
 * Rate-limit handler section type.
 *
 * @module
 */

import { choice, type ConfigSection, defineSection, integer } from "../../config/mod.ts";

/** What identifies a client for rate limiting. */
export type RateLimitKey = "duid" | "interface-id" | "remote-id" | "subscriber-id" | "linklayer-id";

/** Values of `<rate-limit>`. */
export interface RateLimitValues {
  /** How clients are told apart. */
  key: RateLimitKey;
  /** Messages allowed per period. */
  rate: number;
  /** Length of a period in seconds. */
  per: number;
  /** Largest burst allowed (defaults to `rate`). */
  burst: number;
}

/** `<rate-limit>` handler. */
export const rateLimitSection = defineSection<RateLimitValues>({
  type: "rate-limit",
  kind: "handler",
  description: "Stops answering clients that send too many requests. Clients that dislike " +
    "their answer tend to ask again and again; going quiet slows them down. Each client may " +
    "send `rate` messages per `per` seconds, with bursts up to `burst`.",
  example: ["<rate-limit>", "    key remote-id", "    rate 5", "    per 30", "</rate-limit>"].join(
    "\n",
  ),
  keys: [
    {
      name: "key",
      type: choice<RateLimitKey>("rate-limit key", [
        "duid",
        "interface-id",
        "remote-id",
        "subscriber-id",
        "linklayer-id",
      ]),
      default: "duid",
      description: "What tells clients apart: `duid`, `interface-id`, `remote-id`, " +
        "`subscriber-id` or `linklayer-id`. Requests that lack the chosen identifier are " +
        "counted by DUID.",
      example: "remote-id",
    },
    {
      name: "rate",
      type: integer(2, 1_000_000),
      default: 5,
      description: "How many messages a client may send per period.",
      example: "10",
    },
    {
      name: "per",
      type: integer(1, 86400),
      default: 30,
      description: "Length of the period in seconds.",
      example: "60",
    },
    {
      name: "burst",
      type: integer(2, 1_000_000),
      defaultText: "the value of `rate`",
      description: "How many messages a client may send in a quick burst.",
      example: "10",
    },
  ],
  validate(section: ConfigSection<RateLimitValues>) {
    const v = section.values as { burst?: number; rate: number };
    if (v.burst === undefined) v.burst = v.rate;
  },
});
