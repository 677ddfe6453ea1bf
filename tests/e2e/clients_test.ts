/**
 * Real DHCPv6 clients and a real relay against the server, in network namespaces joined by veth
 * pairs (root only):
 *
 * - `dhclient -6 -S` (stateless) gets the configured DNS servers and domain search list;
 * - `dhclient -6` (IA_NA) and `dhclient -6 -P` (IA_PD) get an Advertise whose IA carries
 *   NoAddrsAvail / NoPrefixAvail when no assignment handler is configured (seen in a capture on
 *   the server side, decoded by `dhcpkit decode --pcap`);
 * - the same through `dhcrelay -6` in a namespace between client and server: the reply goes back
 *   through the relay, with the relay's Interface-ID echoed;
 * - `dhcpcd --inform6` gets the information options.
 *
 * The clients never run their stock hook scripts: they get a script of ours that only records its
 * environment in the test's temporary folder, and keep their lease, PID and DUID files there too.
 * @module
 */

import assert from "node:assert/strict";
import { INFORMATION_CONFIG, serverIdConfig } from "../helpers/server.ts";
import { DHCLIENT, startDhclient } from "./dhclient.ts";
import {
  type Capture,
  directTopology,
  e2eTest,
  relayTopology,
  startCapture,
  type Topology,
  withTopology,
} from "./netns.ts";

const SERVER_ID = serverIdConfig();

/** dhclient configuration asking for the information options. */
const REQUEST_INFORMATION = "request dhcp6.name-servers, dhcp6.domain-search;\n";

/** The server's debug line for an answered Solicit. */
const ADVERTISED = /answering solicit .* with advertise/;

/** Configuration of a server listening on an interface. */
function interfaceConfig(iface: string, workers: number): string {
  return `workers ${workers}\n${SERVER_ID}\n<listen-interface ${iface} />\n\n${INFORMATION_CONFIG}`;
}

/** Start `dhcrelay -6` in the relay namespace, adding an Interface-ID (`-I`). */
async function startRelay(t: Topology, rly: string) {
  const relay = t.spawn(rly, "dhcrelay", [
    "-6",
    "-d",
    "-I",
    "-pf",
    t.path("dhcrelay.pid"),
    "-l",
    "rlo0",
    "-u",
    "2001:db8:1::2%rup0",
  ], "dhcrelay");
  // dhcrelay prints its sockets once it is set up.
  await relay.waitFor(/Sending on\s+Socket\/rup0|Sending on .*rup0/, 15_000);
  return relay;
}

/** The options of a decoded message, by option name. */
type Json = Record<string, unknown>;
const optionsOf = (m: Json) => (m.options ?? []) as Json[];
const option = (m: Json, code: number) => optionsOf(m).find((o) => o.code === code);
const statusIn = (ia: Json | undefined) =>
  (ia ? optionsOf(ia).find((o) => o.code === 13) : undefined) as Json | undefined;

/** Check the information options of a recorded dhclient environment. */
function assertDhclientInformation(env: Record<string, string>) {
  assert.deepEqual(env.new_dhcp6_name_servers?.split(/\s+/), ["2001:db8::53", "2001:db8::153"]);
  assert.deepEqual(env.new_dhcp6_domain_search?.split(/\s+/), ["example.com.", "example.net."]);
  assert.equal(env.new_dhcp6_server_id, "0:3:0:1:2:0:0:0:0:1");
}

for (const io of ["auto", "deno"]) {
  e2eTest(
    `e2e clients: dhclient -6 -S receives DNS servers and domain search list (io-backend ${io})`,
    { root: true, commands: DHCLIENT },
    () =>
      withTopology(async (t) => {
        const { srv, cli } = await directTopology(t);
        const server = await t.startServer({
          namespace: srv,
          config: `io-backend ${io}\n${interfaceConfig("srv0", 1)}`,
        });
        const { dir } = await startDhclient(t, cli, ["-S"], "dhclient", REQUEST_INFORMATION);
        const env = await t.waitRecorded(dir, /^(INFORM6|RENEW6|BOUND6)$/);
        assertDhclientInformation(env);
        // The permissions of the shipped executable make auto mean ffi on Linux.
        const expected = io === "deno" || Deno.build.os !== "linux" ? "deno" : "ffi";
        assert.match(server.log, new RegExp(`UDP I/O backend: ${expected}\\b`));
      }),
  );
}

/** Captured Advertise messages (decoded) sent by the server. */
async function advertisesIn(capture: Capture): Promise<Json[]> {
  await capture.stop();
  const messages = await capture.decode();
  return messages.filter((m) => m.type === "advertise");
}

e2eTest(
  "e2e clients: dhclient -6 and -P get NoAddrsAvail / NoPrefixAvail without assignments",
  { root: true, commands: { ...DHCLIENT, tshark: "tshark" } },
  () =>
    withTopology(async (t) => {
      const { srv, cli, serverLinkLocal } = await directTopology(t);
      const server = await t.startServer({ namespace: srv, config: interfaceConfig("srv0", 0) });
      const capture = await startCapture(t, srv, "srv0");

      const na = await startDhclient(t, cli, [], "dhclient-na", REQUEST_INFORMATION);
      await server.waitFor(ADVERTISED, 20_000);
      await na.client.stop();
      const before = server.countLines(ADVERTISED);
      const pd = await startDhclient(t, cli, ["-P"], "dhclient-pd", REQUEST_INFORMATION);
      await server.waitForCount(ADVERTISED, before + 1, 20_000);
      await pd.client.stop();

      const advertises = await advertisesIn(capture);
      const withNA = advertises.filter((m) => option(m, 3));
      const withPD = advertises.filter((m) => option(m, 25));
      assert.ok(withNA.length > 0, "an Advertise with IA_NA was captured");
      assert.ok(withPD.length > 0, "an Advertise with IA_PD was captured");
      for (const m of advertises) {
        assert.equal(m.src, serverLinkLocal, "sent from the server's link-local address");
        assert.equal(m.sport, 547);
        assert.equal(m.dport, 546);
        assert.ok(option(m, 1), "Client ID");
        assert.ok(option(m, 2), "Server ID");
      }
      for (const m of withNA) {
        const status = statusIn(option(m, 3));
        assert.equal(status?.status_code ?? status?.code_value, 2, JSON.stringify(option(m, 3)));
      }
      for (const m of withPD) {
        const status = statusIn(option(m, 25));
        assert.equal(status?.status_code ?? status?.code_value, 6, JSON.stringify(option(m, 25)));
      }
      // Nothing was ever bound.
      assert.equal((await t.recorded(na.dir, /BOUND6/)).length, 0);
      assert.equal((await t.recorded(pd.dir, /BOUND6/)).length, 0);
    }),
);

e2eTest(
  "e2e clients: through dhcrelay -6, stateless and IA_NA replies go back via the relay",
  { root: true, commands: { ...DHCLIENT, dhcrelay: "isc-dhcp-relay", tshark: "tshark" } },
  () =>
    withTopology(async (t) => {
      const { srv, rly, cli, relayLinkLocal } = await relayTopology(t);
      const server = await t.startServer({
        namespace: srv,
        config:
          `workers 1\n${SERVER_ID}\n<listen-unicast 2001:db8:1::2 />\n\n${INFORMATION_CONFIG}`,
      });
      await startRelay(t, rly);

      // Stateless: the information arrives at the client, so the relay forwarded the reply.
      const stateless = await startDhclient(t, cli, ["-S"], "dhclient-s", REQUEST_INFORMATION);
      assertDhclientInformation(
        await t.waitRecorded(stateless.dir, /^(INFORM6|RENEW6|BOUND6)$/),
      );
      await stateless.client.stop();

      // IA_NA: capture on both sides of the relay.
      const upper = await startCapture(t, srv, "srv0");
      const lower = await startCapture(t, cli, "cli0");
      const na = await startDhclient(t, cli, [], "dhclient-na", REQUEST_INFORMATION);
      await server.waitFor(ADVERTISED, 20_000);
      // Let the relayed reply reach the client.
      await new Promise((r) => setTimeout(r, 1000));
      await na.client.stop();

      await upper.stop();
      const serverSide = await upper.decode();
      const forwards = serverSide.filter((m) => m.type === "relay-forward");
      const replies = serverSide.filter((m) => m.type === "relay-reply");
      assert.ok(forwards.length > 0 && replies.length > 0, "relay-forward and relay-reply seen");
      const reply = replies.find((r) => {
        const inner = (option(r, 9)?.message ?? {}) as Json;
        return inner.type === "advertise";
      });
      assert.ok(reply, "a Relay-reply carrying an Advertise");
      assert.equal(reply.src, "2001:db8:1::2");
      assert.equal(reply.dst, "2001:db8:1::1", "the reply goes to the relay");
      assert.equal(reply.dport, 547, "relays get their replies on port 547");
      const forward = forwards.find((f) => f.link_address === reply.link_address)!;
      assert.equal(reply.link_address, "2001:db8:2::1", "link-address of the relay's lower side");
      assert.equal(reply.peer_address, forward.peer_address, "peer-address mirrored");
      assert.ok(option(forward, 18), "dhcrelay -I adds an Interface-ID");
      assert.deepEqual(option(reply, 18), option(forward, 18), "Interface-ID echoed");
      const advertise = option(reply, 9)!.message as Json;
      assert.equal(statusIn(option(advertise, 3))?.status_code, 2, "IA_NA has NoAddrsAvail");

      await lower.stop();
      const clientSide = (await lower.decode()).filter((m) => m.type === "advertise");
      assert.ok(clientSide.length > 0, "the Advertise reached the client");
      assert.equal(clientSide[0].src, relayLinkLocal, "it came from the relay");
      assert.equal(clientSide[0].dport, 546);
      assert.equal(statusIn(option(clientSide[0], 3))?.status_code, 2);
    }),
);

e2eTest(
  "e2e clients: dhcpcd --inform6 receives its information options",
  { root: true, commands: { dhcpcd: "dhcpcd-base" } },
  () =>
    withTopology(async (t) => {
      const { srv, cli } = await directTopology(t);
      await t.startServer({ namespace: srv, config: interfaceConfig("srv0", 2) });
      const { script, dir } = await t.recorderScript("dhcpcd");
      const conf = t.path("dhcpcd.conf");
      await Deno.writeTextFile(
        conf,
        "noipv6rs\noption dhcp6_name_servers, dhcp6_domain_search\n",
      );
      // dhcpcd keeps its DUID and leases under /var/lib/dhcpcd and its sockets under /run:
      // inside this mount namespace (private to `ip netns exec`) both are fresh tmpfs, so nothing
      // of the host is read or written. Our script replaces the hooks; --noconfigure changes
      // nothing in the namespace either.
      const client = t.spawn(cli, "sh", [
        "-c",
        "mount -t tmpfs tmpfs /var/lib/dhcpcd && mount -t tmpfs tmpfs /run && " +
        `exec dhcpcd -6 --inform6 -B -d -1 -t 20 --noconfigure -f '${conf}' -c '${script}' cli0`,
      ], "dhcpcd");
      const env = await t.waitRecorded(dir, /^INFORM6$/);
      await client.wait(10_000).catch(() => {});
      console.log(
        `dhcpcd recorded: name servers ${env.new_dhcp6_name_servers}, domain search ${env.new_dhcp6_domain_search}`,
      );
      assert.deepEqual(env.new_dhcp6_name_servers?.split(/\s+/), ["2001:db8::53", "2001:db8::153"]);
      assert.deepEqual(env.new_dhcp6_domain_search?.split(/\s+/), ["example.com", "example.net"]);
      assert.equal(env.new_dhcp6_server_id, "00030001020000000001");
      assert.equal(env.protocol, "dhcp6");
    }),
);
