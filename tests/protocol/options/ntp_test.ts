/** Tests for the RFC 5908 NTP server option and its suboptions. */

import assert from "node:assert/strict";
import {
  ClientIdOption,
  fromHex,
  LinkLayerDuid,
  type Message,
  NTP_TIME_SOURCE_CODES,
  NTPMulticastAddressSubOption,
  NTPServerAddressSubOption,
  NTPServerFQDNSubOption,
  NTPServersOption,
  ntpSubOptionTypes,
  ntpSubOptionTypesByName,
  Option,
  optionToBytes,
  ParseError,
  parseMessage,
  parseOptions,
  registerNtpSubOption,
  RelayForwardMessage,
  ReplyMessage,
  serializeMessage,
  ServerIdOption,
  UnknownOption,
  ValidationError,
  type Writer,
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

// RFC 5908 §4.1: NTP_SUBOPTION_SRV_ADDR (1), 16 octets.
const NTP_ADDR = "0038 0014 0001 0010 20010db8000000000000000000000123";
// RFC 5908 §4.2: NTP_SUBOPTION_MC_ADDR (2), 16 octets (ff05::101, all NTP servers site-local).
const NTP_MC = "0038 0014 0002 0010 ff050000000000000000000000000101";
// RFC 5908 §4.3: NTP_SUBOPTION_SRV_FQDN (3), an absolute name in DNS wire format.
const NTP_FQDN = "0038 0015 0003 0011 036e7470076578616d706c6503636f6d00";

Deno.test("ntp-servers: server address suboption", () => {
  const o = decode(NTP_ADDR) as NTPServersOption;
  assert.ok(o instanceof NTPServersOption);
  const sub = o.options[0] as NTPServerAddressSubOption;
  assert.ok(sub instanceof NTPServerAddressSubOption);
  assert.ok(!(sub instanceof ClientIdOption)); // suboption codes are their own space
  assert.equal(sub.address, "2001:db8::123");
  assert.deepEqual(
    optionToBytes(new NTPServersOption([new NTPServerAddressSubOption("2001:db8::123")])),
    b(NTP_ADDR),
  );
  o.validate();
  total(NTP_ADDR);
});

Deno.test("ntp-servers: multicast and FQDN suboptions", () => {
  const mc = decode(NTP_MC) as NTPServersOption;
  assert.equal((mc.options[0] as NTPMulticastAddressSubOption).address, "ff05::101");
  assert.deepEqual(
    optionToBytes(new NTPServersOption([new NTPMulticastAddressSubOption("ff05::101")])),
    b(NTP_MC),
  );
  mc.validate();
  const fqdn = decode(NTP_FQDN) as NTPServersOption;
  assert.equal((fqdn.options[0] as NTPServerFQDNSubOption).fqdn, "ntp.example.com");
  assert.deepEqual(
    optionToBytes(new NTPServersOption([new NTPServerFQDNSubOption("ntp.example.com")])),
    b(NTP_FQDN),
  );
  fqdn.validate();
  total(NTP_MC);
  total(NTP_FQDN);
});

Deno.test("ntp-servers: unknown suboptions are kept raw", () => {
  const hex = "0038 001a 0001 0010 20010db8000000000000000000000123 0009 0002 abcd";
  const o = decode(hex) as NTPServersOption;
  const raw = o.options[1] as UnknownOption;
  assert.ok(raw instanceof UnknownOption);
  assert.equal(raw.code, 9);
  assert.deepEqual(raw.data, b("abcd"));
  o.validate();
});

Deno.test("ntp-servers: malformed input", () => {
  bad("0038 0013 0001 000f 20010db80000000000000000000001"); // address 15 bytes
  bad("0038 0015 0001 0011 20010db8000000000000000000000123 00"); // address 17 bytes
  bad("0038 0014 0001 0011 20010db8000000000000000000000123"); // suboption length lies
  bad("0038 0006 0003 0002 0161"); // relative FQDN
  bad("0038 0008 0003 0003 016100"); // option length lies
  bad("0038 0002 0001"); // half a suboption header
});

Deno.test("ntp-servers: validate", () => {
  assert.throws(() => new NTPServersOption([]).validate(), ValidationError);
  assert.throws(
    () =>
      new NTPServersOption([
        new NTPServerAddressSubOption("2001:db8::1"),
        new NTPServerFQDNSubOption("ntp.example.com"),
      ]).validate(),
    ValidationError,
  );
  assert.throws(
    () => new NTPServersOption([new NTPMulticastAddressSubOption("2001:db8::1")]).validate(),
    ValidationError,
  );
  assert.throws(
    () => new NTPServersOption([new NTPServerAddressSubOption("ff05::101")]).validate(),
    ValidationError,
  );
  assert.throws(
    () => new NTPServersOption([new NTPServerFQDNSubOption("")]).validate(),
    ValidationError,
  );
  assert.throws(
    () => new NTPServersOption([new UnknownOption(9, b("00"))]).validate(),
    ValidationError,
  );
});

Deno.test("ntp-servers: suboption registry", () => {
  assert.equal(ntpSubOptionTypes.get(1), NTPServerAddressSubOption);
  assert.equal(ntpSubOptionTypesByName.get("server-fqdn"), NTPServerFQDNSubOption);
  assert.deepEqual([...NTP_TIME_SOURCE_CODES], [1, 2, 3]);
  class TestSubOption extends Option {
    static readonly code = 200;
    static readonly optionName = "test";
    constructor(public value = 0) {
      super();
    }
    static parse(buf: Uint8Array, start: number): TestSubOption {
      return new TestSubOption(buf[start]);
    }
    writeData(w: Writer): void {
      w.u8(this.value);
    }
  }
  registerNtpSubOption(TestSubOption);
  try {
    const o = decode(`0038 0019 00c8 0001 07 ${NTP_ADDR.slice(10)}`) as NTPServersOption;
    assert.ok(o.options[0] instanceof TestSubOption);
    assert.equal((o.options[0] as TestSubOption).value, 7);
  } finally {
    ntpSubOptionTypes.delete(200);
    ntpSubOptionTypesByName.delete("test");
  }
});

Deno.test("ntp-servers: placement", () => {
  const a = new NTPServersOption([new NTPServerAddressSubOption("2001:db8::123")]);
  const f = new NTPServersOption([new NTPServerFQDNSubOption("ntp.example.com")]);
  valid(new ReplyMessage(1, [serverId(), clientId(), a, f]));
  assert.throws(
    () => new RelayForwardMessage(0, "2001:db8::1", "fe80::1", [a]).validate(),
    ValidationError,
  );
});
