import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  buildIPv6Udp,
  ethernetFrame,
  extractDhcpv6,
  type Frame,
  isCapture,
  LinkType,
  type PacketSpec,
  PcapError,
  readCapture,
  readFrames,
  udp6Checksum,
  writePcap,
  writePcapFrames,
  writePcapng,
} from "../../src/tools/pcap.ts";
import { parseIPv6 } from "../../src/protocol/mod.ts";

const FIXTURES = new URL("../fixtures/pcap/", import.meta.url);
const fixture = (name: string) => new Uint8Array(readFileSync(new URL(name, FIXTURES)));

const PAYLOAD = Uint8Array.of(1, 0x12, 0x34, 0x56, 0, 8, 0, 2, 0, 0);
const SPEC: PacketSpec = {
  src: "fe80::211:22ff:fe33:4455",
  dst: "ff02::1:2",
  sport: 546,
  dport: 547,
  payload: PAYLOAD,
  time: 1700000000.5,
};

function expectPacket(frame: Pick<Frame, "linkType" | "data">, spec: PacketSpec = SPEC) {
  const packet = extractDhcpv6(frame);
  assert.ok(packet, "expected a DHCPv6 packet");
  assert.equal(packet.src, spec.src);
  assert.equal(packet.dst, spec.dst);
  assert.equal(packet.sport, spec.sport);
  assert.equal(packet.dport, spec.dport);
  assert.deepEqual(packet.payload, spec.payload);
  assert.equal(packet.truncated, undefined);
  assert.equal(packet.fragmented, undefined);
}

/** Sum a buffer as 16-bit words with end-around carry. */
function onesSum(parts: Uint8Array[]): number {
  let sum = 0;
  for (const b of parts) {
    for (let i = 0; i < b.length; i += 2) sum += (b[i] << 8) | (b[i + 1] ?? 0);
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** Insert extension headers (each given as [type, bytes-after-next-header]) before UDP. */
function withExtensions(ipv6: Uint8Array, headers: Uint8Array[]): Uint8Array {
  // Each header's first byte (next header) is filled here; the caller provides the rest.
  const types = headers.map((h) => h[0]);
  const total = headers.reduce((n, h) => n + h.length, 0);
  const out = new Uint8Array(ipv6.length + total);
  out.set(ipv6.subarray(0, 40));
  const payloadLength = ((ipv6[4] << 8) | ipv6[5]) + total;
  out[4] = payloadLength >> 8, out[5] = payloadLength;
  out[6] = types[0];
  let pos = 40;
  headers.forEach((h, i) => {
    out.set(h, pos);
    out[pos] = i + 1 < headers.length ? types[i + 1] : 17;
    pos += h.length;
  });
  out.set(ipv6.subarray(40), pos);
  return out;
}

/** An extension header of `type` that is `length` bytes long (the first byte is the type). */
function ext(type: number, length = 8): Uint8Array {
  const h = new Uint8Array(length);
  h[0] = type;
  h[1] = type === 51 ? length / 4 - 2 : length / 8 - 1;
  return h;
}

function fragment(offset: number, more: boolean): Uint8Array {
  const h = new Uint8Array(8);
  h[0] = 44;
  const v = (offset << 3) | (more ? 1 : 0);
  h[2] = v >> 8, h[3] = v;
  h[4] = 0xde, h[7] = 0x01; // identification
  return h;
}

Deno.test("writePcap round-trips through readCapture for every link type and byte order", () => {
  const specs: PacketSpec[] = [
    SPEC,
    { ...SPEC, src: "2001:db8::1", dst: "2001:db8::2", sport: 547, dport: 547, time: 1700000001 },
  ];
  for (const linkType of [101, 228, 1] as const) {
    for (const littleEndian of [true, false]) {
      const file = writePcap(specs, { linkType, littleEndian });
      assert.ok(isCapture(file));
      const frames = readCapture(file);
      assert.equal(frames.length, 2);
      assert.deepEqual(frames.map((f) => f.index), [1, 2]);
      assert.deepEqual(frames.map((f) => f.time), [1700000000.5, 1700000001]);
      frames.forEach((f, i) => {
        assert.equal(f.linkType, linkType);
        assert.equal(f.originalLength, f.data.length);
        expectPacket(f, specs[i]);
      });
    }
  }
});

Deno.test("UDP checksum covers the IPv6 pseudo-header", () => {
  const packet = buildIPv6Udp(SPEC);
  const udp = packet.subarray(40);
  const length = Uint8Array.of(0, 0, udp.length >> 8, udp.length & 0xff, 0, 0, 0, 17);
  // Verifying a correct checksum: the one's-complement sum of everything is 0xffff.
  assert.equal(onesSum([packet.subarray(8, 24), packet.subarray(24, 40), length, udp]), 0xffff);
  // The value scapy computes for the same packet (`raw(IPv6(...)/UDP(...)/payload)`).
  assert.equal((udp[6] << 8) | udp[7], 0x60f3);
  const zeroed = udp.slice();
  zeroed[6] = zeroed[7] = 0;
  assert.equal(udp6Checksum(parseIPv6(SPEC.src), parseIPv6(SPEC.dst), zeroed), 0x60f3);
  assert.equal(packet[7], 1, "hop limit 1 towards link-local multicast");
  assert.equal(buildIPv6Udp({ ...SPEC, dst: "2001:db8::2" })[7], 64);
});

Deno.test("pcapng written by writePcapng reads back in both byte orders, µs and ns", () => {
  const frames = [{ data: buildIPv6Udp(SPEC), time: 1700000000.123456 }];
  for (const littleEndian of [true, false]) {
    for (const nanoseconds of [false, true]) {
      const file = writePcapng(frames, LinkType.Raw, { littleEndian, nanoseconds });
      const read = readCapture(file);
      assert.equal(read.length, 1);
      assert.equal(read[0].linkType, 101);
      assert.ok(Math.abs(read[0].time - 1700000000.123456) < 1e-6);
      expectPacket(read[0]);
    }
  }
});

/** Build a pcapng block by hand. */
function block(type: number, body: number[], le: boolean): number[] {
  while (body.length % 4) body.push(0);
  const total = body.length + 12;
  const w = (v: number) =>
    le
      ? [v & 255, (v >>> 8) & 255, (v >>> 16) & 255, v >>> 24]
      : [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
  return [...w(type), ...w(total), ...body, ...w(total)];
}

function handPcapng(le: boolean): Uint8Array {
  const w32 = (v: number) =>
    le
      ? [v & 255, (v >>> 8) & 255, (v >>> 16) & 255, v >>> 24]
      : [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
  const w16 = (v: number) => (le ? [v & 255, v >>> 8] : [v >>> 8, v & 255]);
  const ip = [...buildIPv6Udp(SPEC)];
  const ether = [...ethernetFrame(buildIPv6Udp(SPEC), 7)];
  const shb = block(0x0a0d0d0a, [
    ...w32(0x1a2b3c4d),
    ...w16(1),
    ...w16(0),
    ...w32(0xffffffff),
    ...w32(0xffffffff),
  ], le);
  // Interface 0: raw IPv6 with an if_name option and ns resolution; interface 1: Ethernet.
  const idb0 = block(1, [
    ...w16(228),
    0,
    0,
    ...w32(65535),
    ...w16(2),
    ...w16(3),
    0x65,
    0x74,
    0x68,
    0,
    ...w16(9),
    ...w16(1),
    9,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
  ], le);
  const idb1 = block(1, [...w16(1), 0, 0, ...w32(65535)], le);
  const ns = 1700000000_000000123n;
  const epb = (iface: number, data: number[], ticks: bigint) =>
    block(6, [
      ...w32(iface),
      ...w32(Number(ticks >> 32n)),
      ...w32(Number(ticks & 0xffffffffn)),
      ...w32(data.length),
      ...w32(data.length),
      ...data,
    ], le);
  const nrb = block(4, [0, 0, 0, 0], le); // name resolution block, skipped
  const custom = block(0x40000bad, [1, 2, 3, 4, 5], le); // unknown block type, skipped
  const spb = block(3, [...w32(ip.length), ...ip], le);
  const opb = block(2, [
    ...w16(1),
    ...w16(0),
    ...w32(0),
    ...w32(1700000002 * 1e6),
    ...w32(ether.length),
    ...w32(ether.length),
    ...ether,
  ], le);
  return Uint8Array.from([
    ...shb,
    ...idb0,
    ...idb1,
    ...nrb,
    ...epb(0, ip, ns),
    ...custom,
    ...epb(1, ether, 1700000001_500000n),
    ...spb,
    ...opb,
  ]);
}

Deno.test("hand-built pcapng: SHB/IDB/EPB/SPB/obsolete PB, options, skipped blocks, both orders", () => {
  for (const le of [true, false]) {
    const frames = readCapture(handPcapng(le));
    assert.deepEqual(frames.map((f) => f.index), [1, 2, 3, 4]);
    assert.deepEqual(frames.map((f) => f.linkType), [228, 1, 228, 1]);
    assert.ok(Math.abs(frames[0].time - 1700000000.000000123) < 1e-6);
    assert.equal(frames[1].time, 1700000001.5);
    assert.equal(frames[2].time, 0, "simple packet blocks have no timestamp");
    for (const f of frames) expectPacket(f);
  }
});

Deno.test("pcapng sections may change byte order", () => {
  const a = writePcapng([{ data: buildIPv6Udp(SPEC) }], 101, { littleEndian: true });
  const b = writePcapng([{ data: ethernetFrame(buildIPv6Udp(SPEC)) }], 1, { littleEndian: false });
  const frames = readCapture(Uint8Array.from([...a, ...b]));
  assert.deepEqual(frames.map((f) => [f.index, f.linkType]), [[1, 101], [2, 1]]);
  for (const f of frames) expectPacket(f);
});

Deno.test("Linux cooked captures (SLL, SLL2), NULL and LOOP link types", () => {
  const ip = buildIPv6Udp(SPEC);
  const sll = new Uint8Array(16 + ip.length);
  sll.set([0, 0, 0, 1, 0, 6, 0, 0x11, 0x22, 0x33, 0x44, 0x55, 0, 0, 0x86, 0xdd]);
  sll.set(ip, 16);
  expectPacket({ linkType: 113, data: sll });
  const sll2 = new Uint8Array(20 + ip.length);
  sll2.set([0x86, 0xdd, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 0, 0x11, 0x22, 0x33, 0x44, 0x55, 0, 0]);
  sll2.set(ip, 20);
  expectPacket({ linkType: 276, data: sll2 });
  for (const family of [[30, 0, 0, 0], [0, 0, 0, 24], [10, 0, 0, 0]]) {
    expectPacket({ linkType: 0, data: Uint8Array.from([...family, ...ip]) });
  }
  expectPacket({ linkType: 108, data: Uint8Array.from([0, 0, 0, 24, ...ip]) });
  // SLL carrying IPv4 and an unknown link type are not extracted.
  const v4 = sll.slice();
  v4[14] = 0x08, v4[15] = 0x00;
  assert.equal(extractDhcpv6({ linkType: 113, data: v4 }), undefined);
  assert.equal(extractDhcpv6({ linkType: 147, data: ip }), undefined);
  assert.equal(
    extractDhcpv6({ linkType: 0, data: Uint8Array.from([2, 0, 0, 0, ...ip]) }),
    undefined,
  );
});

Deno.test("Ethernet with 802.1Q and QinQ VLAN tags", () => {
  const ip = buildIPv6Udp(SPEC);
  expectPacket({ linkType: 1, data: ethernetFrame(ip) });
  expectPacket({ linkType: 1, data: ethernetFrame(ip, 42) });
  const tagged = ethernetFrame(ip, 42);
  const qinq = Uint8Array.from([
    ...tagged.subarray(0, 12),
    0x88,
    0xa8,
    0,
    5,
    ...tagged.subarray(12),
  ]);
  expectPacket({ linkType: 1, data: qinq });
  const arp = ethernetFrame(ip);
  arp[12] = 0x08, arp[13] = 0x06;
  assert.equal(extractDhcpv6({ linkType: 1, data: arp }), undefined);
});

Deno.test("IPv6 extension headers are walked over; fragments are flagged or skipped", () => {
  const ip = buildIPv6Udp(SPEC);
  const raw = (data: Uint8Array) => ({ linkType: 101, data });
  expectPacket(raw(withExtensions(ip, [ext(0)])));
  expectPacket(raw(withExtensions(ip, [ext(0, 16), ext(43, 24), ext(60), ext(51, 12 + 4)])));
  // An atomic fragment (offset 0, no more fragments) is a whole datagram.
  expectPacket(raw(withExtensions(ip, [ext(0), fragment(0, false)])));
  const first = extractDhcpv6(raw(withExtensions(ip, [fragment(0, true)])));
  assert.equal(first?.fragmented, true);
  assert.equal(extractDhcpv6(raw(withExtensions(ip, [fragment(185, false)]))), undefined);
  // "No next header" and unknown upper layers are not DHCPv6.
  const noNext = withExtensions(ip, [ext(60)]);
  noNext[40] = 59;
  assert.equal(extractDhcpv6(raw(noNext)), undefined);
  const tcp = ip.slice();
  tcp[6] = 6;
  assert.equal(extractDhcpv6(raw(tcp)), undefined);
});

Deno.test("non-DHCPv6 and truncated packets", () => {
  const ip = buildIPv6Udp(SPEC);
  assert.equal(
    extractDhcpv6({ linkType: 101, data: buildIPv6Udp({ ...SPEC, sport: 53, dport: 53 }) }),
    undefined,
  );
  expectPacket({ linkType: 101, data: buildIPv6Udp({ ...SPEC, sport: 12345 }) }, {
    ...SPEC,
    sport: 12345,
  });
  // Cut by the snap length: what is there is returned, flagged as truncated.
  const cut = extractDhcpv6({ linkType: 101, data: ip.subarray(0, ip.length - 3) });
  assert.equal(cut?.truncated, true);
  assert.deepEqual(cut?.payload, PAYLOAD.subarray(0, PAYLOAD.length - 3));
  // Shorter than the IPv6 or UDP header, or IPv4: nothing.
  assert.equal(extractDhcpv6({ linkType: 101, data: ip.subarray(0, 39) }), undefined);
  assert.equal(extractDhcpv6({ linkType: 101, data: ip.subarray(0, 44) }), undefined);
  assert.equal(extractDhcpv6({ linkType: 101, data: Uint8Array.of(0x45, 0, 0, 20) }), undefined);
  // Ethernet padding after the datagram is ignored thanks to the IPv6 payload length.
  const padded = Uint8Array.from([...ethernetFrame(ip), 0, 0, 0, 0]);
  expectPacket({ linkType: 1, data: padded });
});

Deno.test("malformed files throw PcapError after yielding the good frames", () => {
  const file = writePcap([SPEC, SPEC, SPEC]);
  const cases: [Uint8Array, RegExp, number][] = [
    [new Uint8Array(0), /not a pcap or pcapng file/, 0],
    [Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8), /bad magic 0x01020304/, 0],
    [file.subarray(0, 20), /truncated pcap file header/, 0],
    [file.subarray(0, 24 + 10), /truncated record header of frame 1/, 0],
    [
      file.subarray(0, file.length - 1),
      /truncated frame 3: record claims 58 bytes, only 57 left/,
      2,
    ],
  ];
  for (const [bytes, reason, good] of cases) {
    const seen: Frame[] = [];
    assert.throws(() => {
      for (const f of readFrames(bytes)) seen.push(f);
    }, (e) => e instanceof PcapError && reason.test(e.message));
    assert.equal(seen.length, good);
  }
  const huge = file.slice();
  new DataView(huge.buffer).setUint32(24 + 8, 0x7fffffff, true);
  assert.throws(() => readCapture(huge), /impossible length/);
  const version = file.slice();
  version[4] = 9;
  assert.throws(() => readCapture(version), /unsupported pcap version 9/);
});

Deno.test("malformed pcapng throws PcapError", () => {
  const file = writePcapng([{ data: buildIPv6Udp(SPEC) }, { data: buildIPv6Udp(SPEC) }], 101);
  assert.throws(() => readCapture(file.subarray(0, file.length - 2)), PcapError);
  const badBom = file.slice();
  badBom[8] = 0;
  assert.throws(() => readCapture(badBom), /bad pcapng byte-order magic/);
  const mismatch = file.slice();
  mismatch[27] = 0x7f; // SHB trailer
  assert.throws(() => readCapture(mismatch), /block length mismatch/);
  const odd = file.slice();
  odd[4] = 27;
  assert.throws(() => readCapture(odd), /bad pcapng block length 27/);
  // A packet referring to an interface that was never described.
  const noIdb = Uint8Array.from([...file.subarray(0, 28), ...file.subarray(48)]);
  assert.throws(() => readCapture(noIdb), /undefined interface 0/);
  // An EPB whose captured length exceeds its block.
  const epb = file.slice();
  new DataView(epb.buffer).setUint32(48 + 20, 5000, true);
  assert.throws(() => readCapture(epb), /claims 5000 captured bytes/);
  // Never anything but PcapError, whatever the damage.
  for (let cut = 0; cut < file.length; cut += 3) {
    const damaged = file.slice(0, cut);
    try {
      readCapture(damaged);
    } catch (e) {
      assert.ok(e instanceof PcapError, `cut at ${cut}: ${e}`);
    }
  }
  for (let i = 0; i < 2000; i++) {
    const noisy = file.slice();
    noisy[(i * 7919) % noisy.length] ^= 1 << (i % 8);
    try {
      for (const f of readFrames(noisy)) extractDhcpv6(f);
    } catch (e) {
      assert.ok(e instanceof PcapError, `flip ${i}: ${e}`);
    }
  }
});

Deno.test("pcap with FCS bits in the link type field and Kuznetzov / nanosecond magics", () => {
  const frames = [{ data: buildIPv6Udp(SPEC), time: 1700000000.25 }];
  const fcs = writePcapFrames(frames, 101 | 0x14000000);
  assert.equal(readCapture(fcs)[0].linkType, 101);
  const ns = writePcapFrames(frames, 101, false);
  ns.set([0xa1, 0xb2, 0x3c, 0x4d], 0);
  new DataView(ns.buffer).setUint32(28, 250_000_000, false);
  assert.equal(readCapture(ns)[0].time, 1700000000.25);
  // Kuznetzov's modified pcap: 8 more bytes (ifindex, protocol, type, padding) per record header.
  const plain = writePcapFrames(frames, 101);
  const kuz = Uint8Array.from([
    ...plain.subarray(0, 40),
    2,
    0,
    0,
    0,
    0xdd,
    0x86,
    0,
    0,
    ...plain.subarray(40),
  ]);
  kuz.set([0x34, 0xcd, 0xb2, 0xa1], 0);
  expectPacket(readCapture(kuz)[0]);
});

Deno.test("fixtures written by scapy and editcap", () => {
  const ether = readCapture(fixture("scapy_ether_vlan.pcap"));
  assert.equal(ether.length, 4);
  const packets = ether.map(extractDhcpv6);
  assert.equal(packets[0]?.dst, "ff02::1:2"); // VLAN 42 + hop-by-hop header
  assert.equal(packets[0]?.payload[0], 1);
  assert.equal(packets[1]?.src, "2001:db8::1"); // destination options header
  assert.equal(packets[1]?.payload[0], 12);
  assert.equal(packets[2], undefined); // DNS
  assert.equal(packets[3], undefined); // IPv4
  for (
    const [name, linkType, type] of [
      ["scapy_sll.pcap", 113, 2],
      ["editcap_sll.pcapng", 113, 2],
      ["scapy_sll2.pcap", 276, 1],
      ["editcap_sll2_nsec.pcap", 276, 1],
      ["scapy_advertise.pcapng", 1, 2],
    ] as const
  ) {
    const [frame, ...rest] = readCapture(fixture(name));
    assert.equal(rest.length, 0, name);
    assert.equal(frame.linkType, linkType, name);
    assert.equal(frame.time, 1700000000.25, name);
    assert.equal(extractDhcpv6(frame)?.payload[0], type, name);
  }
});
