/**
 * The handler behind `<event-sink>`.
 * @module
 */

import { Handler, type TransactionBundle } from "@dhcpkit/dhcpkit";
import { transactionEvent } from "./event.ts";
import { LineQueue, type QueueStats, type Target } from "./queue.ts";
import type { Destination } from "./section.ts";

/** Open a destination for writing. */
export async function openDestination(destination: Destination): Promise<Target> {
  switch (destination.kind) {
    case "stdout":
      // Never close the process's standard output.
      return { write: (data) => Deno.stdout.write(data), close: () => {} };
    case "file":
      return await Deno.open(destination.path, { create: true, append: true });
    case "unix":
      return await Deno.connect({ transport: "unix", path: destination.path });
  }
}

/**
 * Records every answered transaction as a JSON line. The start time is taken in `analysePre`,
 * the event is built in `analysePost` (when the response is final) and handed to a bounded queue;
 * writing happens asynchronously, so handling never waits for the destination.
 */
export class EventSinkHandler extends Handler {
  #queue?: LineQueue;

  /** Create the handler; nothing is opened before {@link EventSinkHandler.workerInit}. */
  constructor(readonly destination: Destination, readonly queueSize = 10_000) {
    super();
  }

  /** The queue's counters (zero before `workerInit`). */
  get stats(): QueueStats {
    return this.#queue?.stats ?? { queued: 0, written: 0, dropped: 0 };
  }

  /** Start this worker's queue and writer. */
  override workerInit(): void {
    if (this.#queue) return;
    this.#queue = new LineQueue(() => openDestination(this.destination), this.queueSize);
    this.#queue.start();
  }

  /** Note when handling started. */
  override analysePre(bundle: TransactionBundle): void {
    bundle.handlerData.set(this, performance.now());
  }

  /** Queue the event for the finished response (or count it as dropped when the queue is full). */
  override analysePost(bundle: TransactionBundle): void {
    const queue = this.#queue;
    if (!queue) return;
    if (queue.full) {
      queue.drop(); // do not even build the event
      return;
    }
    const started = bundle.handlerData.get(this) as number | undefined;
    const elapsed = started === undefined ? 0 : performance.now() - started;
    queue.push(JSON.stringify(transactionEvent(bundle, elapsed)) + "\n");
  }

  /** Write what is queued (for at most a second) and close the destination. */
  override async close(): Promise<void> {
    await this.#queue?.close();
  }
}
