/**
 * Dynamic pools end to end (root only), in namespaces named `dkp...`: two real `dhclient -6 -N -P`
 * clients on two links get distinct addresses and prefixes from the pools and keep them when they
 * renew; `dhclient -r` releases and the leases are free again in the store; a Decline (scapy
 * client) quarantines the address; 300 perfdhcp clients against a pool of 256 addresses get
 * exactly 256 leases, none bound twice.
 *
 * The clients run only a recorder script of ours and keep every file in the test's temporary
 * folder; namespaces and processes are removed by `withTopology`.
 * @module
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { serverIdConfig } from "../helpers/server.ts";
import { DHCLIENT, startDhclient } from "./dhclient.ts";
import { e2eTest, sleep, type Topology, withTopology } from "./netns.ts";
import { perfdhcp300 } from "./perfdhcp.ts";
import { sendCases } from "../docs/example_server.ts";

const SERVER_ID = serverIdConfig();
const PREFIX = "dkp";

/** The server namespace with one link (srvN <-> cli0 of a client namespace) per client. */
async function linksTopology(
  t: Topology,
  clients: number,
): Promise<{ srv: string; cli: string[] }> {
  const srv = await t.namespace("srv");
  const cli: string[] = [];
  for (let i = 0; i < clients; i++) {
    const ns = await t.namespace(`c${i}`);
    await t.link(srv, `srv${i}`, ns, "cli0");
    await t.linkLocal(srv, `srv${i}`);
    await t.linkLocal(ns, "cli0");
    cli.push(ns);
  }
  return { srv, cli };
}

/** Leases in the store as `[type, resource, duid, state]`, assigned first. */
function leases(
  path: string,
): Array<{ type: string; resource: string; duid: string; state: string }> {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return db.prepare("SELECT type, resource, duid, state FROM leases ORDER BY type, resource")
      .all() as Array<{ type: string; resource: string; duid: string; state: string }>;
  } finally {
    db.close();
  }
}

/**
 * dhclient runs its script once per lease: wait for the record of the address and the record of
 * the prefix with a reason matching `reason`.
 */
async function both(
  t: Topology,
  dir: string,
  reason: RegExp,
): Promise<{ address: Record<string, string>; prefix: Record<string, string> }> {
  const deadline = Date.now() + 30_000;
  while (true) {
    const found = await t.recorded(dir, reason);
    const address = found.find((r) => r.new_ip6_address);
    const prefix = found.find((r) => r.new_ip6_prefix);
    if (address && prefix) return { address, prefix };
    if (Date.now() > deadline) throw new Error(`no ${reason} for both leases in ${dir}`);
    await sleep(200);
  }
}

e2eTest(
  "e2e pools: two dhclient -N -P get distinct leases, renew keeps them, dhclient -r frees them",
  { root: true, commands: DHCLIENT },
  () =>
    withTopology(async (t) => {
      const { srv, cli } = await linksTopology(t, 2);
      const store = t.path("leases.sqlite");
      await t.startServer({
        namespace: srv,
        config: `workers 2\n${SERVER_ID}\n<listen-interface srv0 />\n<listen-interface srv1 />\n` +
          `<lease-store-sqlite ${store} />\n` +
          `<address-pool 2001:db8:5::/120>\n    preferred-lifetime 6\n    valid-lifetime 12\n` +
          `</address-pool>\n` +
          `<prefix-pool 2001:db8:500::/48>\n    delegated-length 56\n` +
          `    preferred-lifetime 6\n    valid-lifetime 12\n</prefix-pool>\n`,
      });
      const started = await Promise.all(
        cli.map((ns, i) => startDhclient(t, ns, ["-N", "-P"], `dhclient-${i}`)),
      );
      const bound = await Promise.all(started.map((c) => both(t, c.dir, /BOUND6/)));
      const addresses = bound.map((b) => b.address.new_ip6_address);
      const prefixes = bound.map((b) => b.prefix.new_ip6_prefix);
      for (const a of addresses) assert.match(a, /^2001:db8:5::[0-9a-f]{1,2}$/);
      for (const p of prefixes) {
        assert.match(p, /^2001:db8:500:[0-9a-f]{0,2}00::\/56$|^2001:db8:500::\/56$/);
      }
      assert.notEqual(addresses[0], addresses[1]);
      assert.notEqual(prefixes[0], prefixes[1]);
      assert.equal(bound[0].address.new_preferred_life, "6");
      assert.equal(bound[0].address.new_max_life, "12");
      assert.equal(bound[0].prefix.new_renew, "3");
      assert.equal(bound[0].prefix.new_rebind, "4");
      // Committed before the Reply: the store holds exactly what the clients were given.
      const stored = leases(store);
      assert.deepEqual(
        stored.filter((l) => l.state === "assigned").map((l) => l.resource).sort(),
        [...addresses, ...prefixes].sort(),
      );

      // T1 is 3 s: the clients renew and keep what they have.
      const renewed = await both(t, started[0].dir, /RENEW6/);
      assert.equal(renewed.address.new_ip6_address, addresses[0]);
      assert.equal(renewed.prefix.new_ip6_prefix, prefixes[0]);

      // dhclient -r releases (the running client is stopped first; -r reads its lease file).
      await started[0].client.stop();
      await t.exec(cli[0], "dhclient", [
        "-6",
        "-N",
        "-P",
        "-r",
        "-v",
        "-cf",
        t.path("dhclient-0.conf"),
        "-sf",
        (await t.recorderScript("dhclient-0-release")).script,
        "-lf",
        t.path("dhclient-0.leases"),
        "-pf",
        t.path("dhclient-0.pid"),
        "cli0",
      ]);
      let after = leases(store);
      for (let i = 0; i < 50 && after.filter((l) => l.state === "released").length < 2; i++) {
        await sleep(100);
        after = leases(store);
      }
      const mine = after.filter((l) => l.resource === addresses[0] || l.resource === prefixes[0]);
      assert.deepEqual(mine.map((l) => l.state), ["released", "released"]);
      // The other client's leases are untouched.
      const theirs = after.filter((l) => l.resource === addresses[1] || l.resource === prefixes[1]);
      assert.deepEqual(theirs.map((l) => l.state), ["assigned", "assigned"]);
      await started[1].client.stop();
    }, PREFIX),
);

e2eTest(
  "e2e pools: a Decline quarantines the address; nobody gets it during the probation",
  { root: true, scapy: true },
  () =>
    withTopology(async (t) => {
      const { srv, cli } = await linksTopology(t, 1);
      const store = t.path("leases.sqlite");
      await t.startServer({
        namespace: srv,
        config: `${SERVER_ID}\n<listen-interface srv0 />\n<lease-store-sqlite ${store} />\n` +
          `<address-pool 2001:db8:6::/126>\n    decline-probation 1h\n</address-pool>\n`,
      });
      const serverDuid = "00030001020000000001";
      const msg = (type: string, duid: string, addresses: string[] = []) => ({
        type,
        xid: Math.floor(Math.random() * 0xffffff),
        client_duid: duid,
        server_duid: type === "solicit" ? undefined : serverDuid,
        ia_na: [{ iaid: 1, addresses }],
      });
      const send = async (name: string, message: Record<string, unknown>) =>
        (await sendCases(t, cli[0], [{ name, dst: "ff02::1:2", iface: "cli0", message }]))
          .get(name)!;
      const addressOf = (reply: Record<string, unknown>[]) =>
        JSON.stringify(reply).match(/2001:db8:6::[0-3]?/)?.[0];

      const first = await send("request", msg("request", "00030001020000000a01"));
      const taken = addressOf(first);
      assert.ok(taken, JSON.stringify(first));
      const declined = await send(
        "decline",
        msg("decline", "00030001020000000a01", [taken]),
      );
      assert.match(JSON.stringify(declined), /"Success"|"status-code":0|Our apologies/);
      const row = leases(store).find((l) => l.resource === taken)!;
      assert.equal(row.state, "declined");
      // Another client naming the declined address gets a different one.
      const other = await send("other", msg("request", "00030001020000000a02", [taken]));
      const got = addressOf(other);
      assert.ok(got);
      assert.notEqual(got, taken);
    }, PREFIX),
);

e2eTest(
  "e2e pools: 300 perfdhcp clients, a pool of 256: exactly 256 leases, none bound twice",
  { root: true, commands: { perfdhcp: "kea-admin" } },
  () =>
    withTopology(async (t) => {
      const { srv, cli } = await linksTopology(t, 1);
      const store = t.path("leases.sqlite");
      const server = await t.startServer({
        namespace: srv,
        verbosity: 2,
        config: `workers 2\n${SERVER_ID}\n<listen-interface srv0 />\n` +
          `<lease-store-sqlite ${store} />\n<address-pool 2001:db8:7::100/120 />\n`,
      });
      // perfdhcp again while clients are left without a lease (a loaded test machine drops some
      // exchanges): in the end the pool is used up exactly.
      let r = { stdout: "", stderr: "" };
      for (let run = 0; run < 3; run++) {
        r = await perfdhcp300(t, cli[0]);
        assert.ok(!/^ERROR/m.test(r.stdout + r.stderr), r.stdout + r.stderr);
        if (leases(store).filter((l) => l.state === "assigned").length >= 256) break;
      }
      const rows = leases(store);
      const assigned = rows.filter((l) => l.state === "assigned");
      assert.equal(assigned.length, 256, r.stdout);
      assert.equal(new Set(assigned.map((l) => l.resource)).size, 256);
      assert.equal(new Set(assigned.map((l) => l.duid)).size, 256);
      assert.ok(server.status === undefined, "the server is still running");
    }, PREFIX),
);
