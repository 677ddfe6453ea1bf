/**
 * Spike: an IPv6 UDP socket driven through libc with Deno FFI, receiving and sending in batches
 * with `recvmmsg(2)` / `sendmmsg(2)`.
 *
 * Linux x86_64 + glibc only (struct layouts and constants below are for that ABI). Needs
 * `--allow-ffi` (and nothing else: no `--unstable-net`, no `--allow-net`; FFI bypasses the net
 * permission entirely).
 *
 * Design:
 * - One `ArrayBuffer` "arena" per socket holds every C structure the hot loop touches: the
 *   `mmsghdr` arrays for receive and send, their `iovec`s, `sockaddr_in6` names, cmsg control
 *   buffers, the payload slots, a `pollfd` and scratch space for setsockopt. All pointers inside
 *   the structures are written ONCE at construction (`Deno.UnsafePointer.of(arena)` + offsets):
 *   an `ArrayBuffer` backing store never moves, so the pointers stay valid as long as the socket
 *   object (which holds the arena) is alive and the buffer is never transferred/detached.
 * - Per call only a few length fields are re-armed (`msg_namelen`, `msg_controllen`, which the
 *   kernel overwrites), through a `Uint32Array` over the arena: the loop allocates nothing.
 * - Payloads are exposed as preallocated `Uint8Array` slot views plus a length; received and
 *   sent slots live in the same arena, so an echo can copy with `arena.copyWithin`.
 * - FFI symbols are `nonblocking: false` (synchronous, V8 fast-call path) except `pollAsync`,
 *   which runs `poll(2)` on Deno's blocking thread pool and returns a Promise (for a
 *   main-thread/event-loop-friendly variant).
 *
 * @module
 */

// ---------------------------------------------------------------------------------------------
// Constants (Linux, x86_64)
// ---------------------------------------------------------------------------------------------

export const AF_INET6 = 10;
export const SOCK_DGRAM = 2;
export const SOCK_CLOEXEC = 0o2000000;
export const IPPROTO_UDP = 17;
export const SOL_SOCKET = 1;
export const SO_REUSEADDR = 2;
export const SO_SNDBUF = 7;
export const SO_RCVBUF = 8;
export const SO_REUSEPORT = 15;
export const SO_RCVTIMEO = 20;
export const SO_RCVBUFFORCE = 33;
export const IPPROTO_IPV6 = 41;
export const IPV6_MULTICAST_IF = 17;
export const IPV6_MULTICAST_HOPS = 18;
export const IPV6_MULTICAST_LOOP = 19;
export const IPV6_JOIN_GROUP = 20; // a.k.a. IPV6_ADD_MEMBERSHIP
export const IPV6_LEAVE_GROUP = 21;
export const IPV6_V6ONLY = 26;
export const IPV6_RECVPKTINFO = 49;
export const IPV6_PKTINFO = 50;
export const MSG_TRUNC = 0x20;
export const MSG_CTRUNC = 0x08;
export const MSG_DONTWAIT = 0x40;
export const MSG_WAITFORONE = 0x10000;
export const POLLIN = 0x001;
export const EINTR = 4;
export const EAGAIN = 11;

// Struct sizes / offsets (x86_64 glibc).
//   struct sockaddr_in6 { u16 family; u16 port(BE); u32 flowinfo; u8 addr[16]; u32 scope_id; } 28
//   struct iovec        { void *base; size_t len; }                                             16
//   struct msghdr       { void *name; u32 namelen; /*pad4*/ iovec *iov; size_t iovlen;
//                         void *control; size_t controllen; i32 flags; /*pad4*/ }              56
//   struct mmsghdr      { msghdr hdr; u32 msg_len; /*pad4*/ }                                  64
//   struct cmsghdr      { size_t len; i32 level; i32 type; u8 data[] /*8-aligned*/ }           16
//   struct in6_pktinfo  { u8 addr[16]; u32 ifindex; }                                          20
//   struct ipv6_mreq    { u8 multiaddr[16]; u32 interface; }                                   20
//   struct pollfd       { i32 fd; i16 events; i16 revents; }                                    8
export const SOCKADDR_IN6_SIZE = 28;
const NAME_STRIDE = 32;
const IOVEC_SIZE = 16;
const MMSGHDR_SIZE = 64;
const MH_NAME = 0, MH_NAMELEN = 8, MH_IOV = 16, MH_IOVLEN = 24, MH_CONTROL = 32;
const MH_CONTROLLEN = 40, MH_FLAGS = 48, MH_LEN = 56;
const CMSG_HDR = 16;
const IN6_PKTINFO_SIZE = 20;
/** CMSG_SPACE(sizeof(in6_pktinfo)) = 16 + align8(20) = 40. */
const PKTINFO_SPACE = CMSG_HDR + 24;
/** CMSG_LEN(sizeof(in6_pktinfo)) = 36. */
const PKTINFO_LEN = CMSG_HDR + IN6_PKTINFO_SIZE;
/** Receive control buffer per message: room for pktinfo plus a spare cmsg. */
const CONTROL_STRIDE = 64;

// ---------------------------------------------------------------------------------------------
// libc bindings
// ---------------------------------------------------------------------------------------------

const SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  poll: { parameters: ["buffer", "usize", "i32"], result: "i32" },
  pollAsync: {
    name: "poll",
    parameters: ["buffer", "usize", "i32"],
    result: "i32",
    nonblocking: true,
  },
  recvmmsg: { parameters: ["i32", "buffer", "u32", "i32", "pointer"], result: "i32" },
  sendmmsg: { parameters: ["i32", "buffer", "u32", "i32"], result: "i32" },
  if_nametoindex: { parameters: ["buffer"], result: "u32" },
  __errno_location: { parameters: [], result: "pointer" },
  strerror: { parameters: ["i32"], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];
let libcLib: Deno.DynamicLibrary<typeof SYMBOLS> | undefined;
let errnoView: Deno.UnsafePointerView | undefined;

let libcPath = "libc.so.6";

/**
 * Load libc from another path than the soname. Call before the first use, in every Worker.
 * Note: a scoped `--allow-ffi=/usr/lib/x86_64-linux-gnu/libc.so.6` admits dlopen of that path,
 * but `Deno.UnsafePointer.of`/`UnsafePointerView` still demand the unscoped `--allow-ffi`, so
 * this module needs plain `--allow-ffi` anyway (and `--allow-ffi=libc.so.6` is resolved against
 * the cwd, so dlopen fails).
 */
export function setLibcPath(path: string): void {
  if (libcLib) throw new Error("libc already loaded");
  libcPath = path;
}

/** The libc bindings (opened once per thread/isolate; each Worker opens its own). */
export function libc(): Libc {
  if (!libcLib) libcLib = Deno.dlopen(libcPath, SYMBOLS);
  return libcLib.symbols;
}

/**
 * The calling thread's `errno`. `__errno_location()` is thread-local but stable for the life of
 * the thread, so the view is cached. Read it right after the failing call.
 */
export function errno(): number {
  if (!errnoView) errnoView = new Deno.UnsafePointerView(libc().__errno_location()!);
  return errnoView.getInt32();
}

/** An errno-carrying error. */
export class OsError extends Error {
  constructor(readonly call: string, readonly code: number) {
    const p = libc().strerror(code);
    super(`${call}: ${p ? Deno.UnsafePointerView.getCString(p) : "errno " + code} (${code})`);
    this.name = "OsError";
  }
}

function check(call: string, rc: number): number {
  if (rc < 0) throw new OsError(call, errno());
  return rc;
}

// ---------------------------------------------------------------------------------------------
// Address helpers (not on the hot path)
// ---------------------------------------------------------------------------------------------

/** Parse an IPv6 address (optionally `%scope`, a name or a number) into 16 bytes + scope id. */
export function parseIPv6(text: string): { bytes: Uint8Array; scopeId: number } {
  let scopeId = 0;
  const pct = text.indexOf("%");
  if (pct >= 0) {
    const scope = text.slice(pct + 1);
    text = text.slice(0, pct);
    scopeId = /^\d+$/.test(scope) ? Number(scope) : interfaceIndex(scope);
  }
  const bytes = new Uint8Array(16);
  const halves = text.split("::");
  if (halves.length > 2) throw new Error(`bad IPv6 address ${text}`);
  const parse = (s: string) => (s === "" ? [] : s.split(":").map((h) => {
    if (!/^[0-9a-fA-F]{1,4}$/.test(h)) throw new Error(`bad IPv6 address ${text}`);
    return parseInt(h, 16);
  }));
  const head = parse(halves[0]);
  const tail = halves.length === 2 ? parse(halves[1]) : [];
  if (halves.length === 1 && head.length !== 8) throw new Error(`bad IPv6 address ${text}`);
  const groups = [...head, ...new Array(8 - head.length - tail.length).fill(0), ...tail];
  groups.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return { bytes, scopeId };
}

/** Format 16 bytes at `off` of `u8` as an IPv6 address (RFC 5952-ish compression). */
export function formatIPv6(u8: Uint8Array, off = 0): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((u8[off + 2 * i] << 8) | u8[off + 2 * i + 1]);
  let bestStart = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i > 1) [bestStart, bestLen] = [i, j - i];
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (bestStart < 0) return hex.join(":");
  return hex.slice(0, bestStart).join(":") + "::" + hex.slice(bestStart + bestLen).join(":");
}

/** `if_nametoindex(3)`; throws when the interface does not exist. */
export function interfaceIndex(name: string): number {
  const idx = libc().if_nametoindex(new TextEncoder().encode(name + "\0"));
  if (idx === 0) throw new OsError(`if_nametoindex(${name})`, errno());
  return idx;
}

// ---------------------------------------------------------------------------------------------
// The socket
// ---------------------------------------------------------------------------------------------

/** Options for {@link FfiUdpSocket.open}. */
export interface FfiUdpOptions {
  /** Messages per recvmmsg/sendmmsg call (default 64). */
  batch?: number;
  /** Bytes per payload slot (default 2048; longer datagrams are truncated and flagged). */
  slotSize?: number;
  /** SO_RCVBUF in bytes (default: leave the system default). Uses SO_RCVBUFFORCE as root. */
  rcvbuf?: number;
  /** SO_SNDBUF in bytes (default: leave the system default). */
  sndbuf?: number;
  /** SO_REUSEADDR (default true). */
  reuseAddress?: boolean;
  /** SO_REUSEPORT (default false). */
  reusePort?: boolean;
  /** IPV6_RECVPKTINFO: learn destination address + interface of each datagram (default true). */
  pktinfo?: boolean;
}

/**
 * An IPv6 UDP socket through libc. `recvBatch` fills receive slots `0..n-1`; fill send slots
 * (payload + length + destination) and call `sendBatch(count)`.
 */
export class FfiUdpSocket {
  readonly fd: number;
  readonly batch: number;
  readonly slotSize: number;
  /** The arena: every C structure and payload slot of this socket. */
  readonly arena: ArrayBuffer;
  readonly u8: Uint8Array;
  readonly u32: Uint32Array;
  readonly dv: DataView;
  /** Per-slot payload views (full slot size). */
  readonly recvData: Uint8Array[] = [];
  readonly sendData: Uint8Array[] = [];
  // Byte offsets inside the arena.
  readonly offRecvHdr: number;
  readonly offSendHdr: number;
  readonly offRecvName: number;
  readonly offSendName: number;
  readonly offRecvCtl: number;
  readonly offSendCtl: number;
  readonly offRecvData: number;
  readonly offSendData: number;
  readonly offSendIov: number;
  readonly #offPoll: number;
  readonly #offScratch: number;
  /** `buffer` arguments for FFI: views created once, passed on every call. */
  readonly #recvHdrs: Uint8Array;
  readonly #sendHdrs: Uint8Array;
  readonly #pollfd: Uint8Array;
  readonly #lib: Libc;
  #closed = false;
  /** Whether {@link multicastReplyFrom} set a source for replies to multicast requests. */
  #mcastSource = false;
  /** Datagrams received / sent / send failures (cumulative). */
  received = 0;
  sent = 0;
  sendErrors = 0;
  /** recvmmsg calls that returned >= 1 datagram; sendmmsg calls. */
  recvCalls = 0;
  sendCalls = 0;

  private constructor(fd: number, batch: number, slotSize: number) {
    this.#lib = libc();
    this.fd = fd;
    this.batch = batch;
    this.slotSize = slotSize = (slotSize + 7) & ~7;
    let off = 0;
    const take = (n: number) => {
      const o = off;
      off += (n + 63) & ~63; // 64-byte align every region
      return o;
    };
    this.offRecvHdr = take(batch * MMSGHDR_SIZE);
    this.offSendHdr = take(batch * MMSGHDR_SIZE);
    const offRecvIov = take(batch * IOVEC_SIZE);
    this.offSendIov = take(batch * IOVEC_SIZE);
    this.offRecvName = take(batch * NAME_STRIDE);
    this.offSendName = take(batch * NAME_STRIDE);
    this.offRecvCtl = take(batch * CONTROL_STRIDE);
    this.offSendCtl = take(batch * CONTROL_STRIDE);
    this.#offPoll = take(8);
    this.#offScratch = take(64);
    this.offRecvData = take(batch * slotSize);
    this.offSendData = take(batch * slotSize);
    this.arena = new ArrayBuffer(off);
    this.u8 = new Uint8Array(this.arena);
    this.u32 = new Uint32Array(this.arena);
    this.dv = new DataView(this.arena);
    const base = Deno.UnsafePointer.value(Deno.UnsafePointer.of(this.u8));
    const ptr = (o: number) => base + BigInt(o);
    const dv = this.dv;
    for (let i = 0; i < batch; i++) {
      // Receive side: mmsghdr[i] -> name[i], iov[i] -> data slot i, control[i].
      const h = this.offRecvHdr + i * MMSGHDR_SIZE;
      const iov = offRecvIov + i * IOVEC_SIZE;
      dv.setBigUint64(iov, ptr(this.offRecvData + i * slotSize), true);
      dv.setBigUint64(iov + 8, BigInt(slotSize), true);
      dv.setBigUint64(h + MH_NAME, ptr(this.offRecvName + i * NAME_STRIDE), true);
      dv.setBigUint64(h + MH_IOV, ptr(iov), true);
      dv.setBigUint64(h + MH_IOVLEN, 1n, true);
      dv.setBigUint64(h + MH_CONTROL, ptr(this.offRecvCtl + i * CONTROL_STRIDE), true);
      // Send side: same shape; iov_len, namelen and controllen are set per send.
      const sh = this.offSendHdr + i * MMSGHDR_SIZE;
      const siov = this.offSendIov + i * IOVEC_SIZE;
      dv.setBigUint64(siov, ptr(this.offSendData + i * slotSize), true);
      dv.setBigUint64(sh + MH_NAME, ptr(this.offSendName + i * NAME_STRIDE), true);
      dv.setUint32(sh + MH_NAMELEN, SOCKADDR_IN6_SIZE, true);
      dv.setBigUint64(sh + MH_IOV, ptr(siov), true);
      dv.setBigUint64(sh + MH_IOVLEN, 1n, true);
      dv.setBigUint64(sh + MH_CONTROL, ptr(this.offSendCtl + i * CONTROL_STRIDE), true);
      // Pre-build the send IPV6_PKTINFO cmsg header (used only when a source is set).
      const c = this.offSendCtl + i * CONTROL_STRIDE;
      dv.setBigUint64(c, BigInt(PKTINFO_LEN), true);
      dv.setInt32(c + 8, IPPROTO_IPV6, true);
      dv.setInt32(c + 12, IPV6_PKTINFO, true);
      this.recvData.push(new Uint8Array(this.arena, this.offRecvData + i * slotSize, slotSize));
      this.sendData.push(new Uint8Array(this.arena, this.offSendData + i * slotSize, slotSize));
    }
    this.#recvHdrs = new Uint8Array(this.arena, this.offRecvHdr, batch * MMSGHDR_SIZE);
    this.#sendHdrs = new Uint8Array(this.arena, this.offSendHdr, batch * MMSGHDR_SIZE);
    this.#pollfd = new Uint8Array(this.arena, this.#offPoll, 8);
    dv.setInt32(this.#offPoll, fd, true);
    dv.setInt16(this.#offPoll + 4, POLLIN, true);
  }

  /** Create the socket (blocking fd; use MSG_DONTWAIT / poll for non-blocking behaviour). */
  static open(options: FfiUdpOptions = {}): FfiUdpSocket {
    const lib = libc();
    const fd = check("socket", lib.socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP));
    const s = new FfiUdpSocket(fd, options.batch ?? 64, options.slotSize ?? 2048);
    try {
      if (options.reuseAddress ?? true) s.setIntOption(SOL_SOCKET, SO_REUSEADDR, 1);
      if (options.reusePort) s.setIntOption(SOL_SOCKET, SO_REUSEPORT, 1);
      if (options.rcvbuf) {
        // SO_RCVBUFFORCE ignores net.core.rmem_max but needs CAP_NET_ADMIN; fall back.
        try {
          s.setIntOption(SOL_SOCKET, SO_RCVBUFFORCE, options.rcvbuf);
        } catch {
          s.setIntOption(SOL_SOCKET, SO_RCVBUF, options.rcvbuf);
        }
      }
      if (options.sndbuf) s.setIntOption(SOL_SOCKET, SO_SNDBUF, options.sndbuf);
      if (options.pktinfo ?? true) s.setIntOption(IPPROTO_IPV6, IPV6_RECVPKTINFO, 1);
    } catch (e) {
      s.close();
      throw e;
    }
    return s;
  }

  /** setsockopt with an int value. */
  setIntOption(level: number, name: number, value: number): void {
    const o = this.#offScratch;
    this.dv.setInt32(o, value, true);
    check(
      `setsockopt(${level},${name})`,
      this.#lib.setsockopt(this.fd, level, name, this.u8.subarray(o, o + 4), 4),
    );
  }

  /** setsockopt with raw bytes (struct-valued options). */
  setRawOption(level: number, name: number, value: Uint8Array): void {
    check(
      `setsockopt(${level},${name})`,
      this.#lib.setsockopt(this.fd, level, name, value, value.byteLength),
    );
  }

  /**
   * SO_RCVTIMEO: a blocking recvmmsg (MSG_WAITFORONE) returns EAGAIN after `ms`, so a worker
   * loop can check its stop flag without a poll(2) per batch.
   */
  setReceiveTimeout(ms: number): void {
    const tv = new BigInt64Array([BigInt(Math.floor(ms / 1000)), BigInt((ms % 1000) * 1000)]);
    this.setRawOption(SOL_SOCKET, SO_RCVTIMEO, new Uint8Array(tv.buffer));
  }

  /** getsockopt with an int value (e.g. to read back SO_RCVBUF). */
  getIntOption(level: number, name: number): number {
    const o = this.#offScratch;
    this.dv.setUint32(o + 8, 4, true);
    check(
      `getsockopt(${level},${name})`,
      this.#lib.getsockopt(
        this.fd,
        level,
        name,
        this.u8.subarray(o, o + 4),
        this.u8.subarray(o + 8, o + 12),
      ),
    );
    return this.dv.getInt32(o, true);
  }

  /** Bind to `[address%scope]:port` ("::" for all addresses, "ff02::1:2%eth0" works too). */
  bind(address: string, port: number): void {
    const { bytes, scopeId } = parseIPv6(address);
    const sa = new Uint8Array(SOCKADDR_IN6_SIZE);
    writeSockaddr(sa, 0, bytes, 0, port, scopeId);
    check(`bind([${address}]:${port})`, this.#lib.bind(this.fd, sa, SOCKADDR_IN6_SIZE));
  }

  /** The bound port (after binding to port 0). */
  localPort(): number {
    const sa = new Uint8Array(SOCKADDR_IN6_SIZE);
    const len = new Uint32Array([SOCKADDR_IN6_SIZE]);
    check("getsockname", this.#lib.getsockname(this.fd, sa, new Uint8Array(len.buffer)));
    return (sa[2] << 8) | sa[3];
  }

  /** IPV6_JOIN_GROUP on an interface (name or index). */
  joinMulticast(group: string, iface: string | number): void {
    const ifindex = typeof iface === "number" ? iface : interfaceIndex(iface);
    const mreq = new Uint8Array(20);
    mreq.set(parseIPv6(group).bytes, 0);
    new DataView(mreq.buffer).setUint32(16, ifindex, true);
    check(
      `IPV6_JOIN_GROUP ${group} on ${iface}`,
      this.#lib.setsockopt(this.fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, mreq, 20),
    );
  }

  /**
   * Source address for replies to requests that arrived on a multicast address (the
   * `reply-from` link-local of a listen-interface). Without it the kernel picks one of the
   * interface's addresses (RFC 6724 source selection) - which may not be the one configured.
   */
  multicastReplyFrom(address: string): void {
    this.u8.set(parseIPv6(address).bytes, this.#offScratch + 32);
    this.#mcastSource = true;
  }

  /** IPV6_MULTICAST_LOOP (receive our own multicast; the "listen-to-self" knob). */
  setMulticastLoop(on: boolean): void {
    this.setIntOption(IPPROTO_IPV6, IPV6_MULTICAST_LOOP, on ? 1 : 0);
  }

  /**
   * Block in poll(2) until the socket is readable or `timeoutMs` passes (-1: forever).
   * Returns true when readable. Blocks the calling thread (meant for a dedicated Worker).
   */
  wait(timeoutMs: number): boolean {
    const rc = this.#lib.poll(this.#pollfd, 1n, timeoutMs);
    if (rc < 0) {
      const e = errno();
      if (e === EINTR) return false;
      throw new OsError("poll", e);
    }
    return rc > 0;
  }

  /** Like {@link wait} but poll(2) runs on Deno's blocking pool; the event loop stays free. */
  async waitAsync(timeoutMs: number): Promise<boolean> {
    const rc = await this.#lib.pollAsync(this.#pollfd, 1n, timeoutMs);
    return rc > 0;
  }

  /**
   * recvmmsg(2) into slots 0..n-1. `flags` default MSG_DONTWAIT (returns 0 when nothing is
   * queued); pass MSG_WAITFORONE to block for the first datagram only (needs SO_RCVTIMEO to be
   * interruptible). Returns the number of datagrams.
   */
  recvBatch(flags = MSG_DONTWAIT, max = this.batch): number {
    // Re-arm the in/out fields the kernel overwrote last time.
    const u32 = this.u32;
    for (let i = 0, w = this.offRecvHdr >> 2; i < max; i++, w += MMSGHDR_SIZE >> 2) {
      u32[w + (MH_NAMELEN >> 2)] = SOCKADDR_IN6_SIZE;
      u32[w + (MH_CONTROLLEN >> 2)] = CONTROL_STRIDE;
      u32[w + (MH_CONTROLLEN >> 2) + 1] = 0;
    }
    const n = this.#lib.recvmmsg(this.fd, this.#recvHdrs, max, flags, null);
    if (n < 0) {
      const e = errno();
      if (e === EAGAIN || e === EINTR) return 0;
      throw new OsError("recvmmsg", e);
    }
    this.received += n;
    this.recvCalls++;
    return n;
  }

  /** Length of received datagram `i` (capped at the slot size; see {@link recvTruncated}). */
  recvLength(i: number): number {
    return this.u32[(this.offRecvHdr + i * MMSGHDR_SIZE + MH_LEN) >> 2];
  }

  /** Whether datagram `i` was longer than the slot. */
  recvTruncated(i: number): boolean {
    return (this.u32[(this.offRecvHdr + i * MMSGHDR_SIZE + MH_FLAGS) >> 2] & MSG_TRUNC) !== 0;
  }

  /** Byte offset (in {@link u8}) of the source sockaddr_in6 of datagram `i`. */
  recvNameOffset(i: number): number {
    return this.offRecvName + i * NAME_STRIDE;
  }

  /** Source port of datagram `i`. */
  recvSourcePort(i: number): number {
    const o = this.offRecvName + i * NAME_STRIDE;
    return (this.u8[o + 2] << 8) | this.u8[o + 3];
  }

  /**
   * Byte offset (in {@link u8}) of the `in6_pktinfo` of datagram `i` (destination address at
   * +0, interface index at +16), or -1 when absent. Walks the cmsg chain.
   */
  recvPktinfoOffset(i: number): number {
    const base = this.offRecvCtl + i * CONTROL_STRIDE;
    const ctlLen = this.u32[(this.offRecvHdr + i * MMSGHDR_SIZE + MH_CONTROLLEN) >> 2];
    let o = base;
    while (o + CMSG_HDR <= base + ctlLen) {
      const len = this.u32[o >> 2];
      const level = this.u32[(o + 8) >> 2], type = this.u32[(o + 12) >> 2];
      if (level === IPPROTO_IPV6 && type === IPV6_PKTINFO) return o + CMSG_HDR;
      if (len < CMSG_HDR) break;
      o += (len + 7) & ~7;
    }
    return -1;
  }

  /** Whether datagram `i` was sent to a multicast address (needs pktinfo). */
  recvIsMulticast(i: number): boolean {
    const p = this.recvPktinfoOffset(i);
    return p >= 0 && this.u8[p] === 0xff;
  }

  /** Interface index datagram `i` arrived on (0 when unknown). */
  recvInterface(i: number): number {
    const p = this.recvPktinfoOffset(i);
    return p < 0 ? 0 : this.u32[(p + 16) >> 2];
  }

  /**
   * Prepare send slot `i` as a reply to received datagram `j`: destination = its source
   * (address, port, scope), payload length `length` (payload already in `sendData[i]`).
   * `source`: "auto" - IPV6_PKTINFO with the request's destination as source if it was unicast;
   * if it was multicast, the {@link multicastReplyFrom} address, else :: (kernel picks); always
   * with ipi6_ifindex = arrival interface. "kernel" - no cmsg at all (kernel source selection).
   * Or the offset in {@link u8} of 16 bytes holding a fixed source address.
   */
  setReply(i: number, j: number, length: number, source: "auto" | "kernel" | number = "auto") {
    const u8 = this.u8;
    const dst = this.offSendName + i * NAME_STRIDE;
    u8.copyWithin(dst, this.offRecvName + j * NAME_STRIDE, this.offRecvName + j * NAME_STRIDE + 28);
    const h = (this.offSendHdr + i * MMSGHDR_SIZE) >> 2;
    this.u32[(this.offSendIov + i * IOVEC_SIZE + 8) >> 2] = length;
    if (source === "kernel") {
      this.u32[h + (MH_CONTROLLEN >> 2)] = 0;
      return;
    }
    const pi = this.offSendCtl + i * CONTROL_STRIDE + CMSG_HDR;
    const rp = this.recvPktinfoOffset(j);
    if (typeof source === "number") u8.copyWithin(pi, source, source + 16);
    else if (rp >= 0 && u8[rp] !== 0xff) u8.copyWithin(pi, rp, rp + 16);
    else if (this.#mcastSource) u8.copyWithin(pi, this.#offScratch + 32, this.#offScratch + 48);
    else u8.fill(0, pi, pi + 16);
    this.u32[(pi + 16) >> 2] = rp >= 0 ? this.u32[(rp + 16) >> 2] : 0;
    this.u32[h + (MH_CONTROLLEN >> 2)] = PKTINFO_SPACE;
  }

  /** Prepare send slot `i` to an explicit destination (not on the hot path: allocates). */
  setSend(i: number, length: number, address: string, port: number): void {
    const { bytes, scopeId } = parseIPv6(address);
    writeSockaddr(this.u8, this.offSendName + i * NAME_STRIDE, bytes, 0, port, scopeId);
    this.u32[(this.offSendIov + i * IOVEC_SIZE + 8) >> 2] = length;
    this.u32[((this.offSendHdr + i * MMSGHDR_SIZE) >> 2) + (MH_CONTROLLEN >> 2)] = 0;
  }

  /**
   * sendmmsg(2) slots 0..count-1 (blocking socket: waits for buffer space rather than
   * dropping). A failing message is skipped (counted in {@link sendErrors}) and the rest retried.
   * Returns the number sent by this call.
   */
  sendBatch(count: number, flags = 0): number {
    let done = 0;
    const before = this.sent;
    while (done < count) {
      this.sendCalls++;
      const n = this.#lib.sendmmsg(
        this.fd,
        done === 0 ? this.#sendHdrs : this.#sendHdrs.subarray(done * MMSGHDR_SIZE),
        count - done,
        flags,
      );
      if (n < 0) {
        const e = errno();
        if (e === EINTR) continue;
        // The first message failed (e.g. EADDRNOTAVAIL, ENETUNREACH): skip it.
        this.sendErrors++;
        done++;
        continue;
      }
      done += n;
      this.sent += n;
    }
    return this.sent - before;
  }

  /** Close the fd (idempotent). The arena stays valid until the object is collected. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#lib.close(this.fd);
  }
}

/** Write a sockaddr_in6 at `off` of `u8`. */
export function writeSockaddr(
  u8: Uint8Array,
  off: number,
  addr: Uint8Array,
  addrOff: number,
  port: number,
  scopeId: number,
): void {
  const dv = new DataView(u8.buffer, u8.byteOffset + off, SOCKADDR_IN6_SIZE);
  dv.setUint16(0, AF_INET6, true);
  dv.setUint16(2, port, false);
  dv.setUint32(4, 0, true);
  u8.set(addr.subarray(addrOff, addrOff + 16), off + 8);
  dv.setUint32(24, scopeId, true);
}
