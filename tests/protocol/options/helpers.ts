/**
 * Shared scaffolding for the option tests: hex input, whole-option decoding with a byte-exact
 * round trip, ParseError-only checks for malformed and truncated input, and placement checks.
 * @module
 */

import assert from "node:assert/strict";
import {
  ClientIdOption,
  fromHex,
  LinkLayerDuid,
  type Message,
  type Option,
  optionToBytes,
  ParseError,
  parseMessage,
  parseOptions,
  RelayForwardMessage,
  RelayMessageOption,
  RelayReplyMessage,
  ReplyMessage,
  serializeMessage,
  ServerIdOption,
  SolicitMessage,
  ValidationError,
} from "../../../src/protocol/mod.ts";

/** Bytes from hex text; white space is ignored. */
export const b = (hex: string): Uint8Array => fromHex(hex.replace(/\s+/g, ""));

/** Parse one whole option, check it is alone and re-serialises to the same bytes. */
export function decode(hex: string): Option {
  const bytes = b(hex);
  const options = parseOptions(bytes, 0, bytes.length);
  assert.equal(options.length, 1);
  assert.deepEqual(optionToBytes(options[0]), bytes);
  return options[0];
}

/** The bytes must be rejected with ParseError, also when followed by bytes outside the region. */
export function bad(hex: string): void {
  const bytes = b(hex);
  assert.throws(() => parseOptions(bytes, 0, bytes.length), ParseError);
  const padded = new Uint8Array(bytes.length + 64).fill(0x41);
  padded.set(bytes);
  assert.throws(() => parseOptions(padded, 0, bytes.length), ParseError);
}

/** Every truncation of a valid option (length field fixed up or left lying) parses or throws ParseError. */
export function total(hex: string): void {
  const bytes = b(hex);
  for (let k = 1; k < bytes.length; k++) {
    const cut = bytes.slice(0, k);
    assert.throws(() => parseOptions(cut, 0, k), ParseError);
    if (k >= 4) {
      cut[2] = (k - 4) >> 8;
      cut[3] = (k - 4) & 0xff;
      try {
        const [o] = parseOptions(cut, 0, k);
        assert.deepEqual(optionToBytes(o), cut);
      } catch (e) {
        assert.ok(e instanceof ParseError, String(e));
      }
    }
  }
}

/**
 * The wire vector `hex` is one option of class `type` (see {@link decode}) that validates and that
 * `built`, the same option made in code, serialises to; every truncation of it parses or throws
 * ParseError (see {@link total}). Returns the parsed option, for checks of its fields.
 */
export function vector<T extends Option>(
  hex: string,
  type: abstract new (...args: never[]) => T,
  built: Option,
): T {
  const o = decode(hex);
  assert.ok(o instanceof type);
  assert.deepEqual(optionToBytes(built), b(hex));
  o.validate();
  total(hex);
  return o;
}

/** The DUID of the Server and Client Identifier options below. */
export const duid: LinkLayerDuid = new LinkLayerDuid(1, b("00163e112233"));
/** A fresh Server Identifier option. */
export const serverId = (): ServerIdOption => new ServerIdOption(duid);
/** A fresh Client Identifier option. */
export const clientId = (): ClientIdOption => new ClientIdOption(duid);

/** Validate `message` and its wire round trip. */
export function valid(message: Message): void {
  message.validate();
  const wire = serializeMessage(message);
  const again = parseMessage(wire);
  assert.deepEqual(serializeMessage(again), wire);
  again.validate();
}

/** `item` (a message or an option) must fail validation with ValidationError. */
export function invalid(item: { validate(): void }): void {
  assert.throws(() => item.validate(), ValidationError);
}

/** A Reply with Server and Client Identifier, then `options`. */
export const reply = (...options: Option[]): ReplyMessage =>
  new ReplyMessage(1, [serverId(), clientId(), ...options]);

/** A Relay-forward from link 2001:db8::1, peer fe80::1, holding `options`. */
export const relayForward = (...options: Option[]): RelayForwardMessage =>
  new RelayForwardMessage(0, "2001:db8::1", "fe80::1", options);

/** A Relay-reply to link 2001:db8::1, peer fe80::1, holding `options`. */
export const relayReply = (...options: Option[]): RelayReplyMessage =>
  new RelayReplyMessage(0, "2001:db8::1", "fe80::1", options);

/** A Relay Message option holding a Solicit with a Client Identifier. */
export const relayedSolicit = (): RelayMessageOption =>
  new RelayMessageOption(new SolicitMessage(1, [clientId()]));

/** A Relay Message option holding a Reply with Server and Client Identifier. */
export const relayedReply = (): RelayMessageOption =>
  new RelayMessageOption(new ReplyMessage(1, [serverId(), clientId()]));
