/**
 * Client messages as a test client builds them (`dhcpkit query` sends them, `ctl explain` asks
 * the server about them): a client message of each request type with the options
 * RFC 8415 gives it (Server Identifier only where the server must be named, IAs with the given
 * addresses and prefixes), wrapped in the Relay-Forward a relay agent would send.
 * @module
 */

import {
  ClientIdOption,
  ConfirmMessage,
  type Duid,
  ElapsedTimeOption,
  IAAddressOption,
  IANAOption,
  IAPDOption,
  IAPrefixOption,
  InformationRequestMessage,
  type IPv6Prefix,
  type Message,
  type Option,
  OptionRequestOption,
  RapidCommitOption,
  RebindMessage,
  RelayForwardMessage,
  RelayMessageOption,
  RelaySourcePortOption,
  ReleaseMessage,
  RenewMessage,
  RequestMessage,
  ServerIdOption,
  SolicitMessage,
} from "../protocol/mod.ts";

/** The client request types a test client builds. */
export const CLIENT_REQUEST_TYPES = [
  "solicit",
  "request",
  "renew",
  "rebind",
  "release",
  "confirm",
  "information-request",
] as const;

/** A client request type (see {@link CLIENT_REQUEST_TYPES}). */
export type QueryType = (typeof CLIENT_REQUEST_TYPES)[number];

/** The IAID of the IA_NA and IA_PD query sends. */
export const QUERY_IAID = 1;

/** The request types that must name the server (Server Identifier). */
export const NEEDS_SERVER_ID: ReadonlySet<QueryType> = new Set(["request", "renew", "release"]);

/** The request types whose IAs carry what the client holds (or asks for). */
export const CARRIES_LEASES: ReadonlySet<QueryType> = new Set([
  "request",
  "renew",
  "rebind",
  "release",
  "confirm",
]);

/** What goes into the client message. */
export interface ClientMessageSpec {
  /** The request type. */
  type: QueryType;
  /** The client's DUID. */
  duid: Duid;
  /** The server's DUID (request, renew, release). */
  serverDuid?: Duid;
  /** Addresses for the IA_NA. */
  addresses: readonly string[];
  /** Prefixes for the IA_PD. */
  prefixes: readonly IPv6Prefix[];
  /** IAs to send as they are (e.g. those an Advertise offered), instead of building them. */
  ias?: readonly Option[];
  /** Option codes for the Option Request option. */
  oro: readonly number[];
  /** Ask for rapid commit (solicit). */
  rapidCommit: boolean;
  /** Transaction id (random when absent). */
  transactionId?: number;
}

/** A random 24-bit transaction id. */
export function randomTransactionId(): number {
  return crypto.getRandomValues(new Uint8Array(3)).reduce((a, b) => a * 256 + b, 0);
}

/** The IA_NA and IA_PD of `spec`: only the non-empty ones for release and confirm. */
function iaOptions(spec: ClientMessageSpec): Option[] {
  if (spec.ias) return [...spec.ias];
  const addresses = spec.addresses.map((a) => new IAAddressOption(a, 0, 0));
  const prefixes = spec.prefixes.map((p) => new IAPrefixOption(0, 0, p.length, p.address));
  const onlyHeld = spec.type === "release" || spec.type === "confirm";
  const out: Option[] = [];
  if (addresses.length > 0 || !onlyHeld) out.push(new IANAOption(QUERY_IAID, 0, 0, addresses));
  if (prefixes.length > 0 || !onlyHeld) out.push(new IAPDOption(QUERY_IAID, 0, 0, prefixes));
  return out;
}

/** The client message of `spec`. */
export function clientMessage(spec: ClientMessageSpec): Message {
  const xid = spec.transactionId ?? randomTransactionId();
  const options: Option[] = [new ClientIdOption(spec.duid)];
  if (NEEDS_SERVER_ID.has(spec.type)) {
    if (!spec.serverDuid) throw new Error(`a ${spec.type} needs the server's DUID`);
    options.push(new ServerIdOption(spec.serverDuid));
  }
  const asks = spec.type !== "release" && spec.type !== "confirm";
  if (asks) options.push(new OptionRequestOption([...spec.oro]));
  options.push(new ElapsedTimeOption(0));
  if (spec.type !== "information-request") options.push(...iaOptions(spec));
  switch (spec.type) {
    case "solicit":
      if (spec.rapidCommit) options.push(new RapidCommitOption());
      return new SolicitMessage(xid, options);
    case "request":
      return new RequestMessage(xid, options);
    case "renew":
      return new RenewMessage(xid, options);
    case "rebind":
      return new RebindMessage(xid, options);
    case "release":
      return new ReleaseMessage(xid, options);
    case "confirm":
      return new ConfirmMessage(xid, options);
    case "information-request":
      return new InformationRequestMessage(xid, options);
  }
}

/**
 * The Relay-Forward around `message`: link address `linkAddress`, peer `fe80::1`, a Relay
 * Source Port option (so the answer comes back to our port) and the relay options given.
 */
export function relayForward(
  message: Message,
  linkAddress: string,
  relayOptions: readonly Option[],
): RelayForwardMessage {
  return new RelayForwardMessage(0, linkAddress, "fe80::1", [
    new RelaySourcePortOption(0),
    ...relayOptions,
    new RelayMessageOption(message),
  ]);
}

/** The IA_NA and IA_PD options of an answer that hold at least one address or prefix. */
export function offeredIas(answer: Message): Option[] {
  const out: Option[] = [];
  for (const ia of answer.getOptions(IANAOption)) {
    const held = ia.options.filter((o) => o instanceof IAAddressOption && o.validLifetime > 0);
    if (held.length > 0) out.push(new IANAOption(ia.iaid, 0, 0, held));
  }
  for (const ia of answer.getOptions(IAPDOption)) {
    const held = ia.options.filter((o) => o instanceof IAPrefixOption && o.validLifetime > 0);
    if (held.length > 0) out.push(new IAPDOption(ia.iaid, 0, 0, held));
  }
  return out;
}
