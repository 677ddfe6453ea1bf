/** Tests for the subscriber_id option module. */

import assert from "node:assert/strict";
import {
  AdvertiseMessage,
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
  serializeMessage,
  ServerIdOption,
  SolicitMessage,
  SubscriberIdOption,
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

// RFC 4580 §2: option 38, the subscriber-id as opaque octets ("sub1").
const SUBSCRIBER_ID = "0026 0004 73756231";

Deno.test("subscriber-id: parse and serialise", () => {
  const o = decode(SUBSCRIBER_ID) as SubscriberIdOption;
  assert.ok(o instanceof SubscriberIdOption);
  assert.deepEqual(o.data, b("73756231"));
  assert.deepEqual(optionToBytes(new SubscriberIdOption(b("73756231"))), b(SUBSCRIBER_ID));
  o.validate();
  total(SUBSCRIBER_ID);
});

Deno.test("subscriber-id: malformed input", () => {
  bad("0026 0005 73756231");
  bad("0026 00");
});

Deno.test("subscriber-id: validate rejects an empty identifier", () => {
  const empty = decode("0026 0000") as SubscriberIdOption;
  assert.throws(() => empty.validate(), ValidationError);
});

Deno.test("subscriber-id: placement", () => {
  const o = new SubscriberIdOption(b("73756231"));
  const inner = new RelayMessageOption(new SolicitMessage(1, [clientId()]));
  valid(new RelayForwardMessage(0, "2001:db8::1", "fe80::1", [o, inner]));
  assert.throws(
    () => new AdvertiseMessage(1, [serverId(), clientId(), o]).validate(),
    ValidationError,
  );
});
