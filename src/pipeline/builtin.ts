/**
 * The handlers the server always runs: server and client identifiers, relay echo, unicast rules,
 * rapid commit, answers for IAs no handler took, and the missing status codes.
 * @module
 */

import {
  AdvertiseMessage,
  ClientIdOption,
  type ClientServerMessage,
  ConfirmMessage,
  DeclineMessage,
  type Duid,
  EchoRequestOption,
  findOption,
  hasPrototype,
  IAAddressOption,
  IANAOption,
  IAPDOption,
  IAPrefixOption,
  IATAOption,
  InformationRequestMessage,
  InterfaceIdOption,
  LeasequeryMessage,
  messageOccurrence,
  MsgType,
  type Option,
  optionTypes,
  RapidCommitOption,
  RebindMessage,
  type RelayForwardMessage,
  RelayMessageOption,
  type RelayReplyMessage,
  ReleaseMessage,
  ReplyMessage,
  serializeMessage,
  ServerIdOption,
  SolicitMessage,
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
    if (
      request instanceof SolicitMessage || request instanceof ConfirmMessage ||
      request instanceof RebindMessage
    ) {
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
  const sub = (option as { options?: Option[] }).options ?? [];
  return sub.some((o) => o instanceof StatusCodeOption && o.statusCode === code);
}

/** Turns an Advertise into a Reply when the client asked for rapid commit and it is allowed. */
export class RapidCommitHandler extends Handler {
  /** With `rejections`, rapid commit also happens when some IA is refused. */
  constructor(readonly rejections = false) {
    super();
  }

  /** Upgrade the response after every handler has answered. */
  override post(bundle: TransactionBundle): void {
    if (!bundle.allowRapidCommit) return;
    if (
      !(bundle.request instanceof SolicitMessage) || !(bundle.response instanceof AdvertiseMessage)
    ) return;
    if (!bundle.request.getOption(RapidCommitOption)) return;
    if (!this.rejections) {
      for (const option of bundle.request.options) {
        if (
          (option instanceof IANAOption || option instanceof IATAOption ||
            option instanceof IAPDOption) &&
          !bundle.handledOptions.has(option)
        ) return;
      }
      for (const option of bundle.response.options) {
        if (
          (option instanceof IANAOption || option instanceof IATAOption) &&
          iaHasStatus(option, StatusCode.NoAddrsAvail)
        ) return;
        if (option instanceof IAPDOption && iaHasStatus(option, StatusCode.NoPrefixAvail)) return;
      }
    }
    bundle.response = new ReplyMessage(bundle.response.transactionId, [
      new RapidCommitOption(),
      ...bundle.response.options,
    ]);
  }
}

/**
 * Applies the unicast rules of RFC 8415 §16 and §18.4 to clients that reach us by unicast without
 * a relay and without a Server Unicast permission: Solicit, Confirm, Rebind and
 * Information-request are dropped, other requests are told to use multicast. Leasequery and TCP
 * are exempt.
 */
export class RejectUnwantedUnicastHandler extends Handler {
  /** Check the transport of the request. */
  override pre(bundle: TransactionBundle): void {
    if (bundle.receivedOverMulticast || bundle.receivedOverTcp) return;
    if (bundle.incomingRelayMessages.length > 1) return;
    const request = bundle.request;
    if (request instanceof LeasequeryMessage) return;
    // RFC 8415 §16: these are never valid by unicast, whatever Server Unicast permits.
    if (
      request instanceof SolicitMessage || request instanceof ConfirmMessage ||
      request instanceof RebindMessage || request instanceof InformationRequestMessage
    ) {
      throw new CannotRespond(`${request.name} received by unicast`);
    }
    if (bundle.allowUnicast) return;
    throw new UseMulticast(`${request.name} received by unicast without permission`);
  }
}

function zeroLifetimes(options: readonly Option[]): Option[] {
  const out: Option[] = [];
  for (const o of options) {
    // The request's addresses are passed on as the bytes they came as (no text is made).
    if (o instanceof IAAddressOption) out.push(IAAddressOption.fromBytes(o.addressBytes, 0, 0));
    else if (o instanceof IAPrefixOption) {
      out.push(IAPrefixOption.fromBytes(0, 0, o.prefixLength, o.prefixBytes));
    }
  }
  return out;
}

function hasLeases(options: readonly Option[]): boolean {
  return options.some((o) => o instanceof IAAddressOption || o instanceof IAPrefixOption);
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

/**
 * Answers every IA_NA, IA_TA and IA_PD no handler took, as an authoritative server must
 * (RFC 8415 §18.3, RFC 7550): no addresses/prefixes in Solicit and Request, withdrawal or NoBinding
 * in Renew and Rebind, NoBinding in Release and Decline, NotOnLink for Confirm.
 */
export class UnansweredIAHandler extends Handler {
  /** Answer what is left. */
  override handle(bundle: TransactionBundle): void {
    const request = bundle.request;
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
    if (request instanceof ConfirmMessage) {
      // Confirm is about addresses (RFC 8415 §18.2.3); prefixes are confirmed with Rebind.
      const unconfirmed = request.options.some((o) =>
        (o instanceof IANAOption || o instanceof IATAOption) &&
        !bundle.handledOptions.has(o) && hasLeases(o.options)
      );
      if (unconfirmed && !response.some((o) => o instanceof StatusCodeOption)) {
        response.push(
          status(StatusCode.NotOnLink, "Those addresses are not appropriate on this link"),
        );
      }
    }
  }
}

/** Adds a Success status to replies to Confirm, Release and Decline when no handler set one. */
export class AddMissingStatusHandler extends Handler {
  /** Add the status. */
  override handle(bundle: TransactionBundle): void {
    const options = bundle.response.options;
    if (options.some((o) => o instanceof StatusCodeOption)) return;
    const request = bundle.request;
    if (request instanceof ConfirmMessage) {
      options.push(status(StatusCode.Success, "Assignments confirmed"));
    } else if (request instanceof ReleaseMessage) {
      options.push(status(StatusCode.Success, "Thank you for releasing your resources"));
    } else if (request instanceof DeclineMessage) {
      options.push(
        status(StatusCode.Success, "Our apologies for assigning you unusable addresses"),
      );
    }
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
