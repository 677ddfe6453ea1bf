/**
 * What follows the first replies of a query over TCP. The listener (tcp_listener.ts) knows
 * framing and limits only; a {@link StreamResponder} knows the protocol of a streamed answer. The
 * server's responder asks the installed extensions' stream responders (Bulk Leasequery, RFC 5460,
 * is the leasequery extension's), see `responseStream` in pipeline_builder.ts.
 * @module
 */

import type { HandleResult, TransactionBundle } from "../pipeline/mod.ts";
import type { ClientServerMessage } from "../protocol/mod.ts";
import { type ResponseStream, responseStream } from "./pipeline_builder.ts";

/** Messages produced lazily; `close()`, when present, releases what producing them holds. */
export type StreamMessages = NonNullable<TransactionBundle["moreResponses"]>;

/** Answers over `<listen-tcp>` beyond the pipeline's replies. */
export interface StreamResponder {
  /** The messages that follow `result.replies` for this TCP request, produced lazily, or undefined. */
  rest(result: HandleResult): StreamMessages | undefined;
  /** The message that ends a stream cut short (`reason` says why), if the protocol has one. */
  terminated(result: HandleResult, reason: string): ClientServerMessage | undefined;
}

/** The streams chosen for the results being answered, for their terminating message. */
const chosen = new WeakMap<HandleResult, ResponseStream>();

/** The installed extensions' responders: the first that has a stream for the request answers. */
export const extensionStreamResponder: StreamResponder = {
  rest(result) {
    const stream = responseStream(result);
    if (!stream) return undefined;
    chosen.set(result, stream);
    return stream.messages as StreamMessages;
  },
  terminated: (result, reason) => chosen.get(result)?.terminated(reason),
};
