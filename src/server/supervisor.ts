/**
 * One supervisor for every kind of worker thread (the `deno` backend's request workers and the
 * `ffi` backend's I/O workers), parameterised by the worker's entry module: it spawns them and
 * waits until each built its engine, replaces one that dies with the configuration in force,
 * (see {@link Supervisor} for when a worker counts as dead and when the server gives up),
 * reloads them in two phases (every worker builds its new engine, then all switch, or all drop
 * it), collects their statistics on demand and stops them.
 *
 * Every worker shares a control block with the main thread (see `CTL_STOP` in wire.ts): a worker
 * busy in a blocking FFI call cannot read messages, so stopping is a flag it polls, and every
 * posted message is counted until the worker picked it up. `worker.terminate()` cannot interrupt
 * a blocking call either: a worker that does not stop in time is terminated and its epoll
 * descriptor closed by {@link SupervisorOptions.terminated}. The worker side is worker_setup.ts.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { ExplainTrace, IncomingPacket } from "../pipeline/mod.ts";
import type { LogLine } from "./log_outputs.ts";
import { assertNotRoot } from "./privileges.ts";
import {
  CTL_BEAT,
  CTL_PENDING,
  CTL_SIZE,
  CTL_STOP,
  type EngineInit,
  type FromWorker,
  type IoListener,
  type StatsDelta,
  type ToWorker,
  type WorkerSettings,
} from "./wire.ts";

const log = getLogger(["dhcpkit", "workers"]);

/** A reload phase that gets no answer within this long fails (a stuck or dying worker). */
export const RELOAD_TIMEOUT_MS = 60_000;

/**
 * How long workers get to stop: what they wait for lookups is answered first (at most
 * `lookup-timeout`), plus a margin for closing their engines.
 */
export function stopTimeoutMs(config: { lookupTimeout: number } | undefined): number {
  return (config?.lookupTimeout ?? 1) * 1000 + 2000;
}

/**
 * A worker that is not ready yet (loading its modules, building its first engine) may stay
 * silent this long, or `worker-heartbeat-timeout` when that is longer.
 */
export const START_GRACE_MS = 60_000;

/** A replacement worker that fails to start this many times in a row stops the server. */
export const MAX_FAILED_STARTS = 3;

/** When a worker is replaced (from the configuration in force). */
export interface WorkerLimits {
  /** More errors than this within {@link WorkerLimits.exceptionWindow} restart the worker. */
  maxExceptions: number;
  /** The window of `maxExceptions`, in seconds. */
  exceptionWindow: number;
  /** A worker without heartbeat for this long is replaced, in seconds. */
  workerHeartbeatTimeout: number;
}

/** Where the workers report to. */
export interface SupervisorEvents {
  /** Statistics and latency deltas. */
  stats(delta: StatsDelta): void;
  /** A worker died, failed, or reported an error nothing caught (logged; it may be replaced). */
  failure(message: string): void;
  /** A worker was replaced by a fresh one (counted as `worker_restarts`). */
  restarted?(): void;
  /** Replacing a worker keeps failing: the server cannot go on. */
  fatal?(message: string): void;
  /** Log lines forwarded by a worker (`dropped` did not fit in its buffer). */
  logs(lines: LogLine[], dropped: number): void;
  /** A batch answered (`deno` backend workers; see `done` in wire.ts). */
  done?(worker: WorkerThread, message: Extract<FromWorker, { kind: "done" }>): void;
  /** A worker was replaced after it died: what was posted to it is lost. */
  replaced?(worker: WorkerThread): void;
}

/** What kind of worker a supervisor runs. */
export interface SupervisorOptions {
  /** The worker's entry module. */
  entry: URL;
  /** How many run side by side. */
  count: number;
  /** What the logs call one (`worker`, `I/O worker`). */
  label: string;
  /** The thread name of worker `id` (from 1). */
  name(id: number): string;
  /** The sockets the workers answer on (ffi I/O workers), else empty. */
  listeners: IoListener[];
  /** Release what a worker that had to be terminated left behind (its epoll descriptor). */
  terminated?(control: Int32Array): void;
  /** The limits in force (defaults: 5 errors in 10 s, 30 s without heartbeat). */
  limits?(): WorkerLimits | undefined;
}

/** One running worker. */
export class WorkerThread {
  /** The thread. */
  readonly worker: Worker;
  /** The control block shared with it. */
  readonly control: Int32Array;
  /** It built its engine and answers requests. */
  ready = false;
  /** It died (an error reached the main thread). */
  dead = false;
  /** Resolves once it stopped (or died). */
  readonly stopped: PromiseWithResolvers<void> = Promise.withResolvers();
  /** Callers waiting for an explanation, by number. */
  explainWaiters: Map<number, (answer: { trace?: ExplainTrace; error?: string }) => void> =
    new Map();
  /** Callers waiting for its statistics, by flush number. */
  flushWaiters: Array<{ seq: number; resolve: () => void }> = [];
  /** The heartbeat last seen, and when it changed (ms). */
  lastBeat = 0;
  /** When {@link WorkerThread.lastBeat} last changed (epoch ms). */
  lastBeatAt: number = Date.now();
  /** When its recent errors happened (epoch ms), for `max-exceptions`. */
  errors: number[] = [];
  /** Fail its start (it was terminated before it got ready). */
  failStart?: (error: Error) => void;

  /** Spawn worker `id` (from 1) of `options`. */
  constructor(readonly id: number, options: SupervisorOptions) {
    // A thread inherits its creator's user: never start one while the main thread is root.
    assertNotRoot(`start ${options.label} ${id}`);
    this.worker = new Worker(options.entry, { type: "module", name: options.name(id) });
    this.control = new Int32Array(new SharedArrayBuffer(CTL_SIZE * 4));
  }

  /** Post `message`, counted in the control block until the worker picked it up. */
  post(message: ToWorker, transfer: Transferable[] = []): void {
    // Counted before posting, so the worker's decrement can never come first.
    Atomics.add(this.control, CTL_PENDING, 1);
    this.worker.postMessage(message, transfer);
  }

  /** Resolve every flush waiter up to `seq` (all when undefined). */
  flushed(seq?: number): void {
    this.flushWaiters = this.flushWaiters.filter((w) => {
      if (seq !== undefined && w.seq > seq) return true;
      w.resolve();
      return false;
    });
  }
}

/** A reload under way: the workers whose answer the current phase still waits for. */
interface PendingReload {
  generation: number;
  engine: EngineInit;
  settings: WorkerSettings;
  waiting: Set<WorkerThread>;
  /** Phase two: every worker built its engine and was told to switch. */
  committing: boolean;
  error?: string;
  /** Static assignments per source of the new engines (they all load the same). */
  assignments?: Array<[string, number]>;
  timer: ReturnType<typeof setTimeout>;
  done: PromiseWithResolvers<void>;
}

/**
 * A set of workers running one entry module (see the module documentation).
 *
 * A worker counts as dead when an error reaches the main thread, when its heartbeat (see
 * `CTL_BEAT` in wire.ts) stops for `worker-heartbeat-timeout` (it called `close()` or
 * `Deno.exit`, or a handler hangs), or when it reports more than `max-exceptions` errors within
 * `exception-window`; it is then terminated and replaced by a fresh one, counted as a restart.
 * A replacement that fails to start is tried again after 1, 2, ... seconds; after
 * {@link MAX_FAILED_STARTS} failures in a row the supervisor reports a fatal error (the server
 * stops: restarts keep failing).
 */
export class Supervisor {
  #workers: WorkerThread[] = [];
  #current?: { engine: EngineInit; settings: WorkerSettings };
  #reload?: PendingReload;
  #generation = 0;
  #flushSeq = 0;
  #started = false;
  #stopping = false;
  #monitor?: ReturnType<typeof setInterval>;
  readonly #retries = new Set<ReturnType<typeof setTimeout>>();
  /** Static assignments per source, as the workers loaded them (they all load the same). */
  staticAssignments: Array<[string, number]> = [];

  /** Create the supervisor (nothing runs until {@link Supervisor.start}). */
  constructor(readonly options: SupervisorOptions, readonly events: SupervisorEvents) {}

  /** The workers (a replacement takes the place of the one that died). */
  get workers(): readonly WorkerThread[] {
    return this.#workers;
  }

  /** Messages posted to the workers that they have not picked up yet. */
  get outstandingMessages(): number {
    return this.#workers.reduce(
      (n, w) => n + (w.dead ? 0 : Atomics.load(w.control, CTL_PENDING)),
      0,
    );
  }

  /**
   * Start the workers and wait until each has built its engine. On failure every one is stopped
   * and the error is thrown.
   */
  async start(engine: EngineInit, settings: WorkerSettings): Promise<void> {
    this.#current = { engine, settings };
    this.#watch();
    const spawned = Array.from({ length: this.options.count }, (_, i) => this.#spawn(i + 1));
    this.#workers = spawned.map((s) => s.worker);
    const results = await Promise.allSettled(spawned.map((s) => s.ready));
    const failed = results.find((r) => r.status === "rejected");
    if (failed) {
      await this.stop(2000);
      throw (failed as PromiseRejectedResult).reason;
    }
    this.#started = true;
  }

  /** Create worker `id`, send it its init message; `ready` settles when it built its engine. */
  #spawn(id: number): { worker: WorkerThread; ready: Promise<void> } {
    const w = new WorkerThread(id, this.options);
    const ready = Promise.withResolvers<void>();
    const label = this.options.label;
    w.worker.onmessage = (event: MessageEvent<FromWorker>) => {
      const m = event.data;
      if (m.kind === "ready") {
        this.staticAssignments = m.assignments;
        w.ready = true;
        ready.resolve();
      } else if (m.kind === "init-error") {
        ready.reject(new Error(`the ${label} failed to start: ${m.message}`));
      } else this.#message(w, m);
    };
    w.failStart = (error) => ready.reject(error);
    w.worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      ready.reject(new Error(`the ${label} crashed: ${event.message}`));
      this.#died(w, event.message);
    };
    const { engine, settings } = this.#current!;
    w.post({
      kind: "init",
      workerId: id,
      workers: this.options.count,
      engine,
      settings,
      control: w.control.buffer as SharedArrayBuffer,
      listeners: this.options.listeners,
    });
    return { worker: w, ready: ready.promise };
  }

  #message(w: WorkerThread, m: FromWorker): void {
    switch (m.kind) {
      case "stats":
        this.events.stats(m);
        break;
      case "done":
        this.events.done?.(w, m);
        break;
      case "logs":
        this.events.logs(m.lines, m.dropped);
        break;
      case "exception":
        this.events.failure(`${this.options.label} ${w.id}: ${m.message}`);
        this.#counted(w);
        break;
      case "prepared":
      case "reload-error": {
        const pending = this.#reload;
        if (pending?.generation !== m.generation || pending.committing) break;
        if (!pending.waiting.delete(w)) break;
        if (m.kind === "reload-error") pending.error ??= m.message;
        else pending.assignments = m.assignments;
        this.#advance(pending);
        break;
      }
      case "committed": {
        const pending = this.#reload;
        if (pending?.generation !== m.generation || !pending.committing) break;
        if (pending.waiting.delete(w)) this.#advance(pending);
        break;
      }
      case "flushed":
        w.flushed(m.seq);
        break;
      case "explained":
        w.explainWaiters.get(m.seq)?.(m);
        w.explainWaiters.delete(m.seq);
        break;
      case "stopped":
        w.stopped.resolve();
        break;
    }
  }

  /** The limits in force. */
  #limits(): WorkerLimits {
    return this.options.limits?.() ??
      { maxExceptions: 5, exceptionWindow: 10, workerHeartbeatTimeout: 30 };
  }

  /** Look at every worker's heartbeat regularly; replace the silent ones. */
  #watch(): void {
    if (this.#monitor !== undefined) return;
    const every = Math.max(100, Math.min(1000, this.#limits().workerHeartbeatTimeout * 250));
    this.#monitor = setInterval(() => this.#checkHeartbeats(Date.now()), every);
  }

  #checkHeartbeats(now: number): void {
    if (this.#stopping) return;
    const timeout = this.#limits().workerHeartbeatTimeout * 1000;
    for (const w of [...this.#workers]) {
      if (w.dead) continue;
      const limit = w.ready ? timeout : Math.max(timeout, START_GRACE_MS);
      const beat = Atomics.load(w.control, CTL_BEAT);
      if (beat !== w.lastBeat) {
        w.lastBeat = beat;
        w.lastBeatAt = now;
      } else if (now - w.lastBeatAt > limit) {
        this.#kill(
          w,
          `no heartbeat for ${((now - w.lastBeatAt) / 1000).toFixed(1)} s ` +
            "(it exited or hangs)",
        );
      }
    }
  }

  /** An error a worker reported: more than `max-exceptions` in the window replace it. */
  #counted(w: WorkerThread): void {
    const { maxExceptions, exceptionWindow } = this.#limits();
    const now = Date.now();
    w.errors = w.errors.filter((t) => t > now - exceptionWindow * 1000);
    w.errors.push(now);
    if (w.errors.length <= maxExceptions || w.dead) return;
    this.#kill(w, `more than ${maxExceptions} errors within ${exceptionWindow} s`);
  }

  /** Terminate `w` (it is not to be trusted any more) and treat it as dead. */
  #kill(w: WorkerThread, why: string): void {
    if (w.dead) return;
    w.worker.terminate();
    this.options.terminated?.(w.control);
    w.failStart?.(new Error(`the ${this.options.label} was stopped: ${why}`));
    this.#died(w, why);
  }

  /**
   * A worker died: nothing may keep waiting for it (a reload counts it as failed in phase one),
   * and a worker that was serving is replaced with the configuration in force.
   */
  #died(w: WorkerThread, why: string): void {
    if (w.dead) return;
    w.dead = true;
    w.stopped.resolve();
    w.flushed();
    for (const resolve of w.explainWaiters.values()) resolve({ error: `the worker died: ${why}` });
    w.explainWaiters.clear();
    const label = this.options.label;
    this.events.failure(`${label} ${w.id} died: ${why}`);
    const pending = this.#reload;
    if (pending?.waiting.delete(w)) {
      if (!pending.committing) pending.error ??= `a ${label} died: ${why}`;
      this.#advance(pending);
    }
    const at = this.#workers.indexOf(w);
    // A replacement that dies before it is ready is retried by #replace.
    if (!this.#started || this.#stopping || at < 0 || !w.ready) return;
    log.error("{label} {id} died ({why}); starting a new one", { label, id: w.id, why });
    this.#replace(at, w.id, 0);
  }

  /** Start a new worker `id` in slot `at`; `failed` starts of it failed in a row before. */
  #replace(at: number, id: number, failed: number): void {
    if (this.#stopping) return;
    const label = this.options.label;
    const next = this.#spawn(id);
    this.#workers[at] = next.worker;
    this.events.restarted?.();
    this.events.replaced?.(next.worker);
    // A reload in phase one: the replacement builds the new engine too, or it would never
    // answer the commit (it started with the configuration in force).
    const pending = this.#reload;
    if (pending && !pending.committing) {
      pending.waiting.add(next.worker);
      const { generation, engine, settings } = pending;
      next.worker.post({ kind: "reload", generation, engine, settings });
    }
    next.ready.then(
      () => log.warning("{label} {id} replaced", { label, id }),
      (e) => {
        const w = next.worker;
        if (!w.dead) {
          w.dead = true;
          w.worker.terminate();
          this.options.terminated?.(w.control);
          w.stopped.resolve();
        }
        if (this.#stopping || this.#workers[at] !== w) return;
        const attempts = failed + 1;
        const message = `replacing ${label} ${id}: ${(e as Error).message}`;
        if (attempts >= MAX_FAILED_STARTS) {
          this.events.fatal?.(`${message} (${attempts} failures in a row)`);
          return;
        }
        this.events.failure(`${message}; trying again in ${attempts} s`);
        const timer = setTimeout(() => {
          this.#retries.delete(timer);
          if (this.#workers[at] === w) this.#replace(at, id, attempts);
        }, attempts * 1000);
        this.#retries.add(timer);
      },
    );
  }

  #postAll(message: ToWorker): void {
    for (const w of this.#workers) if (!w.dead) w.post(message);
  }

  /**
   * Have the workers build new engines (a new configuration snapshot, same sockets). Resolves once
   * every one built it and all of them switched; rejects (the old engines keep answering
   * everywhere) when one of them cannot build it, dies meanwhile, or does not answer within
   * {@link RELOAD_TIMEOUT_MS}.
   */
  reload(engine: EngineInit, settings: WorkerSettings): Promise<void> {
    const previous = this.#reload;
    if (previous) this.#fail(previous, "superseded by another reload");
    const generation = ++this.#generation;
    const pending: PendingReload = {
      generation,
      engine,
      settings,
      waiting: new Set(this.#workers.filter((w) => !w.dead)),
      committing: false,
      done: Promise.withResolvers<void>(),
      timer: setTimeout(() => {
        if (this.#reload !== pending) return;
        pending.error ??= `the ${this.options.label}s did not answer within ${
          RELOAD_TIMEOUT_MS / 1000
        } s`;
        pending.waiting.clear();
        if (pending.committing) {
          log.error("Reload: {error}; some may still use the previous configuration", {
            error: pending.error,
          });
        }
        this.#advance(pending);
      }, RELOAD_TIMEOUT_MS),
    };
    this.#reload = pending;
    for (const w of pending.waiting) w.post({ kind: "reload", generation, engine, settings });
    this.#advance(pending); // no worker at all
    return pending.done.promise;
  }

  /** Move a reload on once no answer is awaited: commit after phase one, finish after two. */
  #advance(pending: PendingReload): void {
    if (pending.waiting.size > 0 || this.#reload !== pending) return;
    const { generation } = pending;
    if (!pending.committing && pending.error === undefined) {
      pending.committing = true;
      this.#current = { engine: pending.engine, settings: pending.settings };
      for (const w of this.#workers) if (!w.dead) pending.waiting.add(w);
      this.#postAll({ kind: "commit", generation });
      this.#advance(pending); // nobody to wait for
      return;
    }
    this.#reload = undefined;
    clearTimeout(pending.timer);
    if (pending.committing) {
      if (pending.assignments) this.staticAssignments = pending.assignments;
      pending.done.resolve();
    } else {
      this.#postAll({ kind: "abort", generation });
      pending.done.reject(new Error(pending.error));
    }
  }

  #fail(pending: PendingReload, why: string): void {
    clearTimeout(pending.timer);
    this.#reload = undefined;
    pending.done.reject(new Error(why));
  }

  /**
   * Have every worker post what it counted so far, so the statistics shown next include every
   * request answered before this call. Resolves when all did or after `timeoutMs`.
   */
  async flush(timeoutMs = 500): Promise<void> {
    const seq = ++this.#flushSeq;
    const flushed = this.#workers.filter((w) => !w.dead).map((w) =>
      new Promise<void>((resolve) => {
        w.flushWaiters.push({ seq, resolve });
        w.post({ kind: "flush", seq });
      })
    );
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all(flushed),
      new Promise<void>((resolve) => timer = setTimeout(resolve, timeoutMs)),
    ]);
    clearTimeout(timer);
  }

  /**
   * Have one worker explain how its engine answers `packet` (a dry run); rejects when no worker
   * is ready or it does not answer within `timeoutMs`.
   */
  async explain(packet: IncomingPacket, timeoutMs: number): Promise<ExplainTrace> {
    const w = this.#workers.find((w) => w.ready && !w.dead);
    if (!w) throw new Error(`no ${this.options.label} is ready`);
    const seq = ++this.#flushSeq;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const answer = await new Promise<{ trace?: ExplainTrace; error?: string }>((resolve) => {
        w.explainWaiters.set(seq, resolve);
        timer = setTimeout(() => {
          w.explainWaiters.delete(seq);
          resolve({
            error: `the ${this.options.label} did not answer within ${timeoutMs / 1000} s`,
          });
        }, timeoutMs);
        w.post({ kind: "explain", seq, packet });
      });
      if (!answer.trace) throw new Error(answer.error ?? "no explanation");
      return answer.trace;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Stop every worker (a reload under way is rejected): each stops receiving, answers what waits
   * for lookups, closes its engines and says so; after `timeoutMs` the late ones are terminated.
   */
  async stop(timeoutMs: number): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#monitor);
    for (const timer of this.#retries) clearTimeout(timer);
    this.#retries.clear();
    if (this.#reload) this.#fail(this.#reload, "the server is stopping");
    for (const w of this.#workers) {
      Atomics.store(w.control, CTL_STOP, 1);
      if (!w.dead) w.post({ kind: "stop" });
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<boolean>((r) => timer = setTimeout(() => r(true), timeoutMs));
    const late = await Promise.race([
      Promise.all(this.#workers.map((w) => w.stopped.promise)).then(() => false),
      timedOut,
    ]);
    clearTimeout(timer);
    if (late) {
      log.warning("A {label} did not stop in time; terminating it", { label: this.options.label });
    }
    for (const w of this.#workers) {
      w.worker.terminate();
      this.options.terminated?.(w.control);
      w.flushed();
    }
    this.#workers = [];
  }
}
