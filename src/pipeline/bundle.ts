/**
 * The TransactionBundle: everything handlers know and change about one request.
 * @module
 */

import type { ExplainRecorder } from "./explain.ts";
import {
  addressKindOfText,
  ClientIdOption,
  type ClientServerMessage,
  type Duid,
  hasPrototype,
  type Message,
  MsgType,
  type Option,
  type RelayForwardMessage,
  RelayMessage,
  RelayMessageOption,
  RelayReplyMessage,
} from "../protocol/mod.ts";

/** True when a link address identifies a link: not unspecified, loopback or link-local. */
function usableLinkAddress(address: string): boolean {
  const kind = addressKindOfText(address);
  return kind !== "unspecified" && kind !== "loopback" && kind !== "link-local";
}

/** One request on its way through the pipeline. */
export class TransactionBundle {
  /** The request without relay layers. */
  readonly request: ClientServerMessage;
  /** The relay-forward layers, closest to the client first; the last is the server's own wrapper. */
  readonly incomingRelayMessages: RelayForwardMessage[];
  // The sets and the map below are made on first use: most requests never touch some of them
  // (a request without IAs has nothing to mark handled, marks matter only to filters), and each
  // is a few allocations per request for the garbage collector.
  /** The listener's marks, until {@link TransactionBundle.marks} makes the set. */
  #initialMarks: Iterable<string>;
  #marks?: Set<string>;
  #handled?: Set<Option>;
  #handlerData?: Map<unknown, unknown>;

  /** Marks from the listener and from handlers. */
  get marks(): Set<string> {
    return this.#marks ??= new Set(this.#initialMarks);
  }

  /** Request options (IA_NA, IA_TA, IA_PD, LQ_QUERY) that a handler has answered. */
  get handledOptions(): Set<Option> {
    return this.#handled ??= new Set();
  }

  /** Free storage for handlers, keyed by anything they like. */
  get handlerData(): Map<unknown, unknown> {
    return this.#handlerData ??= new Map();
  }

  /** Set by handlers (server-unicast) to permit unicast from this client. */
  allowUnicast = false;
  /** May start as true from the configuration; handlers may only turn it off. */
  allowRapidCommit: boolean;
  /** The responses; the first is {@link TransactionBundle.response}, more only for bulk leasequery. */
  responses: ClientServerMessage[] = [];
  /**
   * Further responses produced lazily (bulk leasequery streams). `close()`, when present,
   * releases what producing them holds (a store cursor) whether or not iteration ever started;
   * whoever drops the responses unsent must call it.
   */
  moreResponses?: (Iterable<ClientServerMessage> | AsyncIterable<ClientServerMessage>) & {
    close?(): void;
  };
  /** The relay-reply layers mirroring {@link TransactionBundle.incomingRelayMessages}. */
  outgoingRelayMessages: RelayReplyMessage[] = [];
  /**
   * Set only while the request is explained (a dry run): handlers with something to report
   * (the source they asked) tell it here, and skip side effects (a rate-limit token).
   */
  explain?: ExplainRecorder;

  /**
   * Create a bundle from the message as wrapped by the server (a relay-forward whose peer is the
   * sender, possibly around further relay layers).
   */
  constructor(
    /** The received message including the server's internal relay wrapper. */
    readonly incomingMessage: Message,
    /** The client (or relay) used multicast to reach us. */
    readonly receivedOverMulticast: boolean,
    /** The message came over a TCP connection. */
    readonly receivedOverTcp = false,
    allowRapidCommit = false,
    marks: Iterable<string> = ["unmarked"],
  ) {
    this.allowRapidCommit = allowRapidCommit;
    this.#initialMarks = marks;
    const relays: RelayForwardMessage[] = [];
    let current: Message = incomingMessage;
    // A type code rather than `instanceof` (V8's generic path for an imported class).
    while (current.type === MsgType.RelayForward) {
      const relay = current as RelayForwardMessage;
      relays.push(relay);
      const inner = relay.getOption(RelayMessageOption);
      if (!inner) throw new TypeError("relay-forward without a relay-message option");
      current = inner.message;
    }
    relays.reverse();
    this.incomingRelayMessages = relays;
    this.request = current as ClientServerMessage;
  }

  /** The first response (undefined until the pipeline creates it). */
  get response(): ClientServerMessage {
    return this.responses[0];
  }

  /** Replace the first response. */
  set response(message: ClientServerMessage) {
    this.responses[0] = message;
  }

  /** Add a mark. */
  addMark(mark: string): void {
    this.marks.add(mark);
  }

  /** Whether a handler has marked the request option `option` answered (allocates nothing). */
  isHandled(option: Option): boolean {
    return this.#handled !== undefined && this.#handled.has(option);
  }

  /** Record that a request option has been answered. */
  markHandled(option: Option): void {
    this.handledOptions.add(option);
  }

  /** Request options of class `type` that no handler has answered yet. */
  getUnhandledOptions<T extends Option>(type: abstract new (...args: never[]) => T): T[] {
    const proto: object = type.prototype;
    const out: T[] = [];
    for (let i = this.#nextUnhandled(proto, 0); i >= 0; i = this.#nextUnhandled(proto, i + 1)) {
      out.push(this.request.options[i] as T);
    }
    return out;
  }

  /** Whether the request has an option of class `type` that no handler has answered yet. */
  hasUnhandledOption(type: abstract new (...args: never[]) => Option): boolean {
    return this.#nextUnhandled(type.prototype, 0) >= 0;
  }

  /** Index of the first request option from `from` on with prototype `proto` not yet answered, or -1. */
  #nextUnhandled(proto: object, from: number): number {
    const options = this.request.options, handled = this.#handled;
    for (let i = from; i < options.length; i++) {
      const o = options[i];
      if (hasPrototype(o, proto) && !handled?.has(o)) return i;
    }
    return -1;
  }

  /** The client's DUID, if the request has a Client ID. */
  get clientDuid(): Duid | undefined {
    return this.request.getOption(ClientIdOption)?.duid;
  }

  /**
   * The address identifying the client's link: for TCP the peer; otherwise the first relay
   * link-address (closest to the client) that is not unspecified, loopback or link-local; else `::`.
   */
  get linkAddress(): string {
    if (this.receivedOverTcp) {
      return this.incomingRelayMessages[this.incomingRelayMessages.length - 1].peerAddress;
    }
    for (const relay of this.incomingRelayMessages) {
      if (usableLinkAddress(relay.linkAddress)) return relay.linkAddress;
    }
    return "::";
  }

  /** Link addresses of every relay (including the server's own wrapper) that are not `::`. */
  get relays(): string[] {
    return this.incomingRelayMessages.map((r) => r.linkAddress).filter((a) => a !== "::");
  }

  /** The relay layers added by real relay agents (without the server's own wrapper). */
  get realRelays(): RelayForwardMessage[] {
    return this.incomingRelayMessages.slice(0, -1);
  }

  /** Build the relay-reply chain mirroring the incoming relay-forward chain. */
  createOutgoingRelayMessages(): void {
    const incoming = this.incomingRelayMessages;
    const outgoing: RelayReplyMessage[] = new Array(incoming.length);
    for (let i = 0; i < incoming.length; i++) outgoing[i] = replyLayer(incoming[i], []);
    this.outgoingRelayMessages = outgoing;
  }

  /** Wrap `response` in the outgoing relay chain (outermost = server's wrapper). */
  wrap(response: ClientServerMessage): RelayReplyMessage {
    if (this.outgoingRelayMessages.length === 0) throw new TypeError("no outgoing relay chain");
    return this.wrapInRelays(response, this.outgoingRelayMessages.length) as RelayReplyMessage;
  }

  /**
   * Wrap `response` in the first `layers` relay-reply layers of the outgoing chain (closest to
   * the client first); with none, `response` itself. The layers are copies with the wrapped
   * message in a Relay Message option after their other options.
   */
  wrapInRelays(response: ClientServerMessage, layers: number): Message {
    let inner: Message = response;
    for (let i = 0; i < layers; i++) {
      const relay = this.outgoingRelayMessages[i];
      const options: Option[] = [];
      const kept = relay.options;
      for (let k = 0; k < kept.length; k++) {
        if (!hasPrototype(kept[k], RelayMessageOption.prototype)) options.push(kept[k]);
      }
      options.push(new RelayMessageOption(inner));
      inner = replyLayer(relay, options);
    }
    return inner;
  }

  /** The first response wrapped in the relay chain. */
  get outgoingMessage(): RelayReplyMessage | undefined {
    return this.response ? this.wrap(this.response) : undefined;
  }

  /** A one-line summary for logs. */
  toString(): string {
    const duid = this.clientDuid?.toHex() ?? "unknown";
    const via = this.realRelays.map((r) => r.linkAddress === "::" ? "LDRA" : r.linkAddress);
    const server = this.incomingRelayMessages[this.incomingRelayMessages.length - 1];
    let text = `${this.request.name} from ${duid}${
      this.receivedOverTcp ? " over TCP" : ""
    } at ${server.peerAddress}`;
    if (via.length) text += ` via ${via.reverse().join(" -> ")}`;
    const marks = [...this.marks].filter((m) => m !== "unmarked");
    if (marks.length) text += ` with marks ${marks.map((m) => `'${m}'`).join(", ")}`;
    return text;
  }
}

/** A relay-reply layer with the hop count and addresses of `relay` (not formatted or parsed). */
function replyLayer(relay: RelayMessage, options: Option[]): RelayReplyMessage {
  const reply = new RelayReplyMessage(relay.hopCount, "::", "::", options);
  RelayMessage.copyAddresses(relay, reply);
  return reply;
}
