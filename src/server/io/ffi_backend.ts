/**
 * `io-backend ffi`, main-thread side. The listeners' sockets are created through libc
 * (synchronously, as root: see {@link FfiBackend.open}) and handed, as descriptors, to `workers`
 * I/O workers (at least one; io_worker.ts, run by the {@link Supervisor}) that each loop
 * epoll_wait → recvmmsg → `Engine.handleBatch` → sendmmsg on the same sockets with an engine of
 * their own. The main thread keeps everything else: control socket, TCP, metrics, logging,
 * reloads; it merges the statistics the I/O workers post.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { batchDelaySeconds, type ServerConfig } from "../../config/mod.ts";
import type { ExplainTrace, IncomingPacket } from "../../pipeline/mod.ts";
import { ListenerError, type ListenerPlan, portInUse, samePlans } from "../listener_plan.ts";
import { stopTimeoutMs, Supervisor } from "../supervisor.ts";
import { CTL_EPFD, type IoListener, type WorkerSettings } from "../wire.ts";
import type { BackendInit, IoBackend, IoEvents } from "./backend.ts";
import {
  closeFd,
  interfaceIndex,
  openUdpSocket,
  receiveBufferSize,
  SEND_GIVE_UP_MS,
} from "./ffi_socket.ts";
import { libc } from "./libc.ts";
import { SocketSet } from "./socket_set.ts";

const log = getLogger(["dhcpkit", "server"]);

/** Receive buffer of every FFI socket (SO_RCVBUF; SO_RCVBUFFORCE as root). */
export const FFI_RECEIVE_BUFFER = 4 * 1024 * 1024;

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
 * How many I/O workers `workers` (the configured value) means: at least one, and no more than
 * the CPUs this process may run on (its affinity mask), since each worker runs a busy loop of its
 * own and more of them than CPUs would only take turns on the same cores.
 */
export function ioWorkerCount(workers: number, cpus = navigator.hardwareConcurrency || 1): number {
  return Math.max(1, Math.min(workers, cpus));
}

/** What the I/O workers of `config` are told besides their engine. */
function ffiSettings(config: ServerConfig): WorkerSettings {
  return {
    batchDelay: batchDelaySeconds(config.ioBatchDelay, "ffi"),
    batchDelayAuto: config.ioBatchDelay === "auto",
    udpGso: config.ioUdpGso,
  };
}

/** The `ffi` backend (see the module documentation). */
export class FfiBackend implements IoBackend {
  readonly kind = "ffi";
  plans: readonly ListenerPlan[] = [];
  #listeners: IoListener[] = [];
  readonly #sockets = new SocketSet<number>();
  #supervisor?: Supervisor;
  #config?: ServerConfig;
  #threads = 0;
  #started = false;

  /** " (N I/O workers)", for the ready line. */
  get threadsNote(): string {
    const n = this.#threads;
    return n ? ` (${n} I/O worker${n === 1 ? "" : "s"})` : "";
  }

  /**
   * Messages posted to the I/O workers that they have not handled yet (for diagnostics and
   * tests): while it is not zero, a worker yields to its event loop on every turn.
   */
  get outstandingMessages(): number {
    return this.#supervisor?.outstandingMessages ?? 0;
  }

  /**
   * Create and bind every socket (synchronous: run it as root), taking over `previous`'s sockets
   * with equal keys. When one fails, the ones opened here are closed and a
   * {@link ListenerError} is thrown.
   */
  open(plans: readonly ListenerPlan[], previous?: IoBackend): void {
    const from = previous instanceof FfiBackend ? previous.#sockets : undefined;
    this.plans = plans;
    let smallest = Infinity;
    try {
      for (const plan of plans) {
        let ifindex = plan.ifindex;
        if (plan.kind === "interface" && !ifindex) {
          try {
            ifindex = interfaceIndex(plan.interfaceName);
          } catch (e) {
            throw new ListenerError(`${plan.where}: ${(e as Error).message}`);
          }
        }
        const receive = plan.sockets.map((spec) => {
          let fd = this.#sockets.adopt(spec.key, from);
          if (fd === undefined) {
            try {
              fd = openUdpSocket({
                address: spec.address,
                port: spec.port,
                receiveBuffer: FFI_RECEIVE_BUFFER,
                joinGroup: spec.joinGroup,
                joinInterface: spec.joinGroup ? ifindex : undefined,
                multicastLoop: spec.loop,
              });
            } catch (e) {
              const what = spec.joinGroup
                ? `cannot listen on ${spec.joinGroup} on ${plan.interfaceName}`
                : `cannot listen on [${spec.address}]:${spec.port}`;
              throw new ListenerError(`${plan.where}: ${what}: ${portInUse(e)}`);
            }
            this.#sockets.add(spec.key, fd);
            smallest = Math.min(smallest, receiveBufferSize(fd));
          }
          return { fd, multicast: spec.multicast };
        });
        this.#listeners.push({
          index: plan.index,
          description: plan.description,
          interfaceName: plan.interfaceName,
          linkAddress: plan.linkAddress,
          marks: plan.marks,
          receive,
          replyFd: receive[plan.replyIndex].fd,
          replyFrom: plan.replyFrom,
          ifindex,
        });
      }
    } catch (e) {
      this.#sockets.giveBack();
      this.#sockets.closeAll(closeFd);
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

  /** Start the I/O workers on the open sockets and wait until each has built its engine. */
  async start(init: BackendInit, events: IoEvents): Promise<void> {
    const { config } = init;
    this.#config = config;
    const threads = ioWorkerCount(config.workers);
    if (threads < config.workers) {
      log.info("workers {workers}: {threads} I/O worker(s), one per CPU this process may use", {
        workers: config.workers,
        threads,
      });
    }
    const supervisor = new Supervisor({
      entry: new URL("./io_worker.ts", import.meta.url),
      count: threads,
      label: "I/O worker",
      name: (id) => threads === 1 ? "IO" : `IO-${id}`,
      listeners: this.#listeners,
      limits: () => this.#config,
      terminated: (control) => {
        const epfd = Atomics.exchange(control, CTL_EPFD, 0);
        if (epfd > 0) closeFd(epfd);
      },
    }, {
      stats: (delta) => {
        if (delta.stats.length) events.stats(delta.stats);
        if (delta.latency) events.latency(delta.latency);
        if (delta.extensions?.length) events.extensions(delta.extensions);
        if (delta.transactions) events.transactions?.(delta.transactions);
        if (delta.batchDelay) events.batchDelay?.(delta.batchDelay);
      },
      failure: events.workerError,
      restarted: events.workerRestarted,
      fatal: events.fatal,
      logs: events.logs,
    });
    this.#supervisor = supervisor;
    await supervisor.start(init.engine, ffiSettings(config));
    this.#threads = threads;
    this.#started = true;
  }

  canReload(plans: readonly ListenerPlan[], config: ServerConfig): boolean {
    return samePlans(this.plans, plans) && ioWorkerCount(config.workers) === this.#threads;
  }

  async reload(init: BackendInit): Promise<void> {
    await this.#supervisor!.reload(init.engine, ffiSettings(init.config));
    this.#config = init.config;
  }

  /** Explain `packet` with the engine in use. */
  explain(packet: IncomingPacket, timeoutMs: number): Promise<ExplainTrace> {
    const supervisor = this.#supervisor;
    if (!supervisor) return Promise.reject(new Error("the server is not answering yet"));
    return supervisor.explain(packet, timeoutMs);
  }

  async flushStats(): Promise<void> {
    await this.#supervisor?.flush();
  }

  staticAssignments(): Array<[string, number]> {
    return this.#supervisor?.staticAssignments ?? [];
  }

  /**
   * Stop the I/O workers (each notices its stop flag within one poll, answers what waits for
   * lookups and closes its engine; late ones are terminated), then close the sockets. When a
   * worker had to be terminated, the sockets are closed only after the longest a send can wait
   * ({@link SEND_GIVE_UP_MS}), so no send of it runs on a closed (and maybe reused) descriptor.
   */
  async stop(): Promise<void> {
    const timeout = stopTimeoutMs(this.#config);
    const started = performance.now();
    await this.#supervisor?.stop(timeout);
    if (this.#supervisor && performance.now() - started >= timeout) {
      await new Promise((r) => setTimeout(r, SEND_GIVE_UP_MS + 100));
    }
    if (!this.#started) this.#sockets.giveBack();
    this.#sockets.closeAll(closeFd);
  }
}
