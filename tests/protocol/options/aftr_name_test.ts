/** Tests for the aftr_name option module. */

import assert from "node:assert/strict";
import {
  AFTRNameOption,
  ClientIdOption,
  DeclineMessage,
  fromHex,
  InformationRequestMessage,
  LinkLayerDuid,
  type Message,
  type Option,
  optionToBytes,
  ParseError,
  parseMessage,
  parseOptions,
  ReplyMessage,
  serializeMessage,
  ServerIdOption,
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

// RFC 6334 §3: option 64, the AFTR's FQDN in DNS wire format ("aftr.example.com").
const AFTR = "0040 0012 0461667472076578616d706c6503636f6d00";

Deno.test("aftr-name: parse and serialise", () => {
  const o = decode(AFTR) as AFTRNameOption;
  assert.ok(o instanceof AFTRNameOption);
  assert.equal(o.fqdn, "aftr.example.com");
  assert.deepEqual(optionToBytes(new AFTRNameOption("aftr.example.com")), b(AFTR));
  assert.deepEqual(optionToBytes(new AFTRNameOption("aftr.example.com.")), b(AFTR));
  o.validate();
  total(AFTR);
});

Deno.test("aftr-name: malformed input", () => {
  bad("0040 0011 0461667472076578616d706c6503636f6d"); // relative name
  bad("0040 0013 0461667472076578616d706c6503636f6d00 00"); // data after the name
  bad("0040 0000"); // empty
  bad("0040 0013 0461667472076578616d706c6503636f6d00"); // length lies
});

Deno.test("aftr-name: validate", () => {
  const root = decode("0040 0001 00") as AFTRNameOption;
  assert.throws(() => root.validate(), ValidationError);
  assert.throws(() => new AFTRNameOption("a..b").validate(), ValidationError);
});

Deno.test("aftr-name: placement", () => {
  const o = new AFTRNameOption("aftr.example.com");
  valid(new ReplyMessage(1, [serverId(), clientId(), o]));
  valid(new InformationRequestMessage(1, [clientId(), o]));
  assert.throws(
    () => new ReplyMessage(1, [serverId(), clientId(), o, o]).validate(),
    ValidationError,
  );
  assert.throws(
    () => new DeclineMessage(1, [serverId(), clientId(), o]).validate(),
    ValidationError,
  );
});
