/**
 * What follows the first replies of a query over TCP. The listener (tcp_listener.ts) knows
 * framing and limits only; a {@link StreamResponder} knows the protocol of a streamed answer.
 * Bulk Leasequery (RFC 5460) is the one there is: its LEASEQUERY-DATA messages come lazily from
 * the store through `bundle.moreResponses`, and a stream cut short ends with a LEASEQUERY-DONE
 * carrying QueryTerminated. (It is the leasequery extension's to provide; until extensions can
 * hook into the listener, it lives here.)
 * @module
 */

import type { HandleResult, TransactionBundle } from "../pipeline/mod.ts";
import {
  type ClientServerMessage,
  LeasequeryDoneMessage,
  StatusCode,
  StatusCodeOption,
} from "../protocol/mod.ts";

/** Messages produced lazily; `close()`, when present, releases what producing them holds. */
export type StreamMessages = NonNullable<TransactionBundle["moreResponses"]>;

/** Answers over `<listen-tcp>` beyond the pipeline's replies. */
export interface StreamResponder {
  /** The messages that follow `result.replies` for this TCP request, produced lazily, or undefined. */
  rest(result: HandleResult): StreamMessages | undefined;
  /** The message that ends a stream cut short (`reason` says why), if the protocol has one. */
  terminated(result: HandleResult, reason: string): ClientServerMessage | undefined;
}

/** Bulk Leasequery: the bundle's further responses, ended by LEASEQUERY-DONE when cut short. */
export const leasequeryStreamResponder: StreamResponder = {
  rest: (result) => result.bundle?.moreResponses,
  terminated: (result, reason) =>
    new LeasequeryDoneMessage(result.bundle?.request.transactionId ?? 0, [
      new StatusCodeOption(StatusCode.QueryTerminated, reason),
    ]),
};
