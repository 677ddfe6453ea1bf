/**
 * The `io-backend ffi` UDP backend, main-thread side. The listeners' sockets are created through
 * libc (synchronously, as root: see {@link FfiBackend.open}) and handed, as descriptors, to
 * `workers` I/O Workers (at least one; io_worker.ts) that each loop epoll_wait → recvmmsg →
 * `Engine.handleBatch` → sendmmsg on the same sockets with an engine of their own. The main
 * thread keeps everything else: control socket, TCP, metrics, logging, reloads; it merges the
 * statistics the I/O Workers post.
 *
 * An I/O Worker blocks in FFI calls, so it is steered through a SharedArrayBuffer of its own
 * (stop flag, "message pending" flag) and picks up messages when its loop yields (after every
 * poll timeout, every few batches, or at once when the pending flag is set).
 * `worker.terminate()` cannot interrupt a blocking FFI call, so stopping is cooperative. A reload
 * is two-phase: every Worker builds its new engine, and they switch only when all succeeded.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type {
  ListenerConfig,
  ListenInterfaceValues,
  ListenUnicastValues,
  ServerConfig,
} from "../../config/mod.ts";
import type { HostInterface } from "../interfaces.ts";
import {
  ALL_DHCP_RELAY_AGENTS_AND_SERVERS,
  ListenerError,
  resolveInterfaceListener,
} from "../listeners.ts";
import type { LogLine } from "../log_outputs.ts";
import type { WorkerInit } from "../wire.ts";
import {
  closeFd,
  interfaceIndex,
  openUdpSocket,
  receiveBufferSize,
  type UdpSocketSpec,
} from "./ffi_socket.ts";
import { libc } from "./libc.ts";

const log = getLogger(["dhcpkit", "server"]);

/** Receive buffer of every FFI socket (SO_RCVBUF; SO_RCVBUFFORCE as root). */
export const FFI_RECEIVE_BUFFER = 4 * 1024 * 1024;

/**
 * Indexes in the control `Int32Array` shared with each I/O Worker: stop flag, number of messages
 * posted but not yet handled, and the Worker's epoll descriptor (0: none), which the main thread
 * closes when it has to terminate a Worker that did not stop.
 */
export const CTL_STOP = 0, CTL_PENDING = 1, CTL_EPFD = 2;
const CTL_SIZE = 3;

/** One socket of a listener, as the I/O Worker sees it. */
export interface IoSocket {
  /** The descriptor. */
  fd: number;
  /** Whether it receives multicast (used when a datagram carries no IPV6_PKTINFO). */
  multicast: boolean;
}

/** A listener as the I/O Worker needs it (plain data, sent with postMessage). */
export interface IoListener {
  /** Position in the configuration (replies are routed by it). */
  index: number;
  /** For logs: `interface eth0` or `unicast 2001:db8::1`. */
  description: string;
  /** Server interface name put in the internal Interface-ID. */
  interfaceName: string;
  /** Link address put in the internal relay layer. */
  linkAddress: string;
  /** Marks for requests received here. */
  marks: string[];
  /** Sockets to receive from (filled in by {@link FfiBackend.open}). */
  receive: IoSocket[];
  /** Descriptor replies are sent from. */
  replyFd: number;
  /** Source address of replies (the reply socket's address, without scope). */
  replyFrom: string;
  /** Interface index for link-local destinations and IPV6_PKTINFO (0: none). */
  ifindex: number;
}

/** Main thread → I/O Worker. */
export type ToIo =
  | {
    kind: "init";
    init: WorkerInit;
    /** How many I/O Workers share the sockets (for unique packet ids). */
    workers: number;
    /** `io-batch-delay`, in seconds. */
    batchDelay: number;
    listeners: IoListener[];
    control: SharedArrayBuffer;
  }
  | { kind: "reload"; init: WorkerInit; batchDelay: number; generation: number }
  | { kind: "commit"; generation: number }
  | { kind: "abort"; generation: number }
  | { kind: "flush"; seq: number };

/** I/O Worker → main thread. */
export type FromIo =
  | { kind: "ready"; assignments: Array<[string, number]> }
  | { kind: "init-error"; message: string }
  | { kind: "prepared"; generation: number; assignments: Array<[string, number]> }
  | { kind: "committed"; generation: number }
  | { kind: "flushed"; seq: number }
  | { kind: "reload-error"; message: string; generation: number }
  | { kind: "stats"; stats: Array<[string, number[]]>; latency?: number[] }
  | { kind: "logs"; lines: LogLine[]; dropped: number }
  | { kind: "exception"; message: string }
  | { kind: "stopped" };

/** Where the I/O Worker reports to. */
export interface IoEvents {
  /** Statistics deltas. */
  stats(delta: Array<[string, number[]]>): void;
  /** Request-latency histogram delta. */
  latency(delta: number[]): void;
  /** An error nothing caught (counted towards `max-exceptions`). */
  failure(message: string): void;
  /** Log lines forwarded by the worker. */
  logs(lines: LogLine[], dropped: number): void;
}

/**
 * Why `io-backend ffi` cannot be used in this process (one line), or undefined when it can:
 * Linux with glibc's x86_64/aarch64 layouts, and the `--allow-ffi` permission granted.
 */
export function ffiUnavailable(): string | undefined {
  if (Deno.build.os !== "linux") {
    return `io-backend ffi works on Linux only (this is ${Deno.build.os}); use io-backend deno`;
  }
  if (Deno.build.arch !== "x86_64" && Deno.build.arch !== "aarch64") {
    return `io-backend ffi supports x86_64 and aarch64 only (this is ${Deno.build.arch})`;
  }
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
    return "io-backend ffi needs the --allow-ffi permission: run with --allow-ffi added to the " +
      "deno flags (or use io-backend deno)";
  }
  try {
    libc();
  } catch (e) {
    return `io-backend ffi cannot load the C library: ${(e as Error).message}; use io-backend deno`;
  }
  return undefined;
}

/**
 * The backend a configured `io-backend` means in this process: `auto` is `ffi` when
 * {@link ffiUnavailable} finds no obstacle, else `deno`.
 */
export function chooseIoBackend(configured: "auto" | "deno" | "ffi"): "deno" | "ffi" {
  if (configured === "auto") return ffiUnavailable() === undefined ? "ffi" : "deno";
  return configured;
}

/**
 * How many I/O Workers `workers` (the configured value) means: at least one, and no more than
 * the CPUs this process may run on (its affinity mask), since each Worker runs a busy loop of its
 * own and more of them than CPUs would only take turns on the same cores.
 */
export function ioWorkerCount(workers: number, cpus = navigator.hardwareConcurrency || 1): number {
  return Math.max(1, Math.min(workers, cpus));
}

function where(section: ListenerConfig): string {
  return `${section.file}:${section.line}`;
}

/** A listener planned from the configuration: its worker view and the sockets to open. */
interface PlannedListener {
  listener: Omit<IoListener, "receive" | "replyFd">;
  section: ListenerConfig;
  /** Sockets to open; the one at `replyIndex` sends the replies. */
  sockets: Array<UdpSocketSpec & { multicast: boolean }>;
  replyIndex: number;
}

function planInterface(
  section: ListenerConfig,
  values: ListenInterfaceValues,
  interfaces: readonly HostInterface[],
  index: number,
): PlannedListener {
  const { name, iface, replyFrom, linkAddress, port } = resolveInterfaceListener(
    section,
    values,
    interfaces,
  );
  let ifindex = iface.index;
  if (!ifindex) {
    try {
      ifindex = interfaceIndex(name);
    } catch (e) {
      throw new ListenerError(`${where(section)}: ${(e as Error).message}`);
    }
  }
  return {
    listener: {
      index,
      description: `interface ${name}`,
      interfaceName: name,
      linkAddress,
      marks: values.marks?.length ? [...values.marks] : ["unmarked"],
      replyFrom,
      ifindex,
    },
    section,
    sockets: [
      {
        address: `${ALL_DHCP_RELAY_AGENTS_AND_SERVERS}%${ifindex}`,
        port,
        receiveBuffer: FFI_RECEIVE_BUFFER,
        joinGroup: ALL_DHCP_RELAY_AGENTS_AND_SERVERS,
        joinInterface: ifindex,
        multicastLoop: values.listenToSelf ?? false,
        multicast: true,
      },
      {
        address: `${replyFrom}%${ifindex}`,
        port,
        receiveBuffer: FFI_RECEIVE_BUFFER,
        multicast: false,
      },
    ],
    replyIndex: 1,
  };
}

function planUnicast(
  section: ListenerConfig,
  values: ListenUnicastValues,
  interfaces: readonly HostInterface[],
  index: number,
): PlannedListener {
  const address = values.address.text;
  const iface = interfaces.find((i) => i.ipv6.includes(address));
  if (!iface && address !== "::1") {
    throw new ListenerError(`${where(section)}: ${address} is not configured on any interface`);
  }
  const port = values.port ?? 547;
  return {
    listener: {
      index,
      description: `unicast ${address}`,
      interfaceName: iface?.name ?? "lo",
      linkAddress: address,
      marks: values.marks?.length ? [...values.marks] : ["unmarked"],
      replyFrom: address,
      ifindex: 0,
    },
    section,
    sockets: [{ address, port, receiveBuffer: FFI_RECEIVE_BUFFER, multicast: false }],
    replyIndex: 0,
  };
}

/** One running I/O Worker and its control block. */
interface IoThread {
  /** Its number: packet ids and the log label follow it; a replacement keeps it. */
  index: number;
  worker: Worker;
  ctl: Int32Array;
  /** It built its engine and answers requests. */
  ready: boolean;
  /** It died (an error reached the main thread); see FfiBackend's replacement of it. */
  dead: boolean;
  stopped: Promise<void>;
  resolveStopped: () => void;
  /** Callers waiting for this Worker's statistics, by flush number (see `flushStats`). */
  flushWaiters: Array<{ seq: number; resolve: () => void }>;
}

/** A reload under way: the Workers whose answer the current phase still waits for. */
interface PendingReload {
  generation: number;
  init: WorkerInit;
  batchDelay: number;
  waiting: Set<IoThread>;
  /** Phase two: every Worker built its engine and was told to switch. */
  committing: boolean;
  error?: string;
  /** Static assignments per source of the new engines (they all load the same). */
  assignments?: Array<[string, number]>;
  timer: ReturnType<typeof setTimeout>;
  resolve: () => void;
  reject: (e: Error) => void;
}

/** A reload phase that gets no answer within this long fails (a stuck or dying Worker). */
export const RELOAD_TIMEOUT_MS = 60_000;

/**
 * The UDP listeners of a configuration, handled by one or more I/O Workers sharing the sockets.
 * Create with {@link FfiBackend.plan} (checks only), {@link FfiBackend.open} (binds, as root), then
 * {@link FfiBackend.start}. A Worker that dies is replaced with the configuration in force.
 */
export class FfiBackend {
  #listeners: IoListener[] = [];
  #threads: IoThread[] = [];
  #closed = false;
  /** The backend whose sockets this one took over (they go back when {@link start} fails). */
  #adoptedFrom?: FfiBackend;
  #reload?: PendingReload;
  #generation = 0;
  #events?: IoEvents;
  /** How many Workers run (fixed for the life of the backend). */
  #count = 1;
  /** The configuration every Worker runs now: what a replacement starts with. */
  #current?: { init: WorkerInit; batchDelay: number };
  #started = false;
  #stopping = false;
  #flushSeq = 0;
  /** Static assignments per source, as the I/O Workers loaded them (they all load the same). */
  staticAssignments: Array<[string, number]> = [];

  private constructor(
    readonly planned: readonly PlannedListener[],
    /** Identity of the listener set: equal keys mean the same sockets would be opened. */
    readonly key: string,
  ) {}

  /**
   * Check the UDP listeners of `config` against the host (the same checks and messages as the
   * default backend) without opening anything. Throws {@link ListenerError}.
   */
  static plan(config: ServerConfig, interfaces: readonly HostInterface[]): FfiBackend {
    const planned: PlannedListener[] = [];
    for (const section of config.listeners) {
      const index = planned.length;
      if (section.type === "listen-interface") {
        planned.push(
          planInterface(section, section.values as ListenInterfaceValues, interfaces, index),
        );
      } else if (section.type === "listen-unicast") {
        planned.push(
          planUnicast(section, section.values as ListenUnicastValues, interfaces, index),
        );
      }
    }
    const key = JSON.stringify(planned.map((p) => [p.listener, p.sockets]));
    return new FfiBackend(planned, key);
  }

  /** Descriptions of the listeners, for logs. */
  get descriptions(): string[] {
    return this.planned.map((p) => p.listener.description);
  }

  /**
   * Messages posted to the I/O Workers that they have not handled yet (for diagnostics and
   * tests): while it is not zero, a Worker yields to its event loop on every turn.
   */
  get outstandingMessages(): number {
    return this.#threads.reduce((n, t) => n + (t.dead ? 0 : Atomics.load(t.ctl, CTL_PENDING)), 0);
  }

  /** How many I/O Workers run. */
  get threads(): number {
    return this.#started ? this.#count : this.#threads.length;
  }

  /**
   * Create and bind every socket (synchronous: run it as root, e.g. inside `withRootSync`).
   * When one fails, the ones already open are closed and a {@link ListenerError} is thrown.
   */
  open(): void {
    const opened: number[] = [];
    let smallest = Infinity;
    try {
      for (const p of this.planned) {
        const receive: IoSocket[] = [];
        for (const spec of p.sockets) {
          let fd: number;
          try {
            fd = openUdpSocket(spec);
          } catch (e) {
            const what = spec.joinGroup
              ? `cannot listen on ${spec.joinGroup} on ${p.listener.interfaceName}`
              : `cannot listen on [${spec.address}]:${spec.port}`;
            throw new ListenerError(`${where(p.section)}: ${what}: ${(e as Error).message}`);
          }
          opened.push(fd);
          receive.push({ fd, multicast: spec.multicast });
          if (spec.receiveBuffer) smallest = Math.min(smallest, receiveBufferSize(fd));
        }
        this.#listeners.push({ ...p.listener, receive, replyFd: receive[p.replyIndex].fd });
      }
    } catch (e) {
      for (const fd of opened) closeFd(fd);
      this.#listeners = [];
      throw e;
    }
    if (smallest < FFI_RECEIVE_BUFFER) {
      log.warning(
        "UDP receive buffers are {size} KB, not {wanted} KB: net.core.rmem_max limits them " +
          "(raise it: sysctl -w net.core.rmem_max={bytes}, or start the server with " +
          "CAP_NET_ADMIN); bursts beyond that are dropped by the kernel",
        {
          size: Math.floor(smallest / 1024),
          wanted: FFI_RECEIVE_BUFFER / 1024,
          bytes: FFI_RECEIVE_BUFFER,
        },
      );
    }
  }

  /**
   * Take over the open sockets of `old` (planned from an equal configuration, same {@link key}):
   * they become this backend's to close, and `old` can be stopped without closing them. Used when
   * a reload changes only the number of I/O Workers.
   */
  adoptSockets(old: FfiBackend): void {
    this.#listeners = old.#listeners;
    this.#adoptedFrom = old;
    old.#closed = true;
  }

  /** Close the sockets (once). */
  #closeSockets(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const l of this.#listeners) for (const s of l.receive) closeFd(s.fd);
  }

  /** Close the sockets of a backend that was opened but never started. */
  close(): void {
    if (this.#threads.length === 0) this.#closeSockets();
  }

  #message(thread: IoThread, m: FromIo, ready: { resolve(): void; reject(e: Error): void }) {
    const events = this.#events!;
    switch (m.kind) {
      case "stats":
        if (m.stats.length) events.stats(m.stats);
        if (m.latency) events.latency(m.latency);
        break;
      case "logs":
        events.logs(m.lines, m.dropped);
        break;
      case "exception":
        events.failure(`I/O worker: ${m.message}`);
        break;
      case "ready":
        this.staticAssignments = m.assignments;
        thread.ready = true;
        ready.resolve();
        break;
      case "init-error":
        ready.reject(new Error(`the I/O worker failed to start: ${m.message}`));
        break;
      case "prepared":
      case "reload-error": {
        const pending = this.#reload;
        if (pending?.generation !== m.generation || pending.committing) break;
        if (!pending.waiting.delete(thread)) break;
        if (m.kind === "reload-error") pending.error ??= m.message;
        else pending.assignments = m.assignments;
        this.#advance(pending);
        break;
      }
      case "committed": {
        const pending = this.#reload;
        if (pending?.generation !== m.generation || !pending.committing) break;
        if (pending.waiting.delete(thread)) this.#advance(pending);
        break;
      }
      case "flushed":
        thread.flushWaiters = thread.flushWaiters.filter((w) => {
          if (w.seq > m.seq) return true;
          w.resolve();
          return false;
        });
        break;
      case "stopped":
        thread.resolveStopped();
        break;
    }
  }

  /** Move a reload on once no answer is awaited: commit after phase one, finish after two. */
  #advance(pending: PendingReload): void {
    if (pending.waiting.size > 0 || this.#reload !== pending) return;
    const { generation } = pending;
    if (!pending.committing && pending.error === undefined) {
      pending.committing = true;
      this.#current = { init: pending.init, batchDelay: pending.batchDelay };
      for (const t of this.#threads) if (!t.dead) pending.waiting.add(t);
      this.#postAll({ kind: "commit", generation });
      this.#advance(pending); // nobody to wait for
      return;
    }
    this.#reload = undefined;
    clearTimeout(pending.timer);
    if (pending.committing) {
      if (pending.assignments) this.staticAssignments = pending.assignments;
      pending.resolve();
    } else {
      this.#postAll({ kind: "abort", generation });
      pending.reject(new Error(pending.error));
    }
  }

  /** Create I/O Worker `index` and send it its init message. */
  #spawn(index: number, init: WorkerInit, batchDelay: number) {
    const worker = new Worker(new URL("./io_worker.ts", import.meta.url), {
      type: "module",
      name: this.#count === 1 ? "IO" : `IO-${index + 1}`,
    });
    const control = new SharedArrayBuffer(CTL_SIZE * 4);
    const stopped = Promise.withResolvers<void>();
    const ready = Promise.withResolvers<void>();
    const thread: IoThread = {
      index,
      worker,
      ctl: new Int32Array(control),
      ready: false,
      dead: false,
      stopped: stopped.promise,
      resolveStopped: stopped.resolve,
      flushWaiters: [],
    };
    worker.onmessage = (event: MessageEvent<FromIo>) => this.#message(thread, event.data, ready);
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      ready.reject(new Error(`the I/O worker crashed: ${event.message}`));
      this.#died(thread, event.message);
    };
    this.#post(thread, {
      kind: "init",
      init: { ...init, workerId: index },
      workers: this.#count,
      batchDelay,
      listeners: this.#listeners,
      control,
    });
    return { thread, ready: ready.promise };
  }

  /**
   * An I/O Worker died: nothing may keep waiting for it (a reload counts it as failed in phase
   * one), and a Worker that was serving is replaced with the configuration in force.
   */
  #died(thread: IoThread, why: string): void {
    if (thread.dead) return;
    thread.dead = true;
    thread.resolveStopped();
    for (const w of thread.flushWaiters.splice(0)) w.resolve();
    this.#events?.failure(`I/O worker crashed: ${why}`);
    const pending = this.#reload;
    if (pending?.waiting.delete(thread)) {
      if (!pending.committing) pending.error ??= `an I/O worker died: ${why}`;
      this.#advance(pending);
    }
    const at = this.#threads.indexOf(thread);
    if (!this.#started || this.#stopping || at < 0 || !thread.ready || !this.#current) return;
    const { thread: next, ready } = this.#spawn(
      thread.index,
      this.#current.init,
      this.#current.batchDelay,
    );
    this.#threads[at] = next;
    ready.then(
      () => log.warning("I/O worker {n} replaced after a crash", { n: thread.index }),
      (e) => this.#events?.failure(`replacing I/O worker ${thread.index}: ${(e as Error).message}`),
    );
  }

  /**
   * Start `count` I/O Workers (at least one; see {@link ioWorkerCount}) on the open sockets and
   * wait until each has built its engine. On failure every Worker is stopped, the sockets are
   * closed (or given back, see {@link adoptSockets}) and the error is thrown.
   */
  async start(init: WorkerInit, events: IoEvents, count = 1, batchDelay = 0): Promise<void> {
    this.#events = events;
    this.#count = Math.max(1, count);
    this.#current = { init, batchDelay };
    const spawned = Array.from({ length: this.#count }, (_, i) => this.#spawn(i, init, batchDelay));
    this.#threads = spawned.map((s) => s.thread);
    const results = await Promise.allSettled(spawned.map((s) => s.ready));
    const failed = results.find((r) => r.status === "rejected");
    if (failed) {
      await this.#stopThreads(2000);
      if (this.#adoptedFrom) {
        this.#adoptedFrom.#closed = false; // still serving on them
        this.#closed = true;
      } else {
        this.#closeSockets();
      }
      throw (failed as PromiseRejectedResult).reason;
    }
    this.#started = true;
  }

  #post(thread: IoThread, message: ToIo): void {
    // Counted before posting, so the Worker's decrement can never come first: the loop yields to
    // its event loop (where the message is delivered) while this is not zero.
    Atomics.add(thread.ctl, CTL_PENDING, 1);
    thread.worker.postMessage(message);
  }

  #postAll(message: ToIo): void {
    for (const t of this.#threads) if (!t.dead) this.#post(t, message);
  }

  /**
   * Have the I/O Workers build new engines from `init` (a new configuration snapshot for the same
   * listeners). Resolves once every one built it and all of them switched; rejects (the old
   * engines keep answering everywhere) when one of them cannot build it, dies meanwhile, or does
   * not answer within {@link RELOAD_TIMEOUT_MS}.
   */
  reload(init: WorkerInit, batchDelay = 0): Promise<void> {
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    const previous = this.#reload;
    if (previous) {
      clearTimeout(previous.timer);
      this.#reload = undefined;
      previous.reject(new Error("superseded by another reload"));
    }
    const generation = ++this.#generation;
    const pending: PendingReload = {
      generation,
      init,
      batchDelay,
      waiting: new Set(this.#threads.filter((t) => !t.dead)),
      committing: false,
      resolve,
      reject,
      timer: setTimeout(() => {
        if (this.#reload !== pending) return;
        pending.error ??= `the I/O workers did not answer within ${RELOAD_TIMEOUT_MS / 1000} s`;
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
    for (const t of pending.waiting) {
      this.#post(t, {
        kind: "reload",
        init: { ...init, workerId: t.index },
        batchDelay,
        generation,
      });
    }
    this.#advance(pending); // no Worker at all
    return promise;
  }

  /**
   * Have every I/O Worker post what it counted so far, so the statistics shown next include every
   * request answered before this call. Resolves when all did or after `timeoutMs`.
   */
  async flushStats(timeoutMs = 500): Promise<void> {
    const seq = ++this.#flushSeq;
    const flushed = this.#threads.filter((t) => !t.dead).map((t) =>
      new Promise<void>((resolve) => {
        t.flushWaiters.push({ seq, resolve });
        this.#post(t, { kind: "flush", seq });
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
   * Stop every Worker cooperatively (each notices its stop flag within one poll timeout and
   * closes its engine and epoll descriptor); after `timeoutMs` the late ones are terminated and
   * their epoll descriptors closed here.
   */
  async #stopThreads(timeoutMs: number): Promise<void> {
    for (const t of this.#threads) Atomics.store(t.ctl, CTL_STOP, 1);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<boolean>((r) => timer = setTimeout(() => r(true), timeoutMs));
    const late = await Promise.race([
      Promise.all(this.#threads.map((t) => t.stopped)).then(() => false),
      timedOut,
    ]);
    clearTimeout(timer);
    if (late) log.warning("An I/O worker did not stop in time; terminating it");
    for (const t of this.#threads) {
      t.worker.terminate();
      const epfd = Atomics.exchange(t.ctl, CTL_EPFD, 0);
      if (epfd > 0) closeFd(epfd);
      for (const w of t.flushWaiters.splice(0)) w.resolve();
    }
    this.#threads = [];
  }

  /**
   * Stop the I/O Workers (see {@link #stopThreads}), then close the sockets. A reload under way
   * is rejected.
   */
  async stop(timeoutMs = 2000): Promise<void> {
    this.#stopping = true;
    const pending = this.#reload;
    if (pending) {
      clearTimeout(pending.timer);
      this.#reload = undefined;
      pending.reject(new Error("the server is stopping"));
    }
    await this.#stopThreads(timeoutMs);
    this.#closeSockets();
  }
}
