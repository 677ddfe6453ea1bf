/**
 * examples/isp.conf, run for real (root only; see `example_server.ts` for the adaptation): the
 * server on the example's `SERVER_ADDRESS` in a namespace, a relay at 2001:db8:ffff::1 (the relay
 * its statistics name) and the provisioning system in 2001:db8:ffff:1::/64.
 *
 * - every row of examples/static.csv is found the way its id says (DUID-LLT, Interface-ID as hex
 *   and as text, Remote-ID as hex and as text, Subscriber-ID, client link-layer address), with
 *   the lifetimes of its customer network;
 * - residential customers get the shared resolvers, business customers their own, the voice
 *   segment the SIP servers as well; everyone the search domain, NTP, preference 255, and their
 *   Remote-ID copied back to the relay;
 * - rapid commit answers a Solicit with a Reply; requests from any other link get no answer;
 * - bulk leasequery over TCP from the provisioning system lists the leases handed out.
 * @module
 */

import assert from "node:assert/strict";
import { e2eTest, type Topology, withTopology } from "../e2e/netns.ts";
import {
  addressesIn,
  assertSilence,
  dnsServers,
  innermost,
  type Json,
  onlyReply,
  option,
  optionsOf,
  prefixesIn,
  prepareState,
  relayed,
  searchList,
  sendCasesAsSent,
  startExample,
  SyslogCollector,
  syslogSocket,
  unicastTopology,
} from "./example_server.ts";

const SERVER = "2001:db8:ffff::547";
const RELAY = "2001:db8:ffff::1";
const REQUESTOR = "2001:db8:ffff:1::10";
/** Options a CPE asks for: DNS, search list, SIP names and addresses, NTP. */
const ORO = [23, 24, 21, 22, 56];

/** Residential (2001:db8:100::/40), voice (2001:db8:1f0::/44) and business (2001:db8:200::/40). */
const RESIDENTIAL = "2001:db8:100:1::1";
const VOICE = "2001:db8:1f0:1::1";
const BUSINESS = "2001:db8:200:1::1";

const hex = (s: string) =>
  Array.from(new TextEncoder().encode(s), (b) => b.toString(16).padStart(2, "0")).join("");

/** The lifetimes of the addresses (IA_NA) or prefixes (IA_PD) of `m`. */
function lifetimes(m: Json, iaCode: 3 | 25): [number, number][] {
  return optionsOf(m).filter((o) => o.code === iaCode).flatMap((ia) =>
    optionsOf(ia).filter((o) => o.code === 5 || o.code === 26).map((o) =>
      [o.preferred_lifetime, o.valid_lifetime] as [number, number]
    )
  );
}

/** Run `dhcpkit leasequery --server SERVER ARGS` in `ns`; its JSON lines. */
async function leasequery(t: Topology, ns: string, args: string[]): Promise<Json[]> {
  const r = await t.exec(ns, Deno.execPath(), [
    "run",
    "--unstable-net",
    "--allow-net",
    "--allow-read",
    "--allow-env",
    "cli/main.ts",
    "leasequery",
    "--server",
    SERVER,
    ...args,
  ], { check: false });
  assert.equal(r.code, 0, `dhcpkit leasequery ${args.join(" ")}: ${r.stderr}`);
  return r.stdout.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
}

e2eTest(
  "docs example examples/isp.conf: every static.csv row, per-segment options, others ignored",
  { root: true, scapy: true },
  () =>
    withTopology(async (t) => {
      const { srv, rly, lq } = await unicastTopology(t, SERVER, RELAY, REQUESTOR);
      await prepareState(t.tempDir);
      const syslog = new SyslogCollector(syslogSocket(t.tempDir));
      try {
        await startExample(t, "examples/isp.conf", { namespace: srv });
        await check(t, rly, lq!);
        // facility local4 (20), level info (6): priority 166.
        await syslog.waitFor(/^<166>.*Ready to handle requests/);
      } finally {
        await syslog.close();
      }
    }),
);

/** Ask what the example is for, as the relay and as the provisioning system. */
async function check(t: Topology, rly: string, lq: string): Promise<void> {
  {
    {
      const message = { oro: ORO };
      const sent = await sendCasesAsSent(t, rly, [
        relayed("duid-llt", SERVER, "solicit", RESIDENTIAL, {
          duid: "000100011d1d6071002436ef1d89",
          message,
        }),
        relayed("interface-id", SERVER, "solicit", RESIDENTIAL, {
          relay: { interface_id: "Fa2/1" },
          message,
        }),
        relayed("interface-id-str", SERVER, "solicit", RESIDENTIAL, {
          relay: { interface_id: "Fa2/2" },
          message,
        }),
        relayed("remote-id", SERVER, "solicit", RESIDENTIAL, {
          relay: { remote_id_hex: "020023000001000a0003000100211c7d486e" },
          message,
        }),
        relayed("remote-id-str", SERVER, "solicit", BUSINESS, {
          relay: { remote_id: "customer-1042", remote_id_enterprise: 40208 },
          message,
        }),
        relayed("subscriber-id", SERVER, "solicit", VOICE, {
          relay: { subscriber_id: "voice-0001" },
          message,
        }),
        relayed("linklayer-id", SERVER, "solicit", RESIDENTIAL, {
          relay: { client_linklayer: [1, "00:24:36:ef:1d:89"] },
          message,
        }),
        relayed("rapid-commit", SERVER, "solicit", RESIDENTIAL, {
          relay: { interface_id: "Fa2/1" },
          message: { ...message, rapid_commit: true },
        }),
        relayed("other-link", SERVER, "solicit", "2001:db8:300::1", { message }),
        relayed("other-information", SERVER, "information-request", "2001:db8:ffff::1"),
      ]);
      const replies = new Map([...sent].map(([name, ms]) => [name, ms.map(innermost)]));

      const llt = onlyReply(replies, "duid-llt");
      assert.equal(llt.type, "advertise");
      assert.deepEqual(addressesIn(llt), []);
      assert.deepEqual(prefixesIn(llt), ["2001:db8:100:100::/56"]);
      assert.deepEqual(lifetimes(llt, 25), [[3 * 86400, 30 * 86400]]);

      const byInterface = onlyReply(replies, "interface-id");
      assert.deepEqual(addressesIn(byInterface), ["2001:db8:100::2:2"]);
      assert.deepEqual(prefixesIn(byInterface), ["2001:db8:100:200::/56"]);
      assert.deepEqual(lifetimes(byInterface, 3), [[86400, 7 * 86400]]);
      assert.deepEqual(addressesIn(onlyReply(replies, "interface-id-str")), ["2001:db8:100::2:3"]);
      const byRemote = onlyReply(replies, "remote-id");
      assert.deepEqual(addressesIn(byRemote), ["2001:db8:100::2:4"]);
      assert.deepEqual(prefixesIn(byRemote), ["2001:db8:100:400::/56"]);
      const linklayer = onlyReply(replies, "linklayer-id");
      assert.deepEqual(addressesIn(linklayer), ["2001:db8:100::2:6"]);
      assert.deepEqual(prefixesIn(linklayer), ["2001:db8:100:600::/56"]);

      // Residential: the shared resolvers and the settings every customer gets.
      assert.deepEqual(dnsServers(byInterface), ["2001:db8:53::1", "2001:db8:53::2"]);
      assert.deepEqual(searchList(byInterface), ["customers.example.net"]);
      assert.equal(option(byInterface, 7)?.preference, 255);
      assert.equal(option(byInterface, 12), undefined, "no server-unicast: relays only");
      assert.ok(option(byInterface, 56), "NTP servers");
      assert.equal(option(byInterface, 22), undefined, "no SIP servers outside the voice segment");

      // Business: own resolvers, longer address lifetimes.
      const business = onlyReply(replies, "remote-id-str");
      assert.deepEqual(addressesIn(business), ["2001:db8:200::1042"]);
      assert.deepEqual(prefixesIn(business), ["2001:db8:210::/48"]);
      assert.deepEqual(lifetimes(business, 3), [[7 * 86400, 30 * 86400]]);
      assert.deepEqual(dnsServers(business), ["2001:db8:53::100"]);

      // Voice segment: SIP servers for the telephony adapter.
      const voice = onlyReply(replies, "subscriber-id");
      assert.deepEqual(addressesIn(voice), ["2001:db8:1f0::1"]);
      assert.deepEqual(option(voice, 22)?.addresses, ["2001:db8:5060::1", "2001:db8:5060::2"]);
      assert.deepEqual(option(voice, 21)?.domain_names, ["sip.example.net"]);

      // The Remote-ID goes back to the relay (copy-remote-id).
      const [relayReply] = sent.get("remote-id")!;
      assert.equal(relayReply.type, "relay-reply");
      assert.equal(option(relayReply, 37)?.remote_id, "020023000001000a0003000100211c7d486e");

      const rapid = onlyReply(replies, "rapid-commit");
      assert.equal(rapid.type, "reply");
      assert.deepEqual(addressesIn(rapid), ["2001:db8:100::2:2"]);

      assertSilence(replies, "other-link");
      assertSilence(replies, "other-information");

      // The rapid-commit Reply was recorded: bulk leasequery over TCP finds it.
      const bulk = await leasequery(t, lq, [
        "--tcp",
        "--link-address",
        RESIDENTIAL,
        "link-address",
      ]);
      const leased = bulk.flatMap((m) =>
        optionsOf(m).filter((o) => o.code === 45).flatMap((d) =>
          optionsOf(d).filter((o) => o.code === 5).map((o) => o.address)
        )
      );
      assert.deepEqual(leased, ["2001:db8:100::2:2"]);
      assert.equal(hex("Fa2/1"), "4661322f31", "the CSV's interface-id row is this text");
    }
  }
}
