/** Tests for the echo_request option module. */

import assert from "node:assert/strict";
import {
  ClientIdOption,
  EchoRequestOption,
  fromHex,
  InterfaceIdOption,
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

// RFC 4994 §4: option 43, a list of requested option codes (here Interface-ID 18, Remote-ID 37).
const ERO = "002b 0004 0012 0025";

Deno.test("echo-request: parse and serialise", () => {
  const o = decode(ERO) as EchoRequestOption;
  assert.ok(o instanceof EchoRequestOption);
  assert.deepEqual(o.requestedOptions, [18, 37]);
  assert.deepEqual(optionToBytes(new EchoRequestOption([18, 37])), b(ERO));
  o.validate();
  total(ERO);
});

Deno.test("echo-request: malformed input", () => {
  bad("002b 0003 001200");
  bad("002b 0006 0012 0025");
});

Deno.test("echo-request: validate", () => {
  assert.throws(() => new EchoRequestOption([70000]).validate(), ValidationError);
});

Deno.test("echo-request: allowed in relay-forward (RFC 4994 example with echoed options)", () => {
  // RFC 4994 §5: the relay asks for Interface-ID and Remote-ID to come back.
  const inner = new RelayMessageOption(new SolicitMessage(1, [clientId()]));
  valid(
    new RelayForwardMessage(0, "2001:db8::1", "fe80::1", [
      new EchoRequestOption([18, 37]),
      new InterfaceIdOption(b("657468302e3130")),
      new RemoteIdOption(9, b("0102")),
      inner,
    ]),
  );
  assert.throws(
    () =>
      new RelayReplyMessage(0, "2001:db8::1", "fe80::1", [
        new EchoRequestOption([18]),
        new RelayMessageOption(new ReplyMessage(1, [serverId(), clientId()])),
      ]).validate(),
    ValidationError,
  );
  assert.throws(
    () => new SolicitMessage(1, [clientId(), new EchoRequestOption([23])]).validate(),
    ValidationError,
  );
});
