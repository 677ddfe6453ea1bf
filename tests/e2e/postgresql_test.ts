/**
 * Two dhcpkit servers sharing one PostgreSQL database, end to end (root only): server A on link a
 * and server B on link b, both with `<static-postgresql>` and `<lq-postgresql>` on a cluster of
 * the test's own (unix socket in its temporary folder, no TCP).
 *
 * - `dhclient -6 -N -P` on each link gets the address and prefix of its row;
 * - `dhcpkit leasequery` on server A finds the client server B served, over UDP and by bulk
 *   leasequery over TCP;
 * - a row changed with psql is used by the next Solicit;
 * - PostgreSQL stopped for 10 s while requests keep coming: no wrong answer (never one without
 *   the client's address), the server stays up and counts the failed lookups, and answers resume
 *   once PostgreSQL is back.
 * @module
 */

import assert from "node:assert/strict";
import { serverIdConfig } from "../helpers/server.ts";
import { PostgresCluster, postgresUnavailable } from "../helpers/postgres.ts";
import { DHCLIENT, startDhclient } from "./dhclient.ts";
import { missing, sleep, type Topology, withTopology } from "./netns.ts";

const A = { name: "a", iface: "srva", server: "2001:db8:a::2", address: "2001:db8:a::100" };
const B = { name: "b", iface: "srvb", server: "2001:db8:b::2", address: "2001:db8:b::100" };
const PREFIX = { a: "2001:db8:a100::/56", b: "2001:db8:b100::/56" };
/** The DUID `dhcpkit query` sends as during the outage, and its row's address. */
const QUERY_DUID = "00030001020000000a01";
const QUERY_ADDRESS = "2001:db8:a::201";

const ROWS = [
  "id,address,prefix",
  `interface-id-str:${A.iface},${A.address},${PREFIX.a}`,
  `interface-id-str:${B.iface},${B.address},${PREFIX.b}`,
  `duid:${QUERY_DUID},${QUERY_ADDRESS},`,
].join("\n") + "\n";

type Json = Record<string, unknown>;
const optionsOf = (m: Json) => (m.options ?? []) as Json[];

/** The server's configuration: its link, the shared table and the shared lease store. */
function config(side: typeof A, url: string, passwordFile: string, mac: string): string {
  return `workers 2

${serverIdConfig(mac)}
<listen-interface ${side.iface} />
<listen-unicast ${side.server} />
<listen-tcp ${side.server}>
    allow-from ${side.server}
</listen-tcp>

<static-postgresql ${url}>
    password-file ${passwordFile}
    outage-cache-time 0
</static-postgresql>

<leasequery>
    allow-from ${side.server}
    <lq-postgresql ${url}>
        password-file ${passwordFile}
    </lq-postgresql>
</leasequery>
`;
}

/** A server namespace and a client namespace joined by one link (`iface` <-> cli0). */
async function link(t: Topology, side: typeof A): Promise<{ srv: string; cli: string }> {
  const srv = await t.namespace(`s${side.name}`);
  const cli = await t.namespace(`c${side.name}`);
  await t.link(srv, side.iface, cli, "cli0");
  await t.address(srv, side.iface, `${side.server}/64`);
  await t.linkLocal(srv, side.iface);
  await t.linkLocal(cli, "cli0");
  await t.settled(srv, side.iface);
  return { srv, cli };
}

/** `dhcpkit CMD ARGS` in namespace `ns`. */
function dhcpkit(t: Topology, ns: string, args: string[]) {
  return t.exec(ns, Deno.execPath(), ["run", "--unstable-net", "-A", "cli/main.ts", ...args], {
    check: false,
  });
}

/** The JSON lines `dhcpkit leasequery` printed, asking server `side` from its namespace. */
async function leasequery(t: Topology, ns: string, side: typeof A, args: string[]) {
  const r = await dhcpkit(t, ns, ["leasequery", "--server", side.server, ...args]);
  return {
    code: r.code,
    stderr: r.stderr,
    messages: r.stdout.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as Json),
  };
}

/** The addresses and prefixes in the Client Data options of leasequery answers. */
function leasesIn(messages: Json[]): string[] {
  const out: string[] = [];
  for (const m of messages) {
    for (const data of optionsOf(m).filter((o) => o.code === 45)) {
      for (const o of optionsOf(data)) {
        if (o.code === 5) out.push(String(o.address));
        if (o.code === 26) out.push(`${o.prefix}/${o.prefix_length}`);
      }
    }
  }
  return out.sort();
}

/** Ask until `check` holds (the lease writer works on its own), at most 10 s. */
async function eventually<T>(ask: () => Promise<T>, check: (value: T) => boolean): Promise<T> {
  let value = await ask();
  for (let i = 0; i < 20 && !check(value); i++) {
    await sleep(500);
    value = await ask();
  }
  return value;
}

/**
 * The address and prefix dhclient reported BOUND6 for (its script runs once for each), waiting
 * at most 30 s for both.
 */
async function bound(t: Topology, dir: string): Promise<string[]> {
  let found: string[] = [];
  for (let i = 0; i < 150 && found.length < 2; i++) {
    found = (await t.recorded(dir, /^BOUND6$/)).flatMap((env) =>
      [env.new_ip6_address, env.new_ip6_prefix].filter((x) => x)
    );
    if (found.length < 2) await sleep(200);
  }
  return found.sort();
}

const NEEDS = { root: true, commands: DHCLIENT };
const reason = postgresUnavailable() ?? missing(NEEDS);
const NAME = "e2e postgresql: two servers, one database: assignments, shared leasequery, outage";
if (reason) console.log(`note: skipping "${NAME}": ${reason}`);

Deno.test({
  name: NAME,
  ignore: reason !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const pg = await PostgresCluster.start();
    try {
      const passwordFile = await pg.createRole("dhcpkit", "two servers");
      await pg.createDatabase("dhcp");
      await pg.sql("ALTER DATABASE dhcp OWNER TO dhcpkit");
      const url = pg.url("dhcpkit", "dhcp");
      await withTopology(async (t) => {
        const a = await link(t, A);
        const b = await link(t, B);
        Deno.writeTextFileSync(t.path("assignments.csv"), ROWS);
        const built = await dhcpkit(t, a.srv, [
          "build-postgresql",
          "-p",
          passwordFile,
          t.path("assignments.csv"),
          url,
        ]);
        assert.equal(built.code, 0, built.stderr);
        const serverA = await t.startServer({
          namespace: a.srv,
          config: config(A, url, passwordFile, "02:00:00:00:0a:01"),
        });
        await t.startServer({
          namespace: b.srv,
          config: config(B, url, passwordFile, "02:00:00:00:0b:01"),
        });

        // dhclient on each link gets the row of its link.
        const clientA = await startDhclient(t, a.cli, ["-N", "-P"], "dhclient-a");
        const clientB = await startDhclient(t, b.cli, ["-N", "-P"], "dhclient-b");
        assert.deepEqual(await bound(t, clientA.dir), [A.address, PREFIX.a].sort());
        assert.deepEqual(await bound(t, clientB.dir), [B.address, PREFIX.b].sort());

        // Server A answers for the client server B served: over UDP by its address...
        const udp = await eventually(
          () => leasequery(t, a.srv, A, ["client-address", B.address]),
          (r) => leasesIn(r.messages).includes(B.address),
        );
        assert.equal(udp.code, 0, udp.stderr);
        assert.deepEqual(leasesIn(udp.messages), [B.address, PREFIX.b].sort());
        // ... and in a bulk leasequery over TCP for B's link, and for every link.
        const bulkB = await leasequery(t, a.srv, A, ["--tcp", "-L", B.server, "link-address"]);
        assert.equal(bulkB.code, 0, bulkB.stderr);
        assert.deepEqual(leasesIn(bulkB.messages), [B.address, PREFIX.b].sort());
        const all = await eventually(
          () => leasequery(t, a.srv, A, ["--tcp", "link-address"]),
          (r) => leasesIn(r.messages).length === 4,
        );
        assert.deepEqual(
          leasesIn(all.messages),
          [A.address, PREFIX.a, B.address, PREFIX.b].sort(),
        );
        assert.equal(all.messages.at(-1)?.type, "leasequery-done");

        // A row changed with psql is used by the next Solicit (a new client on link a).
        const changed = "2001:db8:a::111";
        await pg.sql(
          `UPDATE assignments SET address = '${changed}' WHERE id = 'interface-id:${
            Array.from(new TextEncoder().encode(A.iface), (x) => x.toString(16)).join("")
          }'`,
          "dhcp",
        );
        await clientA.client.stop();
        const again = await startDhclient(t, a.cli, ["-N"], "dhclient-a2");
        assert.equal((await t.waitRecorded(again.dir, /^BOUND6$/)).new_ip6_address, changed);

        // PostgreSQL away for 10 s under traffic.
        const solicit = async () => {
          const r = await dhcpkit(t, a.srv, [
            "query",
            "solicit",
            "--server",
            A.server,
            "--duid",
            QUERY_DUID,
            "--timeout",
            "1",
            "--json",
          ]);
          if (r.code !== 0) return undefined;
          return JSON.stringify(JSON.parse(r.stdout));
        };
        assert.match((await solicit())!, new RegExp(QUERY_ADDRESS));
        const answers: (string | undefined)[] = [];
        let traffic = true;
        const load = (async () => {
          while (traffic) answers.push(await solicit());
        })();
        await sleep(500);
        await pg.stopServer();
        const stoppedAt = answers.length;
        await sleep(10_000);
        const during = answers.slice(stoppedAt);
        await pg.startServer();
        let resumed: string | undefined;
        for (let i = 0; i < 30 && resumed === undefined; i++) {
          await sleep(1000);
          resumed = answers.slice(stoppedAt + during.length).find((x) => x !== undefined);
        }
        traffic = false;
        await load;
        assert.ok(during.length >= 2, "requests were sent while the database was away");
        assert.ok(during.includes(undefined), "requests without a lookup are not answered");
        for (const answer of answers.filter((x) => x !== undefined)) {
          assert.match(answer!, new RegExp(QUERY_ADDRESS), "every answer carries the address");
          assert.doesNotMatch(answer!, /NoAddrsAvail|UnspecFail/);
        }
        assert.ok(resumed, "answers resume after PostgreSQL is back");
        // The server stayed up, and counted what it could not look up.
        const stats = await dhcpkit(t, a.srv, [
          "ctl",
          "-c",
          `${serverA.configPath}.sock`,
          "stats",
        ]);
        assert.equal(stats.code, 0, stats.stderr);
        const failures = /Lookup failures: ([0-9]+)/.exec(stats.stdout);
        assert.ok(failures && Number(failures[1]) > 0, stats.stdout);
      });
    } finally {
      await pg.destroy();
    }
  },
});
