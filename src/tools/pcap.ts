/**
 * A small, pure packet-capture toolkit for `dhcpkit decode` and the tests: a pcap / pcapng reader
 * (both byte orders), extraction of DHCPv6 UDP payloads from IPv6 frames, and a pcap writer.
 *
 * Reading never throws anything but {@link PcapError} for a malformed file; frames that are not
 * IPv6 UDP to or from the DHCPv6 ports are simply not extracted.
 * @module
 */

import { DHCPV6_CLIENT_PORT, DHCPV6_SERVER_PORT } from "../protocol/constants.ts";
import { formatIPv6, parseIPv6 } from "../protocol/ipv6.ts";

/** Link-layer header types (LINKTYPE_* values) understood by {@link extractDhcpv6}. */
export const LinkType = {
  /** BSD loopback: 4-byte address family in the capturing host's byte order. */
  Null: 0,
  /** Ethernet II, with optional 802.1Q / 802.1ad VLAN tags. */
  Ethernet: 1,
  /** Raw IP (DLT_RAW as used on most systems). */
  RawDlt12: 12,
  /** Raw IP (DLT_RAW as used on OpenBSD). */
  RawDlt14: 14,
  /** Raw IP: the frame starts with the IPv4 or IPv6 header. */
  Raw: 101,
  /** OpenBSD loopback: 4-byte address family in network byte order. */
  Loop: 108,
  /** Linux cooked capture v1 (SLL). */
  LinuxSll: 113,
  /** Raw IPv6. */
  IPv6: 228,
  /** Linux cooked capture v2 (SLL2). */
  LinuxSll2: 276,
} as const;

/** A malformed capture file: bad magic, truncated header or record, impossible lengths. */
export class PcapError extends Error {
  /** Byte offset in the file where the problem was found. */
  readonly offset: number;
  /** What is wrong, without the offset. */
  readonly reason: string;

  /** Create an error for `reason` at file offset `offset`. */
  constructor(offset: number, reason: string) {
    super(`offset ${offset}: ${reason}`);
    this.name = "PcapError";
    this.offset = offset;
    this.reason = reason;
  }
}

/** One captured frame. */
export interface Frame {
  /** 1-based frame number in the file (as Wireshark numbers them). */
  index: number;
  /** Capture time in seconds since the Unix epoch (0 when the record has no timestamp). */
  time: number;
  /** The link-layer header type (LINKTYPE_* value) of the frame's interface. */
  linkType: number;
  /** The captured bytes, starting with the link-layer header. */
  data: Uint8Array;
  /** The length of the packet on the wire (may exceed `data.length` when cut by the snap length). */
  originalLength: number;
}

/** A UDP datagram to or from a DHCPv6 port, as found by {@link extractDhcpv6}. */
export interface Dhcpv6Packet {
  /** IPv6 source address (RFC 5952 text). */
  src: string;
  /** IPv6 destination address (RFC 5952 text). */
  dst: string;
  /** UDP source port. */
  sport: number;
  /** UDP destination port. */
  dport: number;
  /** The UDP payload: the DHCPv6 message bytes. */
  payload: Uint8Array;
  /** Set when the payload is incomplete (snap length cut it, or the UDP length is inconsistent). */
  truncated?: boolean;
  /** Set when this is the first fragment of a fragmented datagram (the payload is partial). */
  fragmented?: boolean;
}

/** Classic pcap magic, microsecond timestamps. */
const PCAP_MAGIC_US = 0xa1b2c3d4;
/** Classic pcap magic, nanosecond timestamps. */
const PCAP_MAGIC_NS = 0xa1b23c4d;
/** Alexey Kuznetzov's modified pcap (24-byte record headers). */
const PCAP_MAGIC_KUZNETZOV = 0xa1b2cd34;
/** pcapng Section Header Block type. */
const PCAPNG_SHB = 0x0a0d0d0a;
/** pcapng byte-order magic. */
const PCAPNG_BOM = 0x1a2b3c4d;
/** Refuse records larger than this (libpcap's maximum snap length is 256 KiB; allow more). */
const MAX_RECORD = 16 * 1024 * 1024;

function u32(buf: Uint8Array, pos: number, little: boolean): number {
  return little
    ? (buf[pos] | (buf[pos + 1] << 8) | (buf[pos + 2] << 16)) + buf[pos + 3] * 0x1000000
    : buf[pos] * 0x1000000 + ((buf[pos + 1] << 16) | (buf[pos + 2] << 8) | buf[pos + 3]);
}

function u16(buf: Uint8Array, pos: number, little: boolean): number {
  return little ? buf[pos] | (buf[pos + 1] << 8) : (buf[pos] << 8) | buf[pos + 1];
}

function needFile(buf: Uint8Array, pos: number, n: number, what: string): void {
  if (buf.length - pos < n) {
    throw new PcapError(
      pos,
      `truncated ${what}: need ${n} bytes, only ${Math.max(0, buf.length - pos)} left`,
    );
  }
}

/** True when `bytes` starts like a pcap or pcapng file. */
export function isCapture(bytes: Uint8Array): boolean {
  if (bytes.length < 4) return false;
  const be = u32(bytes, 0, false), le = u32(bytes, 0, true);
  return be === PCAPNG_SHB ||
    [PCAP_MAGIC_US, PCAP_MAGIC_NS, PCAP_MAGIC_KUZNETZOV].some((m) => m === be || m === le);
}

/**
 * Iterate the frames of a pcap or pcapng file (detected by its magic). Frames are yielded as they
 * are read, so a caller sees every good frame before a {@link PcapError} about a later problem.
 */
export function* readFrames(bytes: Uint8Array): Generator<Frame, void, undefined> {
  if (bytes.length < 4) {
    throw new PcapError(0, `not a pcap or pcapng file: only ${bytes.length} bytes`);
  }
  if (u32(bytes, 0, false) === PCAPNG_SHB) {
    yield* readPcapng(bytes);
  } else {
    yield* readPcap(bytes);
  }
}

/** Read every frame of a pcap or pcapng file; throws {@link PcapError} when it is malformed. */
export function readCapture(bytes: Uint8Array): Frame[] {
  return [...readFrames(bytes)];
}

function* readPcap(buf: Uint8Array): Generator<Frame, void, undefined> {
  const be = u32(buf, 0, false), le = u32(buf, 0, true);
  let little: boolean, magic: number;
  if ([PCAP_MAGIC_US, PCAP_MAGIC_NS, PCAP_MAGIC_KUZNETZOV].includes(be)) {
    little = false, magic = be;
  } else if ([PCAP_MAGIC_US, PCAP_MAGIC_NS, PCAP_MAGIC_KUZNETZOV].includes(le)) {
    little = true, magic = le;
  } else {
    throw new PcapError(0, `bad magic 0x${be.toString(16).padStart(8, "0")}: not a pcap file`);
  }
  needFile(buf, 0, 24, "pcap file header");
  const major = u16(buf, 4, little);
  if (major !== 2) throw new PcapError(4, `unsupported pcap version ${major}`);
  // The low 16 bits hold the link type; upper bits may carry FCS information.
  const linkType = u32(buf, 20, little) & 0xffff;
  const divisor = magic === PCAP_MAGIC_NS ? 1e9 : 1e6;
  const recordHeader = magic === PCAP_MAGIC_KUZNETZOV ? 24 : 16;
  let pos = 24;
  let index = 0;
  while (pos < buf.length) {
    needFile(buf, pos, recordHeader, `record header of frame ${index + 1}`);
    const seconds = u32(buf, pos, little);
    const fraction = u32(buf, pos + 4, little);
    const capLen = u32(buf, pos + 8, little);
    const origLen = u32(buf, pos + 12, little);
    if (capLen > MAX_RECORD) {
      throw new PcapError(pos + 8, `frame ${index + 1} claims an impossible length of ${capLen}`);
    }
    const dataStart = pos + recordHeader;
    if (buf.length - dataStart < capLen) {
      throw new PcapError(
        dataStart,
        `truncated frame ${index + 1}: record claims ${capLen} bytes, only ${
          buf.length - dataStart
        } left`,
      );
    }
    yield {
      index: ++index,
      time: seconds + fraction / divisor,
      linkType,
      data: buf.subarray(dataStart, dataStart + capLen),
      originalLength: Math.max(origLen, capLen),
    };
    pos = dataStart + capLen;
  }
}

interface Interface {
  linkType: number;
  /** Timestamp units per second. */
  unitsPerSecond: number;
  /** Seconds added to every timestamp (if_tsoffset). */
  offset: number;
}

/** pcapng block types that carry what the reader needs (others are skipped). */
const BLOCK_IDB = 1, BLOCK_PB = 2, BLOCK_SPB = 3, BLOCK_EPB = 6;
/** Interface Description Block options: timestamp resolution and offset. */
const IF_TSRESOL = 9, IF_TSOFFSET = 14;

/** Where a pcapng reader is: the current section's byte order and interfaces, frames so far. */
interface PcapngState {
  readonly buf: Uint8Array;
  little: boolean;
  interfaces: Interface[];
  /** Frames yielded so far (the last frame's 1-based number). */
  index: number;
}

/** One pcapng block, its framing checked: type, total length and where its body lies. */
interface Block {
  readonly type: number;
  readonly start: number;
  readonly total: number;
  readonly bodyStart: number;
  readonly bodyEnd: number;
}

function* readPcapng(buf: Uint8Array): Generator<Frame, void, undefined> {
  const state: PcapngState = { buf, little: false, interfaces: [], index: 0 };
  let pos = 0;
  let sawSection = false;
  while (pos < buf.length) {
    needFile(buf, pos, 12, "pcapng block header");
    if (u32(buf, pos, false) === PCAPNG_SHB) {
      startSection(state, pos);
      sawSection = true;
    } else if (!sawSection) {
      throw new PcapError(pos, "pcapng file does not start with a section header block");
    }
    const block = readBlock(state, pos);
    const frame = readBlockBody(state, block);
    if (frame) yield frame;
    pos += block.total;
  }
}

/** A new section at `pos`: take its byte order from the byte-order magic, forget interfaces. */
function startSection(state: PcapngState, pos: number): void {
  const { buf } = state;
  const bom = u32(buf, pos + 8, false);
  if (bom === PCAPNG_BOM) state.little = false;
  else if (u32(buf, pos + 8, true) === PCAPNG_BOM) state.little = true;
  else {
    throw new PcapError(
      pos + 8,
      `bad pcapng byte-order magic 0x${bom.toString(16).padStart(8, "0")}`,
    );
  }
  state.interfaces = [];
}

/** The block at `pos`, after checking that its length is sane and repeated in its trailer. */
function readBlock(state: PcapngState, pos: number): Block {
  const { buf, little } = state;
  const type = u32(buf, pos, little);
  const total = u32(buf, pos + 4, little);
  if (total < 12 || total % 4 !== 0 || total > MAX_RECORD) {
    throw new PcapError(pos + 4, `bad pcapng block length ${total}`);
  }
  needFile(buf, pos, total, `pcapng block of type ${type}`);
  const trailer = u32(buf, pos + total - 4, little);
  if (trailer !== total) {
    throw new PcapError(
      pos + total - 4,
      `pcapng block length mismatch: header says ${total}, trailer says ${trailer}`,
    );
  }
  return { type, start: pos, total, bodyStart: pos + 8, bodyEnd: pos + total - 4 };
}

/** Throw unless the block's body has at least `n` bytes. */
function bodyNeed(block: Block, n: number, what: string): void {
  if (block.bodyEnd - block.bodyStart < n) {
    throw new PcapError(block.start, `${what} block too short: ${block.total} bytes`);
  }
}

/** Act on one block: remember a section's version or an interface; the frame of a packet block. */
function readBlockBody(state: PcapngState, block: Block): Frame | undefined {
  const { buf, little } = state;
  const { bodyStart } = block;
  switch (block.type) {
    case PCAPNG_SHB: {
      bodyNeed(block, 16, "section header");
      const major = u16(buf, bodyStart + 4, little);
      if (major !== 1) throw new PcapError(bodyStart + 4, `unsupported pcapng version ${major}`);
      return undefined;
    }
    case BLOCK_IDB:
      bodyNeed(block, 8, "interface description");
      state.interfaces.push(readInterface(state, block));
      return undefined;
    case BLOCK_EPB: // 32-bit interface id
      bodyNeed(block, 20, "enhanced packet");
      return timedPacket(state, block, u32(buf, bodyStart, little), "enhanced packet");
    case BLOCK_SPB:
      bodyNeed(block, 4, "simple packet");
      return simplePacket(state, block);
    case BLOCK_PB: // obsolete: 16-bit interface id, then a drop count
      bodyNeed(block, 20, "packet");
      return timedPacket(state, block, u16(buf, bodyStart, little), "packet");
    default:
      // Name resolution, statistics, custom and other blocks carry no packets.
      return undefined;
  }
}

/** An Interface Description Block: link type, timestamp resolution and offset. */
function readInterface(state: PcapngState, block: Block): Interface {
  const { buf, little } = state;
  const info: Interface = {
    linkType: u16(buf, block.bodyStart, little),
    unitsPerSecond: 1e6,
    offset: 0,
  };
  readOptions(buf, block.bodyStart + 8, block.bodyEnd, little, (code, start, length) => {
    if (code === IF_TSRESOL && length >= 1) {
      const v = buf[start];
      info.unitsPerSecond = v & 0x80 ? 2 ** (v & 0x7f) : 10 ** (v & 0x7f);
    } else if (code === IF_TSOFFSET && length >= 8) { // signed 64-bit seconds
      const hi = u32(buf, start + (little ? 4 : 0), little) | 0;
      const lo = u32(buf, start + (little ? 0 : 4), little);
      info.offset = hi * 0x100000000 + lo;
    }
  });
  return info;
}

/** The described interface `id` of the current section; throws when there is none. */
function interfaceOf(state: PcapngState, id: number, at: number): Interface {
  const found = state.interfaces[id];
  if (!found) throw new PcapError(at, `packet refers to undefined interface ${id}`);
  return found;
}

/** An (Enhanced) Packet Block: interface id, timestamp, lengths at +12 and +16, data at +20. */
function timedPacket(state: PcapngState, block: Block, interfaceId: number, what: string): Frame {
  const { buf, little } = state;
  const { bodyStart, bodyEnd } = block;
  const info = interfaceOf(state, interfaceId, bodyStart);
  const capLen = u32(buf, bodyStart + 12, little);
  const origLen = u32(buf, bodyStart + 16, little);
  if (capLen > bodyEnd - bodyStart - 20) {
    throw new PcapError(
      bodyStart + 12,
      `${what} block claims ${capLen} captured bytes in a ${block.total}-byte block`,
    );
  }
  const dataStart = bodyStart + 20;
  const ticks = u32(buf, bodyStart + 4, little) * 0x100000000 + u32(buf, bodyStart + 8, little);
  return {
    index: ++state.index,
    time: ticks / info.unitsPerSecond + info.offset,
    linkType: info.linkType,
    data: buf.subarray(dataStart, dataStart + capLen),
    originalLength: Math.max(origLen, capLen),
  };
}

/** A Simple Packet Block: interface 0, no timestamp, the original length then the data. */
function simplePacket(state: PcapngState, block: Block): Frame {
  const { buf, little } = state;
  const { bodyStart, bodyEnd } = block;
  const info = interfaceOf(state, 0, bodyStart);
  const origLen = u32(buf, bodyStart, little);
  const capLen = Math.min(origLen, bodyEnd - bodyStart - 4);
  return {
    index: ++state.index,
    time: 0,
    linkType: info.linkType,
    data: buf.subarray(bodyStart + 4, bodyStart + 4 + capLen),
    originalLength: origLen,
  };
}

function readOptions(
  buf: Uint8Array,
  start: number,
  end: number,
  little: boolean,
  visit: (code: number, start: number, length: number) => void,
): void {
  let pos = start;
  while (end - pos >= 4) {
    const code = u16(buf, pos, little);
    const length = u16(buf, pos + 2, little);
    if (code === 0) return; // opt_endofopt
    if (end - pos - 4 < length) {
      throw new PcapError(pos + 2, `pcapng option ${code} claims ${length} bytes past its block`);
    }
    visit(code, pos + 4, length);
    pos += 4 + ((length + 3) & ~3);
  }
}

/** IPv6 extension headers walked over to find the upper-layer header. */
const HOP_BY_HOP = 0, ROUTING = 43, FRAGMENT = 44, AUTH = 51, DEST_OPTS = 60;
const MOBILITY = 135, HIP = 139, SHIM6 = 140;
const UDP = 17;

/** Where the IPv6 packet starts inside a frame of `linkType`, or -1 when it is not IPv6. */
export function ipv6Offset(linkType: number, data: Uint8Array): number {
  switch (linkType) {
    case LinkType.Null:
    case LinkType.Loop: {
      if (data.length < 4) return -1;
      // LOOP is always big-endian; NULL uses the capturing host's order, so accept either.
      let family = u32(data, 0, false);
      if (linkType === LinkType.Null && family >= 0x10000) family = u32(data, 0, true);
      // AF_INET6 is 24 (NetBSD/OpenBSD), 28 (FreeBSD), 30 (macOS), 10 (Linux), 23 (Windows).
      return [24, 28, 30, 10, 23].includes(family) ? 4 : -1;
    }
    case LinkType.Ethernet: {
      let pos = 12;
      for (let tags = 0; tags < 8; tags++) {
        if (data.length < pos + 2) return -1;
        const etherType = (data[pos] << 8) | data[pos + 1];
        if (etherType === 0x86dd) return pos + 2;
        if (etherType === 0x8100 || etherType === 0x88a8 || etherType === 0x9100) {
          pos += 4; // skip the tag control information, read the next EtherType
          continue;
        }
        return -1;
      }
      return -1;
    }
    case LinkType.Raw:
    case LinkType.RawDlt12:
    case LinkType.RawDlt14:
    case LinkType.IPv6:
      return data.length >= 1 && data[0] >> 4 === 6 ? 0 : -1;
    case LinkType.LinuxSll:
      return data.length >= 16 && ((data[14] << 8) | data[15]) === 0x86dd ? 16 : -1;
    case LinkType.LinuxSll2:
      return data.length >= 20 && ((data[0] << 8) | data[1]) === 0x86dd ? 20 : -1;
    default:
      return -1;
  }
}

/**
 * Find a UDP datagram to or from port 546 or 547 in an IPv6 frame, walking over the link-layer
 * header and IPv6 extension headers. Returns `undefined` for anything else, including non-first
 * fragments (whose ports cannot be known); a first fragment is returned with `fragmented` set.
 */
export function extractDhcpv6(
  frame: Pick<Frame, "linkType" | "data">,
): Dhcpv6Packet | undefined {
  const data = frame.data;
  const ip = ipv6Offset(frame.linkType, data);
  if (ip < 0 || data.length < ip + 40 || data[ip] >> 4 !== 6) return undefined;
  const payloadLength = (data[ip + 4] << 8) | data[ip + 5];
  // Jumbograms (payload length 0 with a hop-by-hop jumbo option) are not DHCPv6; treat the rest of
  // the frame as the packet so truncation can be detected.
  const packetEnd = payloadLength === 0 ? data.length : ip + 40 + payloadLength;
  let truncated = packetEnd > data.length;
  const end = Math.min(packetEnd, data.length);
  let next = data[ip + 6];
  let pos = ip + 40;
  let fragmented = false;
  for (let hops = 0; hops < 16 && next !== UDP; hops++) {
    if (end - pos < 8) return undefined;
    switch (next) {
      case HOP_BY_HOP:
      case ROUTING:
      case DEST_OPTS:
      case MOBILITY:
      case HIP:
      case SHIM6:
        next = data[pos];
        pos += (data[pos + 1] + 1) * 8;
        break;
      case AUTH:
        next = data[pos];
        pos += (data[pos + 1] + 2) * 4;
        break;
      case FRAGMENT: {
        const offsetAndFlags = (data[pos + 2] << 8) | data[pos + 3];
        if (offsetAndFlags >> 3 !== 0) return undefined; // not the first fragment
        if (offsetAndFlags & 1) fragmented = true; // more fragments follow
        next = data[pos];
        pos += 8;
        break;
      }
      default:
        return undefined;
    }
  }
  if (next !== UDP || end - pos < 8) return undefined;
  const sport = (data[pos] << 8) | data[pos + 1];
  const dport = (data[pos + 2] << 8) | data[pos + 3];
  const dhcp = (p: number) => p === DHCPV6_CLIENT_PORT || p === DHCPV6_SERVER_PORT;
  if (!dhcp(sport) && !dhcp(dport)) return undefined;
  const udpLength = (data[pos + 4] << 8) | data[pos + 5];
  let payloadEnd: number;
  if (fragmented) {
    payloadEnd = end;
  } else if (udpLength < 8) {
    payloadEnd = end;
    truncated = true;
  } else {
    payloadEnd = pos + udpLength;
    if (payloadEnd > end) {
      truncated = true;
      payloadEnd = end;
    }
  }
  const result: Dhcpv6Packet = {
    src: formatIPv6(data, ip + 8),
    dst: formatIPv6(data, ip + 24),
    sport,
    dport,
    payload: data.slice(pos + 8, payloadEnd),
  };
  if (truncated) result.truncated = true;
  if (fragmented) result.fragmented = true;
  return result;
}

/** A UDP datagram to put in a capture with {@link writePcap}. */
export interface PacketSpec {
  /** IPv6 source address. */
  src: string;
  /** IPv6 destination address. */
  dst: string;
  /** UDP source port. */
  sport: number;
  /** UDP destination port. */
  dport: number;
  /** UDP payload. */
  payload: Uint8Array;
  /** Capture time in seconds since the epoch (default: 1.5 s per packet from 2024-01-01). */
  time?: number;
  /** IPv6 hop limit (default 64, or 1 towards link-scoped multicast). */
  hopLimit?: number;
}

/** The Internet checksum (RFC 1071) of UDP over IPv6, including the pseudo-header (RFC 8200 §8.1). */
export function udp6Checksum(src: Uint8Array, dst: Uint8Array, udp: Uint8Array): number {
  let sum = 0;
  const add = (b: Uint8Array) => {
    for (let i = 0; i + 1 < b.length; i += 2) sum += (b[i] << 8) | b[i + 1];
    if (b.length % 2) sum += b[b.length - 1] << 8;
  };
  add(src);
  add(dst);
  sum += (udp.length >>> 16) + (udp.length & 0xffff) + UDP;
  add(udp);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  const checksum = ~sum & 0xffff;
  return checksum === 0 ? 0xffff : checksum; // 0 means "no checksum", forbidden in IPv6
}

/** Build an IPv6 packet (fixed header + UDP with a correct checksum) carrying `spec.payload`. */
export function buildIPv6Udp(spec: PacketSpec): Uint8Array {
  const src = parseIPv6(spec.src), dst = parseIPv6(spec.dst);
  const udpLength = 8 + spec.payload.length;
  if (udpLength > 0xffff) throw new RangeError(`UDP payload of ${spec.payload.length} bytes`);
  const udp = new Uint8Array(udpLength);
  udp[0] = spec.sport >>> 8, udp[1] = spec.sport;
  udp[2] = spec.dport >>> 8, udp[3] = spec.dport;
  udp[4] = udpLength >>> 8, udp[5] = udpLength;
  udp.set(spec.payload, 8);
  const checksum = udp6Checksum(src, dst, udp);
  udp[6] = checksum >>> 8, udp[7] = checksum;
  const packet = new Uint8Array(40 + udpLength);
  packet[0] = 0x60;
  packet[4] = udpLength >>> 8, packet[5] = udpLength;
  packet[6] = UDP;
  packet[7] = spec.hopLimit ?? (dst[0] === 0xff && (dst[1] & 0x0f) <= 2 ? 1 : 64);
  packet.set(src, 8);
  packet.set(dst, 24);
  packet.set(udp, 40);
  return packet;
}

/** The Ethernet address an IPv6 address maps to: 33:33:x for multicast, else derived from it. */
function macFor(address: Uint8Array): Uint8Array {
  if (address[0] === 0xff) return Uint8Array.of(0x33, 0x33, ...address.subarray(12, 16));
  // A locally administered unicast MAC made from the interface identifier's last bytes.
  return Uint8Array.of(0x02, address[11], address[12], address[13], address[14], address[15]);
}

/** Wrap an IPv6 packet in an Ethernet II header (optionally with one 802.1Q VLAN tag). */
export function ethernetFrame(ipv6: Uint8Array, vlan?: number): Uint8Array {
  const header = vlan === undefined ? 14 : 18;
  const frame = new Uint8Array(header + ipv6.length);
  frame.set(macFor(ipv6.subarray(24, 40)), 0);
  frame.set(macFor(ipv6.subarray(8, 24)), 6);
  let pos = 12;
  if (vlan !== undefined) {
    frame[12] = 0x81, frame[13] = 0x00, frame[14] = (vlan >>> 8) & 0x0f, frame[15] = vlan;
    pos = 16;
  }
  frame[pos] = 0x86, frame[pos + 1] = 0xdd;
  frame.set(ipv6, header);
  return frame;
}

/** Options for {@link writePcap}. */
export interface WritePcapOptions {
  /** Link type: 101 (raw IP, default), 228 (raw IPv6) or 1 (Ethernet). */
  linkType?: 1 | 101 | 228;
  /** Write little-endian (default, like most capture tools) or big-endian headers. */
  littleEndian?: boolean;
}

/**
 * Write UDP-over-IPv6 datagrams as a classic pcap file (microsecond timestamps), with correct
 * UDP checksums, for feeding our messages to tshark and other tools.
 */
export function writePcap(
  packets: readonly PacketSpec[],
  options: WritePcapOptions = {},
): Uint8Array {
  const linkType = options.linkType ?? LinkType.Raw;
  const little = options.littleEndian ?? true;
  const frames = packets.map((p) => {
    const ip = buildIPv6Udp(p);
    return linkType === LinkType.Ethernet ? ethernetFrame(ip) : ip;
  });
  return writePcapFrames(
    frames.map((data, i) => ({
      data,
      time: packets[i].time ?? 1704067200 + i * 1.5,
    })),
    linkType,
    little,
  );
}

/** Write already-built link-layer frames of one `linkType` as a classic pcap file. */
export function writePcapFrames(
  frames: readonly { data: Uint8Array; time?: number; originalLength?: number }[],
  linkType: number,
  littleEndian = true,
): Uint8Array {
  const size = 24 + frames.reduce((n, f) => n + 16 + f.data.length, 0);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  const le = littleEndian;
  view.setUint32(0, PCAP_MAGIC_US, le);
  view.setUint16(4, 2, le);
  view.setUint16(6, 4, le);
  view.setUint32(16, 262144, le);
  view.setUint32(20, linkType, le);
  let pos = 24;
  frames.forEach((f, i) => {
    const time = f.time ?? 1704067200 + i * 1.5;
    let seconds = Math.floor(time);
    let micros = Math.round((time - seconds) * 1e6);
    if (micros >= 1e6) seconds++, micros -= 1e6;
    view.setUint32(pos, seconds, le);
    view.setUint32(pos + 4, micros, le);
    view.setUint32(pos + 8, f.data.length, le);
    view.setUint32(pos + 12, f.originalLength ?? f.data.length, le);
    out.set(f.data, pos + 16);
    pos += 16 + f.data.length;
  });
  return out;
}

/** Options for {@link writePcapng}. */
export interface WritePcapngOptions {
  /** Write little-endian (default) or big-endian blocks. */
  littleEndian?: boolean;
  /** Record nanosecond timestamps (if_tsresol 9) instead of microseconds. */
  nanoseconds?: boolean;
}

/**
 * Write link-layer frames of one `linkType` as a pcapng file: a section header, one interface
 * description and one enhanced packet block per frame.
 */
export function writePcapng(
  frames: readonly { data: Uint8Array; time?: number }[],
  linkType: number,
  options: WritePcapngOptions = {},
): Uint8Array {
  const le = options.littleEndian ?? true;
  const units = options.nanoseconds ? 1e9 : 1e6;
  const pad = (n: number) => (n + 3) & ~3;
  const idbOptions = options.nanoseconds ? 12 : 0; // if_tsresol + opt_endofopt
  const size = 28 + 20 + idbOptions + frames.reduce((n, f) => n + 32 + pad(f.data.length), 0);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  // Section Header Block: no options, section length unknown (-1).
  view.setUint32(0, PCAPNG_SHB, le);
  view.setUint32(4, 28, le);
  view.setUint32(8, PCAPNG_BOM, le);
  view.setUint16(12, 1, le);
  view.setUint16(14, 0, le);
  view.setInt32(16, -1, le);
  view.setInt32(20, -1, le);
  view.setUint32(24, 28, le);
  let pos = 28;
  // Interface Description Block.
  const idbLength = 20 + idbOptions;
  view.setUint32(pos, 1, le);
  view.setUint32(pos + 4, idbLength, le);
  view.setUint16(pos + 8, linkType, le);
  view.setUint32(pos + 12, 262144, le);
  if (options.nanoseconds) {
    view.setUint16(pos + 16, 9, le);
    view.setUint16(pos + 18, 1, le);
    out[pos + 20] = 9;
  }
  view.setUint32(pos + idbLength - 4, idbLength, le);
  pos += idbLength;
  frames.forEach((f, i) => {
    const length = 32 + pad(f.data.length);
    const time = f.time ?? 1704067200 + i * 1.5;
    const ticks = BigInt(Math.floor(time)) * BigInt(units) +
      BigInt(Math.round((time - Math.floor(time)) * units));
    view.setUint32(pos, 6, le);
    view.setUint32(pos + 4, length, le);
    view.setUint32(pos + 8, 0, le);
    view.setUint32(pos + 12, Number(ticks >> 32n), le);
    view.setUint32(pos + 16, Number(ticks & 0xffffffffn), le);
    view.setUint32(pos + 20, f.data.length, le);
    view.setUint32(pos + 24, f.data.length, le);
    out.set(f.data, pos + 28);
    view.setUint32(pos + length - 4, length, le);
    pos += length;
  });
  return out;
}
