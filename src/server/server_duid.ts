/**
 * The server's DUID: from the `server-id` section, or derived from the first usable MAC address.
 * @module
 */

import type { DuidConfig } from "../config/mod.ts";
import {
  type Duid,
  EnterpriseDuid,
  fromHex,
  LinkLayerDuid,
  LinkLayerTimeDuid,
  UuidDuid,
} from "../protocol/mod.ts";
import type { HostInterface } from "./interfaces.ts";

/** The DUID described by a configured `server-id` section. */
export function duidFromConfig(section: DuidConfig): Duid {
  // deno-lint-ignore no-explicit-any
  const v = section.values as any;
  const bytes = (x: unknown): Uint8Array => x instanceof Uint8Array ? x : fromHex(String(x));
  switch (section.type) {
    case "duid-en":
      return new EnterpriseDuid(v.enterpriseNumber, bytes(v.identifier));
    case "duid-ll":
      return new LinkLayerDuid(v.hardwareType, bytes(v.linkLayerAddress));
    case "duid-llt":
      // The configuration already gives the time in seconds since 2000-01-01 (RFC 8415).
      return new LinkLayerTimeDuid(v.hardwareType, v.timestamp, bytes(v.linkLayerAddress));
    case "duid-uuid":
      return new UuidDuid(bytes(v.uuid));
  }
  const s = section as { file: string; line: number; type: string };
  throw new Error(`${s.file}:${s.line}: unsupported DUID section <${s.type}>`);
}

/** A DUID-LL (Ethernet) from the first interface with a non-zero 6-byte MAC, if any. */
export function duidFromInterfaces(interfaces: readonly HostInterface[]): Duid | undefined {
  for (const iface of interfaces) {
    const mac = iface.mac?.toLowerCase() ?? "";
    if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(mac) || mac === "00:00:00:00:00:00") continue;
    return new LinkLayerDuid(1, fromHex(mac));
  }
  return undefined;
}

/**
 * The server's DUID: the configured `server-id`, else one derived from the host's interfaces;
 * throws when there is neither.
 */
export function serverDuidOf(
  serverId: DuidConfig | undefined,
  interfaces: readonly HostInterface[],
): Duid {
  const duid = serverId ? duidFromConfig(serverId) : duidFromInterfaces(interfaces);
  if (duid) return duid;
  throw new Error(
    "no server-id configured and no interface with a usable MAC address to derive one",
  );
}
