/**
 * Readiness of the ffi backend's sockets through epoll(7). Every I/O Worker has a poller of its own
 * over the same descriptors, registered with `EPOLLEXCLUSIVE`: a datagram wakes one waiting Worker,
 * not all of them, so several Workers can share the sockets without a thundering herd and without
 * handing packets to each other.
 * @module
 */

import { closeFd } from "./ffi_socket.ts";
import {
  EINTR,
  EPOLL_CLOEXEC,
  EPOLL_CTL_ADD,
  EPOLL_DATA,
  EPOLL_EVENT_SIZE,
  EPOLLEXCLUSIVE,
  EPOLLIN,
  errno,
  type Libc,
  libc,
  OsError,
} from "./libc.ts";

/**
 * epoll_wait(2) bound a second time with `nonblocking`: Deno runs the call on another thread and
 * returns a promise, so the worker's event loop runs meanwhile (see {@link Poller.waitAsync}).
 */
const ASYNC_SYMBOLS = {
  epoll_wait: { parameters: ["i32", "buffer", "i32", "i32"], result: "i32", nonblocking: true },
} as const satisfies Deno.ForeignLibraryInterface;
let asyncLib: Deno.DynamicLibrary<typeof ASYNC_SYMBOLS> | undefined;

/** An epoll instance waiting for datagrams on a set of sockets. */
export class Poller {
  readonly #lib: Libc;
  readonly #epfd: number;
  /** Room for one event per registered socket. */
  #events: Uint8Array;
  #view: DataView;
  #capacity = 0;
  /** Tags of the sockets found readable by the last {@link wait}. */
  readonly ready: number[] = [];

  /** The epoll descriptor. */
  get fd(): number {
    return this.#epfd;
  }

  /** Create the epoll instance (throws {@link OsError}). */
  constructor() {
    this.#lib = libc();
    const fd = this.#lib.epoll_create1(EPOLL_CLOEXEC);
    if (fd < 0) throw new OsError("epoll_create1", errno());
    this.#epfd = fd;
    this.#events = new Uint8Array(EPOLL_EVENT_SIZE);
    this.#view = new DataView(this.#events.buffer);
  }

  /** Watch `fd` for datagrams; {@link wait} reports it as `tag` (a small non-negative integer). */
  add(fd: number, tag: number): void {
    const event = new Uint8Array(EPOLL_EVENT_SIZE);
    const dv = new DataView(event.buffer);
    dv.setUint32(0, EPOLLIN | EPOLLEXCLUSIVE, true);
    dv.setUint32(EPOLL_DATA, tag, true);
    if (this.#lib.epoll_ctl(this.#epfd, EPOLL_CTL_ADD, fd, event) < 0) {
      throw new OsError("epoll_ctl", errno());
    }
    this.#capacity++;
    this.#events = new Uint8Array(this.#capacity * EPOLL_EVENT_SIZE);
    this.#view = new DataView(this.#events.buffer);
  }

  /**
   * Block up to `timeoutMs` for readable sockets; fills {@link ready} with their tags and returns
   * how many there are (0 on timeout or when interrupted by a signal).
   */
  wait(timeoutMs: number): number {
    this.ready.length = 0;
    const n = this.#lib.epoll_wait(
      this.#epfd,
      this.#events,
      Math.max(1, this.#capacity),
      timeoutMs,
    );
    if (n < 0) {
      const e = errno();
      if (e === EINTR) return 0;
      throw new OsError("epoll_wait", e);
    }
    for (let i = 0; i < n; i++) {
      this.ready.push(this.#view.getUint32(i * EPOLL_EVENT_SIZE + EPOLL_DATA, true));
    }
    return n;
  }

  /**
   * Like {@link Poller.wait}, but without blocking this thread: the wait runs on another thread
   * and this one keeps running its event loop (timers, messages, finished lookups) meanwhile.
   * Costs a thread hand-off per call, so it is used only while requests wait for lookups. Nothing
   * may call {@link Poller.wait} before it settles (the event buffer is in use).
   */
  async waitAsync(timeoutMs: number): Promise<number> {
    this.ready.length = 0;
    asyncLib ??= Deno.dlopen("libc.so.6", ASYNC_SYMBOLS);
    const n = await asyncLib.symbols.epoll_wait(
      this.#epfd,
      this.#events,
      Math.max(1, this.#capacity),
      timeoutMs,
    );
    if (n < 0) return 0; // EINTR (errno is the other thread's): the caller waits again
    for (let i = 0; i < n; i++) {
      this.ready.push(this.#view.getUint32(i * EPOLL_EVENT_SIZE + EPOLL_DATA, true));
    }
    return n;
  }

  /** Close the epoll instance (the sockets stay open). */
  close(): void {
    closeFd(this.#epfd);
  }
}
