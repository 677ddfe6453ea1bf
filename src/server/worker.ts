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
    const replies: WireReply[] = [];
    if (engine) engine.handleBatch(message.packets, replies);
    const stats = engine ? engine.stats.drain() : [];
    const latency = engine?.latency.drain();
    post(
      { kind: "done", count: message.packets.length, replies, stats, latency },
      replies.map((r) => r.data.buffer as ArrayBuffer),
    );
  } else if (message.kind === "stop") {
    await engine?.handler.close();
    self.close();
  }
};
