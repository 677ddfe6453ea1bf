/**
 * The `io-backend ffi` UDP backend, main-thread side. The listeners' sockets are created through
 * libc (synchronously, as root: see {@link FfiBackend.open}) and handed, as descriptors, to one
 * dedicated I/O Worker (io_worker.ts) that loops poll → recvmmsg → `Engine.handleBatch` →
 * sendmmsg with an engine of its own. The main thread keeps everything else: control socket,
 * TCP, metrics, logging, reloads; it merges the statistics the I/O Worker posts.
 *
 * The I/O Worker blocks in FFI calls, so it is steered through a SharedArrayBuffer (stop flag,
 * "message pending" flag) and picks up messages when its loop yields (after every poll timeout,
 * every few batches, or at once when the pending flag is set). `worker.terminate()` cannot
 * interrupt a blocking FFI call, so stopping is cooperative.
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

const log = getLogger(["dhcpkit", "server"]);

/** Receive buffer of every FFI socket (SO_RCVBUF; SO_RCVBUFFORCE as root). */
export const FFI_RECEIVE_BUFFER = 4 * 1024 * 1024;

/** Indexes in the control `Int32Array` shared with the I/O Worker. */
export const CTL_STOP = 0, CTL_PENDING = 1, CTL_FDS_CLAIMED = 2, CTL_STOPPED = 3;
const CTL_SIZE = 4;

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
    listeners: IoListener[];
    control: SharedArrayBuffer;
  }
  | { kind: "reload"; init: WorkerInit };

/** I/O Worker → main thread. */
export type FromIo =
  | { kind: "ready" }
  | { kind: "init-error"; message: string }
  | { kind: "reloaded" }
  | { kind: "reload-error"; message: string }
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
  return undefined;
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

/**
 * The UDP listeners of a configuration, handled by one I/O Worker. Create with
 * {@link FfiBackend.plan} (checks only), {@link FfiBackend.open} (binds, as root), then
 * {@link FfiBackend.start}.
 */
export class FfiBackend {
  #listeners: IoListener[] = [];
  #worker?: Worker;
  #control = new SharedArrayBuffer(CTL_SIZE * 4);
  #ctl = new Int32Array(this.#control);
  #stopped?: Promise<void>;
  #resolveStopped?: () => void;
  #reload?: { resolve: () => void; reject: (e: Error) => void };

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

  /** Close the sockets unless the I/O Worker already did (it claims them when it stops). */
  #closeSockets(): void {
    if (Atomics.compareExchange(this.#ctl, CTL_FDS_CLAIMED, 0, 1) !== 0) return;
    for (const l of this.#listeners) for (const s of l.receive) closeFd(s.fd);
  }

  /** Close the sockets of a backend that was opened but never started. */
  close(): void {
    if (!this.#worker) this.#closeSockets();
  }

  #message(m: FromIo, events: IoEvents, ready: { resolve(): void; reject(e: Error): void }) {
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
      case "reloaded":
        this.#reload?.resolve();
        this.#reload = undefined;
        break;
      case "reload-error":
        this.#reload?.reject(new Error(m.message));
        this.#reload = undefined;
        break;
      case "stopped":
        this.#resolveStopped?.();
        break;
    }
  }

  /**
   * Start the I/O Worker on the open sockets and wait until its engine is built. On failure the
   * sockets are closed and the error is thrown.
   */
  async start(init: WorkerInit, events: IoEvents): Promise<void> {
    const worker = new Worker(new URL("./io_worker.ts", import.meta.url), {
      type: "module",
      name: "IO",
    });
    this.#worker = worker;
    this.#stopped = new Promise((resolve) => this.#resolveStopped = resolve);
    const ready = Promise.withResolvers<void>();
    worker.onmessage = (event: MessageEvent<FromIo>) => this.#message(event.data, events, ready);
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      ready.reject(new Error(`the I/O worker crashed: ${event.message}`));
      events.failure(`I/O worker crashed: ${event.message}`);
    };
    this.#post({ kind: "init", init, listeners: this.#listeners, control: this.#control });
    try {
      await ready.promise;
    } catch (e) {
      Atomics.store(this.#ctl, CTL_STOP, 1);
      worker.terminate();
      this.#closeSockets();
      throw e;
    }
  }

  #post(message: ToIo): void {
    this.#worker?.postMessage(message);
    // Make the loop yield to its event loop after the current batch (or poll timeout).
    Atomics.store(this.#ctl, CTL_PENDING, 1);
  }

  /**
   * Have the I/O Worker build a new engine from `init` (a new configuration snapshot for the
   * same listeners). Resolves once it answers with it; rejects (the old engine keeps answering)
   * when the new one cannot be built.
   */
  reload(init: WorkerInit): Promise<void> {
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    this.#reload?.reject(new Error("superseded by another reload"));
    this.#reload = { resolve, reject };
    this.#post({ kind: "reload", init });
    return promise;
  }

  /**
   * Stop the I/O Worker cooperatively (it notices the stop flag within one poll timeout, closes
   * its engine and the sockets); after `timeoutMs` it is terminated and the sockets closed here.
   */
  async stop(timeoutMs = 2000): Promise<void> {
    const worker = this.#worker;
    if (!worker) {
      this.#closeSockets();
      return;
    }
    Atomics.store(this.#ctl, CTL_STOP, 1);
    this.#reload?.reject(new Error("the server is stopping"));
    this.#reload = undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<boolean>((r) => timer = setTimeout(() => r(true), timeoutMs));
    const late = await Promise.race([this.#stopped!.then(() => false), timedOut]);
    clearTimeout(timer);
    if (late) log.warning("The I/O worker did not stop in time; terminating it");
    worker.terminate();
    this.#closeSockets();
  }
}
