/**
 * Cross-check against Wireshark's DHCPv6 dissector: our serialised messages (the corpus plus a
 * set built with the classes and a seeded sample of generated messages) are written to a pcap and
 * decoded by `tshark -V -T json`. No frame may be malformed, and for every option tshark knows the
 * option codes and key values (xid, DUIDs, IAID/T1/T2, addresses, prefixes, status codes, DNS
 * servers, domain names, ...) must match what our parser produced.
 * @module
 */

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fc from "fast-check";
import {
  ClientServerMessage,
  InterfaceIdOption,
  type Message,
  normalizeIPv6,
  type Option,
  optionToBytes,
  parseMessage,
  RelayMessage,
  RelayMessageOption,
  serializeMessage,
  StatusCodeOption,
  toHex,
  UnknownMessage,
  UnknownOption,
} from "../../src/protocol/mod.ts";
import { codecArbitraries } from "./arbitraries.ts";
import { loadCorpus } from "./corpus.ts";
import { type PacketSpec, writePcap } from "../../src/tools/pcap.ts";
import { relayedReply, relayedSolicit, sampleMessages } from "./samples.ts";

const tshark = spawnSync("tshark", ["--version"], { encoding: "utf8" });
const hasTshark = tshark.status === 0;

type Tree = Record<string, unknown>;

/** The addresses and ports a DHCPv6 message of type `type` travels with. */
function endpoints(type: number): Omit<PacketSpec, "payload"> {
  const server = "2001:db8::547", client = "fe80::21b:21ff:fe3c:4d5e", relay = "2001:db8:1:2::1";
  if (type === 12) return { src: relay, dst: server, sport: 547, dport: 547 };
  if (type === 13) return { src: server, dst: relay, sport: 547, dport: 547 };
  if ([2, 7, 10, 15, 16, 17].includes(type)) {
    return { src: server, dst: client, sport: 547, dport: 546 };
  }
  return { src: client, dst: "ff02::1:2", sport: 546, dport: 547 };
}

/** tshark field values as a list of strings. */
function values(tree: Tree, key: string): string[] {
  const v = tree[key];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).filter((x) => typeof x === "string") as string[];
}

/** Values of `key` anywhere in an option's tree, not descending into sub-options or messages. */
function deepValues(tree: Tree, key: string): string[] {
  const out = values(tree, key);
  for (const [k, v] of Object.entries(tree)) {
    if (k === key || k === "dhcpv6.option.type_str_tree" || k === "dhcpv6") continue;
    for (const sub of Array.isArray(v) ? v : [v]) {
      if (sub && typeof sub === "object") out.push(...deepValues(sub as Tree, key));
    }
  }
  return out;
}

function subtrees(tree: Tree, key: string): Tree[] {
  const v = tree[key];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]) as Tree[];
}

const colonHex = (b: Uint8Array) => toHex(b, ":");
const hex8 = (n: number) => n.toString(16).padStart(8, "0");
const te = new TextDecoder();
const ip = (a: string) => normalizeIPv6(a);

/** The data bytes of an option (without code and length). */
function dataOf(o: Option): Uint8Array {
  return optionToBytes(o).subarray(4);
}

/** Expected tshark fields of option `o` (field name -> values), taken from our parsed fields. */
function expectedFields(o: Option): Record<string, string[]> {
  const d = dataOf(o);
  const f = o as unknown as Record<string, unknown>;
  const str = (v: unknown) => [`${v}`];
  const names = (list: unknown) => (list as string[]).map((n) => n + ".");
  const addrs = (list: unknown) => (list as string[]).map(ip);
  switch (o.code) {
    case 1:
    case 2: {
      const duid = f.duid as { toBytes(): Uint8Array; type: number };
      return {
        "dhcpv6.duid.bytes": [colonHex(duid.toBytes())],
        "dhcpv6.duid.type": str(duid.type),
      };
    }
    case 3:
    case 25:
      return {
        "dhcpv6.iaid": [hex8(f.iaid as number)],
        "dhcpv6.iaid.t1": str(f.t1),
        "dhcpv6.iaid.t2": str(f.t2),
      };
    case 4:
      return { "dhcpv6.iata": [hex8(f.iaid as number)] };
    case 5:
      return {
        "dhcpv6.iaaddr.ip": [ip(f.address as string)],
        "dhcpv6.iaaddr.pref_lifetime": str(f.preferredLifetime),
        "dhcpv6.iaaddr.valid_lifetime": str(f.validLifetime),
      };
    case 6:
    case 43:
      return { "dhcpv6.requested_option_code": (f.requestedOptions as number[]).map(String) };
    case 7:
      return { "dhcpv6.option_preference": str(f.preference) };
    case 8: // tshark shows milliseconds
      return { "dhcpv6.elapsed_time": str((f.elapsedTime as number) * 10) };
    case 11:
      return {
        "dhcpv6.auth.protocol": str(f.protocol),
        "dhcpv6.auth.algorithm": str(f.algorithm),
        "dhcpv6.auth.rdm": str(f.rdm),
        "dhcpv6.auth.replay_detection": [colonHex(f.replayDetection as Uint8Array)],
      };
    case 12:
      return { "dhcpv6.unicast": [ip(f.serverAddress as string)] };
    case 13:
      return {
        "dhcpv6.status_code": str(f.statusCode),
        ...(f.statusMessage ? { "dhcpv6.status_msg": [f.statusMessage as string] } : {}),
      };
    case 15:
      return { "dhcpv6.userclass.opaque_data": (f.userClasses as Uint8Array[]).map(colonHex) };
    case 16:
      return { "dhcpv6.vendorclass.enterprise": str(f.enterpriseNumber) };
    case 17:
      return { "dhcpv6.vendoropts.enterprise": str(f.enterpriseNumber) };
    case 18:
      return { "dhcpv6.interface_id": [colonHex(f.data as Uint8Array)] };
    case 19:
      return { "dhcpv6.reconf_msg": str(f.messageType) };
    case 21:
      return { "dhcpv6.sip_server_domain_search_fqdn": names(f.domainNames) };
    case 22:
      return { "dhcpv6.sip_server_a": addrs(f.addresses) };
    case 23:
      return { "dhcpv6.dns_server": addrs(f.addresses) };
    case 24:
      return { "dhcpv6.search_list_entry": names(f.domainNames) };
    case 26:
      return {
        "dhcpv6.iaprefix.pref_lifetime": str(f.preferredLifetime),
        "dhcpv6.iaprefix.valid_lifetime": str(f.validLifetime),
        "dhcpv6.iaprefix.pref_len": str(f.prefixLength),
        "dhcpv6.iaprefix.pref_addr": [ip(f.prefix as string)],
      };
    case 31:
      return { "dhcpv6.sntp_server": addrs(f.addresses) };
    case 32: // no class: Information Refresh Time stays an unknown option
      return { "dhcpv6.lifetime": str(new DataView(d.buffer, d.byteOffset).getUint32(0)) };
    case 37:
      return {
        "dhcpv6.remoteid.enterprise": str(f.enterpriseNumber),
        "dhcpv6.remoteid_enterprise_id": [colonHex(f.remoteId as Uint8Array)],
      };
    case 38:
      return { "dhcpv6.subscriber_id": [te.decode(f.data as Uint8Array)] };
    case 39:
      return { "dhcpv6.client_domain": [(f.domainName as string) + (f.absolute ? "." : "")] };
    case 41:
      return { "dhcpv6.timezone": [f.timezone as string] };
    case 42:
      return { "dhcpv6.tzdb": [f.timezone as string] };
    case 44:
      return {
        "dhcpv6.lq_query": str(f.queryType),
        "dhcpv6.lq_query_link_address": [ip(f.linkAddress as string)],
      };
    case 46:
      return { "dhcpv6.clt_time": str(f.cltTime) };
    case 47:
      return { "dhcpv6.lq_relay_data_peer_addr": [ip(f.peerAddress as string)] };
    case 48:
      return { "dhcpv6.lq_client_link": addrs(f.linkAddresses) };
    case 56: {
      const sub = (code: number, key: string) =>
        (f.options as Option[]).filter((s) => s.code === code).map((s) =>
          (s as unknown as Record<string, string>)[key]
        );
      return {
        "dhcpv6.ntpserver.addr": addrs(sub(1, "address")),
        "dhcpv6.ntpserver.mc_addr": addrs(sub(2, "address")),
        "dhcpv6.ntpserver.fqdn": names(sub(3, "fqdn")),
      };
    }
    case 64:
      return { "dhcpv6.aftr_name": names([f.fqdn]) };
    case 67:
      return { "dhcpv6.pd_exclude.pref_len": str(f.prefixLength) };
    case 89:
      return {
        "dhcpv6.s46_rule.ea_len": str(f.eaLen),
        "dhcpv6.s46_rule.ipv4_pref_len": str(f.prefix4Len),
        "dhcpv6.s46_rule.ipv4_prefix": [f.ipv4Prefix as string],
        "dhcpv6.s46_rule.ipv6_prefix_len": str(f.prefix6Len),
        "dhcpv6.s46_rule.ipv6_prefix": [ip(f.ipv6Prefix as string)],
      };
    case 90:
      return { "dhcpv6.s46_br.address": [ip(f.brAddress as string)] };
    case 93:
      return {
        "dhcpv6.s46_portparam.offset": str(f.offset),
        "dhcpv6.s46_portparam.psid_len": str(f.psidLen),
        "dhcpv6.s46_portparam.psid": str(f.psid),
      };
    default:
      return {};
  }
}

/** Sub-options of a container as tshark shows them in sub-option trees. */
function childrenOf(o: Option): Option[] | undefined {
  // Vendor options use their own code space; NTP sub-options are shown as plain fields.
  if (o.code === 17 || o.code === 56) return undefined;
  const own = (o as unknown as { options?: unknown }).options;
  return Array.isArray(own) ? own as Option[] : undefined;
}

/** The message carried by a relay-message option. */
function carriedMessage(o: Option): Message | undefined {
  return o instanceof RelayMessageOption ? o.message : undefined;
}

function compareOptions(ts: Tree, options: readonly Option[], path: string, problems: string[]) {
  const tsOptions = subtrees(ts, "dhcpv6.option.type_str_tree");
  const ours = options.map((o) => o.code);
  const theirs = tsOptions.map((t) => Number(values(t, "dhcpv6.option.type")[0]));
  if (JSON.stringify(ours) !== JSON.stringify(theirs)) {
    problems.push(`${path}: option codes ${ours} but tshark saw ${theirs}`);
    return;
  }
  options.forEach((o, i) => {
    const t = tsOptions[i];
    const where = `${path}/opt${o.code}`;
    const length = Number(values(t, "dhcpv6.option.length")[0]);
    if (length !== dataOf(o).length) {
      problems.push(`${where}: length ${dataOf(o).length} but tshark saw ${length}`);
    }
    for (const [key, want] of Object.entries(expectedFields(o))) {
      let got = deepValues(t, key);
      if (
        key.endsWith("_addr") || key.endsWith(".ip") || key.endsWith("server") ||
        key.endsWith("_a") || key.endsWith("address") || key.endsWith("link") ||
        key === "dhcpv6.unicast"
      ) {
        got = got.map((g) => (g.includes(":") ? ip(g) : g));
      }
      if (JSON.stringify(got) !== JSON.stringify(want)) {
        problems.push(
          `${where}: ${key} = ${JSON.stringify(want)} but tshark saw ${JSON.stringify(got)}`,
        );
      }
    }
    const inner = carriedMessage(o);
    if (inner) {
      const tsInner = subtrees(t, "dhcpv6")[0];
      if (!tsInner) problems.push(`${where}: tshark did not decode the relayed message`);
      else compareMessage(tsInner, inner, where, problems);
      return;
    }
    const children = childrenOf(o);
    if (children) compareOptions(t, children, where, problems);
  });
}

/** Compare tshark's `dhcpv6` tree with our parsed message; push differences to `problems`. */
function compareMessage(ts: Tree, m: Message, path: string, problems: string[]): void {
  const type = values(ts, "dhcpv6.msgtype")[0];
  if (Number(type) !== m.type) problems.push(`${path}: msgtype ${m.type} but tshark saw ${type}`);
  if (m instanceof ClientServerMessage) {
    const xid = Number(values(ts, "dhcpv6.xid")[0]);
    if (xid !== m.transactionId) {
      problems.push(`${path}: xid ${m.transactionId} but tshark saw ${xid}`);
    }
  } else if (m instanceof RelayMessage) {
    const hop = Number(values(ts, "dhcpv6.hopcount")[0]);
    const link = ip(values(ts, "dhcpv6.linkaddr")[0] ?? "::1");
    const peer = ip(values(ts, "dhcpv6.peeraddr")[0] ?? "::1");
    if (hop !== m.hopCount || link !== m.linkAddress || peer !== m.peerAddress) {
      problems.push(
        `${path}: relay header ${m.hopCount} ${m.linkAddress} ${m.peerAddress} but tshark saw ${hop} ${link} ${peer}`,
      );
    }
  }
  compareOptions(ts, m.options, path, problems);
}

/** Expert infos and malformed markers anywhere in `tree`, with the option code they sit under. */
function experts(tree: unknown, code: number, out: string[]): string[] {
  if (Array.isArray(tree)) tree.forEach((t) => experts(t, code, out));
  else if (tree && typeof tree === "object") {
    const t = tree as Tree;
    const here = Number(values(t, "dhcpv6.option.type")[0] ?? code);
    for (const [k, v] of Object.entries(t)) {
      if (k === "_ws.malformed" || k.startsWith("_ws.malformed")) {
        out.push(`malformed in option ${here}`);
      }
      if (k === "_ws.expert.message") {
        // tshark 4.0 dissects LQ_RELAY_DATA's relay message as a string, so it reports the bytes
        // after the first NUL as "trailing stray characters"; the encoding follows RFC 5007 §4.1.2.5.
        for (const msg of values(t, k)) {
          if (!(here === 47 && msg === "Trailing stray characters")) {
            out.push(`option ${here}: ${msg}`);
          }
        }
      }
      experts(v, here, out);
    }
  }
  return out;
}

/** RFC 8415 options kept in generated messages (not 11 Authentication, 17 Vendor-specific). */
const TAME_CODES = new Set([
  1,
  2,
  3,
  4,
  5,
  6,
  7,
  8,
  9,
  12,
  13,
  14,
  15,
  16,
  18,
  19,
  20,
  25,
  26,
  82,
  83,
]);

/**
 * Make a generated message acceptable to tshark's sanity checks, which go beyond the wire format:
 * relay hop counts must count up from 0, status messages are shown as ASCII, an Interface-ID is
 * not empty. Only RFC 8415 options whose payload tshark does not judge further are kept (the
 * extension options are covered by the hand-built corpus, whose values are valid); unknown
 * message types are dropped. Returns the relay depth of `m`.
 */
function tame(m: Message): number {
  const keep = (o: Option): boolean =>
    TAME_CODES.has(o.code) && !(o instanceof UnknownOption) &&
    !(o instanceof RelayMessageOption && o.message instanceof UnknownMessage);
  const fix = (options: Option[]): Option[] =>
    options.filter(keep).map((o) => {
      if (o instanceof StatusCodeOption) o.statusMessage = o.statusMessage.replace(/[^ -~]/g, "?");
      if (o instanceof InterfaceIdOption && o.data.length === 0) o.data = new Uint8Array([1]);
      const withOptions = o as unknown as { options?: Option[] };
      if (Array.isArray(withOptions.options)) withOptions.options = fix(withOptions.options);
      return o;
    });
  m.options = fix(m.options);
  let depth = -1;
  for (const o of m.options) if (o instanceof RelayMessageOption) depth = tame(o.message);
  if (m instanceof RelayMessage) {
    m.hopCount = depth + 1;
    return depth + 1;
  }
  return -1;
}

/** Messages built with the classes (not in the corpus) plus a seeded sample of generated ones. */
function builtMessages(): [string, Message][] {
  const out: [string, Message][] = [
    ["built_relayed_solicit", relayedSolicit()],
    ["built_relayed_reply", relayedReply()],
  ];
  for (const [name, m] of Object.entries(sampleMessages())) out.push([`built_${name}`, m]);
  // Generated messages, limited to options tshark decodes without interpreting opaque payloads.
  const arbs = codecArbitraries();
  const sample = fc.sample(arbs.message, { numRuns: 200, seed: 20240601 });
  sample.forEach((m, i) => {
    tame(m);
    out.push([`generated_${i}`, m]);
  });
  return out;
}

Deno.test({
  name: "tshark: corpus and built messages decode without errors and with the same values",
  ignore: !hasTshark,
  fn() {
    const corpus = loadCorpus();
    const cases: [string, Uint8Array][] = [
      ...corpus.map((c) => [c.name, c.bytes] as [string, Uint8Array]),
      ...builtMessages().map(([n, m]) => [n, serializeMessage(m)] as [string, Uint8Array]),
    ];
    const pcap = Deno.makeTempFileSync({ suffix: ".pcap" });
    try {
      Deno.writeFileSync(
        pcap,
        writePcap(cases.map(([, b]) => ({ ...endpoints(b[0]), payload: b })), { linkType: 1 }),
      );
      const run = spawnSync(
        "tshark",
        ["-r", pcap, "-o", "udp.check_checksum:TRUE", "-V", "-T", "json", "--no-duplicate-keys"],
        { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 },
      );
      assert.equal(run.status, 0, run.stderr);
      const frames = JSON.parse(run.stdout) as { _source: { layers: Tree } }[];
      assert.equal(frames.length, cases.length);
      const problems: string[] = [];
      frames.forEach((f, i) => {
        const [name, bytes] = cases[i];
        const layers = f._source.layers;
        const udp = layers.udp as Tree;
        if (values(udp, "udp.checksum.status")[0] !== "1") {
          problems.push(`${name}: UDP checksum status ${values(udp, "udp.checksum.status")}`);
        }
        const dhcp = layers.dhcpv6 as Tree | undefined;
        if (!dhcp) return problems.push(`${name}: tshark did not decode DHCPv6`);
        for (const e of experts(layers, 0, [])) problems.push(`${name}: ${e}`);
        compareMessage(dhcp, parseMessage(bytes), name, problems);
      });
      assert.deepEqual(problems, []);
    } finally {
      Deno.removeSync(pcap);
    }
  },
});

Deno.test({
  name: "tshark: the corpus covers every message type",
  ignore: !hasTshark,
  fn() {
    const types = new Set(loadCorpus().map((c) => c.bytes[0]));
    for (const t of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]) {
      assert.ok(types.has(t), `no corpus message of type ${t}`);
    }
  },
});

if (!hasTshark) console.warn("tshark not found: tshark cross-checks ignored");
