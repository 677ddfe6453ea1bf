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
import { closeFd, interfaceIndex, openUdpSocket, type UdpSocketSpec } from "./ffi_socket.ts";
import { libc } from "./libc.ts";

const log = getLogger(["dhcpkit", "server"]);

/** Receive buffer of every FFI socket (SO_RCVBUF; SO_RCVBUFFORCE as root). */
export const FFI_RECEIVE_BUFFER = 4 * 1024 * 1024;

/** Indexes in the control `Int32Array` shared with each I/O Worker. */
export const CTL_STOP = 0, CTL_PENDING = 1, CTL_STOPPED = 2;
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
  | { kind: "flush" };

/** I/O Worker → main thread. */
export type FromIo =
  | { kind: "ready" }
  | { kind: "init-error"; message: string }
  | { kind: "prepared"; generation: number }
  | { kind: "committed"; generation: number }
  | { kind: "flushed" }
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
  worker: Worker;
  ctl: Int32Array;
  control: SharedArrayBuffer;
  stopped: Promise<void>;
  resolveStopped: () => void;
  /** Callers waiting for this Worker's statistics (see {@link FfiBackend.flushStats}). */
  flushWaiters: Array<() => void>;
}

/** The answers to a reload still awaited from the I/O Workers. */
interface PendingReload {
  generation: number;
  /** Answers still awaited in the current phase (prepared, then committed). */
  waiting: number;
  committing: boolean;
  error?: string;
  resolve: () => void;
  reject: (e: Error) => void;
}

/**
 * The UDP listeners of a configuration, handled by one or more I/O Workers sharing the sockets.
 * Create with {@link FfiBackend.plan} (checks only), {@link FfiBackend.open} (binds, as root), then
 * {@link FfiBackend.start}.
 */
export class FfiBackend {
  #listeners: IoListener[] = [];
  #threads: IoThread[] = [];
  #closed = false;
  /** The backend whose sockets this one took over (they go back when {@link start} fails). */
  #adoptedFrom?: FfiBackend;
  #reload?: PendingReload;
  #generation = 0;

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

  /** How many I/O Workers are running. */
  get threads(): number {
    return this.#threads.length;
  }

  /**
   * Create and bind every socket (synchronous: run it as root, e.g. inside `withRootSync`).
   * When one fails, the ones already open are closed and a {@link ListenerError} is thrown.
   */
  open(): void {
    const opened: number[] = [];
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
        }
        this.#listeners.push({ ...p.listener, receive, replyFd: receive[p.replyIndex].fd });
      }
    } catch (e) {
      for (const fd of opened) closeFd(fd);
      this.#listeners = [];
      throw e;
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

  #message(
    thread: IoThread,
    m: FromIo,
    events: IoEvents,
    ready: { resolve(): void; reject(e: Error): void },
  ) {
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
        ready.resolve();
        break;
      case "init-error":
        ready.reject(new Error(`the I/O worker failed to start: ${m.message}`));
        break;
      case "prepared":
      case "reload-error":
        this.#reloadAnswer(m.generation, m.kind === "reload-error" ? m.message : undefined);
        break;
      case "committed":
        this.#committed(m.generation);
        break;
      case "flushed":
        for (const resolve of thread.flushWaiters.splice(0)) resolve();
        break;
      case "stopped":
        thread.resolveStopped();
        break;
    }
  }

  /** One I/O Worker built (or failed to build) its engine; once all answered, commit or abort. */
  #reloadAnswer(generation: number, error: string | undefined): void {
    const pending = this.#reload;
    if (!pending || pending.generation !== generation || pending.committing) return;
    pending.error ??= error;
    if (--pending.waiting > 0) return;
    if (pending.error === undefined) {
      pending.committing = true;
      pending.waiting = this.#threads.length;
      this.#postAll({ kind: "commit", generation });
    } else {
      this.#reload = undefined;
      this.#postAll({ kind: "abort", generation });
      pending.reject(new Error(pending.error));
    }
  }

  /** One I/O Worker switched engines; the reload is done when all did. */
  #committed(generation: number): void {
    const pending = this.#reload;
    if (!pending || pending.generation !== generation || !pending.committing) return;
    if (--pending.waiting > 0) return;
    this.#reload = undefined;
    pending.resolve();
  }

  /**
   * Start `count` I/O Workers (at least one; see {@link ioWorkerCount}) on the open sockets and wait until each has built its
   * engine. On failure every Worker is stopped, the sockets are closed and the error is thrown.
   */
  async start(init: WorkerInit, events: IoEvents, count = 1, batchDelay = 0): Promise<void> {
    const n = Math.max(1, count);
    const starting: Promise<void>[] = [];
    for (let i = 0; i < n; i++) {
      const worker = new Worker(new URL("./io_worker.ts", import.meta.url), {
        type: "module",
        name: n === 1 ? "IO" : `IO-${i + 1}`,
      });
      const control = new SharedArrayBuffer(CTL_SIZE * 4);
      const stopped = Promise.withResolvers<void>();
      const thread: IoThread = {
        worker,
        control,
        ctl: new Int32Array(control),
        stopped: stopped.promise,
        resolveStopped: stopped.resolve,
        flushWaiters: [],
      };
      this.#threads.push(thread);
      const ready = Promise.withResolvers<void>();
      worker.onmessage = (event: MessageEvent<FromIo>) =>
        this.#message(thread, event.data, events, ready);
      worker.onerror = (event: ErrorEvent) => {
        event.preventDefault();
        ready.reject(new Error(`the I/O worker crashed: ${event.message}`));
        events.failure(`I/O worker crashed: ${event.message}`);
        thread.resolveStopped();
      };
      this.#post(thread, {
        kind: "init",
        init: { ...init, workerId: i },
        workers: n,
        batchDelay,
        listeners: this.#listeners,
        control,
      });
      starting.push(ready.promise);
    }
    const results = await Promise.allSettled(starting);
    const failed = results.find((r) => r.status === "rejected");
    if (failed) {
      for (const t of this.#threads) {
        Atomics.store(t.ctl, CTL_STOP, 1);
        t.worker.terminate();
      }
      this.#threads = [];
      if (this.#adoptedFrom) {
        this.#adoptedFrom.#closed = false; // still serving on them
        this.#closed = true;
      } else {
        this.#closeSockets();
      }
      throw (failed as PromiseRejectedResult).reason;
    }
  }

  #post(thread: IoThread, message: ToIo): void {
    thread.worker.postMessage(message);
    // Make the loop yield to its event loop after the current batch (or poll timeout).
    Atomics.store(thread.ctl, CTL_PENDING, 1);
  }

  #postAll(message: ToIo): void {
    for (const t of this.#threads) this.#post(t, message);
  }

  /**
   * Have the I/O Workers build new engines from `init` (a new configuration snapshot for the same
   * listeners). Resolves once every one built it and all of them switched; rejects (the old engines keep
   * answering everywhere) when one of them cannot build it.
   */
  reload(init: WorkerInit, batchDelay = 0): Promise<void> {
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    this.#reload?.reject(new Error("superseded by another reload"));
    const generation = ++this.#generation;
    this.#reload = {
      generation,
      waiting: this.#threads.length,
      committing: false,
      resolve,
      reject,
    };
    this.#threads.forEach((t, i) =>
      this.#post(t, { kind: "reload", init: { ...init, workerId: i }, batchDelay, generation })
    );
    return promise;
  }

  /**
   * Have every I/O Worker post what it counted so far, so the statistics shown next include every
   * request answered before this call. Resolves when all did or after `timeoutMs`.
   */
  async flushStats(timeoutMs = 500): Promise<void> {
    const flushed = this.#threads.map((t) =>
      new Promise<void>((resolve) => {
        t.flushWaiters.push(resolve);
        this.#post(t, { kind: "flush" });
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
   * Stop the I/O Workers cooperatively (each notices its stop flag within one poll timeout and
   * closes its engine); after `timeoutMs` the late ones are terminated. Then the sockets are
   * closed.
   */
  async stop(timeoutMs = 2000): Promise<void> {
    for (const t of this.#threads) Atomics.store(t.ctl, CTL_STOP, 1);
    this.#reload?.reject(new Error("the server is stopping"));
    this.#reload = undefined;
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
      for (const resolve of t.flushWaiters.splice(0)) resolve();
    }
    this.#threads = [];
    this.#closeSockets();
  }
}
