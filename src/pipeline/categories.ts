/**
 * Which statistics sets a request counts in: per server interface, client subnet and relay.
 * @module
 */

import { IPv6Prefix, normalizeIPv6 } from "../protocol/mod.ts";
import type { TransactionBundle } from "./bundle.ts";
import type { IncomingPacket } from "./message_handler.ts";

/** The keys of a request that counts in no category (shared: never modified). */
const NO_KEYS: readonly string[] = Object.freeze([]);

/** The statistics categories of a configuration and the matching rules. */
export class StatisticsCategories {
  readonly #interfaces: Set<string>;
  readonly #subnets: IPv6Prefix[];
  readonly #relays: Set<string>;

  /** Create the categories from configured interface names, subnet prefixes and relay addresses. */
  constructor(
    interfaces: readonly string[] = [],
    subnets: readonly string[] = [],
    relays: readonly string[] = [],
  ) {
    this.#interfaces = new Set(interfaces);
    this.#subnets = subnets.map((s) => IPv6Prefix.parse(s));
    this.#relays = new Set(relays.map(normalizeIPv6));
  }

  /** True when no category is configured. */
  get empty(): boolean {
    return this.#interfaces.size === 0 && this.#subnets.length === 0 && this.#relays.size === 0;
  }

  /** Keys known from the packet alone (the interface). */
  packetKeys(packet: IncomingPacket): readonly string[] {
    return this.#interfaces.has(packet.interfaceName)
      ? [`interface:${packet.interfaceName}`]
      : NO_KEYS;
  }

  /**
   * Keys once the request is parsed: `keys`, then the subnets containing the link address and the
   * relays seen (the caller relies on that order to tell the new keys apart).
   */
  bundleKeys(bundle: TransactionBundle, keys: readonly string[]): readonly string[] {
    // Without subnet or relay categories there is nothing to add: no copy per request.
    if (this.#subnets.length === 0 && this.#relays.size === 0) return keys;
    const out = [...keys];
    if (this.#subnets.length) {
      const link = bundle.linkAddress;
      for (const s of this.#subnets) if (s.contains(link)) out.push(`subnet:${s}`);
    }
    if (this.#relays.size) {
      const seen = new Set<string>();
      const relays = bundle.incomingRelayMessages;
      for (let i = 0; i < relays.length; i++) {
        seen.add(relays[i].linkAddress);
        // The peer of the server-side layer is the relay that sent the message to us.
        if (i === relays.length - 1 && relays.length > 1) seen.add(relays[i].peerAddress);
      }
      for (const r of this.#relays) if (seen.has(r)) out.push(`relay:${r}`);
    }
    return out;
  }

  /** True when a statistics key belongs to this configuration (used to prune after reload). */
  hasKey(key: string): boolean {
    const [kind, value] = [key.slice(0, key.indexOf(":")), key.slice(key.indexOf(":") + 1)];
    if (kind === "interface") return this.#interfaces.has(value);
    if (kind === "subnet") return this.#subnets.some((s) => s.toString() === value);
    if (kind === "relay") return this.#relays.has(value);
    return false;
  }
}
