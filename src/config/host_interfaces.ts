/**
 * The host's network interfaces: the one place that lists them, for the configuration's host
 * checks (interface names, addresses on the host) and for the server (listeners, the server
 * DUID, socket scope ids).
 *
 * Interfaces come from `Deno.networkInterfaces()` (those with an address; needs `--allow-sys`)
 * and, on Linux, from `/sys/class/net` (also those without one, and every index). Deno lets a
 * program read `/sys` only with `--allow-all`; without it, interfaces without an address are not
 * listed and an index is known only from a link-local address's scope id. Addresses are
 * canonical (RFC 5952) text without a zone.
 * @module
 */

import { addressKind, normalizeIPv6, parseIPv6 } from "../protocol/mod.ts";

/** One interface of the host. */
export interface HostInterface {
  /** Interface name, e.g. `eth0`. */
  name: string;
  /** Interface index (0 when unknown). */
  index: number;
  /** MAC address text (`00:00:00:00:00:00` when none). */
  mac: string;
  /** IPv6 link-local addresses. */
  linkLocal: string[];
  /** IPv6 global unicast addresses. */
  global: string[];
  /** Every IPv6 address. */
  ipv6: string[];
}

/** True for a global unicast IPv6 address (not unspecified, loopback, multicast or link-local). */
export function isGlobalUnicast(address: string): boolean {
  return addressKind(parseIPv6(address)) === "other";
}

/** True for a link-local IPv6 address (fe80::/10). */
export function isLinkLocal(address: string): boolean {
  return addressKind(parseIPv6(address)) === "link-local";
}

const NO_MAC = "00:00:00:00:00:00";

/**
 * The host's interfaces with their IPv6 addresses: first those with addresses, in the order the
 * OS lists them, then those without any.
 */
export function hostInterfaces(): HostInterface[] {
  const byName = new Map<string, HostInterface>();
  const named = (name: string, mac: string): HostInterface => {
    let iface = byName.get(name);
    if (!iface) {
      iface = { name, index: 0, mac, linkLocal: [], global: [], ipv6: [] };
      byName.set(name, iface);
    }
    return iface;
  };
  for (const entry of Deno.networkInterfaces()) {
    const iface = named(entry.name, entry.mac);
    if (entry.family !== "IPv6") continue;
    const address = normalizeIPv6(entry.address.replace(/%.*$/, ""));
    iface.ipv6.push(address);
    if (isLinkLocal(address)) {
      iface.linkLocal.push(address);
      if (entry.scopeid) iface.index = entry.scopeid;
    } else if (isGlobalUnicast(address)) {
      iface.global.push(address);
    }
  }
  for (const name of sysInterfaceNames()) named(name, sysText(name, "address") ?? NO_MAC);
  for (const iface of byName.values()) {
    if (iface.index === 0) iface.index = Number(sysText(iface.name, "ifindex")) || 0;
  }
  return [...byName.values()];
}

/** Names in `/sys/class/net`; none when it cannot be read (not Linux, no permission). */
function sysInterfaceNames(): string[] {
  try {
    return [...Deno.readDirSync("/sys/class/net")].map((e) => e.name);
  } catch {
    return [];
  }
}

/** `/sys/class/net/NAME/FILE` without surrounding white space, when it can be read. */
function sysText(name: string, file: string): string | undefined {
  try {
    return Deno.readTextFileSync(`/sys/class/net/${name}/${file}`).trim();
  } catch {
    return undefined;
  }
}
