/**
 * What a RADIUS answer assigns: an Access-Accept's Framed-IPv6-Address (RFC 6911) becomes the
 * IA_NA address, its Delegated-IPv6-Prefix (RFC 4818) the IA_PD prefix, its
 * DNS-Server-IPv6-Address values (RFC 6911) the recursive name servers and its Session-Timeout
 * a cap on the valid lifetimes. Framed-IPv6-Prefix (RFC 3162) describes the link, not an
 * assignment, and is ignored, as is every other attribute. An Access-Reject assigns nothing
 * whatever it carries.
 * @module
 */

import { addressKind, ParseError } from "../../protocol/mod.ts";
import type { Assignment } from "../static/ids.ts";
import {
  Attr,
  HEADER_LENGTH,
  integerValue,
  ipv6AddressValue,
  ipv6PrefixValue,
  RadiusCode,
  type RadiusPacket,
} from "./packet.ts";

/** The assignment a RADIUS server gave for one query. */
export interface RadiusAnswer {
  /** True for an Access-Accept. */
  readonly accepted: boolean;
  /** The address and prefix assigned (empty for a reject). */
  readonly assignment: Assignment;
  /** Recursive name servers, in answer order without repeats. */
  readonly dnsServers: readonly string[];
  /** Session-Timeout in seconds, when the answer has one. */
  readonly sessionTimeout?: number;
}

/** The answer of an Access-Reject. */
export const REJECTED: RadiusAnswer = Object.freeze({
  accepted: false,
  assignment: Object.freeze({}),
  dnsServers: Object.freeze([]) as readonly string[],
});

/** True for addresses that cannot be assigned: unspecified, loopback, link-local or multicast. */
function unassignable(bytes: Uint8Array): boolean {
  return addressKind(bytes) !== "other";
}

/**
 * The answer in a response packet. Throws {@link ParseError} when an attribute it uses is
 * malformed (wrong size, a prefix length over 128, bits past the prefix length, an address that
 * cannot be assigned) or the code is neither Access-Accept, Access-Reject nor Access-Challenge
 * (which dhcpkit cannot continue and takes as a reject).
 */
export function answerFrom(packet: RadiusPacket): RadiusAnswer {
  if (packet.code === RadiusCode.AccessReject || packet.code === RadiusCode.AccessChallenge) {
    return REJECTED;
  }
  if (packet.code !== RadiusCode.AccessAccept) {
    throw new ParseError(0, `code ${packet.code} does not answer an Access-Request`);
  }
  const assignment: { address?: string; addressBytes?: Uint8Array; prefix?: Assignment["prefix"] } =
    {};
  const dnsServers: string[] = [];
  let sessionTimeout: number | undefined;
  let offset = HEADER_LENGTH;
  for (const attribute of packet.attributes) {
    const at = { value: attribute.value, offset };
    offset += 2 + attribute.value.length;
    switch (attribute.type) {
      case Attr.FramedIpv6Address: {
        const address = ipv6AddressValue(at, "Framed-IPv6-Address");
        if (unassignable(attribute.value)) {
          throw new ParseError(at.offset + 2, `Framed-IPv6-Address ${address} cannot be assigned`);
        }
        if (assignment.address === undefined) {
          assignment.address = address;
          assignment.addressBytes = attribute.value.slice();
        }
        break;
      }
      case Attr.DelegatedIpv6Prefix: {
        const prefix = ipv6PrefixValue(at, "Delegated-IPv6-Prefix");
        if (prefix.length === 0 || prefix.bytes[0] === 0xff) {
          throw new ParseError(
            at.offset + 2,
            `Delegated-IPv6-Prefix ${prefix} cannot be delegated`,
          );
        }
        assignment.prefix ??= prefix;
        break;
      }
      case Attr.DnsServerIpv6Address: {
        const address = ipv6AddressValue(at, "DNS-Server-IPv6-Address");
        if (!dnsServers.includes(address)) dnsServers.push(address);
        break;
      }
      case Attr.SessionTimeout:
        sessionTimeout = integerValue(at, "Session-Timeout");
        break;
    }
  }
  return { accepted: true, assignment, dnsServers, sessionTimeout };
}
