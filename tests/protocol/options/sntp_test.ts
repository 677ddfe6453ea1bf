/** Tests for the sntp option module. */

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
  ReleaseMessage,
  ReplyMessage,
  serializeMessage,
  ServerIdOption,
  SNTPServersOption,
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

// RFC 4075 §4: option 31, option-len 16*N, SNTP server addresses.
const SNTP = "001f 0020 20010db8000000000000000000000123 20010db8000100000000000000000123";

Deno.test("sntp-servers: parse and serialise", () => {
  const o = decode(SNTP) as SNTPServersOption;
  assert.ok(o instanceof SNTPServersOption);
  assert.deepEqual(o.addresses, ["2001:db8::123", "2001:db8:1::123"]);
  assert.deepEqual(
    optionToBytes(new SNTPServersOption(["2001:db8::123", "2001:db8:1::123"])),
    b(SNTP),
  );
  o.validate();
  total(SNTP);
});

Deno.test("sntp-servers: malformed input", () => {
  bad("001f 0001 00");
  bad("001f 0018 20010db8000000000000000000000123 0000000000000000");
  bad("001f 0030 20010db8000000000000000000000123");
});

Deno.test("sntp-servers: validate", () => {
  assert.throws(() => new SNTPServersOption(["ff05::101"]).validate(), ValidationError);
  new SNTPServersOption([]).validate();
});

Deno.test("sntp-servers: placement", () => {
  const o = new SNTPServersOption(["2001:db8::123"]);
  valid(new ReplyMessage(1, [serverId(), clientId(), o]));
  assert.throws(
    () => new ReleaseMessage(1, [serverId(), clientId(), o]).validate(),
    ValidationError,
  );
});
