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
  POLLOUT,
  SO_RCVBUF,
  SO_RCVBUFFORCE,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCKADDR_IN6_SIZE,
  SOL_SOCKET,
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

  /** Wrap descriptor `fd` (not taking ownership: see {@link closeFd}). */
  constructor(fd: number, batch = 64, slotSize = 65536) {
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
    this.arena = new ArrayBuffer(off);
    this.u8 = new Uint8Array(this.arena);
    this.#u32 = new Uint32Array(this.arena);
    const dv = new DataView(this.arena);
    const base = Deno.UnsafePointer.value(Deno.UnsafePointer.of(this.u8));
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
      if (u32[(o + 8) >> 2] === IPPROTO_IPV6 && u32[(o + 12) >> 2] === IPV6_PKTINFO) {
        // The in6_pktinfo must lie wholly inside this cmsg.
        return len >= PKTINFO_LEN ? o + CMSG_HDR : -1;
      }
      o += (len + 7) & ~7;
    }
    return -1;
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
   * sendmmsg(2) slots 0..count-1 without blocking. When the send buffer is full it waits for
   * room (poll(2), {@link SEND_POLL_MS} at a time, looking at {@link stopping} in between) for at
   * most {@link SEND_GIVE_UP_MS} per batch, then gives the rest up (each counted with EAGAIN). A message
   * that fails is skipped (counted in {@link sendErrors}, its errno in {@link lastSendError}) and
   * the rest are sent. Returns how many failed; their slots are in {@link failed}.
   */
  sendBatch(count: number): number {
    if (!(count >= 0 && count <= this.batch && Number.isInteger(count))) {
      throw new RangeError(`batch of ${count} out of range 0-${this.batch}`);
    }
    let done = 0;
    let waitedSince = 0;
    const failed = this.failed;
    failed.length = 0;
    while (done < count) {
      const n = this.#lib.sendmmsg(
        this.fd,
        done === 0 ? this.#sendHdrs : this.#sendHdrs.subarray(done * MMSGHDR_SIZE),
        count - done,
        MSG_DONTWAIT,
      );
      if (n < 0) {
        const e = errno();
        if (e === EINTR) continue;
        if (e === EAGAIN) {
          const now = performance.now();
          waitedSince ||= now;
          if (!this.stopping() && now - waitedSince < SEND_GIVE_UP_MS) {
            this.#waitWritable(Math.min(SEND_POLL_MS, SEND_GIVE_UP_MS - (now - waitedSince)));
            continue;
          }
          // Full for too long (or stopping): the rest of the batch is given up.
          this.sendErrors += count - done;
          this.lastSendError = e;
          for (; done < count; done++) failed.push(done);
          break;
        }
        // The first message failed (e.g. EADDRNOTAVAIL, ENETUNREACH): skip it.
        this.sendErrors++;
        this.lastSendError = e;
        failed.push(done);
        done++;
        continue;
      }
      done += n;
      this.sent += n;
    }
    return failed.length;
  }

  /** Wait up to `ms` for room in the send buffer. */
  #waitWritable(ms: number): void {
    const p = this.#pollfd;
    new DataView(p.buffer).setInt32(0, this.fd, true);
    p[4] = POLLOUT;
    p[5] = p[6] = p[7] = 0;
    this.#lib.poll(p, 1n, Math.max(1, Math.ceil(ms)));
  }
}
