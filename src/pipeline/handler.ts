/**
 * Handler base classes and the option-handler helpers extensions build on.
 * @module
 */

import {
  messageOccurrence,
  type Option,
  OptionRequestOption,
  preEncode,
  type RelayForwardMessage,
  type RelayReplyMessage,
} from "../protocol/mod.ts";
import type { TransactionBundle } from "./bundle.ts";
import { declaresAlike } from "./alike.ts";

/**
 * A handler takes part in answering requests. Each phase is called for every handler that applies
 * to a request, in order: `lookup` (when the handler has one), `analysePre`, `pre`, `handle`,
 * `post`, `analysePost`.
 */
export abstract class Handler {
  /**
   * Optional asynchronous lookup (a database row, a RADIUS answer), run before `analysePre` for
   * every request this handler applies to, in handler order: each lookup starts once the previous
   * one finished, so it sees what the earlier ones put in the bundle. Return undefined when there
   * is nothing to wait for (the request then stays on the synchronous path); otherwise a promise
   * that puts what it found into the bundle (e.g. in `handlerData`) and resolves. A rejection, or
   * no answer within `lookup-timeout`, means no answer at all: the request is dropped and counted
   * (`lookup_failures`, `lookup_timeouts`), never answered with what is known without it.
   */
  lookup?(bundle: TransactionBundle): Promise<void> | undefined;

  /** Called once in each worker before it handles requests: open per-worker resources here. */
  workerInit(): void | Promise<void> {}

  /** Look at the request before anything changes it; errors are logged, never abort. */
  analysePre(_bundle: TransactionBundle): void {}

  /** Update bundle state or abort by throwing a signal (CannotRespond, UseMulticast, ...). */
  pre(_bundle: TransactionBundle): void {}

  /** Do the main work: add options to the response, answer IAs. */
  handle(_bundle: TransactionBundle): void {}

  /** Finish up; the response type may have changed (rapid commit). Must not abort. */
  post(_bundle: TransactionBundle): void {}

  /** Look at the finished response (e.g. record leases); errors are logged, never abort. */
  analysePost(_bundle: TransactionBundle): void {}

  /** Release resources when a pipeline is replaced or the server stops. */
  close(): void | Promise<void> {}
}

/**
 * The methods through which a handler acts on a request: the phases, and the per-layer and
 * per-client hooks the built-in base classes call from them.
 */
const ACTING_METHODS = [
  "lookup",
  "analysePre",
  "pre",
  "handle",
  "post",
  "analysePost",
  "handleRelay",
  "getAssignment",
] as const;

/**
 * Whether `handler` answers every Information-request alike, so that the pipeline may reuse one
 * client's answer for the next (see reply_templates.ts). A class declares it with an own static
 * `informationRequestsAlike = true`, promising that for an Information-request without IA options
 * its methods depend only on the request's bytes other than the transaction id, the client's DUID
 * and the client's address (the innermost relay's peer address), on the packet's listener and on
 * the configuration, never on the clock or on state, and have no side effects. The declaration is
 * not inherited: every class that defines or overrides one of the acting methods must make it
 * itself, so a subclass that answers per client turns the reuse off.
 */
export function treatsInformationRequestsAlike(handler: Handler): boolean {
  return declaresAlike(handler, ACTING_METHODS, Handler.prototype);
}

/** A handler that works on each pair of incoming relay-forward and outgoing relay-reply. */
export abstract class RelayHandler extends Handler {
  /** Answers every Information-request alike (see `treatsInformationRequestsAlike`). */
  static readonly informationRequestsAlike = true;

  /** Calls {@link RelayHandler.handleRelay} for every relay layer. */
  override handle(bundle: TransactionBundle): void {
    const incoming = bundle.incomingRelayMessages;
    for (let i = 0; i < incoming.length; i++) {
      this.handleRelay(bundle, incoming[i], bundle.outgoingRelayMessages[i]);
    }
  }

  /** Handle one relay layer. */
  abstract handleRelay(
    bundle: TransactionBundle,
    relayIn: RelayForwardMessage,
    relayOut: RelayReplyMessage,
  ): void;
}

/** True when `code` may be put in a response of the bundle's response type. */
export function responseMayContain(bundle: TransactionBundle, code: number): boolean {
  const rules = messageOccurrence.get(bundle.response.type);
  return rules === undefined || rules.has(code);
}

/**
 * The option-request rule: an option is sent unless the request has an ORO that does not list it
 * (`alwaysSend` skips that check), and only when the response type may carry it.
 */
export function shouldSend(bundle: TransactionBundle, code: number, alwaysSend: boolean): boolean {
  if (!responseMayContain(bundle, code)) return false;
  if (alwaysSend) return true;
  const oro = bundle.request.getOption(OptionRequestOption);
  return !oro || oro.requestedOptions.includes(code);
}

/**
 * Adds a fixed option to the response unless one of its class is already there. When `combine` is
 * given, an existing option is merged with ours instead (inner scopes first, duplicates removed).
 */
export class SimpleOptionHandler<T extends Option> extends Handler {
  /** Answers every Information-request alike (see `treatsInformationRequestsAlike`). */
  static readonly informationRequestsAlike = true;

  /** Create the handler for `option`. */
  constructor(
    readonly option: T,
    readonly alwaysSend = false,
    readonly combine?: (existing: T, ours: T) => T,
  ) {
    super();
    preEncode(option); // the same bytes in every reply
  }

  /** Add or merge the option. */
  override handle(bundle: TransactionBundle): void {
    const code = this.option.code;
    if (!shouldSend(bundle, code, this.alwaysSend)) return;
    const options = bundle.response.options;
    const index = options.findIndex((o) => o.code === code);
    if (index < 0) options.push(this.option);
    else if (this.combine) options[index] = this.combine(options[index] as T, this.option);
  }
}

/** Replaces any option of the same code in the response with a fixed option. */
export class OverwriteOptionHandler<T extends Option> extends Handler {
  /** Answers every Information-request alike (see `treatsInformationRequestsAlike`). */
  static readonly informationRequestsAlike = true;

  /** Create the handler for `option`. */
  constructor(readonly option: T, readonly alwaysSend = false) {
    super();
    preEncode(option); // the same bytes in every reply
  }

  /** Replace or add the option. */
  override handle(bundle: TransactionBundle): void {
    const code = this.option.code;
    if (!shouldSend(bundle, code, this.alwaysSend)) return;
    const options = bundle.response.options;
    const index = options.findIndex((o) => o.code === code);
    if (index < 0) options.push(this.option);
    else {
      options[index] = this.option;
      for (let i = options.length - 1; i > index; i--) {
        if (options[i].code === code) options.splice(i, 1);
      }
    }
  }
}

/** Copies every option of a code from the request to the response. */
export class CopyOptionHandler extends Handler {
  /** Answers every Information-request alike (see `treatsInformationRequestsAlike`). */
  static readonly informationRequestsAlike = true;

  /** Create the handler for option `code`. */
  constructor(readonly code: number, readonly alwaysSend = false) {
    super();
  }

  /** Copy the options that are not in the response yet. */
  override handle(bundle: TransactionBundle): void {
    if (!shouldSend(bundle, this.code, this.alwaysSend)) return;
    const existing = bundle.response.options;
    for (const o of bundle.request.options) {
      if (o.code === this.code && !existing.includes(o)) existing.push(o);
    }
  }
}

/** Copies every option of a code from each relay-forward to its relay-reply. */
export class CopyRelayOptionHandler extends RelayHandler {
  /** Answers every Information-request alike (see `treatsInformationRequestsAlike`). */
  static override readonly informationRequestsAlike = true;

  /** Create the handler for relay option `code`. */
  constructor(readonly code: number) {
    super();
  }

  /** Copy the options of one relay layer. */
  handleRelay(
    _bundle: TransactionBundle,
    relayIn: RelayForwardMessage,
    relayOut: RelayReplyMessage,
  ): void {
    for (const o of relayIn.options) {
      if (o.code === this.code && !relayOut.options.includes(o)) relayOut.options.push(o);
    }
  }
}
