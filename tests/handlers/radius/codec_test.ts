import assert from "node:assert/strict";
import fc from "fast-check";
import {
  Attr,
  ipv6PrefixBytes,
  ipv6PrefixValue,
  parseRadiusPacket,
  type RadiusAttribute,
  RadiusCode,
  type RadiusPacket,
  serializeRadiusPacket,
} from "../../../src/handlers/radius/packet.ts";
import {
  hidePassword,
  messageAuthenticatorPlaceholder,
  responseAuthenticator,
  revealPassword,
  signRequest,
  verifyMessageAuthenticator,
  verifyResponseAuthenticator,
} from "../../../src/handlers/radius/crypto.ts";
import { answerFrom } from "../../../src/handlers/radius/answer.ts";
import { fromHex, IPv6Prefix, ParseError, toHex } from "../../../src/protocol/mod.ts";

const text = (s: string) => new TextEncoder().encode(s);
const hex = (s: string) => fromHex(s.replace(/\s+/g, ""));

// RFC 2865 §7.1: "User Telnet to Specified Host", shared secret "xyzzy5461".
const RFC2865_SECRET = text("xyzzy5461");
const RFC2865_REQUEST = hex(`01 00 00 38 0f 40 3f 94 73 97 80 57 bd 83 d5 cb
  98 f4 22 7a 01 06 6e 65 6d 6f 02 12 0d be 70 8d 93 d4 13 ce 31 96 e4 3f 78 2a 0a ee
  04 06 c0 a8 01 10 05 06 00 00 00 03`);
const RFC2865_ACCEPT = hex(`02 00 00 26 86 fe 22 0e 76 24 ba 2a 10 05 f6 bf
  9b 55 e0 b2 06 06 00 00 00 01 0f 06 00 00 00 00 0e 06 c0 a8 01 03`);

Deno.test("RFC 2865 §7.1: the request parses, its password is hidden as the RFC shows", () => {
  const request = parseRadiusPacket(RFC2865_REQUEST);
  assert.equal(request.code, RadiusCode.AccessRequest);
  assert.equal(request.identifier, 0);
  assert.deepEqual(
    request.attributes.map((a) => [a.type, toHex(a.value)]),
    [
      [1, toHex(text("nemo"))],
      [2, "0dbe708d93d413ce3196e43f782a0aee"],
      [4, "c0a80110"],
      [5, "00000003"],
    ],
  );
  const hidden = hidePassword(text("arctangent"), RFC2865_SECRET, request.authenticator);
  assert.equal(toHex(hidden), "0dbe708d93d413ce3196e43f782a0aee");
  assert.equal(
    new TextDecoder().decode(revealPassword(hidden, RFC2865_SECRET, request.authenticator)),
    "arctangent",
  );
  assert.deepEqual(serializeRadiusPacket(request), RFC2865_REQUEST);
});

Deno.test("RFC 2865 §7.1: the Access-Accept's Response Authenticator checks out", () => {
  const request = parseRadiusPacket(RFC2865_REQUEST);
  assert.equal(
    toHex(responseAuthenticator(RFC2865_ACCEPT, request.authenticator, RFC2865_SECRET)),
    "86fe220e7624ba2a1005f6bf9b55e0b2",
  );
  assert.ok(verifyResponseAuthenticator(RFC2865_ACCEPT, request.authenticator, RFC2865_SECRET));
  assert.ok(!verifyResponseAuthenticator(RFC2865_ACCEPT, request.authenticator, text("other")));
  const changed = RFC2865_ACCEPT.slice();
  changed[changed.length - 1] ^= 1;
  assert.ok(!verifyResponseAuthenticator(changed, request.authenticator, RFC2865_SECRET));
});

// Made by FreeRADIUS 3.2.1's radclient (secret "xyzzy5461"): a Message-Authenticator (RFC 3579)
// computed by FreeRADIUS, Framed-IPv6-Prefix (RFC 3162) and Delegated-IPv6-Prefix (RFC 4818).
const RADCLIENT_REQUEST = hex(
  `010900669f81654e0eaaa9d409e2bcadd3bc7d6d01066e656d6f02129eb2179f89aee403cdf33d86b3f058dd50
  12484f48195c979b255e6338a08f297e1c6114003020010db80001000000000000000000007b14003820010db8
  000203000000000000000000`,
);

Deno.test("FreeRADIUS's Message-Authenticator verifies; changing any byte breaks it", () => {
  const packet = parseRadiusPacket(RADCLIENT_REQUEST);
  assert.equal(
    verifyMessageAuthenticator(RADCLIENT_REQUEST, packet.authenticator, RFC2865_SECRET),
    true,
  );
  assert.equal(
    new TextDecoder().decode(
      revealPassword(packet.attributes[1].value, RFC2865_SECRET, packet.authenticator),
    ),
    "arctangent",
  );
  const prefixes = packet.attributes.filter((a) => a.type === 97 || a.type === 123)
    .map((a) => ipv6PrefixValue({ value: a.value, offset: 0 }, "prefix").toString());
  assert.deepEqual(prefixes, ["2001:db8:1::/48", "2001:db8:2:300::/56"]);
  for (const i of [0, 5, 30, 60, RADCLIENT_REQUEST.length - 1]) {
    const changed = RADCLIENT_REQUEST.slice();
    changed[i] ^= 0x40;
    // A request's Message-Authenticator covers its own authenticator field.
    assert.equal(
      verifyMessageAuthenticator(changed, changed.subarray(4, 20), RFC2865_SECRET),
      false,
      `byte ${i}`,
    );
  }
  assert.equal(
    verifyMessageAuthenticator(RFC2865_REQUEST, new Uint8Array(16), text("x")),
    undefined,
  );
});

// FreeRADIUS 3.2.1's Access-Accept (secret "testing123") to a request with this authenticator,
// carrying RFC 6911 and RFC 4818 attributes.
const FREERADIUS_REQUEST_AUTHENTICATOR = hex("a2e91366e739ce833c06f700bdfd1712");
const FREERADIUS_ACCEPT = hex(
  `02070066a868548349d81cb1da438309579962c8a81220010db80001000000000000000000107b14003820010d
  b8010000000000000000000000a91220010db80000000000000000000000536114004020010db8000900000000
  0000000000001b0600000e10`,
);

Deno.test("FreeRADIUS's Access-Accept: RFC 6911/4818 attributes become the assignment", () => {
  assert.ok(
    verifyResponseAuthenticator(
      FREERADIUS_ACCEPT,
      FREERADIUS_REQUEST_AUTHENTICATOR,
      text("testing123"),
    ),
  );
  const answer = answerFrom(parseRadiusPacket(FREERADIUS_ACCEPT));
  assert.equal(answer.accepted, true);
  assert.equal(answer.assignment.address, "2001:db8:1::10");
  assert.equal(answer.assignment.prefix?.toString(), "2001:db8:100::/56");
  assert.deepEqual(answer.dnsServers, ["2001:db8::53"]);
  assert.equal(answer.sessionTimeout, 3600);
});

Deno.test("a request signed by us verifies, and is the bytes serialisation gives", () => {
  const packet: RadiusPacket = {
    code: 1,
    identifier: 42,
    authenticator: new Uint8Array(16).fill(7),
    attributes: [messageAuthenticatorPlaceholder(), { type: 1, value: text("user") }],
  };
  const bytes = signRequest(packet, text("s"));
  assert.equal(verifyMessageAuthenticator(bytes, packet.authenticator, text("s")), true);
  assert.equal(verifyMessageAuthenticator(bytes, packet.authenticator, text("t")), false);
  const parsed = parseRadiusPacket(bytes);
  assert.deepEqual(parsed.attributes[1], packet.attributes[1]);
  assert.throws(
    () => signRequest({ ...packet, attributes: [] }, text("s")),
    /no Message-Authenticator/,
  );
});

const attribute: fc.Arbitrary<RadiusAttribute> = fc.tuple(
  fc.integer({ min: 0, max: 255 }),
  fc.uint8Array({ maxLength: 253 }),
).map(([type, value]) => ({ type, value }));

const packetArb = fc.record({
  code: fc.integer({ min: 0, max: 255 }),
  identifier: fc.integer({ min: 0, max: 255 }),
  authenticator: fc.uint8Array({ minLength: 16, maxLength: 16 }),
  attributes: fc.array(attribute, { maxLength: 15 }),
});

Deno.test("property: parse(serialize(p)) is p, and serialize(parse(b)) is b", () => {
  fc.assert(fc.property(packetArb, (packet) => {
    const bytes = serializeRadiusPacket(packet);
    const parsed = parseRadiusPacket(bytes);
    assert.deepEqual(
      { ...parsed, authenticator: [...parsed.authenticator] },
      { ...packet, authenticator: [...packet.authenticator] },
    );
    assert.deepEqual(serializeRadiusPacket(parsed), bytes);
  }));
});

Deno.test("property: parsing any bytes gives a packet or a ParseError, nothing else", () => {
  const anyBytes = fc.oneof(
    fc.uint8Array({ maxLength: 80 }),
    // Packets with a plausible header and random attribute bytes.
    fc.tuple(fc.uint8Array({ minLength: 20, maxLength: 20 }), fc.uint8Array({ maxLength: 60 }))
      .map(([head, body]) => {
        const out = new Uint8Array(20 + body.length);
        out.set(head);
        out.set(body, 20);
        out[2] = 0;
        out[3] = out.length;
        return out;
      }),
  );
  fc.assert(fc.property(anyBytes, (bytes) => {
    try {
      const packet = parseRadiusPacket(bytes);
      assert.ok(packet.attributes.every((a) => a.value.length <= 253));
      try {
        answerFrom(packet);
      } catch (error) {
        if (!(error instanceof ParseError)) throw error;
      }
    } catch (error) {
      if (!(error instanceof ParseError)) throw error;
    }
  }));
});

Deno.test("property: hidden passwords come back, and are 16-byte blocks", () => {
  fc.assert(fc.property(
    fc.uint8Array({ minLength: 1, maxLength: 128 }).filter((p) => p[p.length - 1] !== 0),
    fc.uint8Array({ minLength: 1, maxLength: 40 }),
    fc.uint8Array({ minLength: 16, maxLength: 16 }),
    (password, secret, authenticator) => {
      const hidden = hidePassword(password, secret, authenticator);
      assert.equal(hidden.length % 16, 0);
      assert.ok(hidden.length >= 16 && hidden.length <= 128);
      assert.deepEqual(revealPassword(hidden, secret, authenticator), password);
    },
  ));
  assert.equal(hidePassword(new Uint8Array(), text("s"), new Uint8Array(16)).length, 16);
  assert.throws(() => hidePassword(new Uint8Array(129), text("s"), new Uint8Array(16)), RangeError);
});

Deno.test("malformed packets: each problem is a ParseError at its byte", () => {
  const cases: [string, string, number, RegExp][] = [
    ["short header", "0100", 0, /needs 20 bytes/],
    ["length below 20", "01000013" + "00".repeat(16), 2, /not 20-4096/],
    ["length past the data", "01000020" + "00".repeat(16), 2, /more than the 20 bytes/],
    ["attribute length 1", "01000016" + "00".repeat(16) + "0101", 21, /less than 2/],
    ["attribute past the end", "01000017" + "00".repeat(16) + "010600", 21, /runs past/],
    ["lone type byte", "01000015" + "00".repeat(16) + "01", 20, /cut short/],
  ];
  for (const [name, bytes, offset, message] of cases) {
    assert.throws(() => parseRadiusPacket(hex(bytes)), (e: unknown) => {
      assert.ok(e instanceof ParseError, name);
      assert.equal(e.offset, offset, name);
      assert.match(e.message, message, name);
      return true;
    });
  }
  // Padding after the counted length is ignored.
  const padded = new Uint8Array([...hex("01000014" + "00".repeat(16)), 9, 9, 9]);
  assert.equal(parseRadiusPacket(padded).attributes.length, 0);
});

Deno.test("ipv6prefix values (RFC 3162 §2.3, RFC 8044 §3.10)", () => {
  const value = (s: string) => ({ value: hex(s), offset: 100 });
  // Trimmed (RFC 4818 example form) and full 16-byte forms give the same prefix.
  assert.equal(
    ipv6PrefixValue(value("0038 20010db8 000203"), "p").toString(),
    "2001:db8:2:300::/56",
  );
  assert.equal(
    ipv6PrefixValue(value("0038 20010db8000203000000000000000000"), "p").toString(),
    "2001:db8:2:300::/56",
  );
  assert.equal(ipv6PrefixValue(value("0000"), "p").toString(), "::/0");
  const bad: [string, RegExp][] = [
    ["0081 20010db8000000000000000000000000", /prefix length 129, more than 128/],
    ["00ff 20010db8000000000000000000000000", /prefix length 255/],
    ["0040 20010db8", /needs 8 bytes/],
    ["0030 20010db80001ff", /bits set past/],
    ["00", /not 2-18/],
    ["0080 20010db80000000000000000000000000000", /not 2-18/],
  ];
  for (const [bytes, message] of bad) {
    assert.throws(() => ipv6PrefixValue(value(bytes), "Delegated-IPv6-Prefix"), (e: unknown) => {
      assert.ok(e instanceof ParseError);
      assert.ok(e.offset >= 100);
      assert.match(e.message, message);
      return true;
    });
  }
  fc.assert(fc.property(
    fc.uint8Array({ minLength: 16, maxLength: 16 }),
    fc.integer({ min: 0, max: 128 }),
    (bytes, length) => {
      const prefix = new IPv6Prefix(bytes, length);
      const parsed = ipv6PrefixValue({ value: ipv6PrefixBytes(prefix), offset: 0 }, "p");
      assert.equal(parsed.toString(), prefix.toString());
    },
  ));
});

Deno.test("answers: reject and challenge assign nothing, bad values throw ParseError", () => {
  const response = (code: number, attributes: RadiusAttribute[]): RadiusPacket => ({
    code,
    identifier: 1,
    authenticator: new Uint8Array(16),
    attributes,
  });
  const address = { type: Attr.FramedIpv6Address, value: hex("20010db8000100000000000000000010") };
  const reject = answerFrom(response(RadiusCode.AccessReject, [address]));
  assert.equal(reject.accepted, false);
  assert.equal(reject.assignment.address, undefined);
  assert.equal(answerFrom(response(RadiusCode.AccessChallenge, [])).accepted, false);
  assert.throws(() => answerFrom(response(RadiusCode.AccessRequest, [])), ParseError);

  const accept = answerFrom(response(RadiusCode.AccessAccept, [
    { type: Attr.FramedIpv6Prefix, value: hex("0040 20010db8000900000000000000000000") },
    address,
    { type: Attr.FramedIpv6Address, value: hex("20010db8000100000000000000000099") },
    { type: Attr.DnsServerIpv6Address, value: hex("20010db8000000000000000000000053") },
    { type: Attr.DnsServerIpv6Address, value: hex("20010db8000000000000000000000053") },
  ]));
  assert.equal(accept.assignment.address, "2001:db8:1::10", "the first address counts");
  assert.equal(accept.assignment.prefix, undefined, "Framed-IPv6-Prefix is not an assignment");
  assert.deepEqual(accept.dnsServers, ["2001:db8::53"]);
  assert.equal(accept.sessionTimeout, undefined);

  const bad: [RadiusAttribute, RegExp][] = [
    [{ type: Attr.FramedIpv6Address, value: hex("20010db8") }, /4 bytes, not 16/],
    [{ type: Attr.FramedIpv6Address, value: hex("ff020000000000000000000000000001") }, /cannot be/],
    [{ type: Attr.FramedIpv6Address, value: hex("fe800000000000000000000000000001") }, /cannot be/],
    [{ type: Attr.DelegatedIpv6Prefix, value: hex("0081 20010db8") }, /more than 128/],
    [{ type: Attr.DelegatedIpv6Prefix, value: hex("0000") }, /cannot be delegated/],
    [{ type: Attr.DnsServerIpv6Address, value: hex("00") }, /1 bytes, not 16/],
    [{ type: Attr.SessionTimeout, value: hex("0001") }, /2 bytes, not 4/],
  ];
  for (const [attribute, message] of bad) {
    assert.throws(
      () => answerFrom(response(RadiusCode.AccessAccept, [attribute])),
      (e: unknown) => e instanceof ParseError && message.test(e.message),
      message.source,
    );
  }
});
