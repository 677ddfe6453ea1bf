/**
 * Listener sections: where the server receives requests.
 *
 * @module
 */

import {
  boolean,
  duration,
  integer,
  interfaceName,
  type IPv6Address,
  ipv6Address,
  type IPv6Prefix,
  ipv6Prefix,
} from "../datatypes.ts";
import { hostInterfaces } from "../host_interfaces.ts";
import { type ConfigSection, defineSection } from "../schema.ts";
import { markKey, portKey } from "./common.ts";

/** Values every listener has. */
export interface ListenerValues {
  /** Marks attached to each request received here. */
  marks: string[];
  /** Port to bind (547 by default). */
  port: number;
}

/** Values of `<listen-interface IFNAME>`. */
export interface ListenInterfaceValues extends ListenerValues {
  /** The interface to listen on. */
  interface: string;
  /** Also accept requests sent by this host itself. */
  listenToSelf: boolean;
  /** Link-local address to answer from; undefined = the interface's first link-local. */
  replyFrom?: IPv6Address;
  /** Address identifying the link; undefined = the interface's first global address, or `::`. */
  linkAddress?: IPv6Address;
}

/** Values of `<listen-unicast ADDR>`. */
export interface ListenUnicastValues extends ListenerValues {
  /** The unicast address to bind. */
  address: IPv6Address;
}

/** Values of `<listen-tcp [ADDR]>`. */
export interface ListenTcpValues extends ListenerValues {
  /** The address to accept connections on. */
  address: IPv6Address;
  /** Maximum number of simultaneous connections. */
  maxConnections: number;
  /** Seconds a connection may go without an answered query before it is closed. */
  idleTimeout: number;
  /** Clients allowed to connect; empty = everyone. */
  allowFrom: IPv6Prefix[];
}

/** `<listen-interface IFNAME>` section. */
export const listenInterfaceSection = defineSection<ListenInterfaceValues>({
  type: "listen-interface",
  kind: "listener",
  description: "Receive requests from clients on a directly attached link: joins the " +
    "All_DHCP_Relay_Agents_and_Servers multicast group (ff02::1:2) on the interface named by the " +
    "section and answers from a link-local address of that interface.",
  example: [
    "<listen-interface eth0>",
    "    listen-to-self yes",
    "    reply-from fe80::1",
    "    link-address 2001:db8::1",
    "</listen-interface>",
  ].join("\n"),
  name: {
    type: interfaceName,
    required: true,
    property: "interface",
    description: "Name of the network interface.",
  },
  keys: [
    markKey,
    {
      name: "listen-to-self",
      type: boolean,
      default: false,
      description: "Also answer requests that this host sends itself, for instance to test the " +
        "server from the same machine.",
      example: "yes",
    },
    {
      name: "reply-from",
      type: ipv6Address("link-local"),
      defaultText: "the first link-local address of the interface",
      description: "Link-local address of the interface to send answers from.",
      example: "fe80::1",
    },
    {
      name: "link-address",
      type: ipv6Address("global-unicast"),
      defaultText: "the first global unicast address of the interface, or `::` if it has none",
      description: "Global unicast address that identifies the link to filters and handlers " +
        "(like a relay's link address). It does not have to be configured anywhere.",
      example: "2001:db8::1",
    },
    portKey,
  ],
  validate(section: ConfigSection<ListenInterfaceValues>, check) {
    const v = section.values;
    if (check.hostChecks && v.replyFrom) {
      const addrs = hostInterfaces().find((i) => i.name === v.interface)?.ipv6;
      if (addrs && !addrs.includes(v.replyFrom.text)) {
        check.hostError(
          `reply-from address ${v.replyFrom.text} is not configured on interface ${v.interface}`,
          section.keyLines["reply-from"],
        );
      }
    }
  },
});

/** `<listen-unicast ADDR>` section. */
export const listenUnicastSection = defineSection<ListenUnicastValues>({
  type: "listen-unicast",
  kind: "listener",
  description: "Receive requests sent to a unicast address of this host, typically by relays. " +
    "The address, given as the section name, must be a global unicast address configured on " +
    "one of the interfaces (or `::1` for local tests).",
  example: "<listen-unicast 2001:db8::1:2 />",
  name: {
    type: ipv6Address("global-unicast-or-loopback", { onHost: true }),
    required: true,
    property: "address",
    description: "The unicast address to listen on.",
  },
  keys: [markKey, portKey],
});

/** `<listen-tcp [ADDR]>` section. */
export const listenTcpSection = defineSection<ListenTcpValues>({
  type: "listen-tcp",
  kind: "listener",
  description: "Accept TCP connections, used by Bulk Leasequery clients (RFC 5460). Only " +
    "LEASEQUERY messages are answered over TCP. The address can be given as the section name " +
    "or with the `address` key; if both are given they must be the same.",
  example: [
    "<listen-tcp>",
    "    address 2001:db8::1:2",
    "    allow-from 2001:db8::ffff:1",
    "    allow-from 2001:db8:1:2::/64",
    "</listen-tcp>",
  ].join("\n"),
  name: {
    type: ipv6Address("global-unicast-or-loopback", { onHost: true }),
    required: false,
    description: "The address to accept connections on (alternative to the `address` key).",
  },
  keys: [
    markKey,
    {
      name: "address",
      type: ipv6Address("global-unicast-or-loopback", { onHost: true }),
      defaultText: "the section name",
      description: "The global unicast address to accept connections on. Required unless the " +
        "address is the section name.",
      example: "2001:db8::ffff:1",
    },
    {
      name: "max-connections",
      type: integer(1, 255),
      default: 10,
      description: "How many connections may be open at the same time; more are refused.",
      example: "20",
    },
    {
      name: "idle-timeout",
      type: duration({ max: 86400 }),
      default: 120,
      defaultText: "2m",
      description: "Close a connection that has had no query answered for this long. Frames " +
        "that are dropped (empty, malformed, not a leasequery) do not count as activity, so a " +
        "client cannot hold one of the `max-connections` slots by sending them.",
      example: "30s",
    },
    {
      name: "allow-from",
      property: "allowFrom",
      type: ipv6Prefix({ allowAddress: true }),
      multiple: true,
      default: [],
      description: "Address or prefix of clients allowed to connect. Without any, connections " +
        "from everywhere are accepted, which is not recommended. Leasequery clients must also " +
        "be allowed in the `<leasequery>` handler.",
      example: "2001:db8:beef::/48",
    },
    portKey,
  ],
  validate(section: ConfigSection<ListenTcpValues>, check) {
    const fromName = section.nameValue as IPv6Address | undefined;
    const v = section.values as { address?: IPv6Address };
    if (fromName && v.address && fromName.text !== v.address.text) {
      check.error(
        `the section name (${fromName.text}) and the address key (${v.address.text}) differ`,
      );
    } else if (!fromName && !v.address) {
      check.error("<listen-tcp> needs an address: as the section name or the `address` key");
    } else if (!v.address) {
      v.address = fromName;
    }
    if (section.values.idleTimeout < 1) check.error("idle-timeout must be at least 1 second");
    if (section.values.allowFrom.length === 0) {
      check.warning("<listen-tcp> without allow-from accepts connections from everywhere");
    }
  },
});
