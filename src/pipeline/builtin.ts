/**
 * The handlers the server always runs: server and client identifiers, relay echo, unicast rules,
 * rapid commit, answers for IAs no handler took, and the missing status codes.
 * @module
 */

import {
  ClientIdOption,
  type ClientServerMessage,
  type Duid,
  EchoRequestOption,
  findOption,
  hasPrototype,
  IAAddressOption,
  IANAOption,
  IAPDOption,
  IAPrefixOption,
  IATAOption,
  InterfaceIdOption,
  messageOccurrence,
  MsgType,
  type Option,
  optionTypes,
  RapidCommitOption,
  type RelayForwardMessage,
  RelayMessageOption,
  type RelayReplyMessage,
  ReplyMessage,
  serializeMessage,
  ServerIdOption,
  StatusCode,
  StatusCodeOption,
  writeOptions,
  Writer,
} from "../protocol/mod.ts";
import { getLogger } from "@logtape/logtape";
import type { TransactionBundle } from "./bundle.ts";
import { CannotRespond, ForOtherServer, UseMulticast } from "./errors.ts";
import { CopyRelayOptionHandler, Handler, RelayHandler } from "./handler.ts";

const log = getLogger(["dhcpkit", "pipeline"]);

/** Puts our Server ID in every response and drops requests meant for another server. */
export class ServerIdHandler extends Handler {
  /** Answers every Information-request alike (see `treatsInformationRequestsAlike`). */
  static readonly informationRequestsAlike = true;

  readonly #option: ServerIdOption;

  /** Create the handler for the server's DUID. */
  constructor(readonly duid: Duid) {
    super();
    this.#option = new ServerIdOption(duid);
  }

  /** Drop requests naming another server, and those that must not name one at all. */
  override pre(bundle: TransactionBundle): void {
    const request = bundle.request;
    const serverId = request.getOption(ServerIdOption);
    if (!serverId) return;
    const type = request.type;
    if (type === MsgType.Solicit || type === MsgType.Confirm || type === MsgType.Rebind) {
      throw new CannotRespond(`${request.name} must not carry a Server Identifier`);
    }
    if (!serverId.duid.equals(this.duid)) {
      throw new ForOtherServer(`message is for server ${serverId.duid.toHex()}`);
    }
  }

  /** Our Server ID, placed first. */
  override handle(bundle: TransactionBundle): void {
    const options = bundle.response.options;
    for (let i = options.length - 1; i >= 0; i--) {
      if (hasPrototype(options[i], ServerIdOption.prototype)) options.splice(i, 1);
    }
    putFirst(options, this.#option);
  }
}

/**
 * Insert `option` at the front of `options`, moving the others up (what `unshift` does, without
 * the call into V8's C++ runtime that `unshift` makes).
 */
function putFirst(options: Option[], option: Option): void {
  for (let i = options.length; i > 0; i--) options[i] = options[i - 1];
  options[0] = option;
}

/** Copies the client's Client ID to the front of the response. */
export class ClientIdHandler extends Handler {
  /** Answers every Information-request alike (see `treatsInformationRequestsAlike`). */
  static readonly informationRequestsAlike = true;

  /** Copy the Client ID. */
  override handle(bundle: TransactionBundle): void {
    const clientId = bundle.request.getOption(ClientIdOption);
    if (!clientId) return;
    const options = bundle.response.options;
    if (!findOption(options, ClientIdOption)) putFirst(options, clientId);
  }
}

/** Echoes each relay's Interface ID in its relay-reply. */
export class InterfaceIdHandler extends CopyRelayOptionHandler {
  /** Create the handler. */
  constructor() {
    super(InterfaceIdOption.code);
  }
}

/** True when an IA option in a response carries the given failure status. */
function iaHasStatus(option: Option, code: number): boolean {
  const sub = (option as { options?: Option[] }).options;
  if (!sub) return false;
  for (let i = 0; i < sub.length; i++) {
    const o = sub[i];
    if (hasPrototype(o, STATUS) && (o as StatusCodeOption).statusCode === code) return true;
  }
  return false;
}

// Prototypes for the class tests of the handlers below: `hasPrototype` against these answers
// what `instanceof` does without V8's generic `Symbol.hasInstance` path (PROFILE.md, round ten).
const IANA = IANAOption.prototype;
const IATA = IATAOption.prototype;
const IAPD = IAPDOption.prototype;
const IAADDR = IAAddressOption.prototype;
const IAPREFIX = IAPrefixOption.prototype;
const STATUS = StatusCodeOption.prototype;

/** True when `o` is an IA_NA, IA_TA or IA_PD. */
function isIA(o: Option): boolean {
  return hasPrototype(o, IANA) || hasPrototype(o, IATA) || hasPrototype(o, IAPD);
}

/** True when `options` hold a Status Code option. */
function hasStatus(options: readonly Option[]): boolean {
  for (let i = 0; i < options.length; i++) if (hasPrototype(options[i], STATUS)) return true;
  return false;
}

/** Turns an Advertise into a Reply when the client asked for rapid commit and it is allowed. */
export class RapidCommitHandler extends Handler {
  /** Answers every Information-request alike (see `treatsInformationRequestsAlike`). */
  static readonly informationRequestsAlike = true;

  /** With `rejections`, rapid commit also happens when some IA is refused. */
  constructor(readonly rejections = false) {
    super();
  }

  /** Upgrade the response after every handler has answered. */
  override post(bundle: TransactionBundle): void {
    if (!bundle.allowRapidCommit) return;
    const request = bundle.request, response = bundle.response;
    if (request.type !== MsgType.Solicit || response.type !== MsgType.Advertise) return;
    if (!request.getOption(RapidCommitOption)) return;
    const options = response.options;
    if (!this.rejections) {
      const asked = request.options, handled = bundle.handledOptions;
      for (let i = 0; i < asked.length; i++) {
        if (isIA(asked[i]) && !handled.has(asked[i])) return;
      }
      for (let i = 0; i < options.length; i++) {
        const o = options[i];
        if (
          (hasPrototype(o, IANA) || hasPrototype(o, IATA)) &&
          iaHasStatus(o, StatusCode.NoAddrsAvail)
        ) return;
        if (hasPrototype(o, IAPD) && iaHasStatus(o, StatusCode.NoPrefixAvail)) return;
      }
    }
    const reply: Option[] = new Array(options.length + 1);
    reply[0] = new RapidCommitOption();
    for (let i = 0; i < options.length; i++) reply[i + 1] = options[i];
    bundle.response = new ReplyMessage(response.transactionId, reply);
  }
}

/**
 * Applies the unicast rules of RFC 8415 §16 and §18.4 to clients that reach us by unicast without
 * a relay and without a Server Unicast permission: Solicit, Confirm, Rebind and
 * Information-request are dropped, other requests are told to use multicast. Leasequery and TCP
 * are exempt.
 */
export class RejectUnwantedUnicastHandler extends Handler {
  /** Answers every Information-request alike (see `treatsInformationRequestsAlike`). */
  static readonly informationRequestsAlike = true;

  /** Check the transport of the request. */
  override pre(bundle: TransactionBundle): void {
    if (bundle.receivedOverMulticast || bundle.receivedOverTcp) return;
    if (bundle.incomingRelayMessages.length > 1) return;
    const request = bundle.request;
    switch (request.type) {
      case MsgType.Leasequery:
        return;
      // RFC 8415 §16: these are never valid by unicast, whatever Server Unicast permits.
      case MsgType.Solicit:
      case MsgType.Confirm:
      case MsgType.Rebind:
      case MsgType.InformationRequest:
        throw new CannotRespond(`${request.name} received by unicast`);
    }
    if (bundle.allowUnicast) return;
    throw new UseMulticast(`${request.name} received by unicast without permission`);
  }
}

function zeroLifetimes(options: readonly Option[]): Option[] {
  const out: Option[] = [];
  for (let i = 0; i < options.length; i++) {
    const o = options[i];
    // The request's addresses are passed on as the bytes they came as (no text is made).
    if (hasPrototype(o, IAADDR)) {
      out.push(IAAddressOption.fromBytes((o as IAAddressOption).addressBytes, 0, 0));
    } else if (hasPrototype(o, IAPREFIX)) {
      const p = o as IAPrefixOption;
      out.push(IAPrefixOption.fromBytes(0, 0, p.prefixLength, p.prefixBytes));
    }
  }
  return out;
}

function hasLeases(options: readonly Option[]): boolean {
  for (let i = 0; i < options.length; i++) {
    if (hasPrototype(options[i], IAADDR) || hasPrototype(options[i], IAPREFIX)) return true;
  }
  return false;
}

function status(code: number, message: string): StatusCodeOption {
  return new StatusCodeOption(code, message);
}

const NO_ADDRESSES = status(StatusCode.NoAddrsAvail, "No addresses available");
const NO_PREFIXES = status(StatusCode.NoPrefixAvail, "No prefixes available");
const NO_BINDING = status(StatusCode.NoBinding, "No binding for this IA");

/**
 * The sub-options an authoritative server puts in an IA no handler answered, or undefined when
 * the request type leaves such IAs unanswered (Confirm: see the message-level NotOnLink).
 */
function unansweredIA(
  request: ClientServerMessage,
  held: readonly Option[],
  noneAvailable: StatusCodeOption,
  declinable: boolean,
): Option[] | undefined {
  switch (request.type) {
    case MsgType.Solicit:
    case MsgType.Request:
      return [noneAvailable];
    case MsgType.Renew:
    case MsgType.Rebind:
      return hasLeases(held) ? zeroLifetimes(held) : [NO_BINDING];
    case MsgType.Release:
      return [NO_BINDING];
    case MsgType.Decline:
      return declinable ? [NO_BINDING] : undefined;
  }
  return undefined;
}

/** True when the request has an IA_NA, IA_TA or IA_PD that no handler has answered. */
function hasUnhandledIA(bundle: TransactionBundle): boolean {
  const options = bundle.request.options;
  for (let i = 0; i < options.length; i++) {
    if (isIA(options[i]) && !bundle.isHandled(options[i])) return true;
  }
  return false;
}

/**
 * Answers every IA_NA, IA_TA and IA_PD no handler took, as an authoritative server must
 * (RFC 8415 §18.3, RFC 7550): no addresses/prefixes in Solicit and Request, withdrawal or NoBinding
 * in Renew and Rebind, NoBinding in Release and Decline, NotOnLink for Confirm.
 */
export class UnansweredIAHandler extends Handler {
  /** Answers every Information-request alike (see `treatsInformationRequestsAlike`). */
  static readonly informationRequestsAlike = true;

  /** Answer what is left. */
  override handle(bundle: TransactionBundle): void {
    const request = bundle.request;
    // Most requests have every IA answered by now (or none at all): one scan tells.
    if (!hasUnhandledIA(bundle) && request.type !== MsgType.Confirm) return;
    const response = bundle.response.options;
    const answerAll = <T extends IANAOption | IATAOption | IAPDOption>(
      type: abstract new (...args: never[]) => T,
      rebuild: (ia: T, options: Option[]) => Option,
      noneAvailable: StatusCodeOption,
      declinable: boolean,
    ) => {
      for (const ia of bundle.getUnhandledOptions(type)) {
        const answer = unansweredIA(request, ia.options, noneAvailable, declinable);
        if (!answer) continue;
        response.push(rebuild(ia, answer));
        bundle.markHandled(ia);
      }
    };
    answerAll(IANAOption, (ia, o) => new IANAOption(ia.iaid, 0, 0, o), NO_ADDRESSES, true);
    answerAll(IATAOption, (ia, o) => new IATAOption(ia.iaid, o), NO_ADDRESSES, true);
    // Decline is about addresses only (RFC 8415 §18.2.8); an IA_PD in one is left alone.
    answerAll(IAPDOption, (ia, o) => new IAPDOption(ia.iaid, 0, 0, o), NO_PREFIXES, false);
    if (request.type === MsgType.Confirm) {
      // Confirm is about addresses (RFC 8415 §18.2.3); prefixes are confirmed with Rebind.
      const unconfirmed = request.options.some((o) =>
        (hasPrototype(o, IANA) || hasPrototype(o, IATA)) &&
        !bundle.handledOptions.has(o) && hasLeases((o as IANAOption | IATAOption).options)
      );
      if (unconfirmed && !hasStatus(response)) {
        response.push(
          status(StatusCode.NotOnLink, "Those addresses are not appropriate on this link"),
        );
      }
    }
  }
}

/** Adds a Success status to replies to Confirm, Release and Decline when no handler set one. */
export class AddMissingStatusHandler extends Handler {
  /** Answers every Information-request alike (see `treatsInformationRequestsAlike`). */
  static readonly informationRequestsAlike = true;

  /** Add the status. */
  override handle(bundle: TransactionBundle): void {
    let text: string;
    switch (bundle.request.type) {
      case MsgType.Confirm:
        text = "Assignments confirmed";
        break;
      case MsgType.Release:
        text = "Thank you for releasing your resources";
        break;
      case MsgType.Decline:
        text = "Our apologies for assigning you unusable addresses";
        break;
      default:
        return;
    }
    const options = bundle.response.options;
    if (!hasStatus(options)) options.push(status(StatusCode.Success, text));
  }
}

/**
 * The largest a relay-reply layer (header, options and everything inside) is allowed to grow to
 * by echoed options: below the 65,535 bytes a Relay Message option can carry, with a margin for
 * what is added after the echo (status codes, rapid commit) and for the UDP header limit.
 */
export const MAX_ECHO_LAYER_SIZE = 65535 - 2048;

/** Encoded size of options (code, length, data each); Infinity when they cannot be encoded. */
function optionsSize(options: readonly Option[]): number {
  try {
    const w = new Writer(256);
    writeOptions(w, options);
    return w.pos;
  } catch {
    return Infinity;
  }
}

/** Encoded size of a message; Infinity when it cannot be encoded. */
function messageSize(message: ClientServerMessage): number {
  try {
    return serializeMessage(message).length;
  } catch {
    return Infinity;
  }
}

/** Relay-forward/relay-reply header: type, hop count, link and peer address. */
const RELAY_HEADER = 34;
/** Relay Message option header. */
const OPTION_HEADER = 4;

/**
 * Relay Echo Request (RFC 4994): copies each option a relay asked to have echoed from its
 * relay-forward to its relay-reply, unless already there. An echo that would make the reply too
 * large to send ({@link MAX_ECHO_LAYER_SIZE}, counting the response and the inner relay layers)
 * is left out: a relay cannot make the server build an unsendable reply.
 */
export class RelayEchoRequestHandler extends RelayHandler {
  /** Answers every Information-request alike (see `treatsInformationRequestsAlike`). */
  static override readonly informationRequestsAlike = true;

  /** Echo the requested options of every relay layer, innermost first (sizes add up outwards). */
  override handle(bundle: TransactionBundle): void {
    const incoming = bundle.incomingRelayMessages;
    if (!incoming.some((r) => r.getOption(EchoRequestOption))) return;
    // Size of what the current layer wraps: the response, then each relay-reply around it.
    let inner = messageSize(bundle.response);
    for (let i = 0; i < incoming.length; i++) {
      const relayOut = bundle.outgoingRelayMessages[i];
      const base = RELAY_HEADER + OPTION_HEADER + inner;
      this.#echo(incoming[i], relayOut, MAX_ECHO_LAYER_SIZE - base);
      inner = base +
        optionsSize(relayOut.options.filter((o) => !(o instanceof RelayMessageOption)));
    }
  }

  /** Echo the requested options of one relay layer (without a size limit). */
  handleRelay(
    _bundle: TransactionBundle,
    relayIn: RelayForwardMessage,
    relayOut: RelayReplyMessage,
  ): void {
    this.#echo(relayIn, relayOut, Infinity);
  }

  #echo(relayIn: RelayForwardMessage, relayOut: RelayReplyMessage, budget: number): void {
    const ero = relayIn.getOption(EchoRequestOption);
    if (!ero) return;
    const allowed = messageOccurrence.get(relayOut.type);
    let used = optionsSize(relayOut.options.filter((o) => !(o instanceof RelayMessageOption)));
    for (const code of ero.requestedOptions) {
      if (code === RelayMessageOption.code) continue;
      if (relayOut.options.some((o) => o.code === code)) continue;
      if (optionTypes.has(code) && allowed && !allowed.has(code)) continue;
      for (const o of relayIn.options) {
        if (o.code !== code) continue;
        const size = optionsSize([o]);
        if (used + size > budget) {
          log.debug(
            "Not echoing option {code} of relay {relay}: the reply would be too large",
            () => ({ code, relay: relayIn.linkAddress }),
          );
          continue;
        }
        used += size;
        relayOut.options.push(o);
      }
    }
  }
}
