/**
 * Packet-level end-to-end suite: requests built by scapy (`scapy_client.py`) are sent to a server
 * running in a network namespace, over multicast on its interface and by unicast to its
 * `listen-unicast` address; every reply is checked option by option against the reference
 * behaviour and INVENTORY §13 (Client ID echoed, our Server ID, IA status codes of the
 * unanswered-IA table, Interface-ID echoed per relay layer, replies to port 547 for relays and 546
 * for clients, silence where the RFC 8415 rules say so). Each reply is also dissected by scapy, and
 * both views must agree on the message type and option codes. Ends with a SIGHUP reload (the
 * new configuration answers on the re-used multicast sockets) and a clean SIGTERM stop.
 * @module
 */

import assert from "node:assert/strict";
import { describeMessage, parseMessage } from "../../src/protocol/mod.ts";
import { INFORMATION_CONFIG, serverIdConfig } from "../helpers/server.ts";
import { directTopology, e2eTest, PYTHON, type Topology, withTopology } from "./netns.ts";

const SCRIPT = new URL("./scapy_client.py", import.meta.url).pathname;
const SERVER_MAC = "02:00:00:00:00:01";
const SERVER_DUID = "00030001020000000001";
const OTHER_MAC = "02:00:00:00:00:02";
const CLIENT_MAC = "02:00:00:00:00:aa";
const CLIENT_DUID = "000300010200000000aa";
const SERVER_ADDRESS = "2001:db8:1::2";
const CLIENT_ADDRESS = "2001:db8:1::10";

const CONFIG = `workers 0
allow-rapid-commit yes

${serverIdConfig(SERVER_MAC)}
<listen-interface srv0 />
<listen-unicast ${SERVER_ADDRESS} />

${INFORMATION_CONFIG}`;

type Json = Record<string, unknown>;

/** What scapy_client.py sends. */
interface Case {
  name: string;
  dst: string;
  iface?: string;
  from_port?: number;
  message?: Json;
  raw?: string;
  timeout?: number;
}

/** A reply as scapy_client.py reports it, with our decoding added. */
interface Reply {
  src: string;
  sport: number;
  local_port: number;
  hex: string;
  scapy: Json;
  decoded: Json;
}

const opts = (m: Json) => (m.options ?? []) as Json[];
const codes = (m: Json) => opts(m).map((o) => o.code as number);
const opt = (m: Json, code: number) => opts(m).find((o) => o.code === code);
const hex = (s: string) =>
  Array.from(new TextEncoder().encode(s), (b) => b.toString(16).padStart(2, "0")).join("");

/** The message inside `levels` relay-reply layers. */
function unwrap(m: Json, levels: number): Json {
  let inner = m;
  for (let i = 0; i < levels; i++) {
    assert.equal(inner.type, "relay-reply", `layer ${i} is a relay-reply`);
    inner = opt(inner, 9)!.message as Json;
  }
  return inner;
}

/** Our view and scapy's view of a message agree on type and option codes, at every level. */
function assertSameView(ours: Json, scapy: Json) {
  assert.equal(ours.code, scapy.msgtype, "message type (ours vs scapy)");
  assert.deepEqual(codes(ours), scapy.options, "option codes (ours vs scapy)");
  if (scapy.message) assertSameView(opt(ours, 9)!.message as Json, scapy.message as Json);
}

/** Client ID echoed and our Server ID, as the first two options. */
function assertIds(m: Json, withClient = true) {
  const c = codes(m);
  if (withClient) {
    assert.deepEqual(c.slice(0, 2), [1, 2], `Client ID then Server ID first: ${c}`);
    assert.equal((opt(m, 1)!.duid as Json).hex, CLIENT_DUID, "Client ID echoed");
  } else {
    assert.equal(c[0], 2, "Server ID first");
    assert.ok(!c.includes(1), "no Client ID when the request had none");
  }
  assert.equal((opt(m, 2)!.duid as Json).hex, SERVER_DUID, "our Server ID");
}

function assertInformation(m: Json, dns = true, domains = true) {
  if (dns) {
    assert.deepEqual(opt(m, 23)?.addresses, ["2001:db8::53", "2001:db8::153"], "DNS servers");
  } else assert.equal(opt(m, 23), undefined, "no DNS servers");
  if (domains) {
    assert.deepEqual(opt(m, 24)?.domain_names, ["example.com", "example.net"], "search list");
  } else assert.equal(opt(m, 24), undefined, "no search list");
}

/** The status code inside an IA (or at message level when `ia` is the message). */
function statusOf(container: Json | undefined): number | undefined {
  if (!container) return undefined;
  return opt(container, 13)?.status_code as number | undefined;
}

/** The one IA of type `code` in `m`, with zero T1/T2 when it carries a failure status. */
function ia(m: Json, code: number, iaid: number): Json {
  const found = opts(m).filter((o) => o.code === code && o.iaid === iaid);
  assert.equal(found.length, 1, `one IA ${code} with IAID ${iaid}`);
  return found[0];
}

const base = (type: string, extra: Json = {}): Json => ({
  type,
  xid: Math.floor(Math.random() * 0xffffff),
  client_mac: CLIENT_MAC,
  oro: [23, 24],
  ...extra,
});

/** Send the cases from the client namespace; resolves with each case's replies by name. */
async function sendCases(t: Topology, ns: string, cases: Case[]): Promise<Map<string, Reply[]>> {
  const r = await t.exec(ns, PYTHON, [SCRIPT, "cases"], { stdin: JSON.stringify(cases) });
  const out = new Map<string, Reply[]>();
  for (const line of r.stdout.split("\n").filter(Boolean)) {
    const result = JSON.parse(line) as { name: string; replies: Reply[] };
    for (const reply of result.replies) {
      reply.decoded = describeMessage(parseMessage(Uint8Array.from(
        reply.hex.match(/../g)!.map((b) => parseInt(b, 16)),
      )));
      assertSameView(reply.decoded, reply.scapy);
    }
    out.set(result.name, result.replies);
  }
  return out;
}

e2eTest(
  "e2e packets: every message type, relayed 0-2 levels, unicast rules, checked option by option",
  { root: true, scapy: true },
  () =>
    withTopology(async (t) => {
      const { srv, cli, serverLinkLocal: serverLL } = await directTopology(t, {
        serverAddress: SERVER_ADDRESS,
        clientAddress: CLIENT_ADDRESS,
      });
      const server = await t.startServer({ namespace: srv, config: CONFIG });
      assert.ok(await Deno.stat(server.pidFile), "PID file written");

      const mc = { dst: "ff02::1:2", iface: "cli0" };
      const uc = { dst: SERVER_ADDRESS };
      const sid = { server_mac: SERVER_MAC };
      const addr = { ia_na: [{ iaid: 1, addresses: ["2001:db8:1::99"] }] };
      const noAddr = { ia_na: [{ iaid: 1 }] };
      const prefix = { ia_pd: [{ iaid: 2, prefixes: [["2001:db8:100::", 56]] }] };
      const relay1 = [{
        hop: 0,
        link: "2001:db8:2::1",
        peer: "fe80::abc",
        interface_id: "port-1",
        remote_id: "remote-1",
      }];
      const relay2 = [
        { hop: 0, link: "2001:db8:2::1", peer: "fe80::abc", interface_id: "inner", remote_id: "r" },
        { hop: 1, link: "2001:db8:3::1", peer: "2001:db8:2::1", interface_id: "outer" },
      ];
      const cases: Case[] = [
        { name: "inforeq", ...mc, message: base("information-request") },
        { name: "inforeq-no-oro", ...mc, message: base("information-request", { oro: null }) },
        { name: "inforeq-oro-24", ...mc, message: base("information-request", { oro: [24] }) },
        {
          name: "inforeq-no-client-id",
          ...mc,
          message: base("information-request", { client_mac: null }),
        },
        { name: "inforeq-our-server-id", ...mc, message: base("information-request", sid) },
        {
          name: "inforeq-other-server-id",
          ...mc,
          message: base("information-request", { server_mac: OTHER_MAC }),
        },
        {
          name: "solicit",
          ...mc,
          message: base("solicit", { ...noAddr, ia_pd: [{ iaid: 2 }] }),
        },
        {
          name: "solicit-rapid-ia",
          ...mc,
          message: base("solicit", { ...noAddr, rapid_commit: true }),
        },
        { name: "solicit-rapid-no-ia", ...mc, message: base("solicit", { rapid_commit: true }) },
        { name: "solicit-no-elapsed", ...mc, message: base("solicit", { elapsed: false }) },
        { name: "solicit-with-server-id", ...mc, message: base("solicit", { ...sid, ...noAddr }) },
        { name: "request", ...mc, message: base("request", { ...sid, ...noAddr, ...prefix }) },
        {
          name: "request-other-server",
          ...mc,
          message: base("request", { server_mac: OTHER_MAC, ...noAddr }),
        },
        { name: "confirm", ...mc, message: base("confirm", addr) },
        { name: "confirm-empty", ...mc, message: base("confirm", noAddr) },
        { name: "renew", ...mc, message: base("renew", { ...sid, ...addr, ...prefix }) },
        { name: "renew-no-lease", ...mc, message: base("renew", { ...sid, ...noAddr }) },
        { name: "rebind", ...mc, message: base("rebind", { ...addr, ...prefix }) },
        { name: "rebind-no-lease", ...mc, message: base("rebind", noAddr) },
        { name: "release", ...mc, message: base("release", { ...sid, ...addr }) },
        { name: "decline", ...mc, message: base("decline", { ...sid, ...addr }) },
        {
          name: "relay1-solicit",
          ...mc,
          from_port: 547,
          message: base("solicit", { ...noAddr, relays: relay1 }),
        },
        {
          name: "relay1-ero",
          ...mc,
          from_port: 547,
          message: base("information-request", {
            relays: [{ ...relay1[0], ero: [37] }],
          }),
        },
        {
          name: "relay2-inforeq",
          ...mc,
          from_port: 547,
          message: base("information-request", { relays: relay2 }),
        },
        {
          name: "relay1-unicast-request",
          ...uc,
          from_port: 547,
          message: base("request", { ...sid, ...noAddr, relays: relay1 }),
        },
        {
          name: "relay1-unicast-inforeq",
          ...uc,
          from_port: 547,
          message: base("information-request", { relays: relay1 }),
        },
        { name: "unicast-request", ...uc, message: base("request", { ...sid, ...noAddr }) },
        { name: "unicast-renew", ...uc, message: base("renew", { ...sid, ...addr }) },
        { name: "unicast-solicit", ...uc, message: base("solicit", noAddr) },
        { name: "unicast-inforeq", ...uc, message: base("information-request") },
        { name: "advertise-to-server", ...mc, message: base("advertise", sid) },
        // RFC 8415 §16: messages a server must discard.
        { name: "solicit-no-client-id", ...mc, message: base("solicit", { client_mac: null }) },
        { name: "request-no-server-id", ...mc, message: base("request", noAddr) },
        {
          name: "request-no-client-id",
          ...mc,
          message: base("request", { ...sid, ...noAddr, client_mac: null }),
        },
        { name: "renew-no-server-id", ...mc, message: base("renew", addr) },
        { name: "release-no-server-id", ...mc, message: base("release", addr) },
        { name: "decline-no-server-id", ...mc, message: base("decline", addr) },
        {
          name: "rebind-no-client-id",
          ...mc,
          message: base("rebind", { ...addr, client_mac: null }),
        },
        { name: "confirm-with-server-id", ...mc, message: base("confirm", { ...addr, ...sid }) },
        { name: "unknown-type", ...mc, raw: "ff123456000100" },
      ];
      const results = await sendCases(t, cli, cases);
      const replies = (name: string) => {
        const r = results.get(name);
        assert.ok(r, `case ${name} ran`);
        return r;
      };
      /** The single reply of a direct (unrelayed) exchange, with the transport checked. */
      const direct = (name: string, from = serverLL): Json => {
        const r = replies(name);
        assert.equal(r.length, 1, `${name}: exactly one reply`);
        assert.equal(r[0].src, from, `${name}: reply source`);
        assert.equal(r[0].sport, 547, `${name}: from port 547`);
        assert.equal(r[0].local_port, 546, `${name}: clients get replies on port 546`);
        const sent = cases.find((c) => c.name === name)!.message!;
        assert.equal(
          r[0].decoded.transaction_id,
          (sent.xid as number).toString(16).padStart(6, "0"),
          `${name}: transaction id echoed`,
        );
        return r[0].decoded;
      };
      const silent = (name: string) => assert.equal(replies(name).length, 0, `${name}: no reply`);

      // Information-request: ORO rule (no ORO -> everything, ORO -> only what it lists).
      let m = direct("inforeq");
      assert.equal(m.type, "reply");
      assertIds(m);
      assertInformation(m);
      assertInformation(direct("inforeq-no-oro"));
      assertInformation(direct("inforeq-oro-24"), false, true);
      m = direct("inforeq-no-client-id");
      assertIds(m, false);
      assertInformation(m);
      assertIds(direct("inforeq-our-server-id"));
      silent("inforeq-other-server-id");

      // Solicit: Advertise, IA_NA NoAddrsAvail, IA_PD NoPrefixAvail, T1/T2 zero.
      m = direct("solicit");
      assert.equal(m.type, "advertise");
      assertIds(m);
      assertInformation(m);
      const na = ia(m, 3, 1);
      assert.equal(statusOf(na), 2, "IA_NA: NoAddrsAvail");
      assert.equal(na.t1, 0);
      assert.equal(na.t2, 0);
      assert.equal(statusOf(ia(m, 25, 2)), 6, "IA_PD: NoPrefixAvail");
      assert.equal(statusOf(m), undefined, "no message-level status");

      // Rapid commit: refused when an IA gets NoAddrsAvail, used when nothing was refused.
      m = direct("solicit-rapid-ia");
      assert.equal(m.type, "advertise", "no rapid commit when the IA is refused");
      assert.ok(!codes(m).includes(14));
      m = direct("solicit-rapid-no-ia");
      assert.equal(m.type, "reply", "rapid commit: Reply to a Solicit");
      // The reference puts Rapid Commit first, then the usual options.
      assert.equal(codes(m)[0], 14, "Rapid Commit option first in the Reply");
      assertIds({ ...m, options: opts(m).slice(1) });
      // A Solicit without Elapsed Time is served (INVENTORY §13).
      assert.equal(direct("solicit-no-elapsed").type, "advertise");
      silent("solicit-with-server-id");

      // Request: NoAddrsAvail / NoPrefixAvail inside the IAs.
      m = direct("request");
      assert.equal(m.type, "reply");
      assertIds(m);
      assert.equal(statusOf(ia(m, 3, 1)), 2);
      assert.equal(statusOf(ia(m, 25, 2)), 6);
      silent("request-other-server");

      // Confirm: NotOnLink for addresses no handler confirmed; silence without addresses.
      m = direct("confirm");
      assert.equal(m.type, "reply");
      assertIds(m);
      assert.equal(statusOf(m), 4, "Confirm: NotOnLink");
      silent("confirm-empty");

      // Renew / Rebind: what the client has is withdrawn (lifetimes 0), NoBinding without leases.
      for (const name of ["renew", "rebind"]) {
        m = direct(name);
        assert.equal(m.type, "reply");
        assertIds(m);
        const addrIa = ia(m, 3, 1);
        assert.equal(statusOf(addrIa), undefined);
        const address = opt(addrIa, 5)!;
        assert.equal(address.address, "2001:db8:1::99");
        assert.equal(address.preferred_lifetime, 0);
        assert.equal(address.valid_lifetime, 0);
        const prefixIa = ia(m, 25, 2);
        const p = opt(prefixIa, 26)!;
        assert.equal(p.prefix, "2001:db8:100::");
        assert.equal(p.prefix_length, 56);
        assert.equal(p.preferred_lifetime, 0);
        assert.equal(p.valid_lifetime, 0);
        const noLease = direct(`${name}-no-lease`);
        assert.equal(statusOf(ia(noLease, 3, 1)), 3, `${name}: NoBinding without a lease`);
      }

      // Release / Decline: NoBinding in the IA, Success at message level.
      for (const name of ["release", "decline"]) {
        m = direct(name);
        assert.equal(m.type, "reply");
        assertIds(m);
        assert.equal(statusOf(ia(m, 3, 1)), 3, `${name}: NoBinding in the IA`);
        assert.equal(statusOf(m), 0, `${name}: Success at message level`);
      }

      // Relayed, one level: Relay-reply to port 547, Interface-ID echoed, Remote-ID not.
      const relayed = (name: string, levels: number, from = serverLL) => {
        const r = replies(name);
        assert.equal(r.length, 1, `${name}: exactly one reply`);
        assert.equal(r[0].src, from, `${name}: reply source`);
        assert.equal(r[0].local_port, 547, `${name}: relays get replies on port 547`);
        const sent = cases.find((c) => c.name === name)!.message!;
        const layers = (sent.relays as Json[]).slice().reverse();
        let layer = r[0].decoded;
        for (const sentLayer of layers) {
          assert.equal(layer.type, "relay-reply");
          assert.equal(layer.hop_count, sentLayer.hop, `${name}: hop count mirrored`);
          assert.equal(layer.link_address, sentLayer.link, `${name}: link-address mirrored`);
          assert.equal(layer.peer_address, sentLayer.peer, `${name}: peer-address mirrored`);
          assert.equal(
            opt(layer, 18)?.data,
            hex(sentLayer.interface_id as string),
            `${name}: Interface-ID echoed`,
          );
          layer = opt(layer, 9)!.message as Json;
        }
        assert.equal(layer.transaction_id, (sent.xid as number).toString(16).padStart(6, "0"));
        return { outer: r[0].decoded, inner: unwrap(r[0].decoded, levels) };
      };
      let rr = relayed("relay1-solicit", 1);
      assert.ok(!codes(rr.outer).includes(37), "Remote-ID is not echoed unasked");
      assert.equal(rr.inner.type, "advertise");
      assertIds(rr.inner);
      assert.equal(statusOf(ia(rr.inner, 3, 1)), 2);
      rr = relayed("relay1-ero", 1);
      assert.deepEqual(
        opt(rr.outer, 37),
        { code: 37, name: "remote-id", enterprise_number: 9, remote_id: hex("remote-1") },
        "Remote-ID echoed on request (ERO)",
      );
      rr = relayed("relay2-inforeq", 2);
      assert.equal(rr.inner.type, "reply");
      assertInformation(rr.inner);
      // A relay may reach us by unicast: normal answers, no UseMulticast.
      rr = relayed("relay1-unicast-request", 1, SERVER_ADDRESS);
      assert.equal(rr.inner.type, "reply");
      assert.equal(statusOf(rr.inner), undefined, "relayed unicast is fine");
      assert.equal(statusOf(ia(rr.inner, 3, 1)), 2);
      rr = relayed("relay1-unicast-inforeq", 1, SERVER_ADDRESS);
      assertInformation(rr.inner);

      // Unicast without permission: UseMulticast for Request/Renew, silence for the others.
      for (const name of ["unicast-request", "unicast-renew"]) {
        m = direct(name, SERVER_ADDRESS);
        assert.equal(m.type, "reply");
        assertIds(m);
        assert.equal(statusOf(m), 5, `${name}: UseMulticast`);
        assert.deepEqual(codes(m), [1, 2, 13], `${name}: nothing else`);
      }
      silent("unicast-solicit");
      silent("unicast-inforeq");

      // RFC 8415 §16 (and INVENTORY §13): discarded without a reply.
      for (
        const name of [
          "solicit-no-client-id",
          "request-no-server-id",
          "request-no-client-id",
          "renew-no-server-id",
          "release-no-server-id",
          "decline-no-server-id",
          "rebind-no-client-id",
          "confirm-with-server-id",
        ]
      ) silent(name);

      // Server-to-client and unknown types: ignored.
      silent("advertise-to-server");
      silent("unknown-type");

      // SIGHUP: the new configuration serves on the re-used multicast sockets.
      const text = await Deno.readTextFile(server.configPath);
      await Deno.writeTextFile(server.configPath, text.replace("2001:db8::153", "2001:db8::999"));
      await t.exec(srv, "kill", ["-HUP", String(server.pid)]);
      await server.waitFor(/Configuration reloaded/, 10_000);
      const reloaded = await sendCases(t, cli, [
        { name: "after-reload", ...mc, message: base("information-request") },
      ]);
      const afterReload = reloaded.get("after-reload")!;
      assert.equal(afterReload.length, 1, "answered after the reload");
      assert.deepEqual(opt(afterReload[0].decoded, 23)?.addresses, [
        "2001:db8::53",
        "2001:db8::999",
      ]);

      // SIGTERM: a clean stop that removes the PID file.
      await server.stop("SIGTERM", 10_000);
      assert.equal(server.status?.code, 0, "exit status after SIGTERM");
      await assert.rejects(Deno.stat(server.pidFile), "PID file removed");
    }),
);
