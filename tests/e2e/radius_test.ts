/**
 * RADIUS assignments end to end, with a real FreeRADIUS 3 started by the test in the server's
 * namespace (its own users file, on the namespace's loopback) and a real `dhcpkit serve`:
 *
 * - a relayed Solicit with a Remote-ID gets the address, prefix and DNS servers FreeRADIUS
 *   returns; a line with only a prefix gets NoAddrsAvail for its IA_NA; a rejected line gets
 *   NoAddrsAvail / NoPrefixAvail; a repeat within `cache-ttl` is answered from the cache (the
 *   radius request counter of `ctl stats-json` stays the same); `ctl explain` shows the cached
 *   RADIUS answer and counts nothing;
 * - FreeRADIUS stopped: the request gets no answer, the server stays up (it answers an
 *   Information-Request) and counts `radius_timeouts`; once FreeRADIUS is back, answers resume;
 * - `dhclient -6 -P` through ISC `dhcrelay -6 -I` is delegated the prefix FreeRADIUS has for the
 *   relay's Interface-ID.
 * @module
 */

import assert from "node:assert/strict";
import { sendControlCommand } from "../../cli/ctl.ts";
import { FreeRadius, freeRadiusSkipReason } from "../helpers/freeradius.ts";
import { serverIdConfig } from "../helpers/server.ts";
import {
  addressesIn,
  assertSilence,
  dnsServers,
  iaStatus,
  type Json,
  onlyReply,
  prefixesIn,
  relayed,
  sendCases,
} from "../docs/example_server.ts";
import { LOOKUPS_MISSING } from "../handlers/radius/helpers.ts";
import { DHCLIENT, startDhclient } from "./dhclient.ts";
import {
  e2eTest,
  relayTopology,
  type ServerProcess,
  sleep,
  type Topology,
  withTopology,
} from "./netns.ts";

const NEEDS = { root: true, scapy: true, commands: { freeradius: "freeradius" } };
const SECRET = "e2e-secret";
const PASSWORD = "dhcpkit";
/** Where the scapy "relay" sends from and the server listens (relayTopology's addresses). */
const SERVER = "2001:db8:1::2";
const RELAY = "2001:db8:1::1";

const USERS = `"remote-user" Cleartext-Password := "${PASSWORD}"
    Framed-IPv6-Address = 2001:db8:5::10,
    Delegated-IPv6-Prefix = 2001:db8:500::/56,
    DNS-Server-IPv6-Address = 2001:db8::53,
    DNS-Server-IPv6-Address = 2001:db8::153,
    Framed-IPv6-Prefix = 2001:db8:9::/64

"prefix-only" Cleartext-Password := "${PASSWORD}"
    Delegated-IPv6-Prefix = 2001:db8:600::/56

"rlo0" Cleartext-Password := "${PASSWORD}"
    Delegated-IPv6-Prefix = 2001:db8:700::/56

"rejected-user" Auth-Type := Reject
    Framed-IPv6-Address = 2001:db8:5::66
`;

const FREERADIUS_SKIP = freeRadiusSkipReason() ?? LOOKUPS_MISSING;

/** e2eTest, also skipped (saying why) when FreeRADIUS cannot run. */
function radiusTest(name: string, needs: Parameters<typeof e2eTest>[1], fn: () => Promise<void>) {
  if (FREERADIUS_SKIP) {
    console.log(`note: skipping "${name}": ${FREERADIUS_SKIP}`);
    Deno.test({ name, ignore: true, fn });
    return;
  }
  e2eTest(name, needs, fn);
}

/** The server configuration: a unicast listener for relays and the RADIUS section. */
function serverConfig(radius: FreeRadius, extra: string[] = [], head = "workers 1"): string {
  return [
    head,
    serverIdConfig(),
    `<listen-unicast ${SERVER} />`,
    "",
    "<radius-assignments>",
    `    server ${radius.serverKey}`,
    `    secret ${SECRET}`,
    `    password ${PASSWORD}`,
    "    user-name remote-id",
    "    user-name interface-id",
    "    timeout 0.3",
    "    retries 1",
    "    address-preferred-lifetime 1800",
    "    address-valid-lifetime 3600",
    "    prefix-preferred-lifetime 1800",
    "    prefix-valid-lifetime 3600",
    ...extra.map((k) => `    ${k}`),
    "</radius-assignments>",
    "",
  ].join("\n");
}

/** A relayed Solicit whose relay adds `relay` options (remote_id, interface_id...). */
function solicit(name: string, relay: Json, mac = "02:00:00:00:00:99") {
  return relayed(name, SERVER, "solicit", RELAY, { mac, relay });
}

/** The statistics of the server, as `ctl stats-json` shows them. */
async function statsJson(server: ServerProcess): Promise<Json> {
  const socket = server.configPath + ".sock";
  return JSON.parse((await sendControlCommand(socket, "stats-json")).output[0]);
}

/** The value of an extension counter series (0 when it has none yet). */
function series(stats: Json, family: string, labels: Record<string, string> = {}): number {
  const list = ((stats.extensions as Json | undefined)?.[family] ?? []) as Json[];
  const found = list.find((s) =>
    Object.entries(labels).every(([k, v]) => (s.labels as Json)[k] === v)
  );
  return (found?.value as number | undefined) ?? 0;
}

radiusTest(
  "e2e radius: relayed Solicits get what FreeRADIUS answers; repeats come from the cache",
  NEEDS,
  () =>
    withRadius(async (t, radius, srv, rly) => {
      const server = await t.startServer({
        namespace: srv,
        config: serverConfig(radius, ["cache-ttl 300"]),
      });
      const replies = await sendCases(t, rly, [
        solicit("remote", { remote_id: "remote-user" }),
        solicit("prefix-only", { interface_id: "prefix-only" }, "02:00:00:00:00:98"),
        solicit("rejected", { remote_id: "rejected-user" }, "02:00:00:00:00:97"),
      ]);
      const remote = onlyReply(replies, "remote");
      assert.equal(remote.type, "advertise");
      assert.deepEqual(addressesIn(remote), ["2001:db8:5::10"]);
      assert.deepEqual(prefixesIn(remote), ["2001:db8:500::/56"]);
      assert.deepEqual(dnsServers(remote), ["2001:db8::53", "2001:db8::153"]);

      const prefixOnly = onlyReply(replies, "prefix-only");
      assert.deepEqual(prefixesIn(prefixOnly), ["2001:db8:600::/56"]);
      assert.deepEqual(addressesIn(prefixOnly), []);
      assert.deepEqual(iaStatus(prefixOnly, 3), 2, "NoAddrsAvail in the IA_NA");

      const rejected = onlyReply(replies, "rejected");
      assert.deepEqual(addressesIn(rejected), []);
      assert.deepEqual(prefixesIn(rejected), []);
      assert.deepEqual(iaStatus(rejected, 3), 2, "NoAddrsAvail");
      assert.deepEqual(iaStatus(rejected, 25), 6, "NoPrefixAvail");

      const label = { server: radius.serverKey };
      const before = await statsJson(server);
      assert.equal(series(before, "radius_requests", label), 3);
      assert.equal(series(before, "radius_exchanges", { ...label, result: "accept" }), 2);
      assert.equal(series(before, "radius_exchanges", { ...label, result: "reject" }), 1);

      // The same Solicit again, within cache-ttl: the same answer, no RADIUS request.
      const again = onlyReply(
        await sendCases(t, rly, [solicit("remote-again", { remote_id: "remote-user" })]),
        "remote-again",
      );
      assert.deepEqual(addressesIn(again), ["2001:db8:5::10"]);
      assert.deepEqual(prefixesIn(again), ["2001:db8:500::/56"]);
      const after = await statsJson(server);
      assert.equal(series(after, "radius_requests", label), 3, "no new RADIUS request");
      assert.equal(series(after, "radius_cache_hits"), 1);
      const text = (await sendControlCommand(server.configPath + ".sock", "stats")).output.join(
        "\n",
      );
      assert.match(text, /\nExtensions\n/);
      assert.ok(
        text.includes(`- radius_requests{server="${radius.serverKey}"}: 3`),
        text,
      );

      // ctl explain shows the RADIUS answer the request gets, and counts nothing.
      const explained = JSON.parse(
        (await sendControlCommand(
          server.configPath + ".sock",
          `explain ${
            JSON.stringify({
              duid: "00030001020000000099", // the client of the "remote" Solicit
              remoteId: "9:remote-user",
              linkAddress: "2001:db8:1::1",
            })
          }`,
        )).output.join(""),
      );
      assert.equal(explained.outcome, "reply");
      assert.equal(explained.sources.length, 1);
      assert.equal(explained.sources[0].source, "RADIUS");
      assert.deepEqual(explained.sources[0].asked, ["User-Name remote-user"]);
      assert.match(
        explained.sources[0].result,
        /^cached answer: Access-Accept, address 2001:db8:5::10, prefix 2001:db8:500::\/56/,
      );
      const unchanged = await statsJson(server);
      assert.equal(series(unchanged, "radius_cache_hits"), 1, "explain counts no cache hit");
      assert.equal(series(unchanged, "radius_requests", label), 3);
    }),
);

radiusTest(
  "e2e radius: FreeRADIUS stopped, no answer and the server stays up; answers resume",
  NEEDS,
  () =>
    withRadius(async (t, radius, srv, rly) => {
      const server = await t.startServer({
        namespace: srv,
        // The deno backend's request workers report in their own messages: counted there too.
        config: serverConfig(radius, ["cache-ttl 0"], "workers 2\nio-backend deno"),
      });
      const ask = async (name: string) =>
        await sendCases(t, rly, [{ ...solicit(name, { remote_id: "remote-user" }), timeout: 3 }]);
      assert.deepEqual(addressesIn(onlyReply(await ask("before"), "before")), ["2001:db8:5::10"]);

      await radius.stop();
      assertSilence(await ask("stopped"), "stopped");
      assert.equal(server.status, undefined, "the server is still running");
      const info = await sendCases(t, rly, [
        relayed("information", SERVER, "information-request", RELAY),
      ]);
      assert.equal(
        onlyReply(info, "information").type,
        "reply",
        "and answers what needs no RADIUS",
      );
      const stats = await statsJson(server);
      assert.ok(series(stats, "radius_timeouts") >= 1, JSON.stringify(stats.extensions));
      assert.ok(
        series(stats, "radius_exchanges", { server: radius.serverKey, result: "timeout" }) >= 1,
      );

      await radius.start();
      let resumed: Json | undefined;
      for (let i = 0; i < 5 && !resumed; i++) {
        resumed = (await ask(`after-${i}`)).get(`after-${i}`)?.[0];
        if (!resumed) await sleep(500);
      }
      assert.ok(resumed, "answers resume once FreeRADIUS is back");
      assert.deepEqual(addressesIn(resumed), ["2001:db8:5::10"]);
    }),
);

radiusTest(
  "e2e radius: dhclient -6 -P through dhcrelay -6 -I is delegated the prefix FreeRADIUS has",
  { ...NEEDS, commands: { ...NEEDS.commands, ...DHCLIENT, dhcrelay: "isc-dhcp-relay" } },
  () =>
    withRadius(async (t, radius, srv, rly, cli) => {
      await t.startServer({ namespace: srv, config: serverConfig(radius) });
      // ISC dhcrelay 4.4 -I sends the C int id of the client-facing interface, 4 bytes in host
      // byte order; the id whose bytes spell "rlo0" makes the Interface-ID (and the User-Name)
      // "rlo0".
      const id = new Uint32Array(new TextEncoder().encode("rlo0").buffer)[0];
      const relay = t.spawn(rly, "dhcrelay", [
        "-6",
        "-d",
        "-I",
        "-pf",
        t.path("dhcrelay.pid"),
        "-l",
        `rlo0#${id}`,
        "-u",
        `${SERVER}%rup0`,
      ], "dhcrelay -I");
      await relay.waitFor(/Sending on\s+Socket\/rup0|Sending on .*rup0/, 15_000);
      const client = await startDhclient(t, cli, ["-P"], "dhclient");
      const bound = await t.waitRecorded(client.dir, /^BOUND6$/, 30_000);
      assert.equal(bound.new_ip6_prefix, "2001:db8:700::/56");
      assert.equal(bound.new_max_life, "3600");
    }),
);

/**
 * Run `fn` in a relay topology with FreeRADIUS started in the server namespace; FreeRADIUS is
 * stopped and its folder removed afterwards, also when `fn` fails.
 */
async function withRadius(
  fn: (t: Topology, radius: FreeRadius, srv: string, rly: string, cli: string) => Promise<void>,
): Promise<void> {
  await withTopology(async (t) => {
    const { srv, rly, cli } = await relayTopology(t);
    // On the server namespace's loopback; stopped and removed before the namespace goes.
    await using radius = await FreeRadius.start({ users: USERS, secret: SECRET, namespace: srv });
    try {
      await fn(t, radius, srv, rly, cli);
    } catch (error) {
      console.error(`FreeRADIUS output:\n${radius.output.slice(-4000)}`);
      throw error;
    }
  });
}
