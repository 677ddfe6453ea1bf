/**
 * Hand-built, valid DHCPv6 messages used for the corpus (`tests/fixtures/corpus/*.hex`, written by
 * `build_corpus.ts`), the tshark cross-check and the codec benchmarks.
 *
 * Built with the option classes of `options/all.ts`; only options without a class (Information
 * Refresh Time) are hand-encoded with {@link ext}.
 * @module
 */

import {
  AdvertiseMessage,
  AuthenticationOption,
  ClientIdOption,
  ConfirmMessage,
  DeclineMessage,
  ElapsedTimeOption,
  EnterpriseDuid,
  IAAddressOption,
  IANAOption,
  IAPDOption,
  IAPrefixOption,
  IATAOption,
  InformationRequestMessage,
  InterfaceIdOption,
  LeasequeryDataMessage,
  LeasequeryDoneMessage,
  LeasequeryMessage,
  LeasequeryReplyMessage,
  LinkLayerDuid,
  LinkLayerTimeDuid,
  type Message,
  type Option,
  OptionRequestOption,
  PreferenceOption,
  RapidCommitOption,
  RebindMessage,
  ReconfigureAcceptOption,
  ReconfigureMessage,
  ReconfigureMessageOption,
  RelayForwardMessage,
  RelayMessageOption,
  RelayReplyMessage,
  ReleaseMessage,
  RenewMessage,
  ReplyMessage,
  RequestMessage,
  ServerIdOption,
  ServerUnicastOption,
  SolicitMessage,
  SolMaxRTOption,
  StatusCodeOption,
  UnknownOption,
  UserClassOption,
  UuidDuid,
  VendorClassOption,
  VendorSpecificInformationOption,
  Writer,
} from "../../src/protocol/mod.ts";
import {
  AFTRNameOption,
  ClientDataOption,
  ClientFQDNOption,
  CLTTimeOption,
  DomainSearchListOption,
  EchoRequestOption,
  LinkLayerIdOption,
  LQClientLinkOption,
  LQQueryOption,
  LQRelayDataOption,
  NTPMulticastAddressSubOption,
  NTPServerAddressSubOption,
  NTPServerFQDNSubOption,
  NTPServersOption,
  PDExcludeOption,
  PosixTimezoneOption,
  RecursiveNameServersOption,
  RemoteIdOption,
  S46BROption,
  S46MapEContainerOption,
  S46PortParametersOption,
  S46RuleOption,
  SIPServersAddressListOption,
  SIPServersDomainNameListOption,
  SNTPServersOption,
  SubscriberIdOption,
  TZDBTimezoneOption,
} from "../../src/protocol/options/all.ts";

const te = new TextEncoder();

/** An option with hand-encoded data: `fill` writes the option data. */
export function ext(code: number, fill: (w: Writer) => void): UnknownOption {
  const w = new Writer(64);
  fill(w);
  return new UnknownOption(code, w.toBytes());
}

/** DNS Recursive Name Server (23, RFC 3646). */
export const dnsServers = (...a: string[]): Option => new RecursiveNameServersOption(a);
/** Domain Search List (24, RFC 3646). */
export const domainList = (...n: string[]): Option => new DomainSearchListOption(n);
/** SIP Servers Domain Name List (21, RFC 3319). */
export const sipDomains = (...n: string[]): Option => new SIPServersDomainNameListOption(n);
/** SIP Servers IPv6 Address List (22, RFC 3319). */
export const sipServers = (...a: string[]): Option => new SIPServersAddressListOption(a);
/** SNTP Servers (31, RFC 4075). */
export const sntpServers = (...a: string[]): Option => new SNTPServersOption(a);
/** Information Refresh Time (32, RFC 8415); no class yet, so hand-encoded. */
export const infoRefreshTime = (t: number): Option => ext(32, (w) => w.u32(t));
/** Relay Agent Remote-ID (37, RFC 4649). */
export const remoteId = (en: number, id: Uint8Array): Option => new RemoteIdOption(en, id);
/** Relay Agent Subscriber-ID (38, RFC 4580). */
export const subscriberId = (id: Uint8Array): Option => new SubscriberIdOption(id);
/** Client FQDN (39, RFC 4704). */
export const clientFqdn = (flags: number, name: string): Option =>
  new ClientFQDNOption(flags, name);
/** New POSIX timezone (41, RFC 4833). */
export const posixTimezone = (tz: string): Option => new PosixTimezoneOption(tz);
/** New TZDB timezone (42, RFC 4833). */
export const tzdbTimezone = (tz: string): Option => new TZDBTimezoneOption(tz);
/** Echo Request (43, RFC 4994). */
export const echoRequest = (...codes: number[]): Option => new EchoRequestOption(codes);
/** LQ_QUERY (44, RFC 5007). */
export const lqQuery = (queryType: number, link: string, options: Option[]): Option =>
  new LQQueryOption(queryType, link, options);
/** CLIENT_DATA (45, RFC 5007). */
export const clientData = (options: Option[]): Option => new ClientDataOption(options);
/** CLT_TIME (46, RFC 5007). */
export const cltTime = (t: number): Option => new CLTTimeOption(t);
/** LQ_RELAY_DATA (47, RFC 5007). */
export const lqRelayData = (peer: string, message: Message): Option =>
  new LQRelayDataOption(peer, message);
/** LQ_CLIENT_LINK (48, RFC 5007). */
export const lqClientLink = (...a: string[]): Option => new LQClientLinkOption(a);
/** NTP Server (56, RFC 5908) with server-address (1), multicast (2) and FQDN (3) sub-options. */
export const ntpServer = (addr: string, mc: string, fqdn: string): Option =>
  new NTPServersOption([
    new NTPServerAddressSubOption(addr),
    new NTPMulticastAddressSubOption(mc),
    new NTPServerFQDNSubOption(fqdn),
  ]);
/** AFTR-Name (64, RFC 6334). */
export const aftrName = (name: string): Option => new AFTRNameOption(name);
/** PD Exclude (67, RFC 6603): prefix length and the significant bits of the excluded subnet. */
export const pdExclude = (prefixLength: number, subnet: Uint8Array): Option =>
  new PDExcludeOption(prefixLength, subnet);
/** Client Link-Layer Address (79, RFC 6939). */
export const clientLinkLayer = (hw: number, addr: Uint8Array): Option =>
  new LinkLayerIdOption(hw, addr);
/** S46 MAP-E container (94, RFC 7598) with one rule (89, with port parameters) and one BR (90). */
export const s46MapE = (): Option =>
  new S46MapEContainerOption([
    new S46RuleOption(1, 16, 24, "192.0.2.0", 56, "2001:db8:1::", [
      new S46PortParametersOption(6, 4, 0),
    ]),
    new S46BROption("2001:db8:ffff::1"),
  ]);

/** The MAC address used in samples. */
export const MAC = new Uint8Array([0x00, 0x1b, 0x21, 0x3c, 0x4d, 0x5e]);
/** The client DUID-LLT. */
export const CLIENT_DUID = new LinkLayerTimeDuid(1, 0x2a3b4c5d, MAC);
/** The server DUID-LL. */
export const SERVER_DUID = new LinkLayerDuid(
  1,
  new Uint8Array([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]),
);

const cid = () => new ClientIdOption(CLIENT_DUID);
const sid = () => new ServerIdOption(SERVER_DUID);
const oro = (...c: number[]) => new OptionRequestOption(c);
const iana = (addr?: string, status?: StatusCodeOption) =>
  new IANAOption(
    0x0a0b0c0d,
    addr ? 3600 : 0,
    addr ? 5760 : 0,
    [
      ...(addr ? [new IAAddressOption(addr, 7200, 10800)] : []),
      ...(status ? [status] : []),
    ],
  );
const iapd = (prefix?: string, len = 56) =>
  new IAPDOption(
    0x01020304,
    prefix ? 3600 : 0,
    prefix ? 5760 : 0,
    prefix ? [new IAPrefixOption(7200, 10800, len, prefix)] : [],
  );

/** The relayed Solicit of the benchmark: interface-id, remote-id, client-id, IA_NA, IA_PD, ORO, elapsed. */
export function relayedSolicit(): RelayForwardMessage {
  const solicit = new SolicitMessage(0x8c2f41, [
    cid(),
    new IANAOption(0x0a0b0c0d, 0, 0),
    new IAPDOption(0x01020304, 0, 0, [new IAPrefixOption(0, 0, 56, "::")]),
    oro(23, 24, 82),
    new ElapsedTimeOption(0),
  ]);
  return new RelayForwardMessage(0, "2001:db8:1:2::1", "fe80::21b:21ff:fe3c:4d5e", [
    new InterfaceIdOption(te.encode("Gi0/0/1.100")),
    remoteId(9, te.encode("CPE-000123")),
    new RelayMessageOption(solicit),
  ]);
}

/** The Reply to {@link relayedSolicit}: addresses, a prefix, DNS servers and a domain list. */
export function relayedReply(): RelayReplyMessage {
  const reply = new ReplyMessage(0x8c2f41, [
    cid(),
    sid(),
    iana("2001:db8:1:2::1:100"),
    iapd("2001:db8:ff00:1200::"),
    dnsServers("2001:db8::53", "2001:db8::35"),
    domainList("example.com", "corp.example.com"),
    new RapidCommitOption(),
  ]);
  return new RelayReplyMessage(0, "2001:db8:1:2::1", "fe80::21b:21ff:fe3c:4d5e", [
    new InterfaceIdOption(te.encode("Gi0/0/1.100")),
    new RelayMessageOption(reply),
  ]);
}

/** Every named sample message (one corpus file each). */
export function sampleMessages(): Record<string, Message> {
  const xid = 0x3e5f01;
  const solicit = new SolicitMessage(xid, [
    cid(),
    iana(),
    iapd("::", 56),
    oro(23, 24, 31, 56, 82),
    new ElapsedTimeOption(120),
    new RapidCommitOption(),
    new ReconfigureAcceptOption(),
    new VendorClassOption(4491, [te.encode("docsis3.0")]),
    new UserClassOption([te.encode("class-a"), te.encode("b")]),
    clientFqdn(1, "host1.example.com"),
  ]);
  const reply = new ReplyMessage(xid, [
    cid(),
    sid(),
    iana("2001:db8::1:100"),
    iapd("2001:db8:ff00:1200::"),
    dnsServers("2001:db8::53", "2001:db8::35"),
    domainList("example.com", "corp.example.com"),
    new RapidCommitOption(),
    new ReconfigureAcceptOption(),
  ]);
  return {
    "01_solicit_iana_iapd": solicit,
    "02_advertise_iana_iapd": new AdvertiseMessage(xid, [
      cid(),
      sid(),
      iana("2001:db8::1:100"),
      iapd("2001:db8:ff00:1200::"),
      new PreferenceOption(255),
      dnsServers("2001:db8::53"),
      domainList("example.com"),
      new SolMaxRTOption(3600),
      new StatusCodeOption(0, "all good"),
    ]),
    "03_request_iana_iapd": new RequestMessage(0x3e5f02, [
      cid(),
      sid(),
      iana("2001:db8::1:100"),
      iapd("2001:db8:ff00:1200::"),
      oro(23, 24),
      new ElapsedTimeOption(0),
    ]),
    "04_reply_iana_iapd": reply,
    "05_confirm": new ConfirmMessage(0x000001, [
      cid(),
      new IANAOption(0x0a0b0c0d, 0, 0, [new IAAddressOption("2001:db8::1:100", 0, 0)]),
      new ElapsedTimeOption(65535),
    ]),
    "06_renew": new RenewMessage(0xabcdef, [
      cid(),
      sid(),
      iana("2001:db8::1:100"),
      iapd("2001:db8:ff00:1200::"),
      oro(23, 24),
      new ElapsedTimeOption(0),
    ]),
    "07_rebind": new RebindMessage(0xfffffe, [
      cid(),
      iana("2001:db8::1:100"),
      new ElapsedTimeOption(10),
    ]),
    "08_release": new ReleaseMessage(0x123456, [
      cid(),
      sid(),
      iana("2001:db8::1:100"),
      new ElapsedTimeOption(0),
    ]),
    "09_decline": new DeclineMessage(0x654321, [
      cid(),
      sid(),
      iana("2001:db8::1:100"),
      new ElapsedTimeOption(0),
    ]),
    "10_reconfigure": new ReconfigureMessage(0, [
      sid(),
      cid(),
      new ReconfigureMessageOption(5),
      new AuthenticationOption(
        3,
        1,
        0,
        new Uint8Array([0, 0, 0, 0, 0, 0, 0, 7]),
        new Uint8Array([2, ...new Uint8Array(16).fill(0xa5)]),
      ),
    ]),
    "11_information_request": new InformationRequestMessage(0x0badf0, [
      new ClientIdOption(
        new EnterpriseDuid(9, new Uint8Array([0x0c, 0xc0, 0x84, 0xd3, 0x03, 0x00])),
      ),
      oro(21, 22, 23, 24, 31, 32, 56),
      new ElapsedTimeOption(0),
    ]),
    "12_reply_information": new ReplyMessage(0x0badf0, [
      new ClientIdOption(
        new EnterpriseDuid(9, new Uint8Array([0x0c, 0xc0, 0x84, 0xd3, 0x03, 0x00])),
      ),
      sid(),
      sipDomains("sip.example.com"),
      sipServers("2001:db8::5060"),
      dnsServers("2001:db8::53"),
      domainList("example.com", "example.net"),
      sntpServers("2001:db8::123"),
      infoRefreshTime(86400),
      ntpServer("2001:db8::123", "ff05::101", "ntp.example.com"),
      posixTimezone("CET-1CEST,M3.5.0,M10.5.0/3"),
      tzdbTimezone("Europe/Amsterdam"),
      aftrName("aftr.example.com"),
    ]),
    "13_relay_forward_solicit": relayedSolicit(),
    "14_relay_reply_reply": relayedReply(),
    "15_relay_forward_subscriber": new RelayForwardMessage(1, "2001:db8:2::1", "fe80::1", [
      new InterfaceIdOption(new Uint8Array([0, 0, 0, 7])),
      remoteId(3561, new Uint8Array([0x00, 0x1b, 0x21, 0x3c, 0x4d, 0x5e])),
      subscriberId(te.encode("subscriber-42")),
      clientLinkLayer(1, MAC),
      echoRequest(18, 37),
      new RelayMessageOption(
        new RelayForwardMessage(0, "::", "fe80::21b:21ff:fe3c:4d5e", [
          new InterfaceIdOption(te.encode("eth0")),
          new RelayMessageOption(solicit),
        ]),
      ),
    ]),
    "16_relay_reply_nested": new RelayReplyMessage(1, "2001:db8:2::1", "fe80::1", [
      new InterfaceIdOption(new Uint8Array([0, 0, 0, 7])),
      new RelayMessageOption(
        new RelayReplyMessage(0, "::", "fe80::21b:21ff:fe3c:4d5e", [
          new InterfaceIdOption(te.encode("eth0")),
          new RelayMessageOption(reply),
        ]),
      ),
    ]),
    "17_leasequery": new LeasequeryMessage(0x5a5a5a, [
      new ClientIdOption(SERVER_DUID),
      lqQuery(1, "2001:db8::1", [new IAAddressOption("2001:db8::1:100", 0, 0), oro(46, 47, 48)]),
    ]),
    "18_leasequery_reply": new LeasequeryReplyMessage(0x5a5a5a, [
      new ClientIdOption(SERVER_DUID),
      new ServerIdOption(new LinkLayerTimeDuid(1, 0x01020304, MAC)),
      clientData([
        cid(),
        new IAAddressOption("2001:db8::1:100", 7200, 10800),
        new IAPrefixOption(7200, 10800, 56, "2001:db8:ff00:1200::"),
        cltTime(600),
      ]),
      lqRelayData(
        "2001:db8:2::1",
        new RelayForwardMessage(0, "2001:db8:2::1", "fe80::1", [
          new InterfaceIdOption(te.encode("eth0")),
        ]),
      ),
      lqClientLink("2001:db8:2::1"),
    ]),
    "19_leasequery_data": new LeasequeryDataMessage(0x5a5a5b, [
      clientData([cid(), new IAAddressOption("2001:db8::1:101", 7200, 10800), cltTime(30)]),
    ]),
    "20_leasequery_done": new LeasequeryDoneMessage(0x5a5a5b, [
      new StatusCodeOption(0, "done"),
    ]),
    "21_reply_status_noaddrsavail": new ReplyMessage(0x3e5f03, [
      cid(),
      sid(),
      new IANAOption(0x0a0b0c0d, 0, 0, [new StatusCodeOption(2, "no addresses available")]),
      new StatusCodeOption(6, "no prefixes"),
    ]),
    "22_solicit_uuid_iata": new SolicitMessage(0x010203, [
      new ClientIdOption(new UuidDuid(new Uint8Array([...Array(16).keys()].map((i) => i * 17)))),
      new IATAOption(7, []),
      oro(23),
      new ElapsedTimeOption(0),
    ]),
    "23_advertise_unicast_vendor": new AdvertiseMessage(0x010203, [
      new ClientIdOption(new UuidDuid(new Uint8Array([...Array(16).keys()].map((i) => i * 17)))),
      sid(),
      new IATAOption(7, [new IAAddressOption("2001:db8::7:7", 100, 200)]),
      new ServerUnicastOption("2001:db8::547"),
      new VendorSpecificInformationOption(4491, [
        new UnknownOption(1, new Uint8Array([0, 32])),
        new UnknownOption(2, te.encode("abc")),
      ]),
      new PreferenceOption(10),
    ]),
    "24_reply_pd_exclude_s46": new ReplyMessage(0x3e5f04, [
      cid(),
      sid(),
      new IAPDOption(0x01020304, 3600, 5760, [
        new IAPrefixOption(7200, 10800, 56, "2001:db8:ff00:1200::", [
          pdExclude(64, new Uint8Array([0x40])),
        ]),
      ]),
      s46MapE(),
    ]),
  };
}
