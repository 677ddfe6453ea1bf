/**
 * Entry point of a request-handling Deno Worker: builds its own pipeline from the configuration
 * and answers batches of packets from the main thread.
 * @module
 */

/// <reference lib="deno.worker" />

import type { Engine } from "./engine.ts";
import { buildWorkerEngine, describeError, reportStrayErrors } from "./worker_setup.ts";
import type { FromWorker, ToWorker, WireReply } from "./wire.ts";

let engine: Engine | undefined;

function post(message: FromWorker, transfer: Transferable[] = []): void {
  self.postMessage(message, transfer);
}

reportStrayErrors(post);

self.onmessage = async (event: MessageEvent<ToWorker>) => {
  const message = event.data;
  if (message.kind === "init") {
    try {
      engine = await buildWorkerEngine(message, post);
      const e = engine;
      e.settled = (replies) => {
        const done: FromWorker = {
          kind: "done",
          count: 0,
          replies,
          stats: e.stats.drain(),
          latency: e.latency.drain(),
        };
        post(done);
      };
      post({ kind: "ready", assignments: engine.staticAssignments() });
    } catch (e) {
      post({ kind: "init-error", message: (e as Error)?.message ?? String(e) });
    }
  } else if (message.kind === "batch") {
    // Whatever happens, the batch is acknowledged: the pool counts packets in flight per worker.
    const replies: WireReply[] = [];
    let stats: Array<[string, number[]]> = [];
    let latency: number[] | undefined;
    try {
      engine?.handleBatch(message.packets, replies);
    } catch (e) {
      post({ kind: "exception", message: `handling a batch: ${describeError(e)}` });
    }
    try {
      stats = engine ? engine.stats.drain() : [];
      latency = engine?.latency.drain();
    } catch (e) {
      post({ kind: "exception", message: `collecting statistics: ${describeError(e)}` });
    }
    const done: FromWorker = {
      kind: "done",
      count: message.packets.length,
      replies,
      stats,
      latency,
    };
    try {
      post(done, [...new Set(replies.map((r) => r.data.buffer as ArrayBuffer))]);
    } catch {
      post(done);
    }
  } else if (message.kind === "stop") {
    await engine?.close();
    self.close();
  }
};
