/** Tests for the timezone option module. */

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
  posixTimezoneError,
  PosixTimezoneOption,
  ReleaseMessage,
  ReplyMessage,
  serializeMessage,
  ServerIdOption,
  TZDBTimezoneOption,
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

// RFC 4833 §3: option 41 carries a POSIX TZ string; this is the RFC's own example.
const POSIX = "0029 0023 " +
  Array.from(
    new TextEncoder().encode("EST5EDT4,M3.2.0/02:00,M11.1.0/02:00"),
    (c) => c.toString(16).padStart(2, "0"),
  ).join("");
// RFC 4833 §3: option 42 carries a TZ database name; "Europe/Zurich" is the RFC's example.
const TZDB = "002a 000d 4575726f70652f5a7572696368";

Deno.test("posix-timezone: parse and serialise the RFC 4833 example", () => {
  const o = decode(POSIX) as PosixTimezoneOption;
  assert.ok(o instanceof PosixTimezoneOption);
  assert.equal(o.timezone, "EST5EDT4,M3.2.0/02:00,M11.1.0/02:00");
  assert.deepEqual(
    optionToBytes(new PosixTimezoneOption("EST5EDT4,M3.2.0/02:00,M11.1.0/02:00")),
    b(POSIX),
  );
  o.validate();
  total(POSIX);
});

Deno.test("tzdb-timezone: parse and serialise the RFC 4833 example", () => {
  const o = decode(TZDB) as TZDBTimezoneOption;
  assert.ok(o instanceof TZDBTimezoneOption);
  assert.equal(o.timezone, "Europe/Zurich");
  assert.deepEqual(optionToBytes(new TZDBTimezoneOption("Europe/Zurich")), b(TZDB));
  o.validate();
  total(TZDB);
});

Deno.test("timezones: any bytes round-trip; bad text is a validation error", () => {
  const nul = decode("0029 0004 45535400") as PosixTimezoneOption;
  assert.throws(() => nul.validate(), ValidationError);
  const high = decode("002a 0003 41ff42") as TZDBTimezoneOption;
  assert.throws(() => high.validate(), ValidationError);
  assert.throws(() => (decode("002a 0000") as TZDBTimezoneOption).validate(), ValidationError);
  assert.throws(() => new TZDBTimezoneOption("Europe/ Zurich").validate(), ValidationError);
  bad("0029 0005 45535435");
  bad("002a 0001");
});

Deno.test("posix-timezone: grammar", () => {
  for (
    const ok of [
      "UTC0",
      "CET-1CEST,M3.5.0,M10.5.0/3",
      "EST5EDT",
      "<+0330>-3:30",
      "NZST-12NZDT,M9.5.0,M4.1.0/3",
      "AEST-10AEDT-11,J60/2,300/2:00:00",
      "WART4WARST,J1/0,J365/25",
      "EST+5EDT,M3.2.0/-1,M11.1.0/167",
    ]
  ) {
    assert.equal(posixTimezoneError(ok), undefined, ok);
    new PosixTimezoneOption(ok).validate();
  }
  for (
    const no of [
      ":Europe/Zurich",
      "Europe/Zurich",
      "EST",
      "ES5",
      "EST25",
      "EST5EDT,M13.1.0,M11.1.0",
      "EST5EDT,M3.6.0,M11.1.0",
      "EST5EDT,M3.2.7,M11.1.0",
      "EST5EDT,J0,J365",
      "EST5EDT,M3.2.0",
      "EST5EDT,366,1",
      "EST5:60",
      "EST5EDT,M3.2.0/168,M11.1.0",
      "EST5 EDT",
      "<AB>5",
    ]
  ) {
    assert.notEqual(posixTimezoneError(no), undefined, no);
    assert.throws(() => new PosixTimezoneOption(no).validate(), ValidationError, no);
  }
});

Deno.test("timezones: placement", () => {
  const p = new PosixTimezoneOption("CET-1CEST,M3.5.0,M10.5.0/3");
  const t = new TZDBTimezoneOption("Europe/Zurich");
  valid(new ReplyMessage(1, [serverId(), clientId(), p, t]));
  assert.throws(
    () => new ReplyMessage(1, [serverId(), clientId(), t, t]).validate(),
    ValidationError,
  );
  assert.throws(
    () => new ReleaseMessage(1, [serverId(), clientId(), p]).validate(),
    ValidationError,
  );
});
