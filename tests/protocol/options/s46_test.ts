/** Tests for the RFC 7598 Softwire46 options. */

import assert from "node:assert/strict";
import {
  DeclineMessage,
  formatIPv4Address,
  optionToBytes,
  parseIPv4Address,
  S46BROption,
  S46ContainerOption,
  S46DMROption,
  S46LWContainerOption,
  S46MapEContainerOption,
  S46MapTContainerOption,
  S46PortParametersOption,
  S46RuleOption,
  S46V4V6BindingOption,
  SolicitMessage,
  UnknownOption,
  ValidationError,
} from "../../../src/protocol/mod.ts";
import {
  b,
  bad,
  clientId,
  decode,
  invalid,
  relayForward,
  reply,
  serverId,
  total,
  valid,
  vector,
} from "./helpers.ts";

// RFC 7598 §4.5 (Figure 6): offset 6, PSID-len 8, PSID 0x34 left-aligned in 16 bits.
const PORTPARAMS = "005d 0004 06 08 3400";
// RFC 7598 §4.1 (Figure 1): F flag, ea-len 16, 192.0.2.0/24, 2001:db8:1::/56 (7 octets), port params.
const RULE = `0059 0017 01 10 18 c0000200 38 20010db8000100 ${PORTPARAMS}`;
// RFC 7598 §4.2 (Figure 3): BR address, 16 octets.
const BR = "005a 0010 20010db800000000000000000000ffff";
// RFC 7598 §4.3 (Figure 4): DMR 2001:db8:ffff::/64 (8 octets).
const DMR = "005b 0009 40 20010db8ffff0000";
// RFC 7598 §4.4 (Figure 5): 192.0.2.1 bound to 2001:db8:1::/56, with port params.
const V4V6 = `005c 0014 c0000201 38 20010db8000100 ${PORTPARAMS}`;
// RFC 7598 §5.1-5.3 (Figures 7-9): containers of the above.
const MAPE = `005e 002f ${RULE} ${BR}`;
const MAPT = `005f 0028 ${RULE} ${DMR}`;
const LW = `0060 002c ${V4V6} ${BR}`;

Deno.test("s46-port-parameters: parse, serialise, validate", () => {
  const o = vector(PORTPARAMS, S46PortParametersOption, new S46PortParametersOption(6, 8, 0x3400));
  assert.deepEqual([o.offset, o.psidLen, o.psid, o.psidValue], [6, 8, 0x3400, 0x34]);
  bad("005d 0003 060834");
  bad("005d 0005 0608340000");
  assert.throws(() => new S46PortParametersOption(16, 0, 0).validate(), ValidationError);
  assert.throws(() => new S46PortParametersOption(0, 17, 0).validate(), ValidationError);
  assert.throws(() => new S46PortParametersOption(10, 8, 0).validate(), ValidationError);
  assert.throws(() => new S46PortParametersOption(6, 8, 0x3401).validate(), ValidationError);
  new S46PortParametersOption(0, 16, 0xffff).validate();
  new S46PortParametersOption(0, 0, 0).validate();
  assert.equal(new S46PortParametersOption(0, 0, 0).psidValue, 0);
});

Deno.test("s46-rule: parse and serialise", () => {
  const built = new S46RuleOption(1, 16, 24, "192.0.2.0", 56, "2001:db8:1::", [
    new S46PortParametersOption(6, 8, 0x3400),
  ]);
  const o = vector(RULE, S46RuleOption, built);
  assert.equal(o.flags, 1);
  assert.equal(o.fmr, true);
  assert.equal(o.eaLen, 16);
  assert.equal(o.prefix4Len, 24);
  assert.equal(o.ipv4Prefix, "192.0.2.0");
  assert.equal(o.prefix6Len, 56);
  assert.equal(o.ipv6Prefix, "2001:db8:1::");
  assert.ok(o.options[0] instanceof S46PortParametersOption);
  o.fmr = false;
  assert.equal(o.flags, 0);
});

Deno.test("s46-rule: prefixes carry ceil(len/8) octets and keep their exact bytes", () => {
  const zero = decode("0059 0008 00 00 00 00000000 00") as S46RuleOption;
  assert.equal(zero.prefix6Len, 0);
  assert.equal(zero.ipv6Prefix, "::");
  // /33 takes 5 octets; the padding bits of the last one are kept as received.
  const odd = decode("0059 000d 00 00 00 00000000 21 20010db8ff") as S46RuleOption;
  assert.equal(odd.prefix6Len, 33);
  assert.equal(odd.ipv6Prefix, "2001:db8:ff00::");
  const full = decode(
    "0059 0018 00 00 20 c0000201 80 20010db8000000000000000000000001",
  ) as S46RuleOption;
  assert.equal(full.ipv6Prefix, "2001:db8::1");
  assert.equal(full.ipv4Prefix, "192.0.2.1");
});

Deno.test("s46-rule: malformed input", () => {
  bad("0059 0007 00 00 00 00000000");
  bad("0059 0009 00 00 00 00000000 81 00"); // prefix6-len 129
  bad("0059 000a 00 00 00 00000000 40 2001"); // prefix needs 8 octets
  bad("0059 000b 00 00 00 00000000 00 005d00"); // half a sub-option header
  bad("0059 000f 00 00 00 00000000 00 005d 0004 0608"); // sub-option length lies
});

Deno.test("s46-rule: validate", () => {
  const rule = (f: number, ea: number, p4: number, v4: string, p6: number, v6: string) =>
    new S46RuleOption(f, ea, p4, v4, p6, v6);
  rule(1, 16, 24, "192.0.2.0", 56, "2001:db8:1::").validate();
  assert.throws(() => rule(256, 0, 0, "0.0.0.0", 0, "::").validate(), ValidationError);
  assert.throws(() => rule(0, 49, 0, "0.0.0.0", 0, "::").validate(), ValidationError);
  assert.throws(() => rule(0, 0, 33, "0.0.0.0", 0, "::").validate(), ValidationError);
  assert.throws(() => rule(0, 0, 0, "300.0.0.0", 0, "::").validate(), ValidationError);
  assert.throws(() => rule(0, 0, 0, "0.0.0.0", 129, "::").validate(), ValidationError);
  assert.throws(() => rule(0, 0, 0, "0.0.0.0", 16, "2001:db8::").validate(), ValidationError);
  assert.throws(
    () =>
      new S46RuleOption(0, 0, 0, "0.0.0.0", 0, "::", [
        new S46PortParametersOption(),
        new S46PortParametersOption(),
      ]).validate(),
    ValidationError,
  );
  assert.throws(
    () =>
      new S46RuleOption(0, 0, 0, "0.0.0.0", 0, "::", [new S46BROption("2001:db8::1")]).validate(),
    ValidationError,
  );
  assert.throws(
    () =>
      new S46RuleOption(0, 0, 0, "0.0.0.0", 0, "::", [new S46PortParametersOption(16)]).validate(),
    ValidationError,
  );
});

Deno.test("s46-br: parse, serialise, validate", () => {
  const o = decode(BR) as S46BROption;
  assert.equal(o.brAddress, "2001:db8::ffff");
  assert.deepEqual(optionToBytes(new S46BROption("2001:db8::ffff")), b(BR));
  o.validate();
  total(BR);
  bad("005a 000f 20010db800000000000000000000ff");
  bad("005a 0011 20010db800000000000000000000ffff 00");
  assert.throws(() => new S46BROption("ff02::1").validate(), ValidationError);
});

Deno.test("s46-dmr: parse, serialise, validate", () => {
  const o = decode(DMR) as S46DMROption;
  assert.equal(o.prefix6Len, 64);
  assert.equal(o.ipv6Prefix, "2001:db8:ffff::");
  assert.deepEqual(optionToBytes(new S46DMROption(64, "2001:db8:ffff::")), b(DMR));
  o.validate();
  total(DMR);
  const empty = decode("005b 0001 00") as S46DMROption;
  assert.equal(empty.ipv6Prefix, "::");
  bad("005b 0000");
  bad("005b 000a 40 20010db8ffff0000 00"); // data after the prefix
  bad("005b 0008 40 20010db8ffff00"); // prefix short
  bad("005b 0001 ff"); // length 255
  assert.throws(() => new S46DMROption(200, "::").validate(), ValidationError);
  assert.throws(() => new S46DMROption(8, "2001:db8::").validate(), ValidationError);
});

Deno.test("s46-v4-v6-binding: parse, serialise, validate", () => {
  const o = decode(V4V6) as S46V4V6BindingOption;
  assert.equal(o.ipv4Address, "192.0.2.1");
  assert.equal(o.prefix6Len, 56);
  assert.equal(o.ipv6Prefix, "2001:db8:1::");
  assert.ok(o.options[0] instanceof S46PortParametersOption);
  const built = new S46V4V6BindingOption("192.0.2.1", 56, "2001:db8:1::", [
    new S46PortParametersOption(6, 8, 0x3400),
  ]);
  assert.deepEqual(optionToBytes(built), b(V4V6));
  o.validate();
  total(V4V6);
  bad("005c 0004 c0000201");
  bad("005c 0006 c0000201 40 20"); // prefix short
  assert.throws(() => new S46V4V6BindingOption("192.0.2", 0, "::").validate(), ValidationError);
  assert.throws(
    () => new S46V4V6BindingOption("192.0.2.1", 0, "::", [new S46DMROption()]).validate(),
    ValidationError,
  );
});

Deno.test("s46 containers: parse and serialise", () => {
  const e = decode(MAPE) as S46MapEContainerOption;
  assert.ok(e instanceof S46MapEContainerOption && e instanceof S46ContainerOption);
  assert.ok(e.options[0] instanceof S46RuleOption);
  assert.ok(e.options[1] instanceof S46BROption);
  e.validate();
  const t = decode(MAPT) as S46MapTContainerOption;
  assert.ok(t.options[1] instanceof S46DMROption);
  t.validate();
  const l = decode(LW) as S46LWContainerOption;
  assert.ok(l.options[0] instanceof S46V4V6BindingOption);
  l.validate();
  const rule = decode(RULE) as S46RuleOption;
  const br = new S46BROption("2001:db8::ffff");
  assert.deepEqual(optionToBytes(new S46MapEContainerOption([rule, br])), b(MAPE));
  assert.deepEqual(
    optionToBytes(new S46MapTContainerOption([rule, new S46DMROption(64, "2001:db8:ffff::")])),
    b(MAPT),
  );
  total(MAPE);
  total(MAPT);
  total(LW);
});

Deno.test("s46 containers: unknown sub-options are kept raw", () => {
  const hex = `005e 0034 ${RULE} ${BR} fff1 0001 aa`;
  const o = decode(hex) as S46MapEContainerOption;
  const raw = o.options[2] as UnknownOption;
  assert.ok(raw instanceof UnknownOption);
  assert.equal(raw.code, 0xfff1);
  assert.deepEqual(raw.data, b("aa"));
  o.validate();
  const inRule = decode("0059 000d 00 00 00 00000000 00 fff2 0001 bb") as S46RuleOption;
  assert.ok(inRule.options[0] instanceof UnknownOption);
});

Deno.test("s46 containers: malformed input", () => {
  bad(`005e 0030 ${RULE} ${BR}`); // length lies
  bad(`005e 0031 ${RULE} ${BR} 00 00`); // trailing half header
  bad("0060 0005 005a 0010 20"); // child claims more than the container holds
});

Deno.test("s46 containers: content rules (RFC 7598 §5)", () => {
  const rule = new S46RuleOption(0, 16, 24, "192.0.2.0", 56, "2001:db8:1::");
  const br = new S46BROption("2001:db8::ffff");
  const dmr = new S46DMROption(64, "2001:db8:ffff::");
  const bind = new S46V4V6BindingOption("192.0.2.1", 56, "2001:db8:1::");
  const pp = new S46PortParametersOption(6, 8, 0x3400);
  new S46MapEContainerOption([rule, br, br, pp]).validate();
  assert.throws(() => new S46MapEContainerOption([rule]).validate(), ValidationError);
  assert.throws(() => new S46MapEContainerOption([br]).validate(), ValidationError);
  assert.throws(() => new S46MapEContainerOption([rule, br, dmr]).validate(), ValidationError);
  new S46MapTContainerOption([rule, rule, dmr]).validate();
  assert.throws(() => new S46MapTContainerOption([rule]).validate(), ValidationError);
  assert.throws(() => new S46MapTContainerOption([rule, dmr, dmr]).validate(), ValidationError);
  assert.throws(() => new S46MapTContainerOption([dmr]).validate(), ValidationError);
  assert.throws(() => new S46MapTContainerOption([rule, dmr, br]).validate(), ValidationError);
  new S46LWContainerOption([bind, br]).validate();
  new S46LWContainerOption([br, pp]).validate();
  assert.throws(() => new S46LWContainerOption([bind]).validate(), ValidationError);
  assert.throws(() => new S46LWContainerOption([bind, bind, br]).validate(), ValidationError);
  assert.throws(() => new S46LWContainerOption([rule, br]).validate(), ValidationError);
  // Children are validated too.
  assert.throws(
    () => new S46MapEContainerOption([rule, new S46BROption("::1")]).validate(),
    ValidationError,
  );
});

Deno.test("s46: IPv4 text helpers", () => {
  assert.equal(formatIPv4Address(b("c0000201")), "192.0.2.1");
  assert.deepEqual(parseIPv4Address("192.0.2.1"), b("c0000201"));
  for (const no of ["192.0.2", "192.0.2.256", "01.2.3.4", "a.b.c.d", "1.2.3.4.5", ""]) {
    assert.equal(parseIPv4Address(no), undefined, no);
  }
});

Deno.test("s46 containers: placement", () => {
  const mapt = decode(MAPT);
  const mape = decode(MAPE);
  valid(reply(mapt, mape));
  valid(new SolicitMessage(1, [clientId(), mapt]));
  invalid(new DeclineMessage(1, [serverId(), clientId(), mapt]));
  invalid(relayForward(mape));
  // Sub-options never stand alone in a message.
  invalid(reply(decode(BR)));
});
