/**
 * Bulk leasequery streaming (RFC 5460 §6): after the LEASEQUERY-REPLY with the first client, one
 * LEASEQUERY-DATA per further client, then LEASEQUERY-DONE; a stream cut short (server stopping,
 * store failing) ends with a LEASEQUERY-DONE carrying QueryTerminated. The TCP listener knows
 * none of this: it asks {@link leasequeryStreamResponder} for the messages and sends them.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { HandleResult } from "../../pipeline/mod.ts";
import {
  type ClientServerMessage,
  LeasequeryDataMessage,
  LeasequeryDoneMessage,
  LeasequeryMessage,
  StatusCode,
  StatusCodeOption,
} from "../../protocol/mod.ts";
import type { StreamResponder } from "../extension.ts";
import type { AsyncClientCursor, ClientCursor, ClientRecord } from "./store.ts";

const log = getLogger(["dhcpkit", "leasequery"]);

/**
 * The rest of a bulk reply, iterable once ({@link streamRest}). {@link BulkResponses.close}
 * releases the cursor even when iteration never started (`return()` on a generator that has not
 * started skips its `finally`, so closing through the iterator alone would leak the cursor and
 * its read transaction).
 */
export class BulkResponses implements Iterable<ClientServerMessage> {
  /** Wrap the cursor of the clients after the first. */
  constructor(readonly xid: number, readonly cursor: ClientCursor) {}

  /** The messages: one LEASEQUERY-DATA per client, then LEASEQUERY-DONE. */
  [Symbol.iterator](): Generator<ClientServerMessage> {
    return streamRest(this.xid, this.cursor);
  }

  /** Release the cursor (safe to call more than once, and after iterating). */
  close(): void {
    this.cursor.close();
  }
}

/**
 * The rest of a bulk reply: one LEASEQUERY-DATA per further client, then LEASEQUERY-DONE. When
 * the store fails half-way, the stream ends with a LEASEQUERY-DONE carrying QueryTerminated.
 * Stopping the iteration early releases the cursor.
 */
export function* streamRest(xid: number, cursor: ClientCursor): Generator<ClientServerMessage> {
  let status = DONE;
  try {
    while (true) {
      let r: IteratorResult<ClientRecord>;
      try {
        r = cursor.next();
      } catch (e) {
        status = failedWhileStreaming(e);
        break;
      }
      if (r.done) break;
      yield new LeasequeryDataMessage(xid, [r.value.clientData]);
    }
  } finally {
    cursor.close();
  }
  yield new LeasequeryDoneMessage(xid, [status]);
}

/** The status of a stream that ended normally. */
const DONE = new StatusCodeOption(StatusCode.Success, "That's all folks");

/** Log a store failure during a stream; the status the stream then ends with. */
function failedWhileStreaming(e: unknown): StatusCodeOption {
  log.error("Leasequery store failed while streaming: {error}", { error: (e as Error).message });
  return new StatusCodeOption(StatusCode.QueryTerminated, "Lease data became unavailable");
}

/**
 * The rest of a bulk reply read from an asynchronous store (PostgreSQL), iterable once;
 * {@link AsyncBulkResponses.close} releases the cursor even when iteration never started.
 */
export class AsyncBulkResponses implements AsyncIterable<ClientServerMessage> {
  /** Wrap the cursor of the clients after the first. */
  constructor(readonly xid: number, readonly cursor: AsyncClientCursor) {}

  /** The messages: one LEASEQUERY-DATA per client, then LEASEQUERY-DONE. */
  [Symbol.asyncIterator](): AsyncGenerator<ClientServerMessage> {
    return streamRestAsync(this.xid, this.cursor);
  }

  /** Release the cursor (safe to call more than once, and after iterating). */
  close(): void {
    this.cursor.close();
  }
}

/** {@link streamRest} for an asynchronous cursor. */
export async function* streamRestAsync(
  xid: number,
  cursor: AsyncClientCursor,
): AsyncGenerator<ClientServerMessage> {
  let status = DONE;
  try {
    for (;;) {
      let r: IteratorResult<ClientRecord>;
      try {
        r = await cursor.next();
      } catch (e) {
        status = failedWhileStreaming(e);
        break;
      }
      if (r.done) break;
      yield new LeasequeryDataMessage(xid, [r.value.clientData]);
    }
  } finally {
    cursor.close();
  }
  yield new LeasequeryDoneMessage(xid, [status]);
}

/** Streams the rest of the bulk answers the `<leasequery>` handler leaves in the bundle. */
export const leasequeryStreamResponder: StreamResponder = {
  rest(result: HandleResult): BulkResponses | AsyncBulkResponses | undefined {
    const more = result.bundle?.moreResponses;
    return more instanceof BulkResponses || more instanceof AsyncBulkResponses ? more : undefined;
  },
  terminated(result: HandleResult, reason: string): ClientServerMessage | undefined {
    const request = result.bundle?.request;
    if (!(request instanceof LeasequeryMessage)) return undefined;
    return new LeasequeryDoneMessage(request.transactionId, [
      new StatusCodeOption(StatusCode.QueryTerminated, reason),
    ]);
  },
};
