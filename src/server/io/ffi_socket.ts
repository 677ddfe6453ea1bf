/**
 * An IPv6 UDP socket driven through libc (see libc.ts), receiving and sending in batches with
 * `recvmmsg(2)` / `sendmmsg(2)`. Grown from the FFI spike (see `bench/spike_ffi/README.md`).
 *
 * Sockets are created and bound by {@link openUdpSocket} (in the main thread, as root: port 547),
 * and driven by an {@link FfiUdpSocket} built around the descriptor in the I/O Worker
 * (descriptors are process-wide).
 *
 * Memory: one `ArrayBuffer` "arena" per socket holds every C structure the hot loop touches (the
 * `mmsghdr` arrays, `iovec`s, `sockaddr_in6` names, cmsg control buffers and payload slots). The
 * pointers inside those structures are written once at construction: an `ArrayBuffer` backing
 * store never moves, so they stay valid as long as the object lives and the buffer is never
 * transferred. Per call only the fields the kernel overwrites are re-armed; the loop allocates
 * nothing. Large slots cost address space only: pages nobody touches are never made resident.
 * @module
 */

import {
  AF_INET6,
  check,
  CMSG_HDR,
  CONTROL_STRIDE,
  EAGAIN,
  EINTR,
  errno,
  interfaceIndex,
  IOVEC_SIZE,
  IPPROTO_IPV6,
  IPPROTO_UDP,
  IPV6_JOIN_GROUP,
  IPV6_MULTICAST_LOOP,
  IPV6_PKTINFO,
  IPV6_RECVPKTINFO,
  type Libc,
  libc,
  MH_CONTROL,
  MH_CONTROLLEN,
  MH_FLAGS,
  MH_IOV,
  MH_IOVLEN,
  MH_LEN,
  MH_NAME,
  MH_NAMELEN,
  MMSGHDR_SIZE,
  MSG_DONTWAIT,
  MSG_TRUNC,
  NAME_STRIDE,
  OsError,
  parseIPv6,
  PKTINFO_LEN,
  PKTINFO_SPACE,
  POLLFD_SIZE,
  POLLIN,
  POLLOUT,
  SCM_TIMESTAMPNS,
  SEGMENT_LEN,
  SEGMENT_REFUSALS,
  SEGMENT_SPACE,
  SO_RCVBUF,
  SO_RCVBUFFORCE,
  SO_TIMESTAMPNS,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCKADDR_IN6_SIZE,
  SOL_SOCKET,
  SOL_UDP,
  TIMESTAMP_LEN,
  UDP_SEGMENT,
  writeSockaddr,
} from "./libc.ts";

/** How to create and bind a socket with {@link openUdpSocket}. */
export interface UdpSocketSpec {
  /** Address to bind (`ff02::1:2%eth0`, `fe80::1%eth0`, `2001:db8::1`, `::1`). */
  address: string;
  /** Port to bind. */
  port: number;
  /** Receive buffer size in bytes (SO_RCVBUFFORCE as root, else SO_RCVBUF); 0 = default. */
  receiveBuffer?: number;
  /** Join this multicast group on {@link UdpSocketSpec.joinInterface}. */
  joinGroup?: string;
  /** Interface index for the multicast membership. */
  joinInterface?: number;
  /** Receive our own multicast (IPV6_MULTICAST_LOOP); only with a membership. */
  multicastLoop?: boolean;
}

function setInt(lib: Libc, fd: number, level: number, name: number, value: number): void {
  const v = new Uint8Array(8);
  new DataView(v.buffer).setInt32(0, value, true);
  check(`setsockopt(${level},${name})`, lib.setsockopt(fd, level, name, v, 4));
}

/**
 * Create an IPv6 UDP socket (blocking, close-on-exec) with IPV6_RECVPKTINFO and without
 * SO_REUSEADDR/SO_REUSEPORT (no other process may share the port: binding fails when it is taken),
 * size its receive buffer, bind it and join its multicast group. Returns the descriptor; the
 * socket is closed again when a step fails. Synchronous, so it can run inside `withRootSync`.
 */
export function openUdpSocket(spec: UdpSocketSpec): number {
  const lib = libc();
  const fd = check("socket", lib.socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP));
  try {
    if (spec.receiveBuffer) {
      // SO_RCVBUFFORCE ignores net.core.rmem_max but needs CAP_NET_ADMIN; fall back.
      try {
        setInt(lib, fd, SOL_SOCKET, SO_RCVBUFFORCE, spec.receiveBuffer);
      } catch {
        setInt(lib, fd, SOL_SOCKET, SO_RCVBUF, spec.receiveBuffer);
      }
    }
    setInt(lib, fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1);
    const { bytes, scopeId } = parseIPv6(spec.address);
    const sa = new Uint8Array(32);
    writeSockaddr(sa, 0, bytes, 0, spec.port, scopeId);
    check(`bind([${spec.address}]:${spec.port})`, lib.bind(fd, sa, SOCKADDR_IN6_SIZE));
    if (spec.joinGroup) {
      const mreq = new Uint8Array(32);
      mreq.set(parseIPv6(spec.joinGroup).bytes, 0);
      new DataView(mreq.buffer).setUint32(16, spec.joinInterface ?? 0, true);
      check(
        `join ${spec.joinGroup}`,
        lib.setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, mreq, 20),
      );
      setInt(lib, fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, spec.multicastLoop ? 1 : 0);
    }
    return fd;
  } catch (e) {
    lib.close(fd);
    throw e;
  }
}

/**
 * The receive buffer the kernel gave socket `fd`, in bytes of payload room (SO_RCVBUF reads back
 * twice what was granted, the rest being its bookkeeping).
 */
export function receiveBufferSize(fd: number): number {
  const value = new Uint8Array(8);
  const length = new Uint8Array(8);
  new DataView(length.buffer).setUint32(0, 4, true);
  check("getsockopt(SO_RCVBUF)", libc().getsockopt(fd, SOL_SOCKET, SO_RCVBUF, value, length));
  return new DataView(value.buffer).getInt32(0, true) / 2;
}

/** Close a descriptor (errors ignored). */
export function closeFd(fd: number): void {
  libc().close(fd);
}

/** The interface index of `name` (throws when it does not exist). */
export { interfaceIndex };

/**
 * The longest a {@link FfiUdpSocket.sendBatch} waits for room in a full send buffer (ms) before
 * it gives the rest of the batch up: a worker is never stuck in a send for longer than this, so
 * it always sees its stop flag well within the stop timeout and never sends on a descriptor the
 * main thread has closed (and the kernel may have reused).
 */
export const SEND_GIVE_UP_MS = 1000;
/** One wait for room in the send buffer (ms), after which the stop flag is looked at again. */
const SEND_POLL_MS = 50;

/**
 * The longest datagram sent as a segment of a segmented send: IPv6's minimum MTU (1280) less the
 * IPv6 and UDP headers, so that no segment needs a route with a larger MTU.
 */
export const MAX_SEGMENT = 1280 - 40 - 8;
/** Most payload bytes in one segmented send (a UDP datagram's 65,507 with room to spare). */
const MAX_SEGMENTED_BYTES = 60000;
/** Most segments in one segmented send (the kernel's UDP_MAX_SEGMENTS is 64 or more). */
const MAX_SEGMENTS = 64;
/** Control buffer per segmented send: pktinfo, then UDP_SEGMENT. */
const SEGMENTED_CONTROL_STRIDE = PKTINFO_SPACE + SEGMENT_SPACE;
const TWO_32 = 4294967296;

/** Whether the kernel knows UDP segmentation offload (Linux 4.18): `getsockopt(UDP_SEGMENT)`. */
function segmentationKnown(lib: Libc, fd: number): boolean {
  const value = new Uint8Array(8);
  const length = new Uint8Array(8);
  new DataView(length.buffer).setUint32(0, 4, true);
  return lib.getsockopt(fd, SOL_UDP, UDP_SEGMENT, value, length) === 0;
}

/** The result of {@link segmentationWorks} in this thread (undefined: not tried yet). */
let segmentationChecked: boolean | undefined;

/**
 * Whether a segmented send really arrives as separate datagrams here: once per thread, two
 * segments are sent over `::1` to a socket of the probe's own and must arrive as two datagrams.
 * Knowing the socket option is not proof: a kernel (or a sandbox emulating one) that ignored the
 * control message would send every group as one long datagram, which no error would reveal.
 */
function segmentationWorks(lib: Libc): boolean {
  if (segmentationChecked !== undefined) return segmentationChecked;
  segmentationChecked = true; // the probe's own sender may segment
  let receiver = -1, sender = -1;
  try {
    receiver = openUdpSocket({ address: "::1", port: 0 });
    sender = openUdpSocket({ address: "::1", port: 0 });
    if (!segmentationKnown(lib, sender)) return segmentationChecked = false;
    const name = new Uint8Array(32);
    const nameLength = new Uint8Array(8);
    new DataView(nameLength.buffer).setUint32(0, SOCKADDR_IN6_SIZE, true);
    check("getsockname", lib.getsockname(receiver, name, nameLength));
    const port = (name[2] << 8) | name[3];
    const out = new FfiUdpSocket(sender, 2, 64);
    const loopback = parseIPv6("::1").bytes;
    out.setSend(0, new Uint8Array(8).fill(1), loopback, port, 0);
    out.setSend(1, new Uint8Array(8).fill(2), loopback, port, 0);
    if (out.sendBatch(2) !== 0 || out.segmented !== 2) return segmentationChecked = false;
    const into = new FfiUdpSocket(receiver, 4, 64);
    let got = 0;
    for (let tries = 0; tries < 20 && got < 2; tries++) {
      const n = into.recvBatch();
      for (let i = 0; i < n; i++) {
        const data = into.recvData(i);
        if (data.length !== 8 || data[0] !== got + 1) return segmentationChecked = false;
        got++;
      }
      if (got < 2) into.waitReadable(5);
    }
    return segmentationChecked = got === 2;
  } catch {
    return segmentationChecked = false;
  } finally {
    if (sender >= 0) lib.close(sender);
    if (receiver >= 0) lib.close(receiver);
  }
}

/**
 * Batched I/O on a socket made by {@link openUdpSocket}: `recvBatch` fills receive slots
 * `0..n-1`; fill send slots with {@link setSend} and call {@link sendBatch}.
 */
export class FfiUdpSocket {
  /** The descriptor. */
  readonly fd: number;
  /** Messages per recvmmsg/sendmmsg call. */
  readonly batch: number;
  /** Bytes per payload slot. */
  readonly slotSize: number;
  /** Every C structure and payload slot of this socket. */
  readonly arena: ArrayBuffer;
  /** Byte view of {@link arena}. */
  readonly u8: Uint8Array;
  readonly #u32: Uint32Array;
  readonly #offRecvHdr: number;
  readonly #offSendHdr: number;
  readonly #offRecvName: number;
  readonly #offSendName: number;
  readonly #offRecvCtl: number;
  readonly #offSendCtl: number;
  readonly #offRecvData: number;
  readonly #offSendData: number;
  readonly #offSendIov: number;
  /** `buffer` arguments for FFI: views created once, passed on every call. */
  readonly #recvHdrs: Uint8Array;
  readonly #sendHdrs: Uint8Array;
  readonly #lib: Libc;
  /** Datagrams received / sent / failed sends (cumulative). */
  received = 0;
  sent = 0;
  sendErrors = 0;
  /** errno of the last failed send (0 when none). */
  lastSendError = 0;
  /** Slots that failed in the last {@link sendBatch} (reused between calls). */
  readonly failed: number[] = [];
  /**
   * Whether the owner is stopping: a full send buffer is then not waited for at all (set by the
   * I/O worker to read its stop flag).
   */
  stopping: () => boolean = () => false;
  readonly #pollfd = new Uint8Array(POLLFD_SIZE);
  /** Receive headers (from slot 0) whose in/out fields must be re-armed before the next receive. */
  #recvDirty: number;
  /**
   * Whether this kernel knows UDP_SEGMENT and a probe's two segments arrived as two datagrams
   * (see {@link segmentationWorks}).
   */
  readonly canSegment: boolean;
  /**
   * The errno with which the kernel refused a segmented send on this socket (see
   * `SEGMENT_REFUSALS`); from then on it sends every datagram on its own. 0 while none was refused.
   */
  segmentationRefused = 0;
  /** Datagrams sent as segments of segmented sends (cumulative; also counted in {@link sent}). */
  segmented = 0;
  /** Segmented sends (cumulative): each carried {@link segmented} datagrams between them. */
  segmentedSends = 0;
  readonly #base: number;
  readonly #offOutHdr: number;
  readonly #offOutIov: number;
  readonly #offOutCtl: number;
  readonly #outHdrs: Uint8Array;
  /** Per send entry of the last grouped batch: where its slots start in {@link #members}. */
  readonly #entryFirst: Int32Array;
  /** Slots of the grouped batch, entry by entry. */
  readonly #members: Int32Array;
  /** Grouping scratch: each slot's group, each group's first slot and size. */
  readonly #groupOf: Int32Array;
  readonly #leader: Int32Array;
  readonly #groupSize: Int32Array;

  /** The longest datagram sent as a segment ({@link MAX_SEGMENT} unless told otherwise). */
  readonly maxSegment: number;

  /**
   * Wrap descriptor `fd` (not taking ownership: see {@link closeFd}), with `batch` slots of
   * `slotSize` bytes; datagrams longer than `maxSegment` are never sent as segments.
   */
  constructor(fd: number, batch = 64, slotSize = 65536, maxSegment = MAX_SEGMENT) {
    this.maxSegment = maxSegment;
    this.#lib = libc();
    this.fd = fd;
    this.batch = batch;
    this.slotSize = slotSize = (slotSize + 7) & ~7;
    this.#recvDirty = batch; // none armed yet
    let off = 0;
    const take = (n: number) => {
      const o = off;
      off += (n + 63) & ~63; // 64-byte align every region
      return o;
    };
    this.#offRecvHdr = take(batch * MMSGHDR_SIZE);
    this.#offSendHdr = take(batch * MMSGHDR_SIZE);
    const offRecvIov = take(batch * IOVEC_SIZE);
    this.#offSendIov = take(batch * IOVEC_SIZE);
    this.#offRecvName = take(batch * NAME_STRIDE);
    this.#offSendName = take(batch * NAME_STRIDE);
    this.#offRecvCtl = take(batch * CONTROL_STRIDE);
    this.#offSendCtl = take(batch * CONTROL_STRIDE);
    this.#offRecvData = take(batch * slotSize);
    this.#offSendData = take(batch * slotSize);
    this.#offOutHdr = take(batch * MMSGHDR_SIZE);
    this.#offOutIov = take(batch * IOVEC_SIZE);
    this.#offOutCtl = take(batch * SEGMENTED_CONTROL_STRIDE);
    this.arena = new ArrayBuffer(off);
    this.u8 = new Uint8Array(this.arena);
    this.#u32 = new Uint32Array(this.arena);
    const dv = new DataView(this.arena);
    const base = Deno.UnsafePointer.value(Deno.UnsafePointer.of(this.u8));
    this.#base = Number(base);
    const ptr = (o: number) => BigInt(base) + BigInt(o);
    for (let i = 0; i < batch; i++) {
      // Receive side: mmsghdr[i] -> name[i], iov[i] -> data slot i, control[i].
      const h = this.#offRecvHdr + i * MMSGHDR_SIZE;
      const iov = offRecvIov + i * IOVEC_SIZE;
      dv.setBigUint64(iov, ptr(this.#offRecvData + i * slotSize), true);
      dv.setBigUint64(iov + 8, BigInt(slotSize), true);
      dv.setBigUint64(h + MH_NAME, ptr(this.#offRecvName + i * NAME_STRIDE), true);
      dv.setBigUint64(h + MH_IOV, ptr(iov), true);
      dv.setBigUint64(h + MH_IOVLEN, 1n, true);
      dv.setBigUint64(h + MH_CONTROL, ptr(this.#offRecvCtl + i * CONTROL_STRIDE), true);
      // Send side: same shape; iov_len and controllen are set per send.
      const sh = this.#offSendHdr + i * MMSGHDR_SIZE;
      const siov = this.#offSendIov + i * IOVEC_SIZE;
      dv.setBigUint64(siov, ptr(this.#offSendData + i * slotSize), true);
      dv.setBigUint64(sh + MH_NAME, ptr(this.#offSendName + i * NAME_STRIDE), true);
      dv.setUint32(sh + MH_NAMELEN, SOCKADDR_IN6_SIZE, true);
      dv.setBigUint64(sh + MH_IOV, ptr(siov), true);
      dv.setBigUint64(sh + MH_IOVLEN, 1n, true);
      dv.setBigUint64(sh + MH_CONTROL, ptr(this.#offSendCtl + i * CONTROL_STRIDE), true);
      // The send IPV6_PKTINFO cmsg header, built once (used when a source is given).
      const c = this.#offSendCtl + i * CONTROL_STRIDE;
      dv.setBigUint64(c, BigInt(PKTINFO_LEN), true);
      dv.setInt32(c + 8, IPPROTO_IPV6, true);
      dv.setInt32(c + 12, IPV6_PKTINFO, true);
    }
    this.#recvHdrs = new Uint8Array(this.arena, this.#offRecvHdr, batch * MMSGHDR_SIZE);
    this.#sendHdrs = new Uint8Array(this.arena, this.#offSendHdr, batch * MMSGHDR_SIZE);
    this.#outHdrs = new Uint8Array(this.arena, this.#offOutHdr, batch * MMSGHDR_SIZE);
    this.#entryFirst = new Int32Array(batch + 1);
    this.#members = new Int32Array(batch);
    this.#groupOf = new Int32Array(batch);
    this.#leader = new Int32Array(batch);
    this.#groupSize = new Int32Array(batch);
    this.canSegment = segmentationWorks(this.#lib);
  }

  /**
   * recvmmsg(2) into slots 0..n-1 without blocking (MSG_DONTWAIT): returns 0 when nothing is
   * queued. Returns the number of datagrams.
   */
  recvBatch(): number {
    // Re-arm the in/out fields the kernel overwrote last time: only the headers of the datagrams
    // it filled (recvmmsg leaves the others alone), not the whole batch.
    const u32 = this.#u32;
    const dirty = this.#recvDirty;
    for (let i = 0, w = this.#offRecvHdr >> 2; i < dirty; i++, w += MMSGHDR_SIZE >> 2) {
      u32[w + (MH_NAMELEN >> 2)] = SOCKADDR_IN6_SIZE;
      u32[w + (MH_CONTROLLEN >> 2)] = CONTROL_STRIDE;
      u32[w + (MH_CONTROLLEN >> 2) + 1] = 0;
    }
    // Until the call returns, assume the worst (a throw below leaves every header to re-arm).
    this.#recvDirty = this.batch;
    const n = this.#lib.recvmmsg(this.fd, this.#recvHdrs, this.batch, MSG_DONTWAIT, null);
    if (n < 0) {
      const e = errno();
      if (e === EAGAIN || e === EINTR) {
        this.#recvDirty = 1; // nothing received; the kernel stopped at the first header
        return 0;
      }
      throw new OsError("recvmmsg", e);
    }
    this.#recvDirty = n;
    this.received += n;
    return n;
  }

  /** Throw unless `i` is a slot number of this socket (0 to batch - 1). */
  #slot(i: number): void {
    if (!(i >= 0 && i < this.batch && Number.isInteger(i))) {
      throw new RangeError(`slot ${i} out of range 0-${this.batch - 1}`);
    }
  }

  /** Payload of received datagram `i`: a view into the arena, valid until the next receive. */
  recvData(i: number): Uint8Array {
    this.#slot(i);
    const len = this.#u32[(this.#offRecvHdr + i * MMSGHDR_SIZE + MH_LEN) >> 2];
    const o = this.#offRecvData + i * this.slotSize;
    return this.u8.subarray(o, o + Math.min(len, this.slotSize));
  }

  /** Whether datagram `i` was longer than the slot (its tail was cut off). */
  recvTruncated(i: number): boolean {
    return (this.#u32[(this.#offRecvHdr + i * MMSGHDR_SIZE + MH_FLAGS) >> 2] & MSG_TRUNC) !== 0;
  }

  /** Byte offset in {@link u8} of the source address (16 bytes) of datagram `i`. */
  recvSourceOffset(i: number): number {
    return this.#offRecvName + i * NAME_STRIDE + 8;
  }

  /** Source port of datagram `i`. */
  recvSourcePort(i: number): number {
    const o = this.#offRecvName + i * NAME_STRIDE;
    return (this.u8[o + 2] << 8) | this.u8[o + 3];
  }

  /**
   * Byte offset in {@link u8} of the `in6_pktinfo` of datagram `i` (destination address at +0,
   * interface index at +16), or -1 when absent. Walks the cmsg chain.
   */
  recvPktinfoOffset(i: number): number {
    return this.#cmsgData(i, IPPROTO_IPV6, IPV6_PKTINFO, PKTINFO_LEN);
  }

  /**
   * Where the data of datagram `i`'s control message `level`/`type` starts in {@link u8}, or -1
   * when it has none or its cmsg is shorter than `minLen` (CMSG_LEN of the data wanted).
   */
  #cmsgData(i: number, level: number, type: number, minLen: number): number {
    this.#slot(i);
    const base = this.#offRecvCtl + i * CONTROL_STRIDE;
    const u32 = this.#u32;
    const lenWord = (this.#offRecvHdr + i * MMSGHDR_SIZE + MH_CONTROLLEN) >> 2;
    // msg_controllen and cmsg_len are size_t: a high word, or a length past the buffer, is bogus.
    if (u32[lenWord + 1] !== 0) return -1;
    const end = base + Math.min(u32[lenWord], CONTROL_STRIDE);
    let o = base;
    while (o + CMSG_HDR <= end) {
      const len = u32[o >> 2];
      if (u32[(o >> 2) + 1] !== 0 || len < CMSG_HDR || o + len > end) break;
      if (u32[(o + 8) >> 2] === level && u32[(o + 12) >> 2] === type) {
        // The data must lie wholly inside this cmsg.
        return len >= minLen ? o + CMSG_HDR : -1;
      }
      o += (len + 7) & ~7;
    }
    return -1;
  }

  /**
   * Ask the kernel to stamp every datagram this socket receives with the time of day it arrived
   * (`SO_TIMESTAMPNS`), read with {@link recvTimestampMs}. The kernel starts stamping arrivals a
   * moment later (it defers that to a work item); until then a datagram is stamped when it is
   * read. Throws {@link OsError}.
   */
  enableReceiveTimestamps(): void {
    setInt(this.#lib, this.fd, SOL_SOCKET, SO_TIMESTAMPNS, 1);
  }

  /**
   * When the kernel received datagram `i`, in ms since 1970 (CLOCK_REALTIME, as `realtimeMs` in
   * libc.ts reads it), or NaN without a timestamp (see {@link enableReceiveTimestamps}).
   */
  recvTimestampMs(i: number): number {
    const o = this.#cmsgData(i, SOL_SOCKET, SCM_TIMESTAMPNS, TIMESTAMP_LEN);
    if (o < 0) return Number.NaN;
    const u32 = this.#u32;
    // struct timespec: tv_sec (64 bits), tv_nsec (64 bits); cmsg data is 8-aligned in the arena.
    return (u32[o >> 2] + u32[(o >> 2) + 1] * 2 ** 32) * 1000 + u32[(o + 8) >> 2] / 1e6;
  }

  /** Whether datagram `i` was sent to a multicast address; `fallback` when pktinfo is missing. */
  recvMulticast(i: number, fallback: boolean): boolean {
    const p = this.recvPktinfoOffset(i);
    return p < 0 ? fallback : this.u8[p] === 0xff;
  }

  /**
   * Prepare send slot `i`: copy `data`, destination `address` (16 bytes at `addressOffset` of
   * `addressBytes`) with `port` and `scopeId`; with `source` (16 bytes) an IPV6_PKTINFO cmsg sets
   * the source address and outgoing interface `ifindex`. False when `data` does not fit a slot.
   * Throws a RangeError when `i` is not a slot of this socket or an address is not 16 bytes.
   */
  setSend(
    i: number,
    data: Uint8Array,
    address: Uint8Array,
    port: number,
    scopeId: number,
    source?: Uint8Array,
    ifindex = 0,
  ): boolean {
    this.#slot(i);
    if (address.length !== 16 || (source !== undefined && source.length !== 16)) {
      throw new RangeError("IPv6 addresses are 16 bytes");
    }
    if (data.length > this.slotSize) return false;
    const u8 = this.u8;
    u8.set(data, this.#offSendData + i * this.slotSize);
    const name = this.#offSendName + i * NAME_STRIDE;
    u8[name] = AF_INET6;
    u8[name + 1] = 0;
    u8[name + 2] = port >> 8;
    u8[name + 3] = port & 0xff;
    this.#u32[(name + 4) >> 2] = 0;
    u8.set(address, name + 8);
    this.#u32[(name + 24) >> 2] = scopeId;
    this.#u32[(this.#offSendIov + i * IOVEC_SIZE + 8) >> 2] = data.length;
    this.#u32[(this.#offSendIov + i * IOVEC_SIZE + 12) >> 2] = 0;
    const h = (this.#offSendHdr + i * MMSGHDR_SIZE) >> 2;
    if (source) {
      const pi = this.#offSendCtl + i * CONTROL_STRIDE + CMSG_HDR;
      u8.set(source, pi);
      this.#u32[(pi + 16) >> 2] = ifindex;
      this.#u32[h + (MH_CONTROLLEN >> 2)] = PKTINFO_SPACE;
    } else {
      this.#u32[h + (MH_CONTROLLEN >> 2)] = 0;
    }
    this.#u32[h + (MH_CONTROLLEN >> 2) + 1] = 0;
    return true;
  }

  /**
   * sendmmsg(2) slots 0..count-1 without blocking. With `segment`, slots with the same
   * destination, source and length go out as one segmented send (UDP_SEGMENT, "UDP GSO": the
   * kernel or the card splits it into the same datagrams that separate sends would have made, for
   * much less work per datagram) where this socket {@link canSegment} and has not had one refused
   * ({@link segmentationRefused}). When
   * the send buffer is full it waits for room (poll(2), {@link SEND_POLL_MS} at a time, looking at
   * {@link stopping} in between) for at most {@link SEND_GIVE_UP_MS} per batch, then gives the
   * rest up (each counted with EAGAIN). A message that fails is skipped (counted in
   * {@link sendErrors}, its errno in {@link lastSendError}) and the rest are sent; a segmented
   * send that the kernel refuses as such is sent again datagram by datagram. Returns how many
   * datagrams failed; their slots are in {@link failed}.
   */
  sendBatch(count: number, segment = true): number {
    if (!(count >= 0 && count <= this.batch && Number.isInteger(count))) {
      throw new RangeError(`batch of ${count} out of range 0-${this.batch}`);
    }
    const failed = this.failed;
    failed.length = 0;
    let entries = count > 1 && segment && this.canSegment && this.segmentationRefused === 0
      ? this.#group(count)
      : 0;
    const grouped = entries > 0;
    if (!grouped) entries = count;
    const hdrs = grouped ? this.#outHdrs : this.#sendHdrs;
    const first = this.#entryFirst;
    let done = 0;
    let waitedSince = 0;
    // A refused segmented send whose datagrams now go one by one: its errno, and the entry of
    // its first datagram. Only if that one then leaves was it the segmentation that was refused.
    let suspect = 0, suspectAt = -1;
    while (done < entries) {
      const n = this.#lib.sendmmsg(
        this.fd,
        done === 0 ? hdrs : hdrs.subarray(done * MMSGHDR_SIZE),
        entries - done,
        MSG_DONTWAIT,
      );
      if (n < 0) {
        const e = errno();
        if (e === EINTR) continue;
        if (e === EAGAIN) {
          const now = performance.now();
          waitedSince ||= now;
          if (!this.stopping() && now - waitedSince < SEND_GIVE_UP_MS) {
            this.#poll(POLLOUT, Math.min(SEND_POLL_MS, SEND_GIVE_UP_MS - (now - waitedSince)));
            continue;
          }
          // Full for too long (or stopping): the rest of the batch is given up.
          this.lastSendError = e;
          for (; done < entries; done++) this.#fail(done, grouped);
          break;
        }
        if (grouped && first[done + 1] - first[done] > 1 && SEGMENT_REFUSALS.has(e)) {
          // Refused, perhaps as a segmented send: this one and the rest go datagram by datagram.
          entries = this.#ungroup(done, entries);
          suspect = e;
          suspectAt = done;
          continue;
        }
        // The datagram alone fails too (a destination port 0, an unusable source): the
        // destination's fault, not the segmentation's.
        if (done === suspectAt) suspect = 0;
        // The first message failed (e.g. EADDRNOTAVAIL, ENETUNREACH): skip it.
        this.lastSendError = e;
        this.#fail(done, grouped);
        done++;
        continue;
      }
      if (grouped) {
        for (let e = done; e < done + n; e++) {
          const k = first[e + 1] - first[e];
          this.sent += k;
          if (k > 1) {
            this.segmented += k;
            this.segmentedSends++;
          }
        }
        if (suspect !== 0 && suspectAt < done + n) {
          // The group's first datagram left on its own: the kernel refused the segmentation.
          this.segmentationRefused = suspect;
          suspect = 0;
        }
      } else {
        this.sent += n;
      }
      done += n;
    }
    return failed.length;
  }

  /** Count entry `e`'s datagrams as failed. */
  #fail(e: number, grouped: boolean): void {
    if (!grouped) {
      this.sendErrors++;
      this.failed.push(e);
      return;
    }
    const members = this.#members;
    for (let p = this.#entryFirst[e], end = this.#entryFirst[e + 1]; p < end; p++) {
      this.sendErrors++;
      this.failed.push(members[p]);
    }
  }

  /** Whether send slots `a` and `b` have the same destination and the same source. */
  #sameRoute(a: number, b: number): boolean {
    const u32 = this.#u32;
    let x = (this.#offSendName + a * NAME_STRIDE) >> 2;
    let y = (this.#offSendName + b * NAME_STRIDE) >> 2;
    for (let w = 0; w < SOCKADDR_IN6_SIZE >> 2; w++) if (u32[x + w] !== u32[y + w]) return false;
    const ca = u32[(this.#offSendHdr + a * MMSGHDR_SIZE + MH_CONTROLLEN) >> 2];
    if (ca !== u32[(this.#offSendHdr + b * MMSGHDR_SIZE + MH_CONTROLLEN) >> 2]) return false;
    if (ca === 0) return true;
    x = (this.#offSendCtl + a * CONTROL_STRIDE + CMSG_HDR) >> 2;
    y = (this.#offSendCtl + b * CONTROL_STRIDE + CMSG_HDR) >> 2;
    for (let w = 0; w < 5; w++) if (u32[x + w] !== u32[y + w]) return false;
    return true;
  }

  /** Length of the datagram in send slot `i`. */
  #sendLength(i: number): number {
    return this.#u32[(this.#offSendIov + i * IOVEC_SIZE + 8) >> 2];
  }

  /**
   * Group slots 0..count-1 by destination, source and length into the send entries of
   * {@link #outHdrs}: one segmented send per group of two or more, the slot's own header for the
   * rest. Returns the number of entries, or 0 when no two slots can share a send.
   */
  #group(count: number): number {
    const groupOf = this.#groupOf, leader = this.#leader, size = this.#groupSize;
    let groups = 0;
    let shared = false;
    for (let i = 0; i < count; i++) {
      const length = this.#sendLength(i);
      let g = -1;
      if (length > 0 && length <= this.maxSegment) {
        for (let j = 0; j < groups; j++) {
          const l = leader[j];
          if (
            this.#sendLength(l) === length && size[j] < MAX_SEGMENTS &&
            (size[j] + 1) * length <= MAX_SEGMENTED_BYTES && this.#sameRoute(l, i)
          ) {
            g = j;
            break;
          }
        }
      }
      if (g < 0) {
        g = groups++;
        leader[g] = i;
        size[g] = 0;
      } else {
        shared = true;
      }
      groupOf[i] = g;
      size[g]++;
    }
    if (!shared) return 0;
    const first = this.#entryFirst, members = this.#members;
    let at = 0;
    for (let g = 0; g < groups; g++) {
      first[g] = at;
      at += size[g];
      size[g] = first[g]; // from here on: where the group's next slot goes
    }
    first[groups] = at;
    for (let i = 0; i < count; i++) members[size[groupOf[i]]++] = i;
    for (let g = 0; g < groups; g++) this.#writeEntry(g);
    return groups;
  }

  /** Write send entry `e` of {@link #outHdrs} from its slots (see {@link #group}). */
  #writeEntry(e: number): void {
    const u32 = this.#u32;
    const from = this.#entryFirst[e], k = this.#entryFirst[e + 1] - from;
    const lead = this.#members[from];
    const out = (this.#offOutHdr + e * MMSGHDR_SIZE) >> 2;
    const own = (this.#offSendHdr + lead * MMSGHDR_SIZE) >> 2;
    if (k === 1) {
      u32.copyWithin(out, own, own + (MMSGHDR_SIZE >> 2));
      return;
    }
    // Name and its length as the first slot's; a gather list of the slots' payloads.
    u32.copyWithin(out, own, own + 4);
    const iov = this.#offOutIov + from * IOVEC_SIZE;
    this.#pointer(out + (MH_IOV >> 2), iov);
    u32[out + (MH_IOVLEN >> 2)] = k;
    u32[out + (MH_IOVLEN >> 2) + 1] = 0;
    for (let p = 0; p < k; p++) {
      const slotIov = (this.#offSendIov + this.#members[from + p] * IOVEC_SIZE) >> 2;
      u32.copyWithin((iov >> 2) + p * 4, slotIov, slotIov + 4);
    }
    // Control: the first slot's pktinfo, if any, then the segment size.
    const ctl = this.#offOutCtl + e * SEGMENTED_CONTROL_STRIDE;
    let c = ctl;
    if (u32[own + (MH_CONTROLLEN >> 2)] !== 0) {
      const slotCtl = (this.#offSendCtl + lead * CONTROL_STRIDE) >> 2;
      u32.copyWithin(ctl >> 2, slotCtl, slotCtl + (PKTINFO_SPACE >> 2));
      c += PKTINFO_SPACE;
    }
    const cw = c >> 2;
    u32[cw] = SEGMENT_LEN;
    u32[cw + 1] = 0;
    u32[cw + 2] = SOL_UDP;
    u32[cw + 3] = UDP_SEGMENT;
    u32[cw + 4] = this.#sendLength(lead); // a u16, little-endian; the rest is padding
    u32[cw + 5] = 0;
    this.#pointer(out + (MH_CONTROL >> 2), ctl);
    u32[out + (MH_CONTROLLEN >> 2)] = c + SEGMENT_SPACE - ctl;
    u32[out + (MH_CONTROLLEN >> 2) + 1] = 0;
    u32[out + (MH_FLAGS >> 2)] = 0;
  }

  /**
   * Rewrite send entries `from..entries-1` as one entry per datagram (after a refused segmented
   * send). Returns the new number of entries.
   */
  #ungroup(from: number, entries: number): number {
    const first = this.#entryFirst, members = this.#members, u32 = this.#u32;
    const start = first[from], end = first[entries];
    for (let p = start; p < end; p++) {
      const e = from + p - start;
      first[e] = p;
      const out = (this.#offOutHdr + e * MMSGHDR_SIZE) >> 2;
      const own = (this.#offSendHdr + members[p] * MMSGHDR_SIZE) >> 2;
      u32.copyWithin(out, own, own + (MMSGHDR_SIZE >> 2));
    }
    const count = from + end - start;
    first[count] = end;
    return count;
  }

  /** Write the address of arena offset `offset` as a 64-bit pointer at u32 index `word`. */
  #pointer(word: number, offset: number): void {
    const p = this.#base + offset;
    this.#u32[word] = p % TWO_32;
    this.#u32[word + 1] = Math.floor(p / TWO_32);
  }

  /** Wait up to `ms` for a datagram to receive. */
  waitReadable(ms: number): void {
    this.#poll(POLLIN, ms);
  }

  /** poll(2) this socket for `events` (POLLIN, POLLOUT) for up to `ms` (rounded up). */
  #poll(events: number, ms: number): void {
    const p = this.#pollfd;
    new DataView(p.buffer).setInt32(0, this.fd, true);
    p[4] = events;
    p[5] = p[6] = p[7] = 0;
    this.#lib.poll(p, 1n, Math.max(1, Math.ceil(ms)));
  }
}
