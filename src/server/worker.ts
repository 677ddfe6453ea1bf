/**
 * Entry point of a `deno` backend request worker: builds its own engine from the configuration
 * (see worker_setup.ts) and answers the batches of packets the main thread sends; the replies go
 * back in one message per batch, with the statistics counted meanwhile. Requests that wait for
 * a lookup are answered in messages of their own once the lookup is done.
 * @module
 */

/// <reference lib="deno.worker" />

import { extensionStatistics, type ExtensionStatisticsDelta } from "../pipeline/mod.ts";
import type { Engine } from "./engine.ts";
import { describeError, drainTransactions, runWorker, type WorkerRuntime } from "./worker_setup.ts";
import type { TransactionRecord } from "./transactions.ts";
import type { FromWorker, WireReply } from "./wire.ts";
import { Writer } from "../protocol/mod.ts";

/** Initial room of the reply buffer (it grows when the replies of a batch need more). */
const REPLY_BUFFER = 8192;

/** Where the replies of a batch are written (reset by every batch). */
const replyWriter = new Writer(REPLY_BUFFER);

/**
 * Give the replies' bytes one buffer of their own, exactly their size: they are views of the
 * reused reply buffer (or bytes of their own, for requests that waited for lookups), and a
 * message copies whole buffers. Copying a few hundred bytes is cheaper than transferring a
 * buffer of its own per batch (measured: a transfer costs more than the copy).
 */
function compact(replies: WireReply[]): void {
  let total = 0;
  for (const r of replies) total += r.data.length;
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const r of replies) {
    const n = r.data.length;
    bytes.set(r.data, offset);
    r.data = bytes.subarray(offset, offset + n);
    offset += n;
  }
}

/**
 * How often, in milliseconds, the statistics ride along with the replies; in between they are
 * left to count up (a timer posts them when no further batch comes), so that a busy worker does
 * not drain and send them with every batch. A flush from the main thread (`/metrics`, `ctl
 * stats`) still posts them at once.
 */
const STATS_INTERVAL_MS = 100;
let lastStats = 0;
let statsTimer: ReturnType<typeof setTimeout> | undefined;

/** Send replies with what `engine` counted; `count` batch packets are done (for the pool). */
function done(runtime: WorkerRuntime, engine: Engine, count: number, replies: WireReply[]): void {
  let stats: Array<[string, number[]]> = [];
  let latency: number[] | undefined;
  let extensions: ExtensionStatisticsDelta = [];
  let transactions: TransactionRecord[] | undefined;
  const now = performance.now();
  if (now - lastStats >= STATS_INTERVAL_MS) {
    lastStats = now;
    try {
      stats = engine.stats.drain();
      latency = engine.latency.drain();
      extensions = extensionStatistics.drain();
      transactions = drainTransactions(engine);
    } catch (e) {
      runtime.post({ kind: "exception", message: `collecting statistics: ${describeError(e)}` });
    }
  } else {
    statsTimer ??= setTimeout(() => {
      statsTimer = undefined;
      lastStats = performance.now();
      runtime.flushStats();
    }, STATS_INTERVAL_MS);
  }
  const message: FromWorker = {
    kind: "done",
    count,
    replies,
    stats,
    latency,
    extensions,
    transactions,
  };
  compact(replies);
  runtime.post(message);
  if (replies.length > 0) notifyReplied(runtime.settings.replied);
}

let repliedCell: Int32Array | undefined;

/** Wake the main thread from its `io-batch-delay` wait: there are replies to send. */
function notifyReplied(buffer: SharedArrayBuffer | undefined): void {
  if (!buffer) return;
  if (repliedCell?.buffer !== buffer) repliedCell = new Int32Array(buffer);
  Atomics.add(repliedCell, 0, 1);
  Atomics.notify(repliedCell, 0);
}

runWorker({
  started() {},
  batch(runtime, message) {
    // Whatever happens, the batch is acknowledged: the pool counts packets in flight per worker.
    const engine = runtime.engine;
    const replies: WireReply[] = [];
    try {
      // The replies share the reply buffer until `done` copies them out.
      engine?.handleBatch(message.packets, replies, replyWriter);
    } catch (e) {
      runtime.post({ kind: "exception", message: `handling a batch: ${describeError(e)}` });
    }
    if (engine) done(runtime, engine, message.packets.length, replies);
    else runtime.post({ kind: "done", count: message.packets.length, replies, stats: [] });
  },
  settled(runtime, engine, replies) {
    done(runtime, engine, 0, replies);
  },
  stop(runtime) {
    if (statsTimer !== undefined) clearTimeout(statsTimer);
    statsTimer = undefined;
    void runtime.finish();
  },
});
