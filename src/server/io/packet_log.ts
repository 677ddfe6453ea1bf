/**
 * The log lines of the I/O layer, written the same way by both backends: a datagram received, a
 * reply sent (debug-packets level) and a reply that cannot be sent (a warning).
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { WirePacket, WireReply } from "../wire.ts";
import { LogGate } from "../../pipeline/log_gate.ts";

const log = getLogger(["dhcpkit", "server"]);
const packetLog = getLogger(["dhcpkit", "packets"]);

/**
 * Whether the debug-packets lines ({@link logReceived}, {@link logSending}) are logged at all: a
 * loop that asks once per batch and skips the calls when not saves the logger's level check (and
 * the promise it returns) for every datagram. The logging configuration changes only between
 * batches (a reload runs in the event loop), so the answer holds for the whole batch.
 */
export function packetTracing(): boolean {
  return packetTrace.on;
}

const packetTrace = new LogGate(packetLog, "trace");

/** Log (at debug-packets level) that `packet` arrived on the listener described as `listener`. */
export function logReceived(packet: WirePacket, listener: string): void {
  packetLog.trace("{id}: received {size} bytes from [{source}]:{port} on {listener}", () => ({
    id: packet.id,
    size: packet.data.length,
    source: packet.source,
    port: packet.sourcePort,
    listener,
  }));
}

/** Log (at debug-packets level) that `reply` is being sent. */
export function logSending(reply: WireReply, listener: string): void {
  packetLog.trace("Sending {size} bytes to [{dest}]:{port} via {listener}", () => ({
    size: reply.data.length,
    dest: reply.destination,
    port: reply.port,
    listener,
  }));
}

/** Warn that `reply` could not be sent, and why. */
export function cannotSend(reply: WireReply, listener: string, error: string): void {
  log.warning("Cannot send {size} bytes to [{dest}]:{port} via {listener}: {error}", {
    size: reply.data.length,
    dest: reply.destination,
    port: reply.port,
    listener,
    error,
  });
}

/**
 * Log (once per socket, by the caller) that the kernel refused a segmented send (`io-udp-gso`)
 * on `listener`'s socket, which from then on sends every reply on its own.
 */
export function segmentationRefused(listener: string, error: string): void {
  log.warning(
    "The kernel refused a segmented send via {listener} ({error}): its replies now leave one " +
      "by one (io-udp-gso)",
    { listener, error },
  );
}

/**
 * Log that `io-batch-delay auto` changed an I/O thread's wait from `fromMs` to `toMs`, or
 * whether it waits before every receive (`chained`, before: `wasChained`), after `unlogged`
 * changes that were not logged (the caller logs at most one a minute).
 */
export function batchDelayChanged(
  fromMs: number,
  toMs: number,
  unlogged: number,
  chained: boolean,
  wasChained: boolean,
): void {
  const when = (c: boolean) => c ? "before every receive" : "after a lone request";
  const shorter = toMs < fromMs || (toMs === fromMs && wasChained);
  log.info(
    "io-batch-delay auto: an I/O thread now waits {to} ms {when} (was {from} ms {before}{more}): " +
      (shorter
        ? "requests were late because of the wait, or came in bursts"
        : "a longer wait keeps the requests in time"),
    {
      from: Number(fromMs.toFixed(4)),
      to: Number(toMs.toFixed(4)),
      when: when(chained),
      before: when(wasChained),
      more: unlogged > 0 ? `; ${unlogged} changes since the last such line` : "",
    },
  );
}

/**
 * Log (once per I/O thread) that `io-batch-delay auto` cannot measure reply delays because the
 * kernel refused receive timestamps, so the thread waits a fixed `fixedMs`.
 */
export function receiveTimestampsRefused(error: string, fixedMs: number): void {
  log.warning(
    "io-batch-delay auto: receive timestamps refused ({error}); waiting a fixed {fixed} ms",
    { error, fixed: fixedMs },
  );
}
