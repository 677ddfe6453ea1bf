/**
 * Two dhcpkit servers share their pools through one PostgreSQL database (root only; namespaces
 * `dkp...`; a cluster of the test's own, reached over its unix socket): each server has a link
 * with perfdhcp on it, and both perfdhcp runs use the same 300 client DUIDs at the same time
 * (overlapping clients, a pool of 256 addresses and 256 prefixes). SQL then finds no address or
 * prefix bound twice, no client holding two of one pool, and both servers wrote leases.
 * @module
 */

import assert from "node:assert/strict";
import { serverIdConfig } from "../helpers/server.ts";
import { PostgresCluster, postgresUnavailable } from "../helpers/postgres.ts";
import { missing, REPO_ROOT, run, type Topology, withTopology } from "./netns.ts";
import { perfdhcp300 } from "./perfdhcp.ts";

const NEEDS = { root: true, commands: { perfdhcp: "kea-admin" } };

function config(store: string, mac: string, iface: string): string {
  return `workers 2\nlookup-timeout 5\n${serverIdConfig(mac)}\n<listen-interface ${iface} />\n` +
    `${store}<address-pool 2001:db8:7::100/120 />\n` +
    `<prefix-pool 2001:db8:700::/48>\n    delegated-length 56\n</prefix-pool>\n`;
}

async function side(t: Topology, name: string): Promise<{ srv: string; cli: string }> {
  const srv = await t.namespace(`s${name}`);
  const cli = await t.namespace(`c${name}`);
  await t.link(srv, `srv${name}`, cli, "cli0");
  await t.linkLocal(srv, `srv${name}`);
  await t.linkLocal(cli, "cli0");
  return { srv, cli };
}

const reason = missing(NEEDS) ?? postgresUnavailable();
if (reason) console.log(`note: skipping the pools on PostgreSQL e2e test: ${reason}`);

Deno.test({
  name: "e2e pools: two servers, one PostgreSQL, overlapping perfdhcp clients: nothing bound twice",
  ignore: reason !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const pg = await PostgresCluster.start();
    try {
      const passwordFile = await pg.createRole("dhcpkit", "shared pools");
      await pg.createDatabase("dhcp");
      await pg.sql("ALTER DATABASE dhcp OWNER TO dhcpkit");
      const store = `<lease-store-postgresql ${pg.url("dhcpkit", "dhcp")}>\n` +
        `    password-file ${passwordFile}\n</lease-store-postgresql>\n`;
      await withTopology(async (t) => {
        const a = await side(t, "a");
        const b = await side(t, "b");
        const serverA = await t.startServer({
          namespace: a.srv,
          verbosity: 2,
          config: config(store, "02:00:00:00:0a:01", "srva"),
        });
        const serverB = await t.startServer({
          namespace: b.srv,
          verbosity: 2,
          config: config(store, "02:00:00:00:0b:01", "srvb"),
        });
        const runs = await Promise.all([perfdhcp300(t, a.cli, true), perfdhcp300(t, b.cli, true)]);
        for (const r of runs) assert.ok(!/^ERROR/m.test(r.stdout + r.stderr), r.stdout + r.stderr);
        const sql = (q: string) => pg.sql(q, "dhcp");
        // No address or prefix is bound to two clients, and no slot twice.
        assert.equal(
          await sql(
            "SELECT count(*) FROM (SELECT type, resource FROM pool_leases " +
              "GROUP BY type, resource HAVING count(DISTINCT duid) > 1 OR count(*) > 1) d",
          ),
          "0",
        );
        // No client's IA holds two slots of one pool: a client both servers commit at once
        // gets one (before, the pools ran short by the second slots).
        assert.equal(
          await sql(
            "SELECT count(*) FROM (SELECT pool, duid, iaid FROM pool_leases " +
              "WHERE state = 'assigned' GROUP BY pool, duid, iaid HAVING count(*) > 1) d",
          ),
          "0",
        );
        const assigned = Number(
          await sql("SELECT count(*) FROM pool_leases WHERE type = 'na' AND state = 'assigned'"),
        );
        const prefixes = Number(
          await sql("SELECT count(*) FROM pool_leases WHERE type = 'pd' AND state = 'assigned'"),
        );
        // 300 clients want an address and a prefix each from 256 of each: the pools run out (or
        // nearly, when the loaded test machine drops some exchanges), never over.
        assert.ok(assigned <= 256 && assigned >= 200, `${assigned} addresses\n${runs[0].stdout}`);
        assert.ok(prefixes <= 256 && prefixes >= 200, `${prefixes} prefixes\n${runs[0].stdout}`);
        // Both servers bound leases: each one's statistics count commits in the shared pool.
        for (const server of [serverA, serverB]) {
          assert.ok(server.status === undefined, "the server is still running");
          const out = await run(Deno.execPath(), [
            "run",
            "-A",
            "cli/main.ts",
            "ctl",
            "-c",
            `${server.configPath}.sock`,
            "stats-json",
          ], { cwd: REPO_ROOT });
          const events = JSON.parse(out.stdout).extensions.pool_lease_events as Array<
            { labels: { pool: string; event: string }; value: number }
          >;
          const committed = events.find((e) =>
            e.labels.pool === "na 2001:db8:7::100/120" && e.labels.event === "committed"
          );
          assert.ok(committed && committed.value > 0, out.stdout);
        }
      }, "dkp");
    } finally {
      await pg.destroy();
    }
  },
});
