/** Tests for the RFC 5908 NTP server option and its suboptions. */

import assert from "node:assert/strict";
import {
  ClientIdOption,
  NTP_TIME_SOURCE_CODES,
  NTPMulticastAddressSubOption,
  NTPServerAddressSubOption,
  NTPServerFQDNSubOption,
  NTPServersOption,
  ntpSubOptionTypes,
  ntpSubOptionTypesByName,
  Option,
  optionToBytes,
  registerNtpSubOption,
  UnknownOption,
  ValidationError,
  type Writer,
} from "../../../src/protocol/mod.ts";
import { b, bad, decode, invalid, relayForward, reply, total, valid, vector } from "./helpers.ts";

// RFC 5908 §4.1: NTP_SUBOPTION_SRV_ADDR (1), 16 octets.
const NTP_ADDR = "0038 0014 0001 0010 20010db8000000000000000000000123";
// RFC 5908 §4.2: NTP_SUBOPTION_MC_ADDR (2), 16 octets (ff05::101, all NTP servers site-local).
const NTP_MC = "0038 0014 0002 0010 ff050000000000000000000000000101";
// RFC 5908 §4.3: NTP_SUBOPTION_SRV_FQDN (3), an absolute name in DNS wire format.
const NTP_FQDN = "0038 0015 0003 0011 036e7470076578616d706c6503636f6d00";

Deno.test("ntp-servers: server address suboption", () => {
  const o = vector(
    NTP_ADDR,
    NTPServersOption,
    new NTPServersOption([new NTPServerAddressSubOption("2001:db8::123")]),
  );
  const sub = o.options[0] as NTPServerAddressSubOption;
  assert.ok(sub instanceof NTPServerAddressSubOption);
  assert.ok(!(sub instanceof ClientIdOption)); // suboption codes are their own space
  assert.equal(sub.address, "2001:db8::123");
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
  valid(reply(a, f));
  invalid(relayForward(a));
});
