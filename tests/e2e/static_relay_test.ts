/**
 * Static assignments end to end, by DUID and by the ids a relay adds (root only; issue 5):
 *
 * - `dhclient -6 -N -P` (IA_NA and IA_PD together, DUID-LL) gets exactly the address and prefix
 *   the `<static-csv>` row of its DUID assigns; after the row's prefix is changed and the server
 *   reloaded (SIGHUP), the client's own Renew is answered with the old prefix at lifetimes 0 and
 *   the new prefix with the configured lifetimes (seen in a capture decoded by
 *   `dhcpkit decode --pcap`, and in what dhclient reports);
 * - through `dhcrelay -6 -I` (a relay namespace between client and server, relaying to the
 *   server's `listen-unicast` address) the assignment keyed by the relay's Interface-ID is given
 *   to the client. ISC dhcrelay 4.4 does not put the interface name there but the C `int` id of
 *   its client-facing interface (`-l rlo0#ID`), 4 bytes in host byte order: so first
 *   `interface-id:HEX` of `#42`, then an id whose bytes spell "rlo0", matched by
 *   `interface-id-str:rlo0`;
 * - through `dhcrelay -6 -s SUBSCRIBER` the assignment keyed by `subscriber-id-str:SUBSCRIBER`;
 * - ISC dhcrelay -6 cannot add a Remote-ID (RFC 4649): its only relay options are `-I`
 *   (Interface-ID) and `-s` (Subscriber-ID). So the Remote-ID test runs a small relay of ours,
 *   `scapy_relay.py` (scapy, /usr/bin/python3), in the relay namespace: it relays the real
 *   dhclient's messages with a Remote-ID, and the client gets the assignment keyed by
 *   `remote-id:EN:HEX`.
 *
 * The clients run only a recorder script of ours and keep their lease, PID and configuration
 * files in the test's temporary folder; namespaces and processes are removed by `withTopology`.
 * @module
 */

import assert from "node:assert/strict";
import { serverIdConfig } from "../helpers/server.ts";
import { DHCLIENT, startDhclient } from "./dhclient.ts";
import {
  type Capture,
  directTopology,
  e2eTest,
  PYTHON,
  relayTopology,
  startCapture,
  type Topology,
  withTopology,
} from "./netns.ts";

const SERVER_ID = serverIdConfig();
const RELAY_SCRIPT = new URL("./scapy_relay.py", import.meta.url).pathname;

/** Lifetimes of every test server's static section, in seconds. */
const ADDRESS_PREFERRED = 3600;
const ADDRESS_VALID = 7200;
const PREFIX_PREFERRED = 10800;
const PREFIX_VALID = 14400;

/** A `<static-csv FILE>` section with the lifetimes above. */
function staticSection(csv: string, lifetimes = {
  addressPreferred: ADDRESS_PREFERRED,
  addressValid: ADDRESS_VALID,
  prefixPreferred: PREFIX_PREFERRED,
  prefixValid: PREFIX_VALID,
}): string {
  return `<static-csv ${csv}>\n` +
    `    address-preferred-lifetime ${lifetimes.addressPreferred}s\n` +
    `    address-valid-lifetime ${lifetimes.addressValid}s\n` +
    `    prefix-preferred-lifetime ${lifetimes.prefixPreferred}s\n` +
    `    prefix-valid-lifetime ${lifetimes.prefixValid}s\n` +
    `</static-csv>\n`;
}

/** A CSV file body (CRLF line ends, as the RFC 4180 dialect has them). */
function csvOf(rows: string[][]): string {
  return [["id", "address", "prefix", "comment"], ...rows].map((r) => r.join(",")).join("\r\n") +
    "\r\n";
}

type Json = Record<string, unknown>;
const optionsOf = (m: Json) => (m.options ?? []) as Json[];
const option = (m: Json, code: number) => optionsOf(m).find((o) => o.code === code);
const hex = (s: string) =>
  Array.from(new TextEncoder().encode(s), (b) => b.toString(16).padStart(2, "0")).join("");

/** The (address or prefix, preferred, valid) triples inside the IAs of type `code` of `m`. */
function leasesIn(m: Json, code: 3 | 25): [string, number, number][] {
  const out: [string, number, number][] = [];
  for (const ia of optionsOf(m).filter((o) => o.code === code)) {
    for (const o of optionsOf(ia)) {
      if (o.code === 5) {
        out.push([o.address as string, o.preferred_lifetime as number, o.valid_lifetime as number]);
      } else if (o.code === 26) {
        out.push([
          `${o.prefix}/${o.prefix_length}`,
          o.preferred_lifetime as number,
          o.valid_lifetime as number,
        ]);
      }
    }
  }
  return out.sort((a, b) => a[0].localeCompare(b[0]));
}

/** What dhclient reported: (address or prefix, preferred, valid lifetime) of each script run. */
interface Reported {
  addresses: string[][];
  prefixes: string[][];
}

/** Everything dhclient reported to the recorder script for a reason (BOUND6, RENEW6). */
async function reported(t: Topology, dir: string, reason: RegExp): Promise<Reported> {
  const found: Reported = { addresses: [], prefixes: [] };
  for (const env of await t.recorded(dir, reason)) {
    const lifetimes = [env.new_preferred_life, env.new_max_life];
    if (env.new_ip6_address) found.addresses.push([env.new_ip6_address, ...lifetimes]);
    if (env.new_ip6_prefix) found.prefixes.push([env.new_ip6_prefix, ...lifetimes]);
  }
  const order = (a: string[], b: string[]) => a.join().localeCompare(b.join());
  found.addresses.sort(order);
  found.prefixes.sort(order);
  return found;
}

/**
 * Wait until dhclient reported at least `addresses` addresses and `prefixes` prefixes for
 * `reason` (its script runs once per address or prefix).
 */
async function waitReported(
  t: Topology,
  dir: string,
  reason: RegExp,
  counts = { addresses: 1, prefixes: 1 },
  timeoutMs = 30_000,
): Promise<Reported> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const found = await reported(t, dir, reason);
    if (
      found.addresses.length >= counts.addresses && found.prefixes.length >= counts.prefixes
    ) {
      // The script runs of one event come in quick succession: give the rest a moment.
      await new Promise((r) => setTimeout(r, 500));
      return await reported(t, dir, reason);
    }
    if (Date.now() > deadline) {
      throw new Error(`dhclient did not report enough for ${reason}: ${JSON.stringify(found)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Stop a capture and return its decoded DHCPv6 messages. */
async function captured(capture: Capture): Promise<Json[]> {
  await capture.stop();
  return await capture.decode();
}

/** A server in `srv` answering relays on its `listen-unicast` address 2001:db8:1::2. */
function relayedServerConfig(csv: string): string {
  return `workers 1\n${SERVER_ID}\n<listen-unicast 2001:db8:1::2 />\n\n${staticSection(csv)}`;
}

/**
 * Start ISC `dhcrelay -6` in the relay namespace with extra flags (`-I`, `-s ID`), relaying
 * from `lower` (`rlo0`, or `rlo0#ID` to set the id `-I` sends).
 */
async function startDhcrelay(t: Topology, rly: string, flags: string[], lower = "rlo0") {
  const relay = t.spawn(rly, "dhcrelay", [
    "-6",
    "-d",
    ...flags,
    "-pf",
    t.path("dhcrelay.pid"),
    "-l",
    lower,
    "-u",
    "2001:db8:1::2%rup0",
  ], `dhcrelay ${flags.join(" ")}`);
  await relay.waitFor(/Sending on\s+Socket\/rup0|Sending on .*rup0/, 15_000);
  return relay;
}

/**
 * Through a relay: `dhclient -6 -N -P` is bound to `address` and `prefix` with the configured
 * lifetimes, and the server side of the capture shows the Relay-forward carrying `relayOption`
 * (checked by `checkOption`) and the Relay-reply carrying the same address and prefix.
 */
async function assertRelayedAssignment(
  t: Topology,
  srv: string,
  cli: string,
  expected: { address: string; prefix: string },
  relayOption: number,
  checkOption: (o: Json) => void,
  name = "dhclient",
) {
  const upper = await startCapture(t, srv, "srv0");
  const client = await startDhclient(t, cli, ["-N", "-P"], name);
  const bound = await waitReported(t, client.dir, /^BOUND6$/);
  await client.client.stop();
  assert.deepEqual(bound, {
    addresses: [[expected.address, String(ADDRESS_PREFERRED), String(ADDRESS_VALID)]],
    prefixes: [[expected.prefix, String(PREFIX_PREFERRED), String(PREFIX_VALID)]],
  }, "dhclient is bound to the assigned address and prefix");

  const messages = await captured(upper);
  const forwards = messages.filter((m) => m.type === "relay-forward");
  assert.ok(forwards.length > 0, "Relay-forward messages reached the server");
  for (const f of forwards) {
    const o = option(f, relayOption);
    assert.ok(o, `the relay added option ${relayOption}: ${JSON.stringify(f)}`);
    checkOption(o);
  }
  const reply = messages.find((m) =>
    m.type === "relay-reply" && (option(m, 9)?.message as Json)?.type === "reply"
  );
  assert.ok(reply, "a Relay-reply carrying a Reply");
  assert.equal(reply.dst, "2001:db8:1::1", "sent back to the relay");
  const inner = option(reply, 9)!.message as Json;
  assert.deepEqual(leasesIn(inner, 3), [[expected.address, ADDRESS_PREFERRED, ADDRESS_VALID]]);
  assert.deepEqual(leasesIn(inner, 25), [[expected.prefix, PREFIX_PREFERRED, PREFIX_VALID]]);
}

e2eTest(
  "e2e static relay: dhclient -N -P gets its DUID's address and prefix; Renew after a reload " +
    "withdraws the old prefix and gives the new one",
  { root: true, commands: { ...DHCLIENT, tshark: "tshark" } },
  () =>
    withTopology(async (t) => {
      const { srv, cli } = await directTopology(t);
      // `-D LL`: dhclient's DUID is DUID-LL (type 3, hardware type 1) of cli0's MAC address.
      const mac = (await t.exec(cli, "cat", ["/sys/class/net/cli0/address"])).stdout.trim();
      const duid = "00030001" + mac.replaceAll(":", "");
      const csv = t.path("assignments.csv");
      const row = (prefix: string) => [
        `duid:${duid}`,
        "2001:db8:5::42",
        prefix,
        "the test client",
      ];
      const others = [
        ["duid:000300010200000000ff", "2001:db8:5::43", "2001:db8:5ff::/56", "another client"],
        ["interface-id-str:srv0", "2001:db8:5::44", "2001:db8:544::/56", "the DUID comes first"],
      ];
      await Deno.writeTextFile(csv, csvOf([row("2001:db8:500::/56"), ...others]));
      // Short lifetimes so that dhclient renews after a few seconds: when the server leaves T1
      // at 0, dhclient 4.4 renews after half the shortest valid lifetime (here 12 s).
      const lifetimes = {
        addressPreferred: 16,
        addressValid: 24,
        prefixPreferred: 20,
        prefixValid: 30,
      };
      const server = await t.startServer({
        namespace: srv,
        config: `workers 1\n${SERVER_ID}\n<listen-interface srv0 />\n\n` +
          staticSection(csv, lifetimes),
      });
      const capture = await startCapture(t, srv, "srv0");
      const client = await startDhclient(t, cli, ["-N", "-P", "-D", "LL"], "dhclient");
      const bound = await waitReported(t, client.dir, /^BOUND6$/);
      assert.deepEqual(bound, {
        addresses: [["2001:db8:5::42", "16", "24"]],
        prefixes: [["2001:db8:500::/56", "20", "30"]],
      }, "dhclient is bound to the assigned address and prefix");

      // New prefix for this client; reload before dhclient's first Renew.
      await Deno.writeTextFile(csv, csvOf([row("2001:db8:600::/56"), ...others]));
      await t.exec(srv, "kill", ["-HUP", String(server.pid)]);
      await server.waitFor(/Configuration reloaded/, 10_000);
      const renewed = await waitReported(t, client.dir, /^RENEW6$/, {
        addresses: 1,
        prefixes: 2,
      });
      await client.client.stop();
      assert.deepEqual(renewed, {
        addresses: [["2001:db8:5::42", "16", "24"]],
        prefixes: [["2001:db8:500::/56", "0", "0"], ["2001:db8:600::/56", "20", "30"]],
      }, "dhclient saw the old prefix withdrawn and the new one delegated");

      const messages = await captured(capture);
      const clientIds = new Set(
        messages.filter((m) => m.type === "solicit" || m.type === "renew").map((m) =>
          (option(m, 1)?.duid as Json)?.hex
        ),
      );
      assert.deepEqual([...clientIds], [duid], "the client used the DUID-LL computed above");
      const renews = messages.filter((m) => m.type === "renew");
      assert.ok(renews.length > 0, "dhclient sent a Renew");
      const renew = renews[0];
      assert.deepEqual(leasesIn(renew, 25).map((l) => l[0]), ["2001:db8:500::/56"]);
      const reply = messages.find((m) =>
        m.type === "reply" && m.transaction_id === renew.transaction_id
      );
      assert.ok(reply, "the Renew was answered");
      assert.equal(option(reply, 13), undefined, "no message-level status");
      assert.deepEqual(leasesIn(reply, 25), [
        ["2001:db8:500::/56", 0, 0],
        ["2001:db8:600::/56", 20, 30],
      ], "old prefix withdrawn, new prefix given");
      assert.deepEqual(leasesIn(reply, 3), [["2001:db8:5::42", 16, 24]], "address renewed");
      assert.equal(optionsOf(reply).filter((o) => o.code === 25).length, 1, "in the one IA_PD");
    }),
);

e2eTest(
  "e2e static relay: through dhcrelay -6 -I, the assignment of the relay's Interface-ID",
  { root: true, commands: { ...DHCLIENT, dhcrelay: "isc-dhcp-relay", tshark: "tshark" } },
  () =>
    withTopology(async (t) => {
      const { srv, rly, cli } = await relayTopology(t);
      // ISC dhcrelay 4.4 -I does not send the interface name: its Interface-ID is the C `int`
      // id of the client-facing interface (set with `-l rlo0#ID`), 4 bytes in host byte order.
      const asHex = (bytes: Uint8Array) =>
        Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
      const numeric = 42;
      const numericHex = asHex(new Uint8Array(new Uint32Array([numeric]).buffer));
      // The id whose 4 bytes in host order spell "rlo0": then dhcrelay sends the interface
      // name after all, and `interface-id-str:rlo0` matches.
      const named = new Uint32Array(new TextEncoder().encode("rlo0").buffer)[0];
      const csv = t.path("assignments.csv");
      await Deno.writeTextFile(
        csv,
        csvOf([
          [`interface-id:${numericHex}`, "2001:db8:2::42", "2001:db8:700::/56", "rlo0#42"],
          ["interface-id-str:rlo0", "2001:db8:2::43", "2001:db8:701::/56", "rlo0 by name"],
          ["interface-id-str:srv0", "2001:db8:2::44", "2001:db8:702::/56", "not the server's"],
        ]),
      );
      await t.startServer({ namespace: srv, config: relayedServerConfig(csv) });

      let relay = await startDhcrelay(t, rly, ["-I"], `rlo0#${numeric}`);
      await assertRelayedAssignment(
        t,
        srv,
        cli,
        { address: "2001:db8:2::42", prefix: "2001:db8:700::/56" },
        18,
        (o) => assert.equal(o.data, numericHex, `Interface-ID: ${JSON.stringify(o)}`),
        "dhclient-numeric",
      );
      await relay.stop();

      relay = await startDhcrelay(t, rly, ["-I"], `rlo0#${named}`);
      await assertRelayedAssignment(
        t,
        srv,
        cli,
        { address: "2001:db8:2::43", prefix: "2001:db8:701::/56" },
        18,
        (o) => assert.equal(o.data, hex("rlo0"), `Interface-ID: ${JSON.stringify(o)}`),
        "dhclient-named",
      );
    }),
);

e2eTest(
  "e2e static relay: through dhcrelay -6 -s, the assignment of subscriber-id-str:",
  { root: true, commands: { ...DHCLIENT, dhcrelay: "isc-dhcp-relay", tshark: "tshark" } },
  () =>
    withTopology(async (t) => {
      const { srv, rly, cli } = await relayTopology(t);
      const csv = t.path("assignments.csv");
      await Deno.writeTextFile(
        csv,
        csvOf([
          ["subscriber-id-str:SUBSCRIBER-42", "2001:db8:2::52", "2001:db8:720::/56", "ours"],
          ["subscriber-id-str:SUBSCRIBER-43", "2001:db8:2::53", "2001:db8:721::/56", "other"],
        ]),
      );
      await t.startServer({ namespace: srv, config: relayedServerConfig(csv) });
      // No -I: the Subscriber-ID is the only relay id the server sees.
      await startDhcrelay(t, rly, ["-s", "SUBSCRIBER-42"]);
      await assertRelayedAssignment(
        t,
        srv,
        cli,
        { address: "2001:db8:2::52", prefix: "2001:db8:720::/56" },
        38,
        (o) => assert.equal(o.data, hex("SUBSCRIBER-42"), `Subscriber-ID: ${JSON.stringify(o)}`),
      );
    }),
);

e2eTest(
  "e2e static relay: through a relay adding a Remote-ID (scapy), the assignment of remote-id:",
  { root: true, commands: { ...DHCLIENT, tshark: "tshark" }, scapy: true },
  () =>
    withTopology(async (t) => {
      const { srv, rly, cli } = await relayTopology(t);
      const csv = t.path("assignments.csv");
      const enterprise = 32473; // RFC 5612 documentation enterprise number
      const remoteId = "0a1b2c3d4e5f";
      await Deno.writeTextFile(
        csv,
        csvOf([
          [`remote-id:${enterprise}:${remoteId}`, "2001:db8:2::62", "2001:db8:740::/56", "ours"],
          [`remote-id:9:${remoteId}`, "2001:db8:2::63", "2001:db8:741::/56", "other EN"],
          [`remote-id:${enterprise}:0a1b2c3d4e60`, "2001:db8:2::64", "2001:db8:742::/56", "other"],
        ]),
      );
      await t.startServer({ namespace: srv, config: relayedServerConfig(csv) });
      // ISC dhcrelay -6 cannot add a Remote-ID (its relay options are only -I and -s), so a
      // small scapy relay of ours relays dhclient's real messages with one.
      const relay = t.spawn(rly, PYTHON, [
        RELAY_SCRIPT,
        "rlo0",
        "2001:db8:2::1",
        "2001:db8:1::2",
        String(enterprise),
        remoteId,
      ], "scapy_relay.py");
      await relay.waitFor(/^ready$/m, 15_000);
      await assertRelayedAssignment(
        t,
        srv,
        cli,
        { address: "2001:db8:2::62", prefix: "2001:db8:740::/56" },
        37,
        (o) => {
          assert.equal(o.enterprise_number, enterprise, `Remote-ID: ${JSON.stringify(o)}`);
          assert.equal(o.remote_id, remoteId, `Remote-ID: ${JSON.stringify(o)}`);
        },
      );
      assert.match(relay.output, /reply type 7 to fe80::/, "the relay passed the Reply back");
    }),
);
