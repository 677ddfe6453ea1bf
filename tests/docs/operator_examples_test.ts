/**
 * The operator guide's example configurations (docs/examples/operator/*.conf), run for real
 * (root only): each is started as shipped, adapted only where a test host needs it (see
 * `example_server.ts`), in network namespaces that have the example's own addresses and
 * interface names, and asked what it is meant for:
 *
 * - first.conf: a real `dhclient -6 -S` on the link the server knows as `eth0` gets the two DNS
 *   servers and the search domain;
 * - relays.conf: relayed requests from the two customer networks get their own search domain and
 *   the shared DNS server; requests from any other link get no answer;
 * - static.conf: relayed Solicits get the fixed address and prefix of their row in
 *   assignments.csv, found by DUID, by Remote-ID and by Interface-ID, with the example's
 *   lifetimes; an unknown client gets NoAddrsAvail / NoPrefixAvail;
 * - leasequery.conf: after a customer got its assignment, the provisioning system finds it by
 *   Leasequery over UDP and by Bulk Leasequery over TCP; a requestor outside `allow-from` is
 *   refused;
 * - monitoring.conf: `/metrics` on [::1]:9547 counts the relay's requests per customer network
 *   and per relay, and the log goes to syslog facility local4.
 * @module
 */

import assert from "node:assert/strict";
import { DHCLIENT, startDhclient } from "../e2e/dhclient.ts";
import { e2eTest, type Topology, withTopology } from "../e2e/netns.ts";
import {
  addressesIn,
  assertSilence,
  dnsServers,
  iaStatus,
  type Json,
  lifetimesIn,
  onlyReply,
  option,
  optionsOf,
  prefixesIn,
  prepareState,
  relayed,
  searchList,
  sendCases,
  startExample,
  SyslogCollector,
  syslogSocket,
  unicastTopology,
} from "./example_server.ts";

const ROOT_SCAPY = { root: true, scapy: true };
/** The unicast address every relay example listens on. */
const SERVER = "2001:db8:ffff::547";
/** The relay's address (the one monitoring.conf counts). */
const RELAY = "2001:db8:ffff::1";

/** A namespace whose `eth0` is joined to a client namespace's `cli0`. */
async function ethernetTopology(t: Topology): Promise<{ srv: string; cli: string }> {
  const srv = await t.namespace("srv");
  const cli = await t.namespace("cli");
  await t.link(srv, "eth0", cli, "cli0");
  await t.linkLocal(srv, "eth0");
  await t.linkLocal(cli, "cli0");
  return { srv, cli };
}

e2eTest(
  "docs example first.conf: dhclient -6 -S on eth0 gets the DNS servers and search domain",
  { root: true, commands: DHCLIENT },
  () =>
    withTopology(async (t) => {
      const { srv, cli } = await ethernetTopology(t);
      await startExample(t, "docs/examples/operator/first.conf", { namespace: srv });
      const { dir } = await startDhclient(
        t,
        cli,
        ["-S"],
        "dhclient",
        "request dhcp6.name-servers, dhcp6.domain-search;\n",
      );
      const env = await t.waitRecorded(dir, /^(INFORM6|RENEW6|BOUND6)$/);
      assert.deepEqual(env.new_dhcp6_name_servers?.split(/\s+/), [
        "2001:db8::53",
        "2001:db8::153",
      ]);
      assert.deepEqual(env.new_dhcp6_domain_search?.split(/\s+/), ["example.com."]);
      // The server DUID the example configures (DUID-LL of 02:00:00:d4:c9:01).
      assert.equal(env.new_dhcp6_server_id, "0:3:0:1:2:0:0:d4:c9:1");
    }),
);

e2eTest(
  "docs example relays.conf: each customer network gets its settings, other links nothing",
  ROOT_SCAPY,
  () =>
    withTopology(async (t) => {
      const { srv, rly } = await unicastTopology(t, SERVER, RELAY);
      await startExample(t, "docs/examples/operator/relays.conf", { namespace: srv });
      const replies = await sendCases(t, rly, [
        relayed("residential", SERVER, "information-request", "2001:db8:100:1::1"),
        relayed("business", SERVER, "information-request", "2001:db8:200:1::1"),
        relayed("residential-solicit", SERVER, "solicit", "2001:db8:1ff:ffff::1"),
        relayed("other-link", SERVER, "information-request", "2001:db8:300::1"),
        relayed("other-solicit", SERVER, "solicit", "2001:db8:ffff::1"),
        relayed("outside", SERVER, "information-request", "2001:db9::1"),
      ]);
      const residential = onlyReply(replies, "residential");
      assert.equal(residential.type, "reply");
      assert.deepEqual(dnsServers(residential), ["2001:db8:53::1"]);
      assert.deepEqual(searchList(residential), ["residential.example.net"]);
      const business = onlyReply(replies, "business");
      assert.deepEqual(dnsServers(business), ["2001:db8:53::1"]);
      assert.deepEqual(searchList(business), ["business.example.net"]);
      assert.equal(onlyReply(replies, "residential-solicit").type, "advertise");
      assertSilence(replies, "other-link");
      assertSilence(replies, "other-solicit");
      assertSilence(replies, "outside");
    }),
);

e2eTest(
  "docs example static.conf: the rows of assignments.csv by DUID, Remote-ID and Interface-ID",
  ROOT_SCAPY,
  () =>
    withTopology(async (t) => {
      const { srv, rly } = await unicastTopology(t, SERVER, RELAY);
      await startExample(t, "docs/examples/operator/static.conf", { namespace: srv });
      const link = "2001:db8:100:7::1";
      const replies = await sendCases(t, rly, [
        relayed("by-duid", SERVER, "solicit", link, { mac: "02:00:00:00:00:aa" }),
        relayed("by-remote-id", SERVER, "solicit", link, { relay: { remote_id: "modem-0042" } }),
        relayed("by-interface-id", SERVER, "solicit", link, {
          relay: { interface_id: "ge-0/0/1.100" },
        }),
        relayed("unknown", SERVER, "solicit", link),
        relayed("other-network", SERVER, "solicit", "2001:db8:200::1", {
          mac: "02:00:00:00:00:aa",
        }),
      ]);
      const byDuid = onlyReply(replies, "by-duid");
      assert.deepEqual(addressesIn(byDuid), ["2001:db8:100::aa"]);
      assert.deepEqual(prefixesIn(byDuid), ["2001:db8:1aa::/48"]);
      // address 1d / 7d, prefix 3d / 30d
      assert.deepEqual(lifetimesIn(byDuid, 3), [[86400, 604800]]);
      assert.deepEqual(lifetimesIn(byDuid, 25), [[259200, 2592000]]);
      const byRemote = onlyReply(replies, "by-remote-id");
      assert.deepEqual(addressesIn(byRemote), ["2001:db8:100::42"]);
      assert.deepEqual(prefixesIn(byRemote), ["2001:db8:142::/48"]);
      const byInterface = onlyReply(replies, "by-interface-id");
      assert.deepEqual(addressesIn(byInterface), []);
      assert.equal(iaStatus(byInterface, 3), 2, "NoAddrsAvail: the row has no address");
      assert.deepEqual(prefixesIn(byInterface), ["2001:db8:1ff::/48"]);
      const unknown = onlyReply(replies, "unknown");
      assert.equal(iaStatus(unknown, 3), 2, "NoAddrsAvail");
      assert.equal(iaStatus(unknown, 25), 6, "NoPrefixAvail");
      // The <subnet> scope: outside 2001:db8:100::/40 the table is not consulted.
      const other = onlyReply(replies, "other-network");
      assert.deepEqual(addressesIn(other), []);
      assert.deepEqual(prefixesIn(other), []);
    }),
);

/** The provisioning system's address (inside leasequery.conf's `allow-from`). */
const REQUESTOR = "2001:db8:ffff:1::10";

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
    "--timeout",
    "3",
    ...args,
  ], { check: false });
  assert.equal(r.code, 0, `dhcpkit leasequery ${args.join(" ")}: ${r.stderr}`);
  return r.stdout.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
}

/** The addresses in the Client Data options of leasequery answers. */
function leasedAddresses(messages: Json[]): string[] {
  return messages.flatMap((m) =>
    optionsOf(m).filter((o) => o.code === 45).flatMap((data) =>
      optionsOf(data).filter((o) => o.code === 5).map((o) => o.address as string)
    )
  );
}

e2eTest(
  "docs example leasequery.conf: a customer's assignment is found by UDP and bulk TCP leasequery",
  ROOT_SCAPY,
  () =>
    withTopology(async (t) => {
      const { srv, rly, lq } = await unicastTopology(t, SERVER, RELAY, REQUESTOR);
      await startExample(t, "docs/examples/operator/leasequery.conf", { namespace: srv });
      const link = "2001:db8:100:7::1";
      const mac = "02:00:00:00:00:aa";
      const solicit = await sendCases(t, rly, [
        relayed("solicit", SERVER, "solicit", link, { mac }),
      ]);
      const advertise = onlyReply(solicit, "solicit");
      assert.deepEqual(addressesIn(advertise), ["2001:db8:100::aa"]);
      const serverDuid = (option(advertise, 2)!.duid as Json).hex as string;
      const request = await sendCases(t, rly, [
        relayed("request", SERVER, "request", link, {
          mac,
          message: { server_duid: serverDuid },
        }),
      ]);
      const reply = onlyReply(request, "request");
      assert.equal(reply.type, "reply");
      assert.deepEqual(addressesIn(reply), ["2001:db8:100::aa"]);
      assert.deepEqual(prefixesIn(reply), ["2001:db8:1aa::/48"]);

      // Leasequery over UDP from the provisioning network: who holds this address?
      const byAddress = await leasequery(t, lq!, ["client-address", "2001:db8:100::aa"]);
      assert.deepEqual(byAddress.map((m) => m.type), ["leasequery-reply"]);
      assert.deepEqual(leasedAddresses(byAddress), ["2001:db8:100::aa"]);
      const data = option(byAddress[0], 45)!;
      assert.equal((option(data, 1)!.duid as Json).hex, "000300010200000000aa");
      // Bulk leasequery over TCP: every client on the relay's link.
      const bulk = await leasequery(t, lq!, ["--tcp", "--link-address", link, "link-address"]);
      assert.deepEqual(leasedAddresses(bulk), ["2001:db8:100::aa"]);
      assert.equal(bulk.at(-1)!.type, "leasequery-done");
      // From outside allow-from (the relay's network): refused.
      const refused = await leasequery(t, rly, ["client-address", "2001:db8:100::aa"]);
      assert.deepEqual(refused.map((m) => m.type), ["leasequery-reply"]);
      assert.equal(option(refused[0], 13)?.status_code, 10, "NotAllowed");
      assert.deepEqual(leasedAddresses(refused), []);
    }),
);

e2eTest(
  "docs example monitoring.conf: /metrics counts per customer network and relay; syslog local4",
  ROOT_SCAPY,
  () =>
    withTopology(async (t) => {
      const { srv, rly } = await unicastTopology(t, SERVER, RELAY);
      await prepareState(t.tempDir);
      const syslog = new SyslogCollector(syslogSocket(t.tempDir));
      try {
        await startExample(t, "docs/examples/operator/monitoring.conf", { namespace: srv });
        const replies = await sendCases(t, rly, [
          relayed("residential-1", SERVER, "information-request", "2001:db8:100::1"),
          relayed("residential-2", SERVER, "information-request", "2001:db8:1ff::1"),
          relayed("business", SERVER, "information-request", "2001:db8:200::1"),
        ]);
        for (const name of ["residential-1", "residential-2", "business"]) {
          assert.deepEqual(dnsServers(onlyReply(replies, name)), ["2001:db8:53::1"]);
        }
        const metrics = (await t.exec(srv, "curl", ["-sS", "http://[::1]:9547/metrics"])).stdout;
        /** The values of the information-request counters of one category (entry). */
        const counted = (entry: string): number[] =>
          metrics.split("\n").filter((l) =>
            l.startsWith("dhcpkit_") && l.includes(`"${entry}"`) &&
            /inf(ormation)?[-_]?req/i.test(l) && /receiv/i.test(l)
          ).map((l) => Number(l.split(/\s+/).at(-1)));
        for (
          const [entry, n] of [
            ["2001:db8:100::/40", 2],
            ["2001:db8:200::/40", 1],
            ["2001:db8:ffff::1", 3],
          ] as const
        ) {
          const values = counted(entry);
          assert.ok(
            values.includes(n) && values.every((v) => v <= n),
            `${entry}: ${n}\n${metrics}`,
          );
        }
        // facility local4 (20), level info (6): priority 166.
        await syslog.waitFor(/^<166>.*Ready to handle requests/);
      } finally {
        await syslog.close();
      }
    }),
);
