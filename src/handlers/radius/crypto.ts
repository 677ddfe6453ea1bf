/**
 * The shared-secret cryptography of RADIUS: Request Authenticators, hiding User-Password
 * (RFC 2865 §5.2), the Response Authenticator (RFC 2865 §3) and Message-Authenticator
 * (HMAC-MD5, RFC 3579 §3.2), all with `node:crypto`.
 * @module
 */

import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import {
  Attr,
  AUTHENTICATOR_LENGTH,
  HEADER_LENGTH,
  type RadiusAttribute,
  type RadiusPacket,
  serializeRadiusPacket,
} from "./packet.ts";

/** A fresh random Request Authenticator (RFC 2865 §3: unpredictable and unique). */
export function randomAuthenticator(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(AUTHENTICATOR_LENGTH));
}

/** The parts as one array (node:crypto is much faster with one update than with several). */
function concat(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

function md5(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(createHash("md5").update(concat(parts)).digest());
}

/** The longest password RFC 2865 allows (128 bytes). */
export const MAX_PASSWORD_LENGTH = 128;

/**
 * The hidden value of User-Password: the password padded with zero bytes to a multiple of 16
 * (at least 16), each block XORed with MD5(secret + previous block), starting with the Request
 * Authenticator. Throws RangeError for a password longer than 128 bytes.
 */
export function hidePassword(
  password: Uint8Array,
  secret: Uint8Array,
  authenticator: Uint8Array,
): Uint8Array {
  if (password.length > MAX_PASSWORD_LENGTH) {
    throw new RangeError(`the password has ${password.length} bytes, more than 128`);
  }
  const length = Math.max(16, Math.ceil(password.length / 16) * 16);
  const out = new Uint8Array(length);
  out.set(password);
  let previous = authenticator;
  for (let block = 0; block < length; block += 16) {
    const key = md5(secret, previous);
    for (let i = 0; i < 16; i++) out[block + i] ^= key[i];
    previous = out.subarray(block, block + 16);
  }
  return out;
}

/** Undo {@link hidePassword} (what a server does); trailing zero bytes are removed. */
export function revealPassword(
  hidden: Uint8Array,
  secret: Uint8Array,
  authenticator: Uint8Array,
): Uint8Array {
  const out = new Uint8Array(hidden.length - hidden.length % 16);
  let previous = authenticator;
  for (let block = 0; block < out.length; block += 16) {
    const key = md5(secret, previous);
    for (let i = 0; i < 16; i++) out[block + i] = hidden[block + i] ^ key[i];
    previous = hidden.subarray(block, block + 16);
  }
  let end = out.length;
  while (end > 0 && out[end - 1] === 0) end--;
  return out.subarray(0, end);
}

/**
 * The Response Authenticator of a response packet: MD5(code, identifier, length, the Request
 * Authenticator, the attributes, secret). `response` is the response's bytes as received (its
 * own authenticator field is not used).
 */
export function responseAuthenticator(
  response: Uint8Array,
  requestAuthenticator: Uint8Array,
  secret: Uint8Array,
): Uint8Array {
  return md5(
    response.subarray(0, 4),
    requestAuthenticator,
    response.subarray(HEADER_LENGTH),
    secret,
  );
}

/** True when `a` and `b` hold the same bytes (compared in constant time). */
function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** True when the response bytes carry the right Response Authenticator for the request. */
export function verifyResponseAuthenticator(
  response: Uint8Array,
  requestAuthenticator: Uint8Array,
  secret: Uint8Array,
): boolean {
  if (response.length < HEADER_LENGTH) return false;
  return same(
    response.subarray(4, HEADER_LENGTH),
    responseAuthenticator(response, requestAuthenticator, secret),
  );
}

/**
 * Offset of the value of the first Message-Authenticator in packet bytes (already parsed, so the
 * attribute chain is sound), or -1 when there is none.
 */
export function messageAuthenticatorOffset(bytes: Uint8Array): number {
  const length = (bytes[2] << 8) | bytes[3];
  for (let pos = HEADER_LENGTH; pos + 2 <= length;) {
    if (bytes[pos] === Attr.MessageAuthenticator) return pos + 2;
    const attributeLength = bytes[pos + 1];
    if (attributeLength < 2) return -1;
    pos += attributeLength;
  }
  return -1;
}

/**
 * HMAC-MD5 keyed with the secret over the packet whose Message-Authenticator value (at `offset`)
 * is taken as 16 zero bytes, and whose authenticator field holds `authenticator` (a response is
 * signed over the Request Authenticator, RFC 3579 §3.2).
 */
function messageHmac(
  bytes: Uint8Array,
  offset: number,
  authenticator: Uint8Array,
  secret: Uint8Array,
): Uint8Array {
  const input = bytes.slice();
  input.set(authenticator, 4);
  input.fill(0, offset, offset + AUTHENTICATOR_LENGTH);
  return new Uint8Array(createHmac("md5", secret).update(input).digest());
}

/**
 * The bytes of a request with a correct Message-Authenticator: `packet` must contain one
 * Message-Authenticator attribute (any 16-byte value); its value is computed and written in.
 */
export function signRequest(packet: RadiusPacket, secret: Uint8Array): Uint8Array {
  const bytes = serializeRadiusPacket(packet);
  const offset = messageAuthenticatorOffset(bytes);
  if (offset < 0) throw new TypeError("the request has no Message-Authenticator attribute");
  bytes.set(messageHmac(bytes, offset, packet.authenticator, secret), offset);
  return bytes;
}

/**
 * Check the Message-Authenticator of packet bytes: true when it is right, false when it is
 * wrong or malformed, undefined when the packet has none. For a response, `authenticator` is
 * the Request Authenticator of the request it answers; for a request, its own.
 */
export function verifyMessageAuthenticator(
  bytes: Uint8Array,
  authenticator: Uint8Array,
  secret: Uint8Array,
): boolean | undefined {
  const offset = messageAuthenticatorOffset(bytes);
  if (offset < 0) return undefined;
  if (bytes[offset - 1] !== AUTHENTICATOR_LENGTH + 2) return false;
  return same(
    bytes.subarray(offset, offset + AUTHENTICATOR_LENGTH),
    messageHmac(bytes, offset, authenticator, secret),
  );
}

/** A Message-Authenticator attribute with a zero value, to be filled by {@link signRequest}. */
export function messageAuthenticatorPlaceholder(): RadiusAttribute {
  return { type: Attr.MessageAuthenticator, value: new Uint8Array(AUTHENTICATOR_LENGTH) };
}

/**
 * The bytes of a response to a request with `requestAuthenticator`, as a server makes them: a
 * Message-Authenticator in `packet` (if any) is computed over the Request Authenticator, then
 * the Response Authenticator is written in. `packet.authenticator` is not used.
 */
export function signResponse(
  packet: RadiusPacket,
  requestAuthenticator: Uint8Array,
  secret: Uint8Array,
): Uint8Array {
  const bytes = serializeRadiusPacket({ ...packet, authenticator: requestAuthenticator });
  const offset = messageAuthenticatorOffset(bytes);
  if (offset >= 0) bytes.set(messageHmac(bytes, offset, requestAuthenticator, secret), offset);
  bytes.set(responseAuthenticator(bytes, requestAuthenticator, secret), 4);
  return bytes;
}
