import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeCommand, parseHexInput } from "../../cli/decode.ts";
import {
  ClientIdOption,
  describeMessage,
  ElapsedTimeOption,
  fromHex,
  IANAOption,
  InterfaceIdOption,
  LinkLayerTimeDuid,
  type Message,
  OptionRequestOption,
  parseMessage,
  RelayForwardMessage,
  RelayMessageOption,
  serializeMessage,
  SolicitMessage,
  toHex,
} from "../../src/protocol/mod.ts";
import {
  buildIPv6Udp,
  ethernetFrame,
  type PacketSpec,
  writePcap,
  writePcapFrames,
  writePcapng,
} from "../../src/tools/pcap.ts";

const FIXTURES = new URL("../fixtures/pcap/", import.meta.url);

const CLIENT = "fe80::211:22ff:fe33:4455";
const solicit = new SolicitMessage(0xabcdef, [
  new ClientIdOption(new LinkLayerTimeDuid(1, 725372254, fromHex("001122334455"))),
  new IANAOption(1, 3600, 5400, []),
  new OptionRequestOption([23, 24]),
  new ElapsedTimeOption(0),
]);
const relay = new RelayForwardMessage(0, "2001:db8::1", CLIENT, [
  new InterfaceIdOption(new TextEncoder().encode("eth0")),
  new RelayMessageOption(solicit),
]);
const SOLICIT_HEX = toHex(serializeMessage(solicit));
const RELAY_HEX = toHex(serializeMessage(relay));
/** Two options: ORO, then a relay-message option claiming 48 bytes with 4 left (at offset 12). */
const BROKEN_HEX = "01000001" + "000600020017" + "00090030" + "0b000001";

const PACKETS: PacketSpec[] = [
  { src: CLIENT, dst: "ff02::1:2", sport: 546, dport: 547, payload: serializeMessage(solicit) },
  {
    src: "2001:db8::1",
    dst: "2001:db8::547",
    sport: 547,
    dport: 547,
    payload: serializeMessage(relay),
  },
];

interface Run {
  code: number;
  out: string[];
  err: string[];
  json: Record<string, unknown>[];
}

async function run(args: string[], stdin: string | Uint8Array = ""): Promise<Run> {
  let out = "", err = "";
  const code = await decodeCommand(args, {
    stdin,
    stdout: (t) => void (out += t),
    stderr: (t) => void (err += t),
  });
  const lines = (s: string) => s.split("\n").filter((l) => l !== "");
  return {
    code,
    out: lines(out),
    err: lines(err),
    json: lines(out).filter((l) => l.startsWith("{")).map((l) => JSON.parse(l)),
  };
}

/** The JSON a message should print as (describeMessage through a JSON round trip). */
const described = (m: Message) => JSON.parse(JSON.stringify(describeMessage(m)));

let tmp: string | undefined;
function tempDir(): string {
  return tmp ??= mkdtempSync(join(tmpdir(), "dhcpkit-decode-"));
}
function tempFile(name: string, data: Uint8Array): string {
  const path = join(tempDir(), name);
  writeFileSync(path, data);
  return path;
}

globalThis.addEventListener("unload", () => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

Deno.test("hex arguments decode to one JSON object per line", async () => {
  const r = await run([SOLICIT_HEX, RELAY_HEX]);
  assert.equal(r.code, 0);
  assert.deepEqual(r.err, []);
  assert.deepEqual(r.json, [described(solicit), described(relay)]);
  assert.equal(r.json[0].transaction_id, "abcdef");
  const inner = (r.json[1].options as Record<string, unknown>[])[1];
  assert.equal((inner.message as Record<string, unknown>).type, "solicit");
});

Deno.test("hex may contain whitespace, colons, upper case and a 0x prefix", async () => {
  const spaced = SOLICIT_HEX.match(/../g)!.join(" ");
  const colons = SOLICIT_HEX.toUpperCase().match(/../g)!.join(":");
  const r = await run([
    spaced,
    colons,
    "0x" + SOLICIT_HEX,
    SOLICIT_HEX.replace(/(.{16})/g, "$1\n\t"),
  ]);
  assert.equal(r.code, 0, r.err.join("\n"));
  assert.equal(r.json.length, 4);
  for (const j of r.json) assert.deepEqual(j, described(solicit));
});

Deno.test("parseHexInput returns bytes or a reason", () => {
  assert.deepEqual(parseHexInput(" 0xAB:cd 01\n"), Uint8Array.of(0xab, 0xcd, 0x01));
  assert.deepEqual(parseHexInput(""), new Uint8Array(0));
  assert.equal(parseHexInput("0g"), 'not hex: unexpected "g" at hex digit 1');
});

Deno.test("malformed inputs report index, offset and reason; later inputs still decode", async () => {
  const r = await run([SOLICIT_HEX, BROKEN_HEX, "0c00", "xyz1", "abc", "", RELAY_HEX]);
  assert.equal(r.code, 1);
  assert.deepEqual(r.json.map((j) => j.type), ["solicit", "relay-forward"]);
  assert.deepEqual(r.err, [
    "dhcpkit decode: input 2: offset 12: option 9 claims 48 bytes but only 4 are left",
    "dhcpkit decode: input 3: offset 0: relay message header: need 34 bytes, only 2 left",
    'dhcpkit decode: input 4: not hex: unexpected "x" at hex digit 0',
    "dhcpkit decode: input 5: not hex: odd number of hex digits (3)",
    "dhcpkit decode: input 6: offset 0: empty message",
  ]);
});

Deno.test("hex lines on stdin, with comments and blank lines, in place of '-'", async () => {
  const stdin =
    `# captured on eth0\n${SOLICIT_HEX}\n\n  ${RELAY_HEX}  # relayed\r\n${BROKEN_HEX}\n`;
  const r = await run(["-"], stdin);
  assert.equal(r.code, 1);
  assert.deepEqual(r.json, [described(solicit), described(relay)]);
  assert.deepEqual(r.err, [
    "dhcpkit decode: input 3 (stdin line 5): offset 12: option 9 claims 48 bytes but only 4 are left",
  ]);
  // Arguments around '-' keep their order; with no arguments at all stdin is read.
  const mixed = await run([RELAY_HEX, "-", RELAY_HEX], SOLICIT_HEX);
  assert.deepEqual(mixed.json.map((j) => j.type), ["relay-forward", "solicit", "relay-forward"]);
  const implicit = await run([], `${SOLICIT_HEX}\n`);
  assert.equal(implicit.code, 0);
  assert.deepEqual(implicit.json, [described(solicit)]);
  // A stream works as well as a string.
  const stream = ReadableStream.from([
    new TextEncoder().encode(SOLICIT_HEX.slice(0, 9)),
    new TextEncoder().encode(SOLICIT_HEX.slice(9)),
  ]);
  let out = "";
  const code = await decodeCommand(["-"], {
    stdin: stream,
    stdout: (t) => void (out += t),
    stderr: () => {},
  });
  assert.equal(code, 0);
  assert.deepEqual(JSON.parse(out), described(solicit));
});

Deno.test("--validate reports protocol violations after printing the message", async () => {
  const twice = new SolicitMessage(1, [
    new ClientIdOption(new LinkLayerTimeDuid(1, 0, fromHex("001122334455"))),
    new IANAOption(7),
    new IANAOption(7),
  ]);
  const hex = toHex(serializeMessage(twice));
  assert.equal((await run([hex])).code, 0, "without --validate it only has to parse");
  const r = await run(["--validate", SOLICIT_HEX, hex, RELAY_HEX]);
  assert.equal(r.code, 1);
  assert.equal(r.json.length, 3);
  assert.equal(r.err.length, 1);
  assert.match(r.err[0], /^dhcpkit decode: input 2: invalid: .*option 3 with IAID 7 twice/);
  assert.equal((await run(["--validate", SOLICIT_HEX, RELAY_HEX])).code, 0);
});

Deno.test("usage: --help, unknown flags, conflicting inputs", async () => {
  const help = await run(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.out[0], /^Usage: dhcpkit decode/);
  const bad = await run(["--frobnicate"]);
  assert.equal(bad.code, 2);
  assert.match(bad.err[0], /^dhcpkit decode: .*frobnicate/);
  assert.equal((await run(["--pcap", "x.pcap", SOLICIT_HEX])).code, 2);
  assert.equal((await run(["-", "-"])).code, 2);
});

Deno.test("--pcap prints frame, time, addresses and ports with each message", async () => {
  const file = tempFile("two.pcap", writePcap(PACKETS));
  const r = await run(["--pcap", file]);
  assert.equal(r.code, 0, r.err.join("\n"));
  assert.deepEqual(r.json, [
    {
      frame: 1,
      time: 1704067200,
      src: CLIENT,
      dst: "ff02::1:2",
      sport: 546,
      dport: 547,
      ...described(solicit),
    },
    {
      frame: 2,
      time: 1704067201.5,
      src: "2001:db8::1",
      dst: "2001:db8::547",
      sport: 547,
      dport: 547,
      ...described(relay),
    },
  ]);
  assert.deepEqual(Object.keys(r.json[0]).slice(0, 7), [
    "frame",
    "time",
    "src",
    "dst",
    "sport",
    "dport",
    "type",
  ]);
});

Deno.test("--pcap reads pcapng (both byte orders), Ethernet and VLAN frames, several files", async () => {
  const frames = PACKETS.map((p, i) => ({
    data: ethernetFrame(buildIPv6Udp(p), i ? 42 : undefined),
    time: 1700000000 + i,
  }));
  const le = tempFile(
    "le.pcapng",
    writePcapng(frames, 1, { littleEndian: true, nanoseconds: true }),
  );
  const be = tempFile("be.pcapng", writePcapng(frames, 1, { littleEndian: false }));
  const bePcap = tempFile("be.pcap", writePcap(PACKETS, { linkType: 228, littleEndian: false }));
  for (const file of [le, be, bePcap]) {
    const r = await run(["--pcap", file]);
    assert.equal(r.code, 0, r.err.join("\n"));
    assert.deepEqual(r.json.map((j) => [j.frame, j.type]), [[1, "solicit"], [2, "relay-forward"]]);
  }
  const both = await run(["--pcap", le, "--pcap", be]);
  assert.deepEqual(both.json.map((j) => [j.file, j.frame]), [[le, 1], [le, 2], [be, 1], [be, 2]]);
  // The capture can come from stdin too.
  const piped = await run(["--pcap", "-"], readFileSync(le));
  assert.equal(piped.json.length, 2);
});

Deno.test("--pcap skips other traffic and reports malformed DHCPv6 payloads by frame", async () => {
  const other = {
    src: CLIENT,
    dst: "2001:db8::53",
    sport: 5353,
    dport: 53,
    payload: new Uint8Array(12),
  };
  const broken = { ...PACKETS[0], payload: fromHex(BROKEN_HEX) };
  const file = tempFile("mixed.pcap", writePcap([other, broken, PACKETS[0]]));
  const r = await run(["--pcap", file]);
  assert.equal(r.code, 1);
  assert.deepEqual(r.json.map((j) => j.frame), [3]);
  assert.deepEqual(r.err, [
    `dhcpkit decode: ${file}: frame 2: offset 12: option 9 claims 48 bytes but only 4 are left`,
  ]);
});

Deno.test("--pcap: truncated, fragmented, cut by snap length", async () => {
  const ip = buildIPv6Udp(PACKETS[1]);
  // First fragment of a fragmented datagram: reported, not mis-decoded.
  const frag = new Uint8Array(ip.length + 8);
  frag.set(ip.subarray(0, 40));
  frag[6] = 44;
  frag[5] += 8;
  frag.set([17, 0, 0, 1, 0, 0, 0, 9], 40);
  frag.set(ip.subarray(40), 48);
  // The second packet's last 10 bytes were not captured.
  const cut = ip.subarray(0, ip.length - 10);
  const file = tempFile(
    "frag.pcap",
    writePcapFrames([{ data: frag }, { data: cut, originalLength: ip.length }, { data: ip }], 101),
  );
  const r = await run(["--pcap", file]);
  assert.equal(r.code, 1);
  assert.deepEqual(r.json.map((j) => j.frame), [3]);
  assert.equal(r.err.length, 2);
  assert.match(r.err[0], /frame 1: fragmented UDP datagram; IPv6 reassembly is not supported/);
  assert.match(r.err[1], /frame 2: offset \d+: .* \(packet truncated\)$/);
});

Deno.test("malformed capture files: clear one-line errors, exit 1, no stack trace", async () => {
  const good = writePcap(PACKETS);
  const truncated = tempFile("truncated.pcap", good.subarray(0, good.length - 5));
  const r = await run(["--pcap", truncated]);
  assert.equal(r.code, 1);
  assert.deepEqual(r.json.map((j) => j.frame), [1], "frames before the damage are decoded");
  assert.deepEqual(r.err, [
    `dhcpkit decode: ${truncated}: malformed capture after frame 1: offset 156: truncated frame 2: record claims 146 bytes, only 141 left`,
  ]);
  const text = tempFile("notes.txt", new TextEncoder().encode("hello, world\n"));
  const bad = await run(["--pcap", text]);
  assert.equal(bad.code, 1);
  assert.deepEqual(bad.err, [
    `dhcpkit decode: ${text}: malformed capture: offset 0: bad magic 0x68656c6c: not a pcap file`,
  ]);
  const ng = writePcapng([{ data: buildIPv6Udp(PACKETS[0]) }], 101);
  const badNg = tempFile("bad.pcapng", ng.subarray(0, ng.length - 4));
  const ngRun = await run(["--pcap", badNg]);
  assert.equal(ngRun.code, 1);
  assert.match(ngRun.err[0], /malformed capture: offset 48: truncated pcapng block of type 6/);
  const missing = await run([
    "--pcap",
    join(tmpdir(), "no-such-dhcpkit-file.pcap"),
    "--pcap",
    badNg,
  ]);
  assert.equal(missing.code, 1);
  assert.equal(missing.err.length, 2);
  assert.match(missing.err[0], /no-such-dhcpkit-file\.pcap: .*(no such file|ENOENT)/i);
  for (const line of [...r.err, ...bad.err, ...ngRun.err, ...missing.err]) {
    assert.doesNotMatch(line, /\n|\bat .*:\d+:\d+/);
  }
});

Deno.test("committed fixtures made by scapy and editcap decode", async () => {
  const fixture = (name: string) => new URL(name, FIXTURES).pathname;
  const ether = await run(["--validate", "--pcap", fixture("scapy_ether_vlan.pcap")]);
  assert.equal(ether.code, 0, ether.err.join("\n"));
  assert.deepEqual(ether.json.map((j) => [j.frame, j.type, j.transaction_id ?? j.link_address]), [
    [1, "solicit", "123456"],
    [2, "relay-forward", "2001:db8::1"],
  ]);
  for (
    const [name, type] of [
      ["scapy_sll.pcap", "advertise"],
      ["editcap_sll.pcapng", "advertise"],
      ["scapy_advertise.pcapng", "advertise"],
      ["scapy_sll2.pcap", "solicit"],
      ["editcap_sll2_nsec.pcap", "solicit"],
    ]
  ) {
    const r = await run(["--pcap", fixture(name)]);
    assert.equal(r.code, 0, `${name}: ${r.err}`);
    assert.deepEqual(r.json.map((j) => [j.frame, j.time, j.type, j.transaction_id]), [[
      1,
      1700000000.25,
      type,
      "123456",
    ]], name);
  }
});

// ---- cross-checks with external tools -------------------------------------------------------

function which(command: string, args: string[]): boolean {
  try {
    return new Deno.Command(command, { args, stdout: "null", stderr: "null" }).outputSync().success;
  } catch {
    return false;
  }
}

const HAS_TSHARK = which("tshark", ["--version"]);
/** The first Python with scapy importable (Debian's python3-scapy lives in /usr/bin/python3). */
const SCAPY_PYTHON = ["python3", "/usr/bin/python3"].find((p) =>
  which(p, ["-c", "import scapy.all"])
);

if (!HAS_TSHARK) console.warn("decode_test: tshark not found; skipping the tshark cross-check");
if (!SCAPY_PYTHON) {
  console.warn("decode_test: python3 with scapy not found; skipping the scapy test");
}

type Json = Record<string, unknown>;
const list = <T>(
  v: T | T[] | undefined,
): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function tshark(file: string): Json[] {
  const out = new Deno.Command("tshark", {
    args: ["-r", file, "-o", "udp.check_checksum:TRUE", "-T", "json", "--no-duplicate-keys"],
    stdout: "piped",
    stderr: "piped",
  }).outputSync();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const text = new TextDecoder().decode(out.stdout);
  return (JSON.parse(text) as Json[]).map((p) => (p._source as Json).layers as Json);
}

/** Option codes of a tshark `dhcpv6` layer, and of its relayed message. */
function tsharkOptions(dhcp: Json): { codes: number[]; inner?: Json } {
  const trees = list(dhcp["dhcpv6.option.type_str_tree"] as Json | Json[]);
  return {
    codes: trees.map((t) => Number(t["dhcpv6.option.type"])),
    inner: trees.map((t) => t.dhcpv6 as Json | undefined).find((d) => d),
  };
}

Deno.test({
  name: "tshark agrees with our pcap writer and our decoder",
  ignore: !HAS_TSHARK,
  fn: async () => {
    for (const linkType of [101, 1] as const) {
      const file = tempFile(`tshark-${linkType}.pcap`, writePcap(PACKETS, { linkType }));
      const layers = tshark(file);
      assert.equal(layers.length, 2);
      const text = JSON.stringify(layers);
      assert.doesNotMatch(text, /_ws\.malformed|_ws\.expert/, "tshark found no malformed packets");
      const ours = (await run(["--pcap", file])).json;
      layers.forEach((l, i) => {
        const udp = l.udp as Json;
        assert.equal(udp["udp.srcport"], String(PACKETS[i].sport));
        assert.equal(udp["udp.dstport"], String(PACKETS[i].dport));
        assert.equal(udp["udp.checksum.status"], "1", "tshark verified our UDP checksum");
        assert.equal((l.ipv6 as Json)["ipv6.src"], ours[i].src);
        assert.equal((l.ipv6 as Json)["ipv6.dst"], ours[i].dst);
        assert.ok(l.dhcpv6, "tshark dissected DHCPv6");
      });
      // Solicit: transaction id and option codes.
      const dhcp0 = layers[0].dhcpv6 as Json;
      assert.equal(dhcp0["dhcpv6.msgtype"], String(ours[0].code));
      assert.equal(dhcp0["dhcpv6.xid"], "0x" + ours[0].transaction_id);
      const ourCodes = (j: Json) => (j.options as Json[]).map((o) => o.code);
      assert.deepEqual(tsharkOptions(dhcp0).codes, ourCodes(ours[0]));
      assert.deepEqual(tsharkOptions(dhcp0).codes, [1, 3, 6, 8]);
      // Relay-forward: relay fields, interface-id + relay-message, and the relayed Solicit.
      const dhcp1 = layers[1].dhcpv6 as Json;
      assert.equal(dhcp1["dhcpv6.msgtype"], "12");
      assert.equal(dhcp1["dhcpv6.linkaddr"], ours[1].link_address);
      assert.equal(dhcp1["dhcpv6.peeraddr"], ours[1].peer_address);
      const relayed = tsharkOptions(dhcp1);
      assert.deepEqual(relayed.codes, ourCodes(ours[1]));
      assert.deepEqual(relayed.codes, [18, 9]);
      const innerOurs = ((ours[1].options as Json[])[1].message) as Json;
      assert.equal(relayed.inner?.["dhcpv6.xid"], "0x" + innerOurs.transaction_id);
      assert.deepEqual(tsharkOptions(relayed.inner!).codes, ourCodes(innerOurs));
    }
    // The checks above are not vacuous: tshark does flag a broken message and a bad checksum.
    // (tshark silently stops at an option overrunning the message, but flags a bad elapsed-time.)
    const broken = writePcap([{ ...PACKETS[0], payload: fromHex("0100000100080003000000") }]);
    assert.match(
      JSON.stringify(tshark(tempFile("tshark-broken.pcap", broken))),
      /_ws\.malformed|_ws\.expert/,
    );
    const badSum = writePcap(PACKETS.slice(0, 1));
    badSum[24 + 16 + 46] ^= 0xff; // UDP checksum byte
    const badLayers = tshark(tempFile("tshark-badsum.pcap", badSum));
    assert.notEqual((badLayers[0].udp as Json)["udp.checksum.status"], "1");
  },
});

const SCAPY_SCRIPT = `
import json, sys
from scapy.all import *
solicit = (DHCP6_Solicit(trid=0x5a5a5a)
           / DHCP6OptClientId(duid=DUID_LL(lladdr="00:11:22:33:44:55"))
           / DHCP6OptIA_NA(iaid=9, T1=100, T2=200)
           / DHCP6OptOptReq(reqopts=[23, 24, 82])
           / DHCP6OptElapsedTime(elapsedtime=250))
frames = [
    Ether(src="00:11:22:33:44:55", dst="33:33:00:01:00:02") / Dot1Q(vlan=7)
    / IPv6(src="fe80::211:22ff:fe33:4455", dst="ff02::1:2") / UDP(sport=546, dport=547) / solicit,
    Ether() / IPv6(src="2001:db8::1", dst="2001:db8::2") / IPv6ExtHdrHopByHop() / IPv6ExtHdrRouting()
    / IPv6ExtHdrDestOpt() / UDP(sport=547, dport=547)
    / DHCP6_RelayForward(hopcount=1, linkaddr="2001:db8::1", peeraddr="fe80::211:22ff:fe33:4455")
    / DHCP6OptIfaceId(ifaceid=b"ge-0/0/1") / DHCP6OptRelayMsg(message=solicit),
    Ether() / IPv6(src="2001:db8::1", dst="2001:db8::2") / UDP(sport=1234, dport=53) / b"x",
]
for i, f in enumerate(frames):
    f.time = 1700000000 + i
wrpcap(sys.argv[1], frames)
print(json.dumps([raw(f[UDP].payload).hex() for f in frames[:2]]))
`;

Deno.test({
  name: "a capture written by scapy decodes like scapy built it",
  ignore: !SCAPY_PYTHON,
  fn: async () => {
    const file = join(tempDir(), "scapy.pcap");
    const out = new Deno.Command(SCAPY_PYTHON!, {
      args: ["-c", SCAPY_SCRIPT, file],
      stdout: "piped",
      stderr: "piped",
    }).outputSync();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    const payloads = JSON.parse(
      new TextDecoder().decode(out.stdout).trim().split("\n").pop()!,
    ) as string[];
    const r = await run(["--validate", "--pcap", file]);
    assert.equal(r.code, 0, r.err.join("\n"));
    assert.equal(r.json.length, 2);
    const [sol, fwd] = r.json;
    assert.deepEqual([sol.frame, sol.time, sol.src, sol.dst, sol.sport, sol.dport], [
      1,
      1700000000,
      "fe80::211:22ff:fe33:4455",
      "ff02::1:2",
      546,
      547,
    ]);
    assert.equal(sol.transaction_id, "5a5a5a");
    const options = sol.options as Json[];
    assert.deepEqual(options.map((o) => o.code), [1, 3, 6, 8]);
    assert.deepEqual(options[2].requested_options, [23, 24, 82]);
    assert.equal(options[3].elapsed_time, 250);
    assert.deepEqual([fwd.frame, fwd.type, fwd.hop_count, fwd.link_address], [
      2,
      "relay-forward",
      1,
      "2001:db8::1",
    ]);
    const fwdOptions = fwd.options as Json[];
    assert.equal(fwdOptions[0].data, toHex(new TextEncoder().encode("ge-0/0/1")));
    assert.deepEqual(fwdOptions[1].message, described(parseMessage(fromHex(payloads[0]))));
    // Decoding scapy's bytes as hex gives the same objects as decoding them from the capture.
    const hex = await run(payloads);
    assert.deepEqual(
      hex.json,
      r.json.map(({ frame: _f, time: _t, src: _s, dst: _d, sport: _p, dport: _q, ...m }) => m),
    );
  },
});
