/** Tests for the remote_id option module. */

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
  RemoteIdOption,
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

// RFC 4649 §3: option 37, enterprise-number(4) then the opaque remote-id.
const REMOTE_ID = "0025 000a 00000009 020300010a0b";

Deno.test("remote-id: parse and serialise", () => {
  const o = decode(REMOTE_ID) as RemoteIdOption;
  assert.ok(o instanceof RemoteIdOption);
  assert.equal(o.enterpriseNumber, 9);
  assert.deepEqual(o.remoteId, b("020300010a0b"));
  assert.deepEqual(optionToBytes(new RemoteIdOption(9, b("020300010a0b"))), b(REMOTE_ID));
  o.validate();
  total(REMOTE_ID);
  const empty = decode("0025 0004 00000009") as RemoteIdOption;
  assert.equal(empty.remoteId.length, 0);
});

Deno.test("remote-id: malformed input", () => {
  bad("0025 0003 000000");
  bad("0025 0000");
  bad("0025 000b 00000009 020300010a0b");
});

Deno.test("remote-id: validate", () => {
  assert.throws(() => new RemoteIdOption(2 ** 32).validate(), ValidationError);
  assert.throws(() => new RemoteIdOption(-1).validate(), ValidationError);
});

Deno.test("remote-id: placement", () => {
  const inner = new SolicitMessage(1, [clientId()]);
  const o = new RemoteIdOption(9, b("0102"));
  valid(new RelayForwardMessage(0, "2001:db8::1", "fe80::1", [o, new RelayMessageOption(inner)]));
  valid(
    new RelayReplyMessage(0, "2001:db8::1", "fe80::1", [
      o,
      new RelayMessageOption(new ReplyMessage(1, [serverId(), clientId()])),
    ]),
  );
  assert.throws(() => new SolicitMessage(1, [clientId(), o]).validate(), ValidationError);
});
