/**
 * The UDP listeners of a configuration resolved against the host once, into plain data that both
 * I/O backends open: `listen-interface` (the All_DHCP_Relay_Agents_and_Servers group on one link,
 * replies from its link-local address) and `listen-unicast` (one unicast address, for relays).
 * @module
 */

import type { ListenerConfig, ListenInterfaceValues, ListenUnicastValues } from "../config/mod.ts";
import type { ServerConfig } from "../config/mod.ts";
import { type HostInterface, isGlobalUnicast } from "./interfaces.ts";

/** The All_DHCP_Relay_Agents_and_Servers multicast group. */
export const ALL_DHCP_RELAY_AGENTS_AND_SERVERS = "ff02::1:2";

/** A problem with a listener, with the configuration line (`FILE:LINE: ...`). */
export class ListenerError extends Error {
  /** Create the error. */
  constructor(message: string) {
    super(message);
    this.name = "ListenerError";
  }
}

/**
 * The message of a bind error `e`, explained when the port is taken. UDP sockets are bound
 * without SO_REUSEADDR/SO_REUSEPORT, so no other process (nor a second server) can share a port
 * and silently take its requests; across a reload a socket is handed over rather than bound
 * again, and a change that needs a new socket on a port the running configuration holds (another
 * `io-backend`, another multicast setting) needs a restart.
 */
export function portInUse(e: unknown): string {
  const message = (e as Error)?.message ?? String(e);
  if (e instanceof Deno.errors.AddrInUse || /EADDRINUSE|in use|\(98\)/i.test(message)) {
    return "the port is already in use (by another process, or by this server's running " +
      "configuration under other settings, which needs a restart to change)";
  }
  return message;
}

/** One socket a listener binds. */
export interface SocketPlan {
  /** Address to bind, with a scope (`%` and the interface index or name) when link-scoped. */
  address: string;
  /** Port to bind. */
  port: number;
  /** Whether what arrives on it was sent to a multicast address. */
  multicast: boolean;
  /** Join this multicast group on {@link SocketPlan.joinInterface}. */
  joinGroup?: string;
  /** Interface index of the membership. */
  joinInterface?: number;
  /** Receive our own multicast (`listen-to-self`). */
  loop?: boolean;
  /** Identity: sockets with equal keys are the same socket (kept across reloads). */
  key: string;
}

/** A UDP listener section resolved against the host. */
export interface ListenerPlan {
  /** Position among the UDP listeners; replies are routed by it. */
  index: number;
  /** The section type. */
  kind: "interface" | "unicast";
  /** For logs: `interface eth0` or `unicast 2001:db8::1`. */
  description: string;
  /** Where the section is written, `FILE:LINE`, for errors. */
  where: string;
  /** Server interface name put in the internal Interface-ID. */
  interfaceName: string;
  /** Link address put in the internal relay layer. */
  linkAddress: string;
  /** Marks for requests received here. */
  marks: readonly string[];
  /** UDP port. */
  port: number;
  /** Source address of replies (without scope). */
  replyFrom: string;
  /** Interface index for link-local destinations (0: none or unknown). */
  ifindex: number;
  /** The sockets; the one at {@link ListenerPlan.replyIndex} sends the replies. */
  sockets: SocketPlan[];
  /** Which socket sends the replies. */
  replyIndex: number;
  /** Identity of the whole listener: equal keys mean equal plans. */
  key: string;
}

function socketKey(s: Omit<SocketPlan, "key">): string {
  return `${s.address}|${s.port}|${s.multicast}|${s.joinGroup ?? ""}|${s.loop ?? ""}`;
}

function withKeys(
  plan: Omit<ListenerPlan, "key" | "sockets"> & {
    sockets: Array<Omit<SocketPlan, "key">>;
  },
): ListenerPlan {
  const sockets = plan.sockets.map((s) => ({ ...s, key: socketKey(s) }));
  const { where: _, ...identity } = plan;
  return { ...plan, sockets, key: JSON.stringify({ ...identity, sockets }) };
}

/**
 * Check a `listen-interface` section against the host's interfaces and fill in the defaults
 * (reply-from: the first link-local address; link-address: the first global address, else `::`).
 */
function planInterface(
  section: ListenerConfig,
  values: ListenInterfaceValues,
  interfaces: readonly HostInterface[],
  index: number,
): ListenerPlan {
  const where = `${section.file}:${section.line}`;
  const name = values.interface;
  const iface = interfaces.find((i) => i.name === name);
  if (!iface) throw new ListenerError(`${where}: interface ${name} does not exist`);
  const replyFrom = values.replyFrom?.text ?? iface.linkLocal[0];
  if (!replyFrom) throw new ListenerError(`${where}: interface ${name} has no link-local address`);
  if (!iface.linkLocal.includes(replyFrom)) {
    throw new ListenerError(`${where}: ${replyFrom} is not a link-local address of ${name}`);
  }
  const scope = iface.index || name;
  return withKeys({
    index,
    kind: "interface",
    description: `interface ${name}`,
    where,
    interfaceName: name,
    linkAddress: values.linkAddress?.text ?? iface.global.find(isGlobalUnicast) ?? "::",
    marks: values.marks,
    port: values.port,
    replyFrom,
    ifindex: iface.index,
    sockets: [
      {
        address: `${ALL_DHCP_RELAY_AGENTS_AND_SERVERS}%${scope}`,
        port: values.port,
        multicast: true,
        joinGroup: ALL_DHCP_RELAY_AGENTS_AND_SERVERS,
        joinInterface: iface.index,
        loop: values.listenToSelf,
      },
      { address: `${replyFrom}%${scope}`, port: values.port, multicast: false },
    ],
    replyIndex: 1,
  });
}

/** Check a `listen-unicast` section: its address must be configured on this host (or be ::1). */
function planUnicast(
  section: ListenerConfig,
  values: ListenUnicastValues,
  interfaces: readonly HostInterface[],
  index: number,
): ListenerPlan {
  const where = `${section.file}:${section.line}`;
  const address = values.address.text;
  const iface = interfaces.find((i) => i.ipv6.includes(address));
  if (!iface && address !== "::1") {
    throw new ListenerError(`${where}: ${address} is not configured on any interface`);
  }
  return withKeys({
    index,
    kind: "unicast",
    description: `unicast ${address}`,
    where,
    interfaceName: iface?.name ?? "lo",
    linkAddress: address,
    marks: values.marks,
    port: values.port,
    replyFrom: address,
    ifindex: 0,
    sockets: [{ address, port: values.port, multicast: false }],
    replyIndex: 0,
  });
}

/**
 * The UDP listeners of `config` (`<listen-tcp>` is the TCP service's), checked against the host.
 * Throws {@link ListenerError}.
 */
export function planListeners(
  config: ServerConfig,
  interfaces: readonly HostInterface[],
): ListenerPlan[] {
  const plans: ListenerPlan[] = [];
  for (const section of config.listeners) {
    if (section.type === "listen-interface") {
      plans.push(
        planInterface(section, section.values as ListenInterfaceValues, interfaces, plans.length),
      );
    } else if (section.type === "listen-unicast") {
      plans.push(
        planUnicast(section, section.values as ListenUnicastValues, interfaces, plans.length),
      );
    }
  }
  return plans;
}

/** Whether two sets of plans are the same listeners in the same order. */
export function samePlans(a: readonly ListenerPlan[], b: readonly ListenerPlan[]): boolean {
  return a.length === b.length && a.every((p, i) => p.key === b[i].key);
}
