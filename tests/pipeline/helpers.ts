/**
 * Shared helpers for pipeline and handler tests: a server DUID, request builders, packets and
 * a runner that returns the parsed reply.
 * @module
 */

import { loadConfigText } from "../../src/config/mod.ts";
import { buildHandlerTree, installBuiltins } from "../../src/handlers/mod.ts";
import {
  type Filter,
  type Handler,
  type HandleResult,
  type IncomingPacket,
  MessageHandler,
  type PipelineOptions,
  StatisticsStore,
} from "../../src/pipeline/mod.ts";
import {
  ClientIdOption,
  type ClientServerMessage,
  EchoRequestOption,
  ElapsedTimeOption,
  IAAddressOption,
  IANAOption,
  IAPDOption,
  IAPrefixOption,
  InterfaceIdOption,
  LinkLayerDuid,
  type Message,
  type Option,
  OptionRequestOption,
  parseMessage,
  RelayForwardMessage,
  RelayMessageOption,
  RelayReplyMessage,
  serializeMessage,
  ServerIdOption,
  SolicitMessage,
  UnknownOption,
} from "../../src/protocol/mod.ts";

installBuiltins();

/** The server's DUID used by every test pipeline. */
export const SERVER_DUID = new LinkLayerDuid(1, new Uint8Array([0x02, 0, 0, 0, 0, 0x01]));
/** Another server's DUID. */
export const OTHER_DUID = new LinkLayerDuid(1, new Uint8Array([0x02, 0, 0, 0, 0, 0x99]));
/** The test client's DUID. */
export const CLIENT_DUID = new LinkLayerDuid(
  1,
  new Uint8Array([0x00, 0x11, 0x22, 0x33, 0x44, 0x55]),
);

/** Client ID option of the test client. */
export const clientId = (): ClientIdOption => new ClientIdOption(CLIENT_DUID);
/** Server ID option of the test server. */
export const serverId = (): ServerIdOption => new ServerIdOption(SERVER_DUID);
/** An ORO asking for `codes`. */
export const oro = (...codes: number[]): OptionRequestOption => new OptionRequestOption(codes);
/** An Elapsed Time option (hundredths of a second). */
export const elapsed = (t: number): ElapsedTimeOption => new ElapsedTimeOption(t);

/** An IA_NA, optionally with one address. */
export function iana(iaid: number, address?: string, preferred = 3600, valid = 7200): IANAOption {
  return new IANAOption(
    iaid,
    0,
    0,
    address ? [new IAAddressOption(address, preferred, valid)] : [],
  );
}

/** An IA_PD, optionally with one prefix. */
export function iapd(
  iaid: number,
  prefix?: string,
  length = 56,
  preferred = 3600,
  valid = 7200,
): IAPDOption {
  return new IAPDOption(
    iaid,
    0,
    0,
    prefix ? [new IAPrefixOption(preferred, valid, length, prefix)] : [],
  );
}

/** Where and how a packet arrives. */
export interface PacketOptions {
  /** Sender address (default a link-local client). */
  source?: string;
  /** Sender port (default 546). */
  sourcePort?: number;
  /** Interface name (default `eth0`). */
  interfaceName?: string;
  /** Listener link address (default `2001:db8:1::1`). */
  linkAddress?: string;
  /** Multicast (default true). */
  multicast?: boolean;
  /** TCP (default false). */
  tcp?: boolean;
  /** Listener marks (default `unmarked`). */
  marks?: string[];
}

/** An incoming packet carrying `message` (or raw bytes). */
export function packet(message: Message | Uint8Array, o: PacketOptions = {}): IncomingPacket {
  return {
    data: message instanceof Uint8Array ? message : serializeMessage(message),
    source: o.source ?? "fe80::211:22ff:fe33:4455",
    sourcePort: o.sourcePort ?? 546,
    interfaceName: o.interfaceName ?? "eth0",
    linkAddress: o.linkAddress ?? "2001:db8:1::1",
    receivedOverMulticast: o.multicast ?? true,
    receivedOverTcp: o.tcp ?? false,
    marks: o.marks ?? ["unmarked"],
  };
}

/** Wrap `message` in a relay-forward (as a relay agent would). */
export function relayed(
  message: Message,
  linkAddress: string,
  peerAddress = "fe80::211:22ff:fe33:4455",
  options: Option[] = [],
  hopCount = 0,
): RelayForwardMessage {
  return new RelayForwardMessage(hopCount, linkAddress, peerAddress, [
    ...options,
    new RelayMessageOption(message),
  ]);
}

/** Build a pipeline from handlers and filters. */
export function pipeline(
  handlers: Handler[] = [],
  filters: Filter[] = [],
  extra: Partial<PipelineOptions> = {},
): MessageHandler {
  return new MessageHandler({ serverDuid: SERVER_DUID, handlers, filters, ...extra });
}

/** Build a pipeline from configuration text (filters and handlers only; no host checks). */
export function pipelineFromConfig(
  text: string,
  extra: Partial<PipelineOptions> = {},
): MessageHandler {
  const result = loadConfigText(text, "test.conf", { hostChecks: false });
  if (!result.config) {
    throw new Error(result.errors.map((e) => `${e.line}: ${e.message}`).join("\n"));
  }
  const tree = buildHandlerTree(result.config.handlers, {
    configDir: "/tmp",
    serverDuid: SERVER_DUID,
    root: result.config.root,
  });
  return pipeline(tree.handlers, tree.filters, extra);
}

/** Result of {@link run}. */
export interface RunResult {
  /** The pipeline's result. */
  result: HandleResult;
  /** The first outgoing message, parsed (as sent: possibly a relay-reply chain). */
  sent?: Message;
  /** The innermost client message of the first reply. */
  reply?: ClientServerMessage;
  /** The relay-reply layers of the first reply, outermost first. */
  relayReplies: RelayReplyMessage[];
  /** The statistics store used. */
  stats: StatisticsStore;
}

/**
 * The result of a request handled by a pipeline without lookups to wait for (a promise there is
 * a mistake of the test).
 */
export function settled(result: HandleResult | Promise<HandleResult>): HandleResult {
  if (result instanceof Promise) throw new TypeError("the pipeline waits for a lookup");
  return result;
}

/** Feed one packet to a pipeline and parse what it sends back. */
export function run(
  handler: MessageHandler,
  message: Message | Uint8Array,
  o: PacketOptions = {},
  stats: StatisticsStore = new StatisticsStore(),
): RunResult {
  const result = settled(handler.handle(packet(message, o), stats));
  const out: RunResult = { result, relayReplies: [], stats };
  if (result.replies.length === 0) return out;
  const sent = parseMessage(result.replies[0].data);
  out.sent = sent;
  let inner: Message = sent;
  while (inner instanceof RelayReplyMessage) {
    out.relayReplies.push(inner);
    inner = inner.getOption(RelayMessageOption)!.message;
  }
  out.reply = inner as ClientServerMessage;
  return out;
}

/** Option codes of a message, in order. */
export function codes(message: { options: Option[] }): number[] {
  return message.options.map((o) => o.code);
}

/** Interface-ID data of a relay message as text, if any. */
export function interfaceIdText(
  message: RelayForwardMessage | RelayReplyMessage,
): string | undefined {
  const option = message.getOption(InterfaceIdOption);
  return option ? new TextDecoder().decode(option.data) : undefined;
}

/**
 * The reviewer's packet: an inner relay layer carrying an unknown option of `size` bytes and an
 * Echo Request for it, around a Solicit with five IA_NAs, inside a second relay layer.
 */
export function craftedRelayForward(size?: number): Uint8Array {
  const solicit = new SolicitMessage(0x4242, [
    clientId(),
    elapsed(0),
    iana(1),
    iana(2),
    iana(3),
    iana(4),
    iana(5),
  ]);
  // Without a size: as large as still fits one UDP datagram.
  size ??= 65527 - 34 - 4 - 34 - 6 - 4 - 4 - serializeMessage(solicit).length;
  const inner = new RelayForwardMessage(0, "2001:db8:1::1", "fe80::1", [
    new EchoRequestOption([9999]),
    new UnknownOption(9999, new Uint8Array(size)),
    new RelayMessageOption(solicit),
  ]);
  const outer = new RelayForwardMessage(1, "2001:db8:2::1", "2001:db8:1::1", [
    new RelayMessageOption(inner),
  ]);
  return serializeMessage(outer);
}

/**
 * A relay-forward whose answer cannot be sent: the inner relay's Interface-ID is so large that
 * the inner relay-reply (Interface-ID echoed, Advertise with five unanswered IA_NAs, larger than
 * the Solicit) no longer fits the outer relay-reply's Relay Message option.
 */
export function unsendableRelayForward(): Uint8Array {
  const solicit = new SolicitMessage(0x4343, [
    clientId(),
    elapsed(0),
    iana(1),
    iana(2),
    iana(3),
    iana(4),
    iana(5),
  ]);
  const size = 65527 - 34 - 4 - 34 - 4 - 4 - serializeMessage(solicit).length;
  const inner = new RelayForwardMessage(0, "2001:db8:1::1", "fe80::1", [
    new InterfaceIdOption(new Uint8Array(size)),
    new RelayMessageOption(solicit),
  ]);
  const outer = new RelayForwardMessage(1, "2001:db8:2::1", "2001:db8:1::1", [
    new RelayMessageOption(inner),
  ]);
  return serializeMessage(outer);
}
