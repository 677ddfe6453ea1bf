/**
 * The values of `dhcpkit query`'s options, checked: DUIDs sent exactly as given, addresses,
 * prefixes, option codes and the relay options (`TEXT|0xHEX`, `ENT:TEXT|ENT:0xHEX`). Each
 * problem is a {@link UsageError} naming the option.
 * @module
 */

import { UsageError } from "../errors.ts";
import { parseDuidString } from "../duid_arg.ts";
import {
  type Duid,
  InterfaceIdOption,
  IPv6Prefix,
  isIPv6,
  normalizeIPv6,
  RemoteIdOption,
  SubscriberIdOption,
  UnknownDuid,
} from "../../src/protocol/mod.ts";

/** The longest DUID: 2 bytes of type and up to 128 bytes of data (RFC 8415, 11.1). */
const MAX_DUID_BYTES = 130;

/**
 * A DUID from `--duid`/`--server-duid`: the hex of the whole DUID (any type) or a readable form
 * (`enterprise:NUMBER:TEXT`, `linklayer:HWTYPE:HEX`, `linklayer-time:HWTYPE:TIME:HEX`). It must
 * parse as a DUID; hex is sent byte for byte as given.
 */
export function duidValue(option: string, text: string): Duid {
  let duid: Duid;
  try {
    duid = parseDuidString(text);
  } catch (e) {
    throw new UsageError(`--${option} is not a DUID: ${(e as Error).message}`);
  }
  const bytes = duid.toBytes();
  if (bytes.length > MAX_DUID_BYTES) {
    throw new UsageError(`--${option} is too long for a DUID (${bytes.length} bytes, most 130)`);
  }
  if (/^[0-9a-f:]+$/i.test(text)) {
    // Keep the exact bytes even where a DUID type would write its fields differently.
    const given = text.replaceAll(":", "").toLowerCase();
    if (duid.toHex() !== given) {
      const raw = Uint8Array.from(given.match(/../g)!, (h) => parseInt(h, 16));
      return new UnknownDuid((raw[0] << 8) | raw[1], raw.subarray(2));
    }
  }
  return duid;
}

/** An IPv6 address from `--option`, in canonical form. */
export function addressValue(option: string, text: string): string {
  if (!isIPv6(text)) throw new UsageError(`--${option} is not an IPv6 address: ${text}`);
  return normalizeIPv6(text);
}

/** A prefix from `--option` (`ADDRESS/LENGTH`). */
export function prefixValue(option: string, text: string): IPv6Prefix {
  try {
    return IPv6Prefix.parse(text);
  } catch (e) {
    throw new UsageError(`--${option} is not an IPv6 prefix: ${(e as Error).message}`);
  }
}

/** Option codes from `--oro` (`23,24,31`). */
export function codesValue(option: string, text: string): number[] {
  const codes = text.split(",").map((c) => c.trim()).filter(Boolean);
  for (const c of codes) {
    if (!/^\d+$/.test(c) || Number(c) > 65535) {
      throw new UsageError(`--${option} takes option codes (0-65535) separated by commas: ${text}`);
    }
  }
  return codes.map(Number);
}

/** `TEXT` as its UTF-8 bytes, or `0xHEX` as those bytes. */
export function opaqueValue(option: string, text: string): Uint8Array {
  if (/^0x/i.test(text)) {
    const hex = text.slice(2);
    if (hex === "" || hex.length % 2 !== 0 || !/^[0-9a-f]*$/i.test(hex)) {
      throw new UsageError(`--${option}: ${text} is not hex (0x followed by pairs of hex digits)`);
    }
    return Uint8Array.from(hex.match(/../g)!, (h) => parseInt(h, 16));
  }
  if (text === "") throw new UsageError(`--${option} must not be empty`);
  return new TextEncoder().encode(text);
}

/** `--interface-id TEXT|0xHEX`. */
export function interfaceIdValue(text: string): InterfaceIdOption {
  return new InterfaceIdOption(opaqueValue("interface-id", text));
}

/** `--subscriber-id TEXT|0xHEX`. */
export function subscriberIdValue(text: string): SubscriberIdOption {
  return new SubscriberIdOption(opaqueValue("subscriber-id", text));
}

/** `--remote-id ENT:TEXT|ENT:0xHEX` (ENT = enterprise number). */
export function remoteIdValue(text: string): RemoteIdOption {
  const colon = text.indexOf(":");
  const enterprise = colon > 0 ? text.slice(0, colon) : "";
  if (!/^\d+$/.test(enterprise) || Number(enterprise) > 0xffffffff) {
    throw new UsageError(
      `--remote-id takes ENTERPRISE:TEXT or ENTERPRISE:0xHEX (ENTERPRISE a number), not ${text}`,
    );
  }
  return new RemoteIdOption(Number(enterprise), opaqueValue("remote-id", text.slice(colon + 1)));
}
