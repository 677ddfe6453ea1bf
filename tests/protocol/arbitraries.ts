/**
 * fast-check arbitraries for the DHCPv6 codec: DUIDs, every registered option class, unknown
 * options, every message type (relays nested up to {@link MAX_RELAY_DEPTH} levels) and unknown
 * message types.
 *
 * Generated values are in the codec's canonical form (IPv6 text as {@link formatIPv6} prints it,
 * domain names in ASCII without a trailing dot), so `parseMessage(serializeMessage(m))` must
 * deep-equal `m`. Values need not be *valid* (placement rules are not respected); they only need
 * to be encodable.
 *
 * Extension options (`src/protocol/options/*.ts` beyond `core.ts`) are covered by
 * {@link extensionOptionArbs}, which only contains arbitraries for classes that are registered.
 * @module
 */

import fc from "fast-check";
import {
  AuthenticationOption,
  ClientIdOption,
  ClientServerMessage,
  type Duid,
  duidTypes,
  ElapsedTimeOption,
  EnterpriseDuid,
  formatIPv6,
  IAAddressOption,
  IANAOption,
  IAPDOption,
  IAPrefixOption,
  IATAOption,
  InfMaxRTOption,
  InterfaceIdOption,
  LinkLayerDuid,
  LinkLayerTimeDuid,
  type Message,
  messageTypes,
  type Option,
  OptionRequestOption,
  optionTypes,
  PreferenceOption,
  RapidCommitOption,
  ReconfigureAcceptOption,
  ReconfigureMessageOption,
  RelayForwardMessage,
  RelayMessageOption,
  RelayReplyMessage,
  ServerIdOption,
  ServerUnicastOption,
  SolMaxRTOption,
  StatusCodeOption,
  UnknownDuid,
  UnknownMessage,
  UnknownOption,
  UserClassOption,
  UuidDuid,
  VendorClassOption,
  VendorSpecificInformationOption,
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
  ntpSubOptionTypes,
  PDExcludeOption,
  PosixTimezoneOption,
  RecursiveNameServersOption,
  RelayIdOption,
  RemoteIdOption,
  S46BROption,
  S46DMROption,
  S46LWContainerOption,
  S46MapEContainerOption,
  S46MapTContainerOption,
  S46PortParametersOption,
  S46RuleOption,
  S46V4V6BindingOption,
  SIPServersAddressListOption,
  SIPServersDomainNameListOption,
  SNTPServersOption,
  SubscriberIdOption,
  TZDBTimezoneOption,
} from "../../src/protocol/options/all.ts";

/** Deepest relay nesting the message arbitraries generate (relay in relay in relay). */
export const MAX_RELAY_DEPTH = 3;

/** Unsigned integer arbitraries. */
export const u8: fc.Arbitrary<number> = fc.integer({ min: 0, max: 0xff });
/** Unsigned 16-bit integers. */
export const u16: fc.Arbitrary<number> = fc.integer({ min: 0, max: 0xffff });
/** Unsigned 24-bit integers (transaction ids). */
export const u24: fc.Arbitrary<number> = fc.integer({ min: 0, max: 0xffffff });
/** Unsigned 32-bit integers, biased to the edges (0, INFINITY). */
export const u32: fc.Arbitrary<number> = fc.oneof(
  { arbitrary: fc.integer({ min: 0, max: 0xffffffff }), weight: 4 },
  { arbitrary: fc.constantFrom(0, 1, 0x7fffffff, 0x80000000, 0xffffffff), weight: 1 },
);

/** Byte strings of at most `max` bytes. */
export function bytes(max = 24, min = 0): fc.Arbitrary<Uint8Array> {
  return fc.uint8Array({ minLength: min, maxLength: max });
}

/** Canonical IPv6 address text, biased towards addresses with zero runs and special forms. */
export const ipv6: fc.Arbitrary<string> = fc.oneof(
  fc.uint8Array({ minLength: 16, maxLength: 16 }),
  // Mostly-zero addresses exercise the `::` compression (and the ::ffff:a.b.c.d form).
  fc.tuple(
    fc.uint8Array({ minLength: 16, maxLength: 16 }),
    fc.uint8Array({ minLength: 16, maxLength: 16 }),
  )
    .map(([v, mask]) => v.map((b, i) => (mask[i] & 1 ? b : 0))),
  fc.constantFrom(
    "::",
    "::1",
    "2001:db8::1",
    "fe80::1",
    "ff02::1:2",
    "::ffff:192.0.2.1",
  ).map((t) => t),
).map((v) => (typeof v === "string" ? v : formatIPv6(v)));

/** A DNS label: 1-63 printable ASCII characters other than `.` and space. */
export const label: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,14}[a-z0-9])?$/), weight: 5 },
  {
    arbitrary: fc.string({
      unit: fc.integer({ min: 0x21, max: 0x7e }).filter((c) => c !== 0x2e).map((c) =>
        String.fromCharCode(c)
      ),
      minLength: 1,
      maxLength: 63,
    }),
    weight: 1,
  },
);

/** An ASCII domain name (no trailing dot) of at most 255 wire bytes; may be "" (the root). */
export const domainName: fc.Arbitrary<string> = fc.array(label, { minLength: 0, maxLength: 4 })
  .map((labels) => labels.join("."))
  .filter((name) => (name === "" ? 1 : name.length + 2) <= 255);

/** A non-empty domain name. */
export const nonRootDomainName: fc.Arbitrary<string> = domainName.filter((n) => n !== "");

/** DUIDs of every registered type plus unknown types kept raw. */
export const duid: fc.Arbitrary<Duid> = fc.oneof(
  fc.tuple(u16, u32, bytes(16)).map(([hw, t, a]) => new LinkLayerTimeDuid(hw, t, a)),
  fc.tuple(u32, bytes(16)).map(([en, id]) => new EnterpriseDuid(en, id)),
  fc.tuple(u16, bytes(16)).map(([hw, a]) => new LinkLayerDuid(hw, a)),
  bytes(16, 16).map((u) => new UuidDuid(u)),
  fc.tuple(u16.filter((t) => !duidTypes.has(t)), bytes(16)).map(([t, d]) => new UnknownDuid(t, d)),
);

/** An option code that no class is registered for (checked when generated). */
export const unknownOptionCode: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(0, 10, 35, 200, 1000, 65535),
  u16,
).filter((c) => !optionTypes.has(c));

/** An option of an unregistered code, kept raw. */
export const unknownOption: fc.Arbitrary<Option> = fc.tuple(unknownOptionCode, bytes(32)).map(
  ([c, d]) => new UnknownOption(c, d),
);

/** Any code 0-65535 with raw data (vendor sub-options use their own code space). */
const rawOption = fc.tuple(u16, bytes(16)).map(([c, d]) => new UnknownOption(c, d));

/**
 * A UTF-8 encodable string (whole code points, no lone surrogates); sometimes starting with
 * U+FEFF, which a decoder must not strip as a byte-order mark.
 */
export const utf8Text: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.string({ maxLength: 20 }), weight: 8 },
  { arbitrary: fc.string({ unit: "binary", maxLength: 10 }), weight: 4 },
  { arbitrary: fc.string({ maxLength: 4 }).map((t) => "\uFEFF" + t), weight: 1 },
);

/** Options without sub-options (core RFC 8415 plus registered extensions). */
export function leafOptionArbs(): fc.Arbitrary<Option>[] {
  return [
    duid.map((d) => new ClientIdOption(d)),
    duid.map((d) => new ServerIdOption(d)),
    fc.array(u16, { maxLength: 8 }).map((c) => new OptionRequestOption(c)),
    u8.map((p) => new PreferenceOption(p)),
    u16.map((t) => new ElapsedTimeOption(t)),
    fc.tuple(u8, u8, u8, bytes(8, 8), bytes(24)).map(([p, a, r, rd, info]) =>
      new AuthenticationOption(p, a, r, rd, info)
    ),
    ipv6.map((a) => new ServerUnicastOption(a)),
    fc.tuple(u16, utf8Text).map(([c, m]) => new StatusCodeOption(c, m)),
    fc.constant(null).map(() => new RapidCommitOption()),
    fc.array(bytes(12), { maxLength: 4 }).map((c) => new UserClassOption(c)),
    fc.tuple(u32, fc.array(bytes(12), { maxLength: 4 })).map(([en, c]) =>
      new VendorClassOption(en, c)
    ),
    fc.tuple(u32, fc.array(rawOption, { maxLength: 4 })).map(([en, o]) =>
      new VendorSpecificInformationOption(en, o)
    ),
    bytes(24).map((d) => new InterfaceIdOption(d)),
    u8.map((t) => new ReconfigureMessageOption(t)),
    fc.constant(null).map(() => new ReconfigureAcceptOption()),
    u32.map((v) => new SolMaxRTOption(v)),
    u32.map((v) => new InfMaxRTOption(v)),
    unknownOption,
    ...extensionOptionArbs(),
  ];
}

/** Dotted-quad IPv4 text as the S46 options print it. */
export const ipv4: fc.Arbitrary<string> = fc.tuple(u8, u8, u8, u8).map((b) => b.join("."));

/** An IPv6 prefix length and a prefix text that is zero beyond ceil(length / 8) octets. */
export const prefix6: fc.Arbitrary<[number, string]> = fc.tuple(
  fc.integer({ min: 0, max: 128 }),
  fc.uint8Array({ minLength: 16, maxLength: 16 }),
).map(([length, b]) => {
  b.fill(0, (length + 7) >> 3);
  return [length, formatIPv6(b)];
});

/** Latin-1 text (one byte per character), as the timezone options carry. */
const latin1: fc.Arbitrary<string> = fc.string({
  unit: u8.map((c) => String.fromCharCode(c)),
  maxLength: 24,
});

/** NTP server sub-options (RFC 5908) including sub-option codes without a class. */
const ntpSubOption: fc.Arbitrary<Option> = fc.oneof(
  ipv6.map((a) => new NTPServerAddressSubOption(a)),
  ipv6.map((a) => new NTPMulticastAddressSubOption(a)),
  domainName.map((n) => new NTPServerFQDNSubOption(n)),
  fc.tuple(u16.filter((c) => !ntpSubOptionTypes.has(c)), bytes(8)).map(([c, d]) =>
    new UnknownOption(c, d)
  ),
);

/**
 * Arbitraries for the extension options without sub-options (registered by `options/all.ts`):
 * SIP, DNS, SNTP, remote-id, subscriber-id, client FQDN, timezones, echo request, leasequery
 * leaves, relay-id, NTP, AFTR name, PD exclude, link-layer id and the S46 leaves.
 */
export function extensionOptionArbs(): fc.Arbitrary<Option>[] {
  return [
    fc.array(domainName, { maxLength: 3 }).map((n) => new SIPServersDomainNameListOption(n)),
    fc.array(ipv6, { maxLength: 3 }).map((a) => new SIPServersAddressListOption(a)),
    fc.array(ipv6, { maxLength: 3 }).map((a) => new RecursiveNameServersOption(a)),
    fc.array(domainName, { maxLength: 3 }).map((n) => new DomainSearchListOption(n)),
    fc.array(ipv6, { maxLength: 3 }).map((a) => new SNTPServersOption(a)),
    fc.tuple(u32, bytes(16)).map(([en, id]) => new RemoteIdOption(en, id)),
    bytes(16).map((d) => new SubscriberIdOption(d)),
    fc.oneof(
      fc.tuple(u8, nonRootDomainName, fc.boolean()).map(([f, n, abs]) =>
        new ClientFQDNOption(f, n, abs)
      ),
      u8.map((f) => new ClientFQDNOption(f, "", false)),
      u8.map((f) => new ClientFQDNOption(f, "", true)),
    ),
    latin1.map((t) => new PosixTimezoneOption(t)),
    latin1.map((t) => new TZDBTimezoneOption(t)),
    fc.array(u16, { maxLength: 6 }).map((c) => new EchoRequestOption(c)),
    u32.map((t) => new CLTTimeOption(t)),
    fc.array(ipv6, { maxLength: 3 }).map((a) => new LQClientLinkOption(a)),
    duid.map((d) => new RelayIdOption(d)),
    fc.array(ntpSubOption, { maxLength: 3 }).map((o) => new NTPServersOption(o)),
    domainName.map((n) => new AFTRNameOption(n)),
    fc.tuple(u8, bytes(16, 1)).map(([l, id]) => new PDExcludeOption(l, id)),
    fc.tuple(u16, bytes(16)).map(([t, a]) => new LinkLayerIdOption(t, a)),
    ipv6.map((a) => new S46BROption(a)),
    prefix6.map(([l, p]) => new S46DMROption(l, p)),
    fc.tuple(u8, u8, u16).map(([o, l, p]) => new S46PortParametersOption(o, l, p)),
  ];
}

/** Arbitraries for options and messages that refer to each other (relay messages, IAs). */
export interface CodecArbitraries {
  /** Any option, containers nested a few levels. */
  option: fc.Arbitrary<Option>;
  /** Any message of a registered type, relays nested up to {@link MAX_RELAY_DEPTH}. */
  message: fc.Arbitrary<Message>;
  /** Client/server messages only (types 1-11, 14-17). */
  clientServer: fc.Arbitrary<Message>;
  /** Relay-forward / relay-reply, each wrapping a nested message. */
  relay: fc.Arbitrary<Message>;
  /** Messages of unregistered type codes, kept raw. */
  unknownMessage: fc.Arbitrary<Message>;
  /** Anything: registered types and unknown types. */
  anyMessage: fc.Arbitrary<Message>;
}

/** Build the recursive arbitraries (call after every extension module has been imported). */
export function codecArbitraries(): CodecArbitraries {
  const leaves = leafOptionArbs();
  const clientServerCtors = [...messageTypes.values()].filter((t) =>
    (t as unknown as { prototype: object }).prototype instanceof ClientServerMessage
  ) as unknown as (new (xid: number, options: Option[]) => Message)[];

  // Options nested inside IAs: IA addresses / prefixes with status codes, up to 3 levels.
  const { option } = fc.letrec<{ option: Option; sub: Option[]; relayData: Message }>((tie) => ({
    option: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      ...leaves,
      fc.tuple(u32, u32, u32, tie("sub")).map(([i, a, b, o]) => new IANAOption(i, a, b, o)),
      fc.tuple(u32, tie("sub")).map(([i, o]) => new IATAOption(i, o)),
      fc.tuple(ipv6, u32, u32, tie("sub")).map(([a, p, v, o]) => new IAAddressOption(a, p, v, o)),
      fc.tuple(u32, u32, u32, tie("sub")).map(([i, a, b, o]) => new IAPDOption(i, a, b, o)),
      fc.tuple(u32, u32, u8, ipv6, tie("sub")).map(([p, v, l, a, o]) =>
        new IAPrefixOption(p, v, l, a, o)
      ),
      // Extension containers.
      fc.tuple(u8, ipv6, tie("sub")).map(([t, a, o]) => new LQQueryOption(t, a, o)),
      tie("sub").map((o) => new ClientDataOption(o)),
      fc.tuple(u8, u8, u8, ipv4, prefix6, tie("sub")).map(([f, ea, l4, v4, [l6, p6], o]) =>
        new S46RuleOption(f, ea, l4, v4, l6, p6, o)
      ),
      fc.tuple(ipv4, prefix6, tie("sub")).map(([v4, [l6, p6], o]) =>
        new S46V4V6BindingOption(v4, l6, p6, o)
      ),
      tie("sub").map((o) => new S46MapEContainerOption(o)),
      tie("sub").map((o) => new S46MapTContainerOption(o)),
      tie("sub").map((o) => new S46LWContainerOption(o)),
      fc.tuple(ipv6, tie("relayData")).map(([peer, m]) => new LQRelayDataOption(peer, m)),
    ),
    relayData: fc.tuple(u8, ipv6, ipv6, tie("sub")).map(([h, l, p, o]) =>
      new RelayForwardMessage(h, l, p, o) as Message
    ),
    sub: fc.array(tie("option"), { maxLength: 3, depthIdentifier: "options" }),
  }));

  const options = fc.array(option, { maxLength: 6 });

  const clientServer = fc.tuple(fc.constantFrom(...clientServerCtors), u24, options).map((
    [ctor, xid, opts],
  ) => new ctor(xid, opts));

  const unknownMessage = fc.tuple(
    u8.filter((t) => !messageTypes.has(t)),
    bytes(40),
  ).map(([t, d]) => new UnknownMessage(t, d) as Message);

  // A relay message wrapping `inner` (one level per call).
  const wrap = (inner: fc.Arbitrary<Message>): fc.Arbitrary<Message> =>
    fc.tuple(
      fc.boolean(),
      u8,
      ipv6,
      ipv6,
      options,
      fc.option(inner, { nil: undefined, freq: 6 }),
      fc.nat({ max: 6 }),
    ).map(([forward, hop, link, peer, opts, inner, at]) => {
      const all = [...opts];
      if (inner) all.splice(Math.min(at, all.length), 0, new RelayMessageOption(inner));
      return forward
        ? new RelayForwardMessage(hop, link, peer, all)
        : new RelayReplyMessage(hop, link, peer, all);
    });

  const relayLevels: fc.Arbitrary<Message>[] = [];
  let inner: fc.Arbitrary<Message> = fc.oneof(
    { arbitrary: clientServer, weight: 5 },
    { arbitrary: unknownMessage, weight: 1 },
  );
  for (let level = 1; level <= MAX_RELAY_DEPTH; level++) {
    inner = wrap(inner);
    relayLevels.push(inner);
  }
  const relay = fc.oneof(...relayLevels);
  const message = fc.oneof({ arbitrary: clientServer, weight: 3 }, { arbitrary: relay, weight: 2 });
  const anyMessage = fc.oneof(
    { arbitrary: message, weight: 6 },
    { arbitrary: unknownMessage, weight: 1 },
  );
  return { option, message, clientServer, relay, unknownMessage, anyMessage };
}
