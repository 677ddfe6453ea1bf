/**
 * UDP listeners: `listen-interface` (multicast on one link, replies from its link-local address)
 * and `listen-unicast` (one unicast address, for relays).
 * @module
 */

import type { ListenerConfig, ListenInterfaceValues, ListenUnicastValues } from "../config/mod.ts";
import { type HostInterface, isGlobalUnicast } from "./interfaces.ts";
import { withRootSync } from "./privileges.ts";

/** The All_DHCP_Relay_Agents_and_Servers multicast group. */
export const ALL_DHCP_RELAY_AGENTS_AND_SERVERS = "ff02::1:2";

/** A problem opening a listener, with the configuration line. */
export class ListenerError extends Error {
  /** Create the error. */
  constructor(message: string) {
    super(message);
    this.name = "ListenerError";
  }
}

/** A socket a listener receives on. */
export interface ReceiveSocket {
  /** The socket. */
  conn: Deno.DatagramConn;
  /** Whether what arrives on it was sent to a multicast address. */
  multicast: boolean;
}

/** An open UDP listener. */
export interface UdpListener {
  /** Position in the configuration, used to route replies back. */
  index: number;
  /** For logs: `interface eth0` or `unicast 2001:db8::1`. */
  description: string;
  /** Server interface name put in the internal Interface-ID. */
  interfaceName: string;
  /** Link address put in the internal relay layer. */
  linkAddress: string;
  /** Marks for requests received here. */
  marks: readonly string[];
  /** Sockets to receive from. */
  receive: ReceiveSocket[];
  /** Socket replies are sent from. */
  reply: Deno.DatagramConn;
  /** Identity of the sockets, for re-use across reloads. */
  key: string;
}

function where(section: ListenerConfig): string {
  return `${section.file}:${section.line}`;
}

/** Bind a UDP socket; as root after privileges were dropped (port 547 needs it), nothing else. */
function bind(hostname: string, port: number, section: ListenerConfig): Deno.DatagramConn {
  try {
    return withRootSync(() =>
      Deno.listenDatagram({ transport: "udp", hostname, port, reuseAddress: true })
    );
  } catch (e) {
    throw new ListenerError(
      `${where(section)}: cannot listen on [${hostname}]:${port}: ${(e as Error).message}`,
    );
  }
}

/** What a `listen-interface` section means on this host. */
export interface InterfaceListenerPlan {
  /** Interface name. */
  name: string;
  /** The interface. */
  iface: HostInterface;
  /** Link-local address replies come from. */
  replyFrom: string;
  /** Link address for the internal relay layer. */
  linkAddress: string;
  /** UDP port. */
  port: number;
}

/**
 * Check a `listen-interface` section against the host's interfaces and fill in the defaults
 * (reply-from: the first link-local address; link-address: the first global address, else `::`).
 */
export function resolveInterfaceListener(
  section: ListenerConfig,
  values: ListenInterfaceValues,
  interfaces: readonly HostInterface[],
): InterfaceListenerPlan {
  const name = values.interface ?? section.name ?? "";
  const iface = interfaces.find((i) => i.name === name);
  if (!iface) throw new ListenerError(`${where(section)}: interface ${name} does not exist`);
  const replyFrom = values.replyFrom?.text ?? iface.linkLocal[0];
  if (!replyFrom) {
    throw new ListenerError(`${where(section)}: interface ${name} has no link-local address`);
  }
  if (!iface.linkLocal.includes(replyFrom)) {
    throw new ListenerError(
      `${where(section)}: ${replyFrom} is not a link-local address of ${name}`,
    );
  }
  const linkAddress = values.linkAddress?.text ?? iface.global.find(isGlobalUnicast) ?? "::";
  return { name, iface, replyFrom, linkAddress, port: values.port ?? 547 };
}

/** Open the sockets of a `listen-interface` section. */
export async function openInterfaceListener(
  section: ListenerConfig,
  values: ListenInterfaceValues,
  interfaces: readonly HostInterface[],
  index: number,
): Promise<UdpListener> {
  const { name, iface, replyFrom, linkAddress, port } = resolveInterfaceListener(
    section,
    values,
    interfaces,
  );
  const mc = bind(`${ALL_DHCP_RELAY_AGENTS_AND_SERVERS}%${name}`, port, section);
  try {
    const membership = await mc.joinMulticastV6(ALL_DHCP_RELAY_AGENTS_AND_SERVERS, iface.index);
    await membership.setLoopback(values.listenToSelf ?? false);
  } catch (e) {
    mc.close();
    throw new ListenerError(
      `${where(section)}: cannot join ${ALL_DHCP_RELAY_AGENTS_AND_SERVERS} on ${name}: ${
        (e as Error).message
      }`,
    );
  }
  let reply: Deno.DatagramConn;
  try {
    reply = bind(`${replyFrom}%${name}`, port, section);
  } catch (e) {
    mc.close();
    throw e;
  }
  return {
    index,
    description: `interface ${name}`,
    interfaceName: name,
    linkAddress,
    marks: values.marks?.length ? values.marks : ["unmarked"],
    receive: [{ conn: mc, multicast: true }, { conn: reply, multicast: false }],
    reply,
    key: `interface|${name}|${replyFrom}|${port}|${values.listenToSelf}`,
  };
}

/** Open the socket of a `listen-unicast` section. */
export function openUnicastListener(
  section: ListenerConfig,
  values: ListenUnicastValues,
  interfaces: readonly HostInterface[],
  index: number,
): UdpListener {
  const address = values.address.text;
  const iface = interfaces.find((i) => i.ipv6.includes(address));
  if (!iface && address !== "::1") {
    throw new ListenerError(`${where(section)}: ${address} is not configured on any interface`);
  }
  const port = values.port ?? 547;
  const conn = bind(address, port, section);
  return {
    index,
    description: `unicast ${address}`,
    interfaceName: iface?.name ?? "lo",
    linkAddress: address,
    marks: values.marks?.length ? values.marks : ["unmarked"],
    receive: [{ conn, multicast: false }],
    reply: conn,
    key: `unicast|${address}|${port}`,
  };
}

/** Close every socket of a listener. */
export function closeListener(listener: UdpListener): void {
  for (const s of new Set([...listener.receive.map((r) => r.conn), listener.reply])) {
    try {
      s.close();
    } catch {
      // already closed
    }
  }
}
