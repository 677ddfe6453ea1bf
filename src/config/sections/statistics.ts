/**
 * `<statistics>`: extra categories of counters besides the global ones.
 *
 * @module
 */

import {
  interfaceName,
  type IPv6Address,
  ipv6Address,
  type IPv6Prefix,
  ipv6Prefix,
} from "../datatypes.ts";
import { defineSection } from "../schema.ts";

/** Values of `<statistics>`. */
export interface StatisticsValues {
  /** Interfaces to keep separate counters for. */
  interfaces: string[];
  /** Client subnets to keep separate counters for. */
  subnets: IPv6Prefix[];
  /** Relays to keep separate counters for. */
  relays: IPv6Address[];
}

/** `<statistics>` section. */
export const statisticsSection = defineSection<StatisticsValues>({
  type: "statistics",
  kind: "statistics",
  description: "The server always counts messages globally. This section adds counters per " +
    "listener interface, per client subnet (the link address a request arrived for) and per " +
    "relay. The counters are shown by `dhcpkit ctl stats`.",
  example: [
    "<statistics>",
    "    interface eth0",
    "    subnet 2001:db8:0:1::/64",
    "    subnet 2001:db8:0:2::/64",
    "    relay 2001:db8:1:2::3",
    "</statistics>",
  ].join("\n"),
  keys: [
    {
      name: "interface",
      property: "interfaces",
      type: {
        name: interfaceName.name,
        parse: (t, ctx) => interfaceName.parse(t, { ...ctx, hostChecks: false }),
      },
      multiple: true,
      default: [],
      description: "Count separately what arrives on this interface.",
      example: "eth0",
    },
    {
      name: "subnet",
      property: "subnets",
      type: ipv6Prefix(),
      multiple: true,
      default: [],
      description: "Count separately the requests whose link address lies in this prefix.",
      example: "2001:db8:0:1::/64",
    },
    {
      name: "relay",
      property: "relays",
      type: ipv6Address(),
      multiple: true,
      default: [],
      description: "Count separately the requests that passed through this relay (matched " +
        "against the relays' source and link addresses).",
      example: "2001:db8:1:2::3",
    },
  ],
});
