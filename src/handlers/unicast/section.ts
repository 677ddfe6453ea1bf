/**
 * Server-unicast handler section type.
 *
 * @module
 */

import { defineSection, type IPv6Address, ipv6Address } from "../../config/mod.ts";

/** Values of `<server-unicast>`. */
export interface ServerUnicastValues {
  /** Address clients may send their requests to. */
  address: IPv6Address;
}

/** `<server-unicast>` handler. */
export const serverUnicastSection = defineSection<ServerUnicastValues>({
  type: "server-unicast",
  kind: "handler",
  description: "Allows clients to send Request, Renew, Release and Decline messages straight " +
    "to this server's unicast address instead of by multicast, and tells them the address " +
    "(option 12). The server needs a listener on that address.",
  example: ["<server-unicast>", "    address 2001:db8::1:2:3", "</server-unicast>"].join("\n"),
  keys: [{
    name: "address",
    type: ipv6Address("routable"),
    required: true,
    description: "Unicast address of this server; not link-local, loopback, multicast or `::`.",
    example: "2001:db8::1:2:3",
  }],
});
