/**
 * The host's network interfaces as the server needs them: index, link-local and global addresses,
 * MAC address.
 * @module
 */

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
  const a = address.toLowerCase();
  return a !== "::" && a !== "::1" && !a.startsWith("ff") && !/^fe[89ab]/.test(a);
}

/** True for a link-local IPv6 address. */
export function isLinkLocal(address: string): boolean {
  return /^fe[89ab]/i.test(address);
}

/** The host's interfaces with their IPv6 addresses, in the order the OS lists them. */
export function hostInterfaces(): HostInterface[] {
  const byName = new Map<string, HostInterface>();
  for (const entry of Deno.networkInterfaces()) {
    let iface = byName.get(entry.name);
    if (!iface) {
      iface = { name: entry.name, index: 0, mac: entry.mac, linkLocal: [], global: [], ipv6: [] };
      byName.set(entry.name, iface);
    }
    if (entry.family !== "IPv6") continue;
    const address = entry.address.replace(/%.*$/, "");
    iface.ipv6.push(address);
    if (isLinkLocal(address)) {
      iface.linkLocal.push(address);
      if (entry.scopeid) iface.index = entry.scopeid;
    } else if (isGlobalUnicast(address)) {
      iface.global.push(address);
    }
  }
  for (const iface of byName.values()) {
    if (iface.index === 0) iface.index = interfaceIndexFromSys(iface.name);
  }
  return [...byName.values()];
}

function interfaceIndexFromSys(name: string): number {
  try {
    return Number(Deno.readTextFileSync(`/sys/class/net/${name}/ifindex`).trim()) || 0;
  } catch {
    return 0;
  }
}
