/**
 * Signals a handler raises to change how a request is answered.
 * @module
 */

/** Base of every handler signal. */
export class HandlerSignal extends Error {
  /** Create a signal with an explanation for the log. */
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Do not answer this request (logged, counted as `do_not_respond`). */
export class CannotRespond extends HandlerSignal {}

/** The request names another server's DUID: stay silent (counted as `for_other_server`). */
export class ForOtherServer extends CannotRespond {}

/** Tell the client to use multicast (status UseMulticast), unless it already did. */
export class UseMulticast extends HandlerSignal {}

/** Answer with only Client ID, Server ID and this status code. */
export class ReplyWithStatus extends HandlerSignal {
  /** Create a status reply signal. */
  constructor(readonly statusCode: number, readonly statusMessage = "") {
    super(statusMessage || `status ${statusCode}`);
  }
}

/** Like {@link ReplyWithStatus}, but the reply is a Leasequery-Reply. */
export class ReplyWithLeasequeryError extends ReplyWithStatus {}
