/**
 * What every request-handling worker does the same way (the pool's workers and the ffi I/O
 * worker): report stray errors instead of dying, and build its engine from the configuration
 * snapshot the main thread sends.
 * @module
 */

/// <reference lib="deno.worker" />

import { installSharedBuffers } from "../handlers/shared_memory.ts";
import type { LogLine } from "./log_outputs.ts";
import { Engine, loadServerConfigAsync, snapshotReader } from "./engine.ts";
import { setupWorkerLogging } from "./logging.ts";
import type { WorkerInit } from "./wire.ts";

/** The messages a worker sends that this module produces. */
export type SetupMessage =
  | { kind: "logs"; lines: LogLine[]; dropped: number }
  | { kind: "exception"; message: string };

/** An error (or anything thrown) as text for the main thread's log. */
export function describeError(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

/**
 * An error nothing caught (a rejected promise nobody awaited, an exception in a callback) must not
 * end the worker: it is reported to the main thread, which logs it and counts it towards the
 * exception window (`max-exceptions`), and the worker keeps answering.
 */
export function reportStrayErrors(post: (message: SetupMessage) => void): void {
  self.addEventListener("unhandledrejection", (event: PromiseRejectionEvent) => {
    event.preventDefault();
    post({ kind: "exception", message: `unhandled rejection: ${describeError(event.reason)}` });
  });
  self.addEventListener("error", (event: ErrorEvent) => {
    event.preventDefault();
    post({
      kind: "exception",
      message: `uncaught error: ${describeError(event.error ?? event.message)}`,
    });
  });
}

/**
 * Set up the worker's logging and build its engine from the configuration files the main thread
 * read (as root), with the shared buffers (rate limiting) it handed over.
 */
export async function buildWorkerEngine(
  init: WorkerInit,
  post: (message: SetupMessage) => void,
): Promise<Engine> {
  await setupWorkerLogging(
    init.logLevel,
    init.workerId,
    (lines, dropped) => post({ kind: "logs", lines, dropped }),
    init.logMultiprocessing ?? false,
  );
  const config = await loadServerConfigAsync(
    init.configPath,
    init.configText,
    false,
    snapshotReader(init.configFiles ?? {}),
  );
  installSharedBuffers(init.sharedBuffers);
  return await Engine.create(config, init.serverDuid);
}
