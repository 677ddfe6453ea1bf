/**
 * The RADIUS wire format (RFC 2865 §3 and §5): packets and their attributes as bytes, plus the
 * value formats of the attributes dhcpkit reads (RFC 8044 data types).
 *
 * Parsing is total: any input either gives a packet or throws {@link ParseError} (with the byte
 * offset of the problem); nothing else is thrown and nothing is read past the input. A parsed
 * packet owns a copy of the bytes, so the receive buffer may be reused at once.
 * @module
 */

import { formatIPv6, IPv6Prefix, ParseError, SerializeError } from "../../protocol/mod.ts";

/** Packet codes used by dhcpkit. */
export const RadiusCode = {
  AccessRequest: 1,
  AccessAccept: 2,
  AccessReject: 3,
  AccessChallenge: 11,
} as const;

/** Attribute types used by dhcpkit, with the RFC that defines each. */
export const Attr = {
  /** RFC 2865. */
  UserName: 1,
  /** RFC 2865. */
  UserPassword: 2,
  /** RFC 2865. */
  NasIpAddress: 4,
  /** RFC 2865. */
  ServiceType: 6,
  /** RFC 2865. */
  ReplyMessage: 18,
  /** RFC 2865. */
  SessionTimeout: 27,
  /** RFC 2865. */
  CallingStationId: 31,
  /** RFC 2865. */
  NasIdentifier: 32,
  /** RFC 2869 / RFC 3579. */
  MessageAuthenticator: 80,
  /** RFC 2869. */
  NasPortId: 87,
  /** RFC 3162. */
  NasIpv6Address: 95,
  /** RFC 3162. */
  FramedIpv6Prefix: 97,
  /** RFC 4818. */
  DelegatedIpv6Prefix: 123,
  /** RFC 6911. */
  FramedIpv6Address: 168,
  /** RFC 6911. */
  DnsServerIpv6Address: 169,
} as const;

/** Length of the fixed header: code, identifier, length, authenticator. */
export const HEADER_LENGTH = 20;
/** Largest packet RFC 2865 allows. */
export const MAX_PACKET_LENGTH = 4096;
/** Largest attribute value (the length octet counts the two header octets too). */
export const MAX_VALUE_LENGTH = 253;
/** Length of the Request and Response Authenticator and of a Message-Authenticator value. */
export const AUTHENTICATOR_LENGTH = 16;

/** One attribute: its type and its value bytes. */
export interface RadiusAttribute {
  /** Attribute type (1-255). */
  readonly type: number;
  /** The value, 0-253 bytes. */
  readonly value: Uint8Array;
}

/** A RADIUS packet. */
export interface RadiusPacket {
  /** Packet code ({@link RadiusCode}). */
  readonly code: number;
  /** Identifier matching requests and responses (0-255). */
  readonly identifier: number;
  /** The Request or Response Authenticator (16 bytes). */
  readonly authenticator: Uint8Array;
  /** The attributes in packet order. */
  readonly attributes: readonly RadiusAttribute[];
}

/**
 * Parse a packet. Bytes after the length the header gives are padding and ignored (RFC 2865
 * §3); fewer bytes than that, a length outside 20-4096, or an attribute that is shorter than its
 * own header or runs past the packet throw {@link ParseError}.
 */
export function parseRadiusPacket(data: Uint8Array): RadiusPacket {
  if (data.length < HEADER_LENGTH) {
    throw new ParseError(0, `a packet needs ${HEADER_LENGTH} bytes, only ${data.length} given`);
  }
  const length = (data[2] << 8) | data[3];
  if (length < HEADER_LENGTH || length > MAX_PACKET_LENGTH) {
    throw new ParseError(2, `packet length ${length} is not ${HEADER_LENGTH}-${MAX_PACKET_LENGTH}`);
  }
  if (length > data.length) {
    throw new ParseError(2, `packet length ${length} is more than the ${data.length} bytes given`);
  }
  const buf = data.slice(0, length);
  const attributes: RadiusAttribute[] = [];
  let pos = HEADER_LENGTH;
  while (pos < length) {
    if (length - pos < 2) throw new ParseError(pos, "attribute header cut short");
    const type = buf[pos];
    const attributeLength = buf[pos + 1];
    if (attributeLength < 2) {
      throw new ParseError(pos + 1, `attribute ${type} has length ${attributeLength}, less than 2`);
    }
    if (pos + attributeLength > length) {
      throw new ParseError(
        pos + 1,
        `attribute ${type} of ${attributeLength} bytes runs past the end of the packet`,
      );
    }
    attributes.push({ type, value: buf.subarray(pos + 2, pos + attributeLength) });
    pos += attributeLength;
  }
  return {
    code: buf[0],
    identifier: buf[1],
    authenticator: buf.subarray(4, HEADER_LENGTH),
    attributes,
  };
}

/**
 * The bytes of a packet. Throws {@link SerializeError} for a value longer than 253 bytes, a
 * packet longer than 4096 bytes, an authenticator that is not 16 bytes or fields out of range.
 */
export function serializeRadiusPacket(packet: RadiusPacket): Uint8Array {
  const { code, identifier, authenticator, attributes } = packet;
  if (!isByte(code) || !isByte(identifier)) {
    throw new SerializeError(`code ${code} or identifier ${identifier} is not 0-255`);
  }
  if (authenticator.length !== AUTHENTICATOR_LENGTH) {
    throw new SerializeError(`the authenticator has ${authenticator.length} bytes, not 16`);
  }
  let length = HEADER_LENGTH;
  for (const a of attributes) {
    if (!isByte(a.type)) throw new SerializeError(`attribute type ${a.type} is not 0-255`);
    if (a.value.length > MAX_VALUE_LENGTH) {
      throw new SerializeError(
        `attribute ${a.type} has ${a.value.length} bytes, more than ${MAX_VALUE_LENGTH}`,
      );
    }
    length += 2 + a.value.length;
  }
  if (length > MAX_PACKET_LENGTH) {
    throw new SerializeError(`the packet has ${length} bytes, more than ${MAX_PACKET_LENGTH}`);
  }
  const out = new Uint8Array(length);
  out[0] = code;
  out[1] = identifier;
  out[2] = length >>> 8;
  out[3] = length & 0xff;
  out.set(authenticator, 4);
  let pos = HEADER_LENGTH;
  for (const a of attributes) {
    out[pos] = a.type;
    out[pos + 1] = a.value.length + 2;
    out.set(a.value, pos + 2);
    pos += a.value.length + 2;
  }
  return out;
}

function isByte(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 255;
}

/** Where a value sits in its packet, so errors name the right byte. */
export interface ValueAt {
  /** The value bytes. */
  readonly value: Uint8Array;
  /** Offset of the attribute header in the packet. */
  readonly offset: number;
}

/** An `integer` value (4 bytes, RFC 8044 §3.1). */
export function integerValue({ value, offset }: ValueAt, what: string): number {
  if (value.length !== 4) {
    throw new ParseError(offset + 1, `${what} has ${value.length} bytes, not 4`);
  }
  return value[0] * 0x1000000 + ((value[1] << 16) | (value[2] << 8) | value[3]);
}

/** An `ipv6addr` value (16 bytes, RFC 8044 §3.9) as RFC 5952 text. */
export function ipv6AddressValue({ value, offset }: ValueAt, what: string): string {
  if (value.length !== 16) {
    throw new ParseError(offset + 1, `${what} has ${value.length} bytes, not 16`);
  }
  return formatIPv6(value);
}

/**
 * An `ipv6prefix` value (RFC 8044 §3.10, RFC 3162 §2.3): a reserved byte, the prefix length
 * (0-128) and as many prefix bytes as the length needs, up to 16. Bits past the length must be
 * zero; anything else throws {@link ParseError}.
 */
export function ipv6PrefixValue({ value, offset }: ValueAt, what: string): IPv6Prefix {
  if (value.length < 2 || value.length > 18) {
    throw new ParseError(offset + 1, `${what} has ${value.length} bytes, not 2-18`);
  }
  const length = value[1];
  if (length > 128) {
    throw new ParseError(offset + 3, `${what} has prefix length ${length}, more than 128`);
  }
  const given = value.length - 2;
  if (given * 8 < length) {
    throw new ParseError(offset + 4, `${what} /${length} needs ${Math.ceil(length / 8)} bytes`);
  }
  const bytes = new Uint8Array(16);
  bytes.set(value.subarray(2));
  try {
    return IPv6Prefix.ofNetwork(bytes, length);
  } catch {
    throw new ParseError(offset + 4, `${what} has bits set past its length ${length}`);
  }
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/** A `text` value (UTF-8, RFC 8044 §3.4). */
export function textValue({ value, offset }: ValueAt, what: string): string {
  try {
    return decoder.decode(value);
  } catch {
    throw new ParseError(offset + 2, `${what} is not UTF-8`);
  }
}

/** The value of an `ipv6prefix` attribute for `prefix` (prefix bytes trimmed to the length). */
export function ipv6PrefixBytes(prefix: IPv6Prefix): Uint8Array {
  const used = Math.ceil(prefix.length / 8);
  const out = new Uint8Array(2 + used);
  out[1] = prefix.length;
  out.set(prefix.bytes.subarray(0, used), 2);
  return out;
}

/** The value of an `integer` attribute. */
export function integerBytes(n: number): Uint8Array {
  return new Uint8Array([n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
}
