/**
 * Entry point of a request-handling Deno Worker: builds its own pipeline from the configuration
 * and answers batches of packets from the main thread.
 * @module
 */

/// <reference lib="deno.worker" />

import { Engine, loadServerConfigAsync, snapshotReader } from "./engine.ts";
import { setupWorkerLogging } from "./logging.ts";
import { installSharedBuffers } from "../handlers/shared_memory.ts";
import type { FromWorker, ToWorker, WireReply } from "./wire.ts";

let engine: Engine | undefined;

function post(message: FromWorker, transfer: Transferable[] = []): void {
  self.postMessage(message, transfer);
}

function describe(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

/**
 * An error nothing caught (a rejected promise nobody awaited, an exception in a callback) must not
 * end the worker: it is reported to the main thread, which logs it and counts it towards the
 * exception window (`max-exceptions`), and the worker keeps answering.
 */
self.addEventListener("unhandledrejection", (event: PromiseRejectionEvent) => {
  event.preventDefault();
  post({ kind: "exception", message: `unhandled rejection: ${describe(event.reason)}` });
});
self.addEventListener("error", (event: ErrorEvent) => {
  event.preventDefault();
  post({ kind: "exception", message: `uncaught error: ${describe(event.error ?? event.message)}` });
});

self.onmessage = async (event: MessageEvent<ToWorker>) => {
  const message = event.data;
  if (message.kind === "init") {
    try {
      await setupWorkerLogging(
        message.logLevel,
        message.workerId,
        (lines, dropped) => post({ kind: "logs", lines, dropped }),
        message.logMultiprocessing ?? false,
      );
      const config = await loadServerConfigAsync(
        message.configPath,
        message.configText,
        false,
        snapshotReader(message.configFiles ?? {}),
      );
      installSharedBuffers(message.sharedBuffers);
      engine = await Engine.create(config, message.serverDuid);
      post({ kind: "ready" });
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
      post({ kind: "exception", message: `handling a batch: ${describe(e)}` });
    }
    try {
      stats = engine ? engine.stats.drain() : [];
      latency = engine?.latency.drain();
    } catch (e) {
      post({ kind: "exception", message: `collecting statistics: ${describe(e)}` });
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
    await engine?.handler.close();
    self.close();
  }
};
