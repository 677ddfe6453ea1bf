/** Tests for the RFC 5007 / RFC 5460 leasequery options. */

import assert from "node:assert/strict";
import {
  ClientDataOption,
  ClientIdOption,
  CLTTimeOption,
  IAAddressOption,
  IAPrefixOption,
  InterfaceIdOption,
  LeasequeryDataMessage,
  LeasequeryDoneMessage,
  LeasequeryMessage,
  LeasequeryReplyMessage,
  LQClientLinkOption,
  LQQueryOption,
  LQRelayDataOption,
  OptionRequestOption,
  optionToBytes,
  parseMessage,
  PreferenceOption,
  QUERY_BY_ADDRESS,
  QUERY_BY_CLIENTID,
  QUERY_BY_LINK_ADDRESS,
  QUERY_BY_RELAY_ID,
  QUERY_BY_REMOTE_ID,
  QUERY_TYPE_NAMES,
  RecursiveNameServersOption,
  RelayForwardMessage,
  RelayIdOption,
  RemoteIdOption,
  serializeMessage,
  SolicitMessage,
  StatusCodeOption,
  UnknownOption,
  ValidationError,
} from "../../../src/protocol/mod.ts";
import {
  b,
  bad,
  clientId,
  decode,
  duid,
  invalid,
  relayedSolicit,
  relayForward,
  serverId,
  total,
  valid,
  vector,
} from "./helpers.ts";

const IAADDR = "0005 0018 20010db8000000000000000000000100 00000e10 00001c20";
const CLIENT_ID = "0001 000a 0003 0001 00163e112233";
// RFC 5007 §4.1.2.1: query-type(1) link-address(16) query-options.
const LQ_QUERY = `002c 002d 01 20010db8000000000000000000000001 ${IAADDR}`;
// RFC 5007 §4.1.2.3: CLT time, 4 octets of seconds.
const CLT_TIME = "002e 0004 00000e10";
// RFC 5007 §4.1.2.2: client-data holds the client's options.
const CLIENT_DATA = `002d 0032 ${CLIENT_ID} ${IAADDR} ${CLT_TIME}`;
// RFC 5007 §4.1.2.4: peer-address(16) then a RELAY-FORW without the client's relay-message.
const RELAY_FORW = "0c 00 20010db8000000000000000000000001 fe800000000000000000000000000001 " +
  "0012 0004 65746830";
const LQ_RELAY_DATA = `002f 003a 20010db8000000000000000000000002 ${RELAY_FORW}`;
// RFC 5007 §4.1.2.5: link addresses, 16 octets each.
const LQ_CLIENT_LINK =
  "0030 0020 20010db8000000000000000000000001 20010db8000200000000000000000001";
// RFC 5460 §5.4.1: Relay-ID carries the relay's DUID (here DUID-LL).
const RELAY_ID = "0035 000a 0003 0001 00163e445566";

Deno.test("query type constants", () => {
  assert.deepEqual(
    [
      QUERY_BY_ADDRESS,
      QUERY_BY_CLIENTID,
      QUERY_BY_RELAY_ID,
      QUERY_BY_LINK_ADDRESS,
      QUERY_BY_REMOTE_ID,
    ],
    [1, 2, 3, 4, 5],
  );
  assert.equal(QUERY_TYPE_NAMES.get(2), "query-by-clientid");
});

Deno.test("lq-query: parse and serialise", () => {
  const built = new LQQueryOption(1, "2001:db8::1", [
    new IAAddressOption("2001:db8::100", 3600, 7200),
  ]);
  const o = vector(LQ_QUERY, LQQueryOption, built);
  assert.equal(o.queryType, QUERY_BY_ADDRESS);
  assert.equal(o.linkAddress, "2001:db8::1");
  assert.equal(o.options.length, 1);
  const ia = o.options[0] as IAAddressOption;
  assert.ok(ia instanceof IAAddressOption);
  assert.equal(ia.address, "2001:db8::100");
  const bare = decode("002c 0011 04 00000000000000000000000000000000") as LQQueryOption;
  assert.equal(bare.queryType, QUERY_BY_LINK_ADDRESS);
  assert.equal(bare.linkAddress, "::");
  assert.deepEqual(bare.options, []);
  bare.validate();
});

Deno.test("lq-query: unknown query options are kept raw", () => {
  const hex = "002c 0017 02 00000000000000000000000000000000 fff0 0002 abcd";
  const o = decode(hex) as LQQueryOption;
  const raw = o.options[0] as UnknownOption;
  assert.ok(raw instanceof UnknownOption);
  assert.equal(raw.code, 0xfff0);
  assert.deepEqual(raw.data, b("abcd"));
  o.validate();
});

Deno.test("lq-query: malformed input", () => {
  bad("002c 0010 01 000000000000000000000000000000");
  bad("002c 0015 01 00000000000000000000000000000000 0005 0018"); // child lies
  bad("002c 0014 01 00000000000000000000000000000000 000500"); // half a child header
  bad("002c 002e 01 20010db8000000000000000000000001 " + IAADDR); // length lies
});

Deno.test("lq-query: validate", () => {
  assert.throws(() => new LQQueryOption(256).validate(), ValidationError);
  assert.throws(() => new LQQueryOption(1, "ff02::1").validate(), ValidationError);
  assert.throws(() => new LQQueryOption(1, "::1").validate(), ValidationError);
  assert.throws(
    () => new LQQueryOption(2, "::", [new PreferenceOption(1)]).validate(),
    ValidationError,
  );
  // Decision 21: Relay-ID and Remote-ID may be query options.
  new LQQueryOption(QUERY_BY_RELAY_ID, "::", [new RelayIdOption(duid)]).validate();
  new LQQueryOption(QUERY_BY_REMOTE_ID, "::", [new RemoteIdOption(9, b("01"))]).validate();
  new LQQueryOption(QUERY_BY_CLIENTID, "::", [clientId(), new OptionRequestOption([47])])
    .validate();
});

Deno.test("client-data and clt-time: parse and serialise", () => {
  const o = vector(
    CLIENT_DATA,
    ClientDataOption,
    new ClientDataOption([
      clientId(),
      new IAAddressOption("2001:db8::100", 3600, 7200),
      new CLTTimeOption(3600),
    ]),
  );
  assert.equal(o.options.length, 3);
  assert.ok(o.options[0] instanceof ClientIdOption);
  const clt = o.options[2] as CLTTimeOption;
  assert.ok(clt instanceof CLTTimeOption);
  assert.equal(clt.cltTime, 3600);
  total(CLT_TIME);
});

Deno.test("client-data: unknown options kept raw; requested extras allowed", () => {
  const hex = `002d 0022 ${CLIENT_ID} ${CLT_TIME} 1234 0004 01020304 0017 0000`;
  const o = decode(hex) as ClientDataOption;
  assert.ok(o.options[2] instanceof UnknownOption);
  assert.deepEqual((o.options[2] as UnknownOption).data, b("01020304"));
  assert.ok(o.options[3] instanceof RecursiveNameServersOption);
  o.validate();
});

Deno.test("client-data and clt-time: malformed input", () => {
  bad("002e 0003 000e10");
  bad("002e 0005 00000e1000");
  bad(`002d 000f ${CLIENT_ID} 00`);
  bad(`002d 0010 ${CLIENT_ID}`);
});

Deno.test("client-data and clt-time: validate", () => {
  assert.throws(() => new CLTTimeOption(2 ** 32).validate(), ValidationError);
  // Client ID and CLT Time are required, once.
  assert.throws(() => new ClientDataOption([clientId()]).validate(), ValidationError);
  assert.throws(() => new ClientDataOption([new CLTTimeOption(1)]).validate(), ValidationError);
  assert.throws(
    () => new ClientDataOption([clientId(), clientId(), new CLTTimeOption(1)]).validate(),
    ValidationError,
  );
  // Children are validated.
  assert.throws(
    () =>
      new ClientDataOption([clientId(), new CLTTimeOption(1), new IAAddressOption("ff02::1")])
        .validate(),
    ValidationError,
  );
  new ClientDataOption([
    clientId(),
    new CLTTimeOption(1),
    new IAPrefixOption(1, 2, 48, "2001:db8:1::"),
    new LQRelayDataOption("2001:db8::2", new RelayForwardMessage(0, "2001:db8::1", "fe80::1")),
  ]).validate();
});

Deno.test("lq-relay-data: parse and serialise", () => {
  const built = new LQRelayDataOption(
    "2001:db8::2",
    new RelayForwardMessage(0, "2001:db8::1", "fe80::1", [new InterfaceIdOption(b("65746830"))]),
  );
  const o = vector(LQ_RELAY_DATA, LQRelayDataOption, built);
  assert.equal(o.peerAddress, "2001:db8::2");
  const relay = o.message as RelayForwardMessage;
  assert.ok(relay instanceof RelayForwardMessage);
  assert.equal(relay.linkAddress, "2001:db8::1");
  assert.equal(relay.peerAddress, "fe80::1");
  assert.ok(relay.options[0] instanceof InterfaceIdOption);
});

Deno.test("lq-relay-data: malformed input", () => {
  bad("002f 0010 20010db8000000000000000000000002");
  bad("002f 0014 20010db8000000000000000000000002 0c000000"); // relay header truncated
  bad("002f 003b 20010db8000000000000000000000002 " + RELAY_FORW); // length lies
});

Deno.test("lq-relay-data: validate", () => {
  const relay = new RelayForwardMessage(0, "2001:db8::1", "fe80::1");
  assert.throws(() => new LQRelayDataOption("::", relay).validate(), ValidationError);
  assert.throws(() => new LQRelayDataOption("ff02::2", relay).validate(), ValidationError);
  assert.throws(
    () => new LQRelayDataOption("2001:db8::2", new SolicitMessage(1, [clientId()])).validate(),
    ValidationError,
  );
  // A client/server message parses (the field is a whole message) but is rejected by validate.
  const wrong = decode("002f 0014 20010db8000000000000000000000002 01000001") as LQRelayDataOption;
  assert.throws(() => wrong.validate(), ValidationError);
});

Deno.test("lq-client-link: parse, serialise, validate", () => {
  const o = vector(
    LQ_CLIENT_LINK,
    LQClientLinkOption,
    new LQClientLinkOption(["2001:db8::1", "2001:db8:2::1"]),
  );
  assert.deepEqual(o.linkAddresses, ["2001:db8::1", "2001:db8:2::1"]);
  bad("0030 000f 20010db80000000000000000000000");
  bad("0030 0011 20010db8000000000000000000000001 00");
  assert.throws(() => (decode("0030 0000") as LQClientLinkOption).validate(), ValidationError);
  assert.throws(() => new LQClientLinkOption(["ff02::1"]).validate(), ValidationError);
  assert.throws(() => new LQClientLinkOption(["::"]).validate(), ValidationError);
});

Deno.test("relay-id: parse, serialise, validate", () => {
  const o = decode(RELAY_ID) as RelayIdOption;
  assert.ok(o instanceof RelayIdOption);
  assert.deepEqual(optionToBytes(new RelayIdOption(o.duid)), b(RELAY_ID));
  o.validate();
  total(RELAY_ID);
  bad("0035 0001 00");
  bad("0035 0000");
  bad("0035 000b 0003 0001 00163e445566");
});

Deno.test("leasequery messages: wire vectors", () => {
  // RFC 5007 §4.1: LEASEQUERY = type 14, transaction id, Client ID and LQ_QUERY.
  const lq = b(`0e 0000a1 ${CLIENT_ID} ${LQ_QUERY}`);
  const m = parseMessage(lq) as LeasequeryMessage;
  assert.ok(m instanceof LeasequeryMessage);
  assert.deepEqual(serializeMessage(m), lq);
  m.validate();
  // LEASEQUERY-REPLY with Server ID, Client ID, CLIENT_DATA (with relay data) and status.
  const SERVER_ID = "0002 000a 0003 0001 00163e112233";
  const cd = `002d 0070 ${CLIENT_ID} ${IAADDR} ${CLT_TIME} ${LQ_RELAY_DATA}`;
  const lqr = b(`0f 0000a1 ${SERVER_ID} ${CLIENT_ID} ${cd} 000d 0002 0000`);
  const r = parseMessage(lqr) as LeasequeryReplyMessage;
  assert.ok(r instanceof LeasequeryReplyMessage);
  assert.deepEqual(serializeMessage(r), lqr);
  r.validate();
});

Deno.test("leasequery: message placement", () => {
  const query = new LQQueryOption(QUERY_BY_CLIENTID, "::", [clientId()]);
  const data = new ClientDataOption([clientId(), new CLTTimeOption(5)]);
  valid(new LeasequeryMessage(1, [clientId(), query]));
  invalid(new LeasequeryMessage(1, [clientId()]));
  invalid(new LeasequeryMessage(1, [query]));
  invalid(new LeasequeryMessage(1, [clientId(), query, query]));
  valid(new LeasequeryReplyMessage(1, [serverId(), clientId(), data]));
  valid(
    new LeasequeryReplyMessage(1, [
      serverId(),
      clientId(),
      new LQClientLinkOption(["2001:db8::1", "2001:db8:2::1"]),
    ]),
  );
  valid(
    new LeasequeryReplyMessage(1, [serverId(), clientId(), new StatusCodeOption(7, "unknown")]),
  );
  invalid(new LeasequeryReplyMessage(1, [serverId(), clientId(), data, data]));
  invalid(new LeasequeryReplyMessage(1, [serverId(), clientId(), query]));
  valid(new LeasequeryDataMessage(1, [data]));
  invalid(new LeasequeryDataMessage(1, []));
  valid(new LeasequeryDoneMessage(1, [new StatusCodeOption(0, "That's all folks")]));
  invalid(new LeasequeryDoneMessage(1, [data]));
  invalid(new SolicitMessage(1, [clientId(), query]));
  invalid(new SolicitMessage(1, [clientId(), data]));
});

Deno.test("relay-id: allowed in relay-forward (decision 19), not in client messages", () => {
  valid(relayForward(new RelayIdOption(duid), relayedSolicit()));
  invalid(new SolicitMessage(1, [clientId(), new RelayIdOption(duid)]));
});
