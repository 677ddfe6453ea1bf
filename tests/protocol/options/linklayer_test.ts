/** Tests for the linklayer option module. */

import assert from "node:assert/strict";
import {
  ClientIdOption,
  fromHex,
  LinkLayerDuid,
  LinkLayerIdOption,
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

const b = (hex: string): Uint8Array => fromHex(hex.replace(/\s+/g, ""));

/** Parse one whole option, check it is alone and re-serialises to the same bytes. */
function decode(hex: string): Option {
  const bytes = b(hex);
  const options = parseOptions(bytes, 0, bytes.length);
  assert.equal(options.length, 1);
  assert.deepEqual(optionToBytes(options[0]), bytes);
  return options[0];
}

/** The bytes must be rejected with ParseError, also when followed by bytes outside the region. */
function bad(hex: string): void {
  const bytes = b(hex);
  assert.throws(() => parseOptions(bytes, 0, bytes.length), ParseError);
  const padded = new Uint8Array(bytes.length + 64).fill(0x41);
  padded.set(bytes);
  assert.throws(() => parseOptions(padded, 0, bytes.length), ParseError);
}

/** Every truncation of a valid option (length field fixed up or left lying) parses or throws ParseError. */
function total(hex: string): void {
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

const duid = new LinkLayerDuid(1, b("00163e112233"));
const serverId = () => new ServerIdOption(duid);
const clientId = () => new ClientIdOption(duid);

/** Validate `message` and its wire round trip. */
function valid(message: Message): void {
  message.validate();
  const wire = serializeMessage(message);
  const again = parseMessage(wire);
  assert.deepEqual(serializeMessage(again), wire);
  again.validate();
}

// RFC 6939 §4: option 79, link-layer type (1 = Ethernet) then the address.
const LINK_LAYER = "004f 0008 0001 00163e112233";

Deno.test("link-layer-id: parse and serialise", () => {
  const o = decode(LINK_LAYER) as LinkLayerIdOption;
  assert.ok(o instanceof LinkLayerIdOption);
  assert.equal(o.linkLayerType, 1);
  assert.deepEqual(o.linkLayerAddress, b("00163e112233"));
  assert.deepEqual(optionToBytes(new LinkLayerIdOption(1, b("00163e112233"))), b(LINK_LAYER));
  o.validate();
  total(LINK_LAYER);
});

Deno.test("link-layer-id: malformed input", () => {
  bad("004f 0001 00");
  bad("004f 0009 0001 00163e112233");
});

Deno.test("link-layer-id: validate", () => {
  assert.throws(() => new LinkLayerIdOption(0x10000).validate(), ValidationError);
});

Deno.test("link-layer-id: placement (relay messages, at most once)", () => {
  const o = new LinkLayerIdOption(1, b("00163e112233"));
  const inner = new RelayMessageOption(new SolicitMessage(1, [clientId()]));
  valid(new RelayForwardMessage(0, "2001:db8::1", "fe80::1", [o, inner]));
  valid(
    new RelayReplyMessage(0, "2001:db8::1", "fe80::1", [
      o,
      new RelayMessageOption(new ReplyMessage(1, [serverId(), clientId()])),
    ]),
  );
  assert.throws(
    () => new RelayForwardMessage(0, "2001:db8::1", "fe80::1", [o, o, inner]).validate(),
    ValidationError,
  );
  assert.throws(() => new SolicitMessage(1, [clientId(), o]).validate(), ValidationError);
});
