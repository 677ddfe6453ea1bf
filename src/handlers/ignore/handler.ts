/**
 * Handler for `<ignore-request>`: silently drops requests of the listed message types (all
 * types when none are listed).
 * @module
 */

import { CannotRespond, Handler, type TransactionBundle } from "../../pipeline/mod.ts";

/** Stops processing (no reply, counted as `do_not_respond`) for matching request types. */
export class IgnoreRequestHandler extends Handler {
  /** Answers every Information-request alike (see `treatsInformationRequestsAlike`). */
  static readonly informationRequestsAlike = true;

  readonly #types: ReadonlySet<number> | undefined;

  /** Create the handler; an empty list ignores every request. */
  constructor(messageTypes: readonly number[] = []) {
    super();
    this.#types = messageTypes.length ? new Set(messageTypes) : undefined;
  }

  /** Throw {@link CannotRespond} when the request type is one to ignore. */
  override pre(bundle: TransactionBundle): void {
    const type = bundle.request.type;
    if (this.#types === undefined || this.#types.has(type)) {
      throw new CannotRespond(`configured to ignore ${bundle.request.name}`);
    }
  }
}
