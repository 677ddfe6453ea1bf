/**
 * libc through Deno FFI for the `ffi` UDP I/O backend: constants, struct layouts, bindings,
 * `errno` and socket addresses. Grown from the FFI spike (see `bench/spike_ffi/README.md`).
 *
 * Linux only, glibc on x86_64 or aarch64 (both have the layouts below; musl pads `msghdr`
 * differently and is not supported). Needs the unscoped `--allow-ffi`: a scoped
 * `--allow-ffi=PATH` admits `dlopen` of that path, but `Deno.UnsafePointer.of` and
 * `UnsafePointerView` still demand the unscoped permission.
 *
 * Every thread (the main thread, the I/O Worker) opens its own copy of the bindings.
 * @module
 */

import { parseScopedIPv6 } from "../../protocol/ipv6.ts";

// ---------------------------------------------------------------------------------------------
// Constants (Linux, x86_64)
// ---------------------------------------------------------------------------------------------

export const AF_INET6 = 10;
export const SOCK_DGRAM = 2;
export const SOCK_CLOEXEC = 0o2000000;
export const IPPROTO_UDP = 17;
export const SOL_SOCKET = 1;
export const SO_REUSEADDR = 2;
export const SO_RCVBUF = 8;
export const SO_RCVBUFFORCE = 33;
/** Receive timestamps (`SO_TIMESTAMPNS_OLD`): a `SCM_TIMESTAMPNS` cmsg with a `timespec`. */
export const SO_TIMESTAMPNS = 35, SCM_TIMESTAMPNS = 35;
export const IPPROTO_IPV6 = 41;
export const IPV6_MULTICAST_LOOP = 19;
export const IPV6_JOIN_GROUP = 20; // a.k.a. IPV6_ADD_MEMBERSHIP
export const IPV6_RECVPKTINFO = 49;
export const IPV6_PKTINFO = 50;
export const MSG_TRUNC = 0x20;
export const MSG_DONTWAIT = 0x40;
export const EPOLLIN = 0x001;
/** Wake only one of the threads waiting on the same descriptor (Linux 4.5). */
export const EPOLLEXCLUSIVE = 1 << 28;
export const EPOLL_CTL_ADD = 1;
export const EPOLL_CLOEXEC = 0o2000000;
export const EINTR = 4;
export const EAGAIN = 11;
/**
 * errnos with which the kernel refuses a segmented (UDP_SEGMENT) send for what it is rather than
 * where it goes: EIO (no checksum offload on the route, or IPsec), EINVAL (a segment larger than
 * the route's MTU, too many segments), EMSGSIZE, ENOPROTOOPT and EOPNOTSUPP.
 */
export const SEGMENT_REFUSALS: ReadonlySet<number> = new Set([5, 22, 90, 92, 95]);
/** poll(2): the descriptor has data to read. */
export const POLLIN = 0x001;
/** poll(2): the descriptor can be written to. */
export const POLLOUT = 0x004;
/** sizeof(struct pollfd) { i32 fd; i16 events; i16 revents; }. */
export const POLLFD_SIZE = 8;

// Struct sizes / offsets (x86_64 glibc).
//   struct sockaddr_in6 { u16 family; u16 port(BE); u32 flowinfo; u8 addr[16]; u32 scope_id; } 28
//   struct iovec        { void *base; size_t len; }                                             16
//   struct msghdr       { void *name; u32 namelen; /*pad4*/ iovec *iov; size_t iovlen;
//                         void *control; size_t controllen; i32 flags; /*pad4*/ }              56
//   struct mmsghdr      { msghdr hdr; u32 msg_len; /*pad4*/ }                                  64
//   struct cmsghdr      { size_t len; i32 level; i32 type; u8 data[] /*8-aligned*/ }           16
//   struct in6_pktinfo  { u8 addr[16]; u32 ifindex; }                                          20
//   struct ipv6_mreq    { u8 multiaddr[16]; u32 interface; }                                   20
export const SOCKADDR_IN6_SIZE = 28;
/** Bytes reserved per sockaddr_in6 in an arena (28 rounded up). */
export const NAME_STRIDE = 32;
/** sizeof(struct iovec). */
export const IOVEC_SIZE = 16;
/** sizeof(struct mmsghdr). */
export const MMSGHDR_SIZE = 64;
/** Offsets in struct mmsghdr: msg_name, msg_namelen, msg_iov, msg_iovlen, msg_control. */
export const MH_NAME = 0, MH_NAMELEN = 8, MH_IOV = 16, MH_IOVLEN = 24, MH_CONTROL = 32;
/** Offsets in struct mmsghdr: msg_controllen, msg_flags, msg_len. */
export const MH_CONTROLLEN = 40, MH_FLAGS = 48, MH_LEN = 56;
/** sizeof(struct cmsghdr): the data follows, 8-aligned. */
export const CMSG_HDR = 16;
/** sizeof(struct in6_pktinfo). */
const IN6_PKTINFO_SIZE = 20;
/** CMSG_SPACE(sizeof(in6_pktinfo)) = 16 + align8(20) = 40. */
export const PKTINFO_SPACE = CMSG_HDR + 24;
/** CMSG_LEN(sizeof(in6_pktinfo)) = 36. */
export const PKTINFO_LEN = CMSG_HDR + IN6_PKTINFO_SIZE;
/** CMSG_LEN(sizeof(struct timespec)): a receive timestamp. */
export const TIMESTAMP_LEN = CMSG_HDR + 16;
/** Control buffer per message: room for pktinfo and a receive timestamp plus a spare 8 bytes. */
export const CONTROL_STRIDE = 80;
/** `SOL_UDP` (= IPPROTO_UDP) and its `UDP_SEGMENT` option: UDP segmentation offload (GSO). */
export const SOL_UDP = 17, UDP_SEGMENT = 103;
/** CMSG_SPACE(sizeof(u16)): the UDP_SEGMENT cmsg carrying the segment size. */
export const SEGMENT_SPACE = CMSG_HDR + 8;
/** CMSG_LEN(sizeof(u16)). */
export const SEGMENT_LEN = CMSG_HDR + 2;
/**
 * sizeof(struct epoll_event) { u32 events; u64 data; }: packed (12) on x86_64, naturally aligned
 * (16, data at 8) elsewhere.
 */
export const EPOLL_EVENT_SIZE = Deno.build.arch === "x86_64" ? 12 : 16;
/** Offset of the data field in struct epoll_event. */
export const EPOLL_DATA = Deno.build.arch === "x86_64" ? 4 : 8;

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
  epoll_create1: { parameters: ["i32"], result: "i32" },
  epoll_ctl: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  epoll_wait: { parameters: ["i32", "buffer", "i32", "i32"], result: "i32" },
  recvmmsg: { parameters: ["i32", "buffer", "u32", "i32", "pointer"], result: "i32" },
  sendmmsg: { parameters: ["i32", "buffer", "u32", "i32"], result: "i32" },
  poll: { parameters: ["buffer", "usize", "i32"], result: "i32" },
  if_nametoindex: { parameters: ["buffer"], result: "u32" },
  setgroups: { parameters: ["usize", "buffer"], result: "i32" },
  setresuid: { parameters: ["u32", "u32", "u32"], result: "i32" },
  setresgid: { parameters: ["u32", "u32", "u32"], result: "i32" },
  syscall: { parameters: ["i64", "i64", "i64", "i64"], result: "i64" },
  __errno_location: { parameters: [], result: "pointer" },
  strerror: { parameters: ["i32"], result: "pointer" },
  clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

const CLOCK_MONOTONIC = 1;
const CLOCK_REALTIME = 0;

/**
 * A reader of clock `id` in milliseconds through libc's `clock_gettime` (the vDSO answers it
 * without a system call), less `origin`'s whole seconds when `origin` is set; `fallback` where
 * libc cannot be used.
 */
function libcClockMs(id: number, fallback: () => number, origin: boolean): () => number {
  const timespec = new Uint8Array(16);
  const words = new Uint32Array(timespec.buffer);
  let lib: Libc;
  try {
    lib = libc();
    if (lib.clock_gettime(id, timespec) !== 0) return fallback;
  } catch {
    return fallback;
  }
  const start = origin ? words[0] + words[1] * 2 ** 32 : 0;
  return () => {
    lib.clock_gettime(id, timespec);
    return (words[0] + words[1] * 2 ** 32 - start) * 1000 + words[2] / 1e6;
  };
}

/**
 * A clock in milliseconds (fractional, nanosecond resolution) from an arbitrary origin:
 * CLOCK_MONOTONIC through libc, which the vDSO answers without a system call. It reads the
 * same time as `performance.now()` at about a third of the cost (Deno's op for it is a slow
 * API call), for code that reads the clock per request. Only differences between its readings
 * mean anything. Where libc cannot be used, `performance.now()` itself.
 */
export function monotonicMs(): () => number {
  return libcClockMs(CLOCK_MONOTONIC, () => performance.now(), true);
}

/**
 * The time of day in milliseconds since 1970 (fractional; a double holds it to a quarter of a
 * microsecond): CLOCK_REALTIME through libc (the vDSO), the clock the kernel stamps received
 * datagrams with (`SO_TIMESTAMPNS`). Where libc cannot be used, `Date.now()`.
 */
export function realtimeMs(): () => number {
  return libcClockMs(CLOCK_REALTIME, () => Date.now(), false);
}

/** The bound libc functions. */
export type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];
let libcLib: Deno.DynamicLibrary<typeof SYMBOLS> | undefined;
let errnoView: Deno.UnsafePointerView | undefined;

const LIBC = "libc.so.6";

/** The libc bindings (opened once per thread/isolate; each Worker opens its own). */
export function libc(): Libc {
  if (!libcLib) libcLib = Deno.dlopen(LIBC, SYMBOLS);
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

/**
 * Replace the process's supplementary groups with `gids` (setgroups(2); glibc applies it to every
 * thread). Needs root; throws {@link OsError}.
 */
export function setGroups(gids: readonly number[]): void {
  const list = new Uint32Array(Math.max(1, gids.length));
  list.set(gids);
  if (libc().setgroups(BigInt(gids.length), new Uint8Array(list.buffer)) < 0) {
    throw new OsError("setgroups", errno());
  }
}

/**
 * Set the real, effective and saved user and group ids of every thread of the process (glibc's
 * `setresgid`/`setresuid` apply to all threads), group first. Needs root; throws {@link OsError}.
 */
export function setProcessIds(
  ids: { uid: number; gid: number; savedUid: number; savedGid: number },
): void {
  check("setresgid", libc().setresgid(ids.gid, ids.gid, ids.savedGid));
  check("setresuid", libc().setresuid(ids.uid, ids.uid, ids.savedUid));
}

/** Linux syscall numbers of setresuid / setresgid (x86_64, aarch64). */
const SYS_SETRESUID = Deno.build.arch === "x86_64" ? 117 : 147;
const SYS_SETRESGID = Deno.build.arch === "x86_64" ? 119 : 149;
/** The "leave unchanged" id of setresuid(2). */
const KEEP = -1;

/**
 * Set the effective user and group of the calling thread only, through the raw system calls:
 * the kernel keeps credentials per thread, and only glibc's wrappers copy them to every thread.
 * Taking root (`uid` 0) sets the user first, giving it up sets the group first. Throws
 * {@link OsError}.
 */
export function setThreadEffectiveIds(uid: number, gid: number): void {
  const call = (nr: number, id: number, name: string) => {
    if (Number(libc().syscall(BigInt(nr), BigInt(KEEP), BigInt(id), BigInt(KEEP))) < 0) {
      throw new OsError(name, errno());
    }
  };
  if (uid === 0) {
    call(SYS_SETRESUID, uid, "setresuid");
    call(SYS_SETRESGID, gid, "setresgid");
  } else {
    call(SYS_SETRESGID, gid, "setresgid");
    call(SYS_SETRESUID, uid, "setresuid");
  }
}

/** An errno-carrying error. */
export class OsError extends Error {
  /** Describe `code` (an errno value) for `call`. */
  constructor(readonly call: string, readonly code: number) {
    const p = libc().strerror(code);
    super(`${call}: ${p ? Deno.UnsafePointerView.getCString(p) : "errno " + code} (${code})`);
    this.name = "OsError";
  }
}

/** Throw an {@link OsError} when `rc` is negative; otherwise return it. */
export function check(call: string, rc: number): number {
  if (rc < 0) throw new OsError(call, errno());
  return rc;
}

// ---------------------------------------------------------------------------------------------
// Address helpers (not on the hot path)
// ---------------------------------------------------------------------------------------------

/**
 * A socket address's IPv6 address and scope id, from text the protocol's reader accepts with an
 * optional zone (`fe80::1%eth0`: the interface's index; `fe80::1%2`: that number). Throws when
 * the text is not such an address or names no interface.
 */
export function parseIPv6(text: string): { bytes: Uint8Array; scopeId: number } {
  const { bytes, zone } = parseScopedIPv6(text);
  if (zone === undefined) return { bytes, scopeId: 0 };
  if (!/^\d{1,10}$/.test(zone)) return { bytes, scopeId: interfaceIndex(zone) };
  const scopeId = Number(zone);
  if (scopeId > 0xffffffff) throw new Error(`scope id ${zone} of ${text} is out of range`);
  return { bytes, scopeId };
}

/** `if_nametoindex(3)`; throws when the interface does not exist. */
export function interfaceIndex(name: string): number {
  const idx = libc().if_nametoindex(new TextEncoder().encode(name + "\0"));
  if (idx === 0) throw new OsError(`if_nametoindex(${name})`, errno());
  return idx;
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
