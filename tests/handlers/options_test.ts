import assert from "node:assert/strict";
import {
  AdvertiseMessage,
  AFTRNameOption,
  DomainSearchListOption,
  InfMaxRTOption,
  InformationRequestMessage,
  LeasequeryReplyMessage,
  NTPMulticastAddressSubOption,
  NTPServerAddressSubOption,
  NTPServerFQDNSubOption,
  NTPServersOption,
  PreferenceOption,
  RecursiveNameServersOption,
  RelayForwardMessage,
  RelayMessageOption,
  RequestMessage,
  S46BROption,
  S46DMROption,
  S46MapEContainerOption,
  S46MapTContainerOption,
  S46PortParametersOption,
  S46RuleOption,
  ServerUnicastOption,
  SIPServersAddressListOption,
  SIPServersDomainNameListOption,
  SNTPServersOption,
  SolicitMessage,
  SolMaxRTOption,
  StatusCode,
  StatusCodeOption,
} from "../../src/protocol/mod.ts";
import { TransactionBundle } from "../../src/pipeline/mod.ts";
import { RecursiveNameServersOptionHandler } from "../../src/handlers/dns/handler.ts";
import { buildS46Rule } from "../../src/handlers/map/handler.ts";
import {
  clientId,
  codes,
  elapsed,
  oro,
  pipelineFromConfig,
  relayed,
  run,
  serverId,
} from "../pipeline/helpers.ts";

const infoRequest = (...extra: import("../../src/protocol/mod.ts").Option[]) =>
  new InformationRequestMessage(0x123456, [clientId(), elapsed(0), ...extra]);

Deno.test("recursive-name-servers and domain-search-list content", () => {
  const p = pipelineFromConfig(`
<recursive-name-servers>
  address 2001:db8::53
  address 2001:db8::54
</recursive-name-servers>
<domain-search-list>
  domain-name example.com
  domain-name example.net
</domain-search-list>`);
  const { reply } = run(p, infoRequest());
  assert.ok(reply);
  assert.equal(reply.type, 7);
  assert.deepEqual(codes(reply), [1, 2, 23, 24]);
  assert.deepEqual(reply.getOption(RecursiveNameServersOption)!.addresses, [
    "2001:db8::53",
    "2001:db8::54",
  ]);
  assert.deepEqual(reply.getOption(DomainSearchListOption)!.domainNames, [
    "example.com",
    "example.net",
  ]);
});

Deno.test("ORO rule: no ORO sends, ORO without the code does not, always-send does", () => {
  const p = pipelineFromConfig(`
<recursive-name-servers>
  address 2001:db8::53
</recursive-name-servers>
<sntp-servers>
  address 2001:db8::123
  always-send yes
</sntp-servers>
<domain-search-list>
  domain-name example.com
</domain-search-list>`);
  assert.deepEqual(codes(run(p, infoRequest()).reply!), [1, 2, 23, 31, 24]);
  assert.deepEqual(codes(run(p, infoRequest(oro(24))).reply!), [1, 2, 31, 24]);
  assert.deepEqual(codes(run(p, infoRequest(oro(23))).reply!), [1, 2, 23, 31]);
  assert.deepEqual(codes(run(p, infoRequest(oro(82))).reply!), [1, 2, 31]);
});

Deno.test("response-type restriction: an option the response type may not carry is not added", () => {
  const handler = new RecursiveNameServersOptionHandler(["2001:db8::53"], true);
  const request = new InformationRequestMessage(1, [clientId()]);
  const wrapper = new RelayForwardMessage(0, "::", "fe80::1", [new RelayMessageOption(request)]);
  const bundle = new TransactionBundle(wrapper, true);
  bundle.responses = [new LeasequeryReplyMessage(1, [])];
  handler.handle(bundle);
  assert.deepEqual(bundle.response.options, []);
  bundle.responses = [new AdvertiseMessage(1, [])];
  handler.handle(bundle);
  assert.deepEqual(codes(bundle.response), [23]);
});

Deno.test("merging DNS sections in nested scopes: inner first, no duplicates", () => {
  const p = pipelineFromConfig(`
<recursive-name-servers>
  address 2001:db8::1
  address 2001:db8::2
</recursive-name-servers>
<domain-search-list>
  domain-name outer.example
  domain-name shared.example
</domain-search-list>
<subnet 2001:db8::/32>
  <recursive-name-servers>
    address 2001:db8::2
    address 2001:db8::3
  </recursive-name-servers>
  <domain-search-list>
    domain-name Shared.example
  </domain-search-list>
  <subnet 2001:db8:1::/48>
    <recursive-name-servers>
      address 2001:db8::4
    </recursive-name-servers>
    <domain-search-list>
      domain-name inner.example
    </domain-search-list>
  </subnet>
</subnet>`);
  const inner = run(p, infoRequest(), { linkAddress: "2001:db8:1::1" }).reply!;
  assert.deepEqual(inner.getOptions(RecursiveNameServersOption).length, 1);
  assert.deepEqual(inner.getOption(RecursiveNameServersOption)!.addresses, [
    "2001:db8::4",
    "2001:db8::2",
    "2001:db8::3",
    "2001:db8::1",
  ]);
  assert.deepEqual(inner.getOption(DomainSearchListOption)!.domainNames, [
    "inner.example",
    "shared.example",
    "outer.example",
  ]);
  const middle = run(p, infoRequest(), { linkAddress: "2001:db8:2::1" }).reply!;
  assert.deepEqual(middle.getOption(RecursiveNameServersOption)!.addresses, [
    "2001:db8::2",
    "2001:db8::3",
    "2001:db8::1",
  ]);
  const outside = run(p, infoRequest(), { linkAddress: "2001:db9::1" }).reply!;
  assert.deepEqual(outside.getOption(RecursiveNameServersOption)!.addresses, [
    "2001:db8::1",
    "2001:db8::2",
  ]);
  // The configured option instances are not changed by merging.
  const again = run(p, infoRequest(), { linkAddress: "2001:db8:1::1" }).reply!;
  assert.deepEqual(again.getOption(RecursiveNameServersOption)!.addresses.length, 4);
});

Deno.test("SIP names/addresses and SNTP: content and merging", () => {
  const p = pipelineFromConfig(`
<sip-server-names>
  domain-name sip.example.org
</sip-server-names>
<sip-server-addresses>
  address 2001:db8::5060
</sip-server-addresses>
<sntp-servers>
  address 2001:db8::123
</sntp-servers>
<marked-with special>
  <sip-server-names>
    domain-name sip2.example.org
    domain-name sip.example.org
  </sip-server-names>
  <sip-server-addresses>
    address 2001:db8::5061
  </sip-server-addresses>
  <sntp-servers>
    address 2001:db8::124
    address 2001:db8::123
  </sntp-servers>
</marked-with>`);
  const plain = run(p, infoRequest()).reply!;
  assert.deepEqual(codes(plain), [1, 2, 21, 22, 31]);
  assert.deepEqual(plain.getOption(SIPServersDomainNameListOption)!.domainNames, [
    "sip.example.org",
  ]);
  assert.deepEqual(plain.getOption(SIPServersAddressListOption)!.addresses, ["2001:db8::5060"]);
  assert.deepEqual(plain.getOption(SNTPServersOption)!.addresses, ["2001:db8::123"]);
  const marked = run(p, infoRequest(), { marks: ["special"] }).reply!;
  assert.deepEqual(marked.getOption(SIPServersDomainNameListOption)!.domainNames, [
    "sip2.example.org",
    "sip.example.org",
  ]);
  assert.deepEqual(marked.getOption(SIPServersAddressListOption)!.addresses, [
    "2001:db8::5061",
    "2001:db8::5060",
  ]);
  assert.deepEqual(marked.getOption(SNTPServersOption)!.addresses, [
    "2001:db8::124",
    "2001:db8::123",
  ]);
});

Deno.test("ntp-servers: one option 56 per time source, merged across scopes", () => {
  const p = pipelineFromConfig(`
<ntp-servers>
  server-fqdn time.example.org
  server-address 2001:db8::123
</ntp-servers>
<marked-with special>
  <ntp-servers>
    server-address 2001:db8::124
    server-address 2001:db8::123
    multicast-address ff08::101
  </ntp-servers>
</marked-with>`);
  const describe = (o: NTPServersOption) => {
    assert.equal(o.options.length, 1);
    const s = o.options[0];
    if (s instanceof NTPServerAddressSubOption) return `addr ${s.address}`;
    if (s instanceof NTPMulticastAddressSubOption) return `mc ${s.address}`;
    if (s instanceof NTPServerFQDNSubOption) return `fqdn ${s.fqdn}`;
    return "?";
  };
  const plain = run(p, infoRequest()).reply!;
  assert.deepEqual(plain.getOptions(NTPServersOption).map(describe), [
    "addr 2001:db8::123",
    "fqdn time.example.org",
  ]);
  const marked = run(p, infoRequest(), { marks: ["special"] }).reply!;
  assert.deepEqual(marked.getOptions(NTPServersOption).map(describe), [
    "mc ff08::101",
    "addr 2001:db8::124",
    "addr 2001:db8::123",
    "fqdn time.example.org",
  ]);
  // Each option validates (exactly one time source).
  for (const o of marked.getOptions(NTPServersOption)) o.validate();
  assert.deepEqual(codes(run(p, infoRequest(oro(23))).reply!), [1, 2]);
});

Deno.test("aftr-name and preference: most specific scope wins", () => {
  const p = pipelineFromConfig(`
<aftr-name>
  fqdn outer.example.org
</aftr-name>
<preference>
  level 10
</preference>
<subnet 2001:db8:1::/48>
  <aftr-name>
    fqdn inner.example.org
  </aftr-name>
  <preference>
    level 255
  </preference>
</subnet>`);
  const solicit = new SolicitMessage(7, [clientId(), elapsed(0), oro(23)]);
  const inner = run(p, solicit, { linkAddress: "2001:db8:1::1" }).reply!;
  assert.equal(inner.type, 2);
  assert.equal(inner.getOption(PreferenceOption)!.preference, 255);
  assert.equal(inner.getOptions(PreferenceOption).length, 1);
  // aftr-name obeys the ORO (not asked for), preference is always sent.
  assert.equal(inner.getOption(AFTRNameOption), undefined);
  const inner2 = run(p, new SolicitMessage(7, [clientId(), elapsed(0)]), {
    linkAddress: "2001:db8:1::1",
  })
    .reply!;
  assert.equal(inner2.getOption(AFTRNameOption)!.fqdn, "inner.example.org");
  assert.equal(inner2.getOptions(AFTRNameOption).length, 1);
  const outer = run(p, new SolicitMessage(7, [clientId(), elapsed(0)]), {
    linkAddress: "2001:db8:2::1",
  })
    .reply!;
  assert.equal(outer.getOption(AFTRNameOption)!.fqdn, "outer.example.org");
  assert.equal(outer.getOption(PreferenceOption)!.preference, 10);
});

Deno.test("sol-max-rt / inf-max-rt: the last applied (outermost) wins", () => {
  const p = pipelineFromConfig(`
<sol-max-rt>
  limit 3600
</sol-max-rt>
<inf-max-rt>
  limit 7200
  always-send yes
</inf-max-rt>
<subnet 2001:db8:1::/48>
  <sol-max-rt>
    limit 120
  </sol-max-rt>
  <inf-max-rt>
    limit 60
    always-send yes
  </inf-max-rt>
</subnet>`);
  const advertise = run(p, new SolicitMessage(7, [clientId(), elapsed(0)]), {
    linkAddress: "2001:db8:1::1",
  })
    .reply!;
  assert.equal(advertise.getOptions(SolMaxRTOption).length, 1);
  assert.equal(advertise.getOption(SolMaxRTOption)!.value, 3600);
  assert.equal(advertise.getOption(InfMaxRTOption)!.value, 7200);
  const asked = run(p, new SolicitMessage(7, [clientId(), elapsed(0), oro(23)]), {
    linkAddress: "2001:db8:1::1",
  }).reply!;
  assert.equal(asked.getOption(SolMaxRTOption), undefined);
  assert.equal(asked.getOption(InfMaxRTOption)!.value, 7200);
});

Deno.test("map-e and map-t containers", () => {
  const p = pipelineFromConfig(`
<map-e>
  br-address 2001:db8::1
  br-address 2001:db8::2
  <map-rule>
    ipv6-prefix 2001:db8:f000::/36
    ipv4-prefix 192.0.2.0/24
    contiguous-ports 64
    sharing-ratio 16
    forwarding-mapping yes
  </map-rule>
  <map-rule>
    ipv6-prefix 2001:db8:e000::/40
    ipv4-prefix 198.51.100.0/26
    contiguous-ports 4
    sharing-ratio 256
  </map-rule>
</map-e>
<map-t>
  default-mapping 2001:db8:0:1::/64
  <map-rule>
    ipv6-prefix 2001:db8:9500::/40
    ipv4-prefix 198.51.100.0/24
    contiguous-ports 4
    sharing-ratio 256
    forwarding-mapping no
  </map-rule>
</map-t>`);
  const reply = run(p, infoRequest()).reply!;
  const mape = reply.getOption(S46MapEContainerOption)!;
  mape.validate();
  const rules = mape.options.filter((o) => o instanceof S46RuleOption) as S46RuleOption[];
  assert.equal(rules.length, 2);
  assert.equal(rules[0].flags, 1);
  assert.equal(rules[0].eaLen, 8 + 4);
  assert.equal(rules[0].prefix4Len, 24);
  assert.equal(rules[0].ipv4Prefix, "192.0.2.0");
  assert.equal(rules[0].prefix6Len, 36);
  assert.equal(rules[0].ipv6Prefix, "2001:db8:f000::");
  const pp = rules[0].options[0] as S46PortParametersOption;
  assert.ok(pp instanceof S46PortParametersOption);
  assert.deepEqual([pp.offset, pp.psidLen, pp.psid], [6, 0, 0]);
  assert.equal(rules[1].flags, 0);
  assert.equal(rules[1].eaLen, 6 + 8);
  assert.deepEqual([(rules[1].options[0] as S46PortParametersOption).offset], [6]);
  assert.deepEqual(
    mape.options.filter((o) => o instanceof S46BROption).map((o) => (o as S46BROption).brAddress),
    ["2001:db8::1", "2001:db8::2"],
  );
  const mapt = reply.getOption(S46MapTContainerOption)!;
  mapt.validate();
  const trule = mapt.options[0] as S46RuleOption;
  assert.equal(trule.flags, 0);
  assert.equal(trule.eaLen, 16);
  const dmr = mapt.options.find((o) => o instanceof S46DMROption) as S46DMROption;
  assert.deepEqual([dmr.prefix6Len, dmr.ipv6Prefix], [64, "2001:db8:0:1::"]);
});

Deno.test("buildS46Rule rejects impossible rules", () => {
  const v6 = { bytes: new Uint8Array(16), length: 56 };
  const v4 = { bytes: new Uint8Array([10, 0, 0, 0]), length: 16 };
  assert.throws(() =>
    buildS46Rule({ ipv6Prefix: v6, ipv4Prefix: v4, contiguousPorts: 1, sharingRatio: 1 })
  );
  assert.throws(() =>
    buildS46Rule({
      ipv6Prefix: { ...v6, length: 32 },
      ipv4Prefix: v4,
      contiguousPorts: 512,
      sharingRatio: 512,
    })
  );
  const ok = buildS46Rule({
    ipv6Prefix: { ...v6, length: 32 },
    ipv4Prefix: v4,
    contiguousPorts: 1,
    sharingRatio: 1,
  });
  assert.deepEqual([ok.eaLen, (ok.options[0] as S46PortParametersOption).offset], [16, 16 - 0 - 0]);
});

Deno.test("server-unicast: option always sent and unicast permitted", () => {
  const request = new RequestMessage(9, [clientId(), serverId(), elapsed(0), oro(23)]);
  const without = pipelineFromConfig("");
  const refused = run(without, request, { multicast: false, source: "2001:db8:1::99" });
  assert.equal(refused.result.outcome, "use_multicast");
  assert.equal(refused.reply!.getOption(StatusCodeOption)!.statusCode, StatusCode.UseMulticast);
  assert.deepEqual(codes(refused.reply!), [1, 2, 13]);
  const p = pipelineFromConfig(`
<server-unicast>
  address 2001:db8::1:2:3
</server-unicast>`);
  const allowed = run(p, request, { multicast: false, source: "2001:db8:1::99" });
  assert.equal(allowed.result.outcome, "reply");
  assert.equal(allowed.reply!.getOption(ServerUnicastOption)!.serverAddress, "2001:db8::1:2:3");
  assert.equal(allowed.result.replies[0].port, 546);
  assert.equal(allowed.result.replies[0].destination, "2001:db8:1::99");
  // Information-request by unicast: always silently dropped (RFC 8415 §16), even where
  // Server Unicast permits unicast for Request, Renew, Release and Decline.
  const unicastInfo = { multicast: false, source: "2001:db8:1::99" };
  assert.equal(run(without, infoRequest(), unicastInfo).result.outcome, "do_not_respond");
  assert.equal(run(p, infoRequest(oro(23)), unicastInfo).result.outcome, "do_not_respond");
  // By multicast the Information-request gets the Server Unicast option.
  const answered = run(p, infoRequest(oro(23)), { multicast: true });
  assert.equal(answered.result.outcome, "reply");
  assert.ok(answered.reply!.getOption(ServerUnicastOption));
});

Deno.test("relayed requests are never told to use multicast", () => {
  const p = pipelineFromConfig("");
  const request = new RequestMessage(9, [clientId(), serverId(), elapsed(0)]);
  const r = run(p, relayed(request, "2001:db8:5::1"), {
    multicast: false,
    source: "2001:db8:5::2",
  });
  assert.equal(r.result.outcome, "reply");
});

Deno.test("ignore-request: listed types only, or every type", () => {
  const some = pipelineFromConfig(`
<ignore-request>
  message-type solicit
</ignore-request>`);
  const s = run(some, new SolicitMessage(1, [clientId(), elapsed(0)]));
  assert.equal(s.result.outcome, "do_not_respond");
  assert.equal(s.result.replies.length, 0);
  assert.equal(run(some, infoRequest()).result.outcome, "reply");
  const all = pipelineFromConfig("<ignore-request/>");
  const i = run(all, infoRequest());
  assert.equal(i.result.outcome, "do_not_respond");
  assert.equal(i.stats.sets.get("global")![5], 1);
});

Deno.test("ignore-request inside an elapsed-time filter (standby server)", () => {
  const p = pipelineFromConfig(`
<elapsed-time>
  less-than 30s
  <ignore-request>
    message-type solicit
  </ignore-request>
</elapsed-time>`);
  assert.equal(
    run(p, new SolicitMessage(1, [clientId(), elapsed(100)])).result.outcome,
    "do_not_respond",
  );
  assert.equal(run(p, new SolicitMessage(1, [clientId(), elapsed(3100)])).result.outcome, "reply");
  // No Elapsed Time option: the filter does not match.
  assert.equal(run(p, new SolicitMessage(1, [clientId()])).result.outcome, "reply");
});
