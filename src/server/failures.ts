/**
 * What the server counts and says about trouble that is not a request's own: errors nothing
 * caught in the main thread (`max-exceptions` within `exception-window` stops the server; a
 * worker's errors restart that worker instead, see supervisor.ts), workers replaced, and packets
 * dropped because every worker was busy.
 * @module
 */

import { getLogger } from "@logtape/logtape";

const log = getLogger(["dhcpkit", "server"]);

/** The server's failure counters (see the module documentation). */
export class Failures {
  /** Packets dropped because every worker was busy. */
  queueDrops = 0;
  /** Workers replaced because they died, hung or failed too often (`worker_restarts`). */
  workerRestarts = 0;
  #dropWarnedAt = -Infinity;
  #exceptions: number[] = [];

  /** `stop` is called when errors come too often; `limits` reads the configured window. */
  constructor(
    readonly stop: () => void,
    readonly limits: () => { exceptionWindow: number; maxExceptions: number } | undefined,
  ) {}

  /** An error nothing caught: logged, and counted towards `max-exceptions`. */
  exception(message: string): void {
    log.error("{message}", { message });
    const now = Date.now() / 1000;
    const window = this.limits()?.exceptionWindow ?? 10;
    const max = this.limits()?.maxExceptions ?? 5;
    this.#exceptions = this.#exceptions.filter((t) => t > now - window);
    this.#exceptions.push(now);
    if (this.#exceptions.length <= max) return;
    log.fatal("More than {max} errors in {window} seconds: stopping", { max, window });
    this.stop();
  }

  /** A worker's error: logged only (its supervisor counts it towards restarting the worker). */
  workerError(message: string): void {
    log.error("{message}", { message });
  }

  /** Replacing workers keeps failing: stop the server. */
  fatal(message: string): void {
    log.fatal("{message}: stopping", { message });
    this.stop();
  }

  /** A packet dropped because every worker was busy: counted, said once a minute at most. */
  queueFull(id: string): void {
    this.queueDrops++;
    log.debug("{id}: dropped, all workers are busy", { id });
    const now = Date.now();
    if (now - this.#dropWarnedAt < 60_000) return;
    this.#dropWarnedAt = now;
    log.warning("All workers are busy: dropping packets ({total} dropped so far)", {
      total: this.queueDrops,
    });
  }
}
