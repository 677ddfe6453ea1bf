/**
 * Leasequery end to end (root only): `dhclient -6 -P` in a client namespace obtains a prefix
 * from `<static-csv>`; the `<leasequery>` handler records it; `dhcpkit leasequery`, run in the
 * server namespace, finds it over TCP (bulk, by link address and by address) and over UDP (by
 * address inside the delegated prefix).
 * @module
 */

import assert from "node:assert/strict";
import { serverIdConfig } from "../helpers/server.ts";
import { DHCLIENT, startDhclient } from "./dhclient.ts";
import { directTopology, e2eTest, type Topology, withTopology } from "./netns.ts";

const SERVER_ADDRESS = "2001:db8:1::2";

function config(t: Topology): string {
  Deno.writeTextFileSync(
    t.path("assignments.csv"),
    "id,address,prefix\ninterface-id-str:srv0,,2001:db8:ff00::/56\n",
  );
  return `workers 1

${serverIdConfig()}
<listen-interface srv0 />
<listen-unicast ${SERVER_ADDRESS} />
<listen-tcp ${SERVER_ADDRESS}>
    allow-from ${SERVER_ADDRESS}
</listen-tcp>

<static-csv ${t.path("assignments.csv")} />

<leasequery>
    allow-from ${SERVER_ADDRESS}
    <lq-sqlite ${t.path("leasequery.sqlite")} />
</leasequery>
`;
}

type Json = Record<string, unknown>;
const optionsOf = (m: Json) => (m.options ?? []) as Json[];

async function leasequery(t: Topology, ns: string, args: string[]): Promise<Json[]> {
  const r = await t.exec(ns, Deno.execPath(), [
    "run",
    "--unstable-net",
    "-A",
    "cli/main.ts",
    "leasequery",
    "--server",
    SERVER_ADDRESS,
    ...args,
  ]);
  assert.equal(r.code, 0, `dhcpkit leasequery ${args.join(" ")} failed: ${r.stderr}`);
  return r.stdout.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
}

/** The IA Prefix options inside the Client Data of a message. */
function prefixesIn(m: Json): Json[] {
  const data = optionsOf(m).find((o) => o.code === 45);
  return data ? optionsOf(data).filter((o) => o.code === 26) : [];
}

e2eTest(
  "e2e leasequery: dhclient -6 -P gets a static prefix, dhcpkit leasequery finds it",
  { root: true, commands: DHCLIENT },
  () =>
    withTopology(async (t) => {
      const { srv, cli } = await directTopology(t, { serverAddress: SERVER_ADDRESS });
      await t.startServer({ namespace: srv, config: config(t) });

      const { dir } = await startDhclient(t, cli, ["-P"], "dhclient-pd");
      const env = await t.waitRecorded(dir, /^(BOUND6|RENEW6|REBIND6)$/);
      assert.equal(env.new_ip6_prefix, "2001:db8:ff00::/56");

      // Bulk over TCP: every client on every link.
      const all = await leasequery(t, srv, ["--tcp", "link-address"]);
      assert.deepEqual(all.map((m) => m.type), ["leasequery-reply", "leasequery-done"]);
      const [prefix] = prefixesIn(all[0]);
      assert.equal(prefix.prefix, "2001:db8:ff00::");
      assert.equal(prefix.prefix_length, 56);
      assert.ok(Number(prefix.valid_lifetime) > 0);

      // By an address inside the prefix, over TCP and over UDP (the client binds port 546).
      const byTcp = await leasequery(t, srv, ["--tcp", "client-address", "2001:db8:ff00:1::1"]);
      assert.equal(prefixesIn(byTcp[0]).length, 1);
      const byUdp = await leasequery(t, srv, [
        "--port",
        "547",
        "client-address",
        "2001:db8:ff00::1",
      ]);
      assert.equal(byUdp.length, 1);
      assert.equal(byUdp[0].type, "leasequery-reply");
      assert.equal(prefixesIn(byUdp[0]).length, 1);
      // The client's DUID comes back as the Client ID in the client data.
      const data = optionsOf(byUdp[0]).find((o) => o.code === 45)!;
      assert.ok(optionsOf(data).some((o) => o.code === 1));
      assert.ok(optionsOf(data).some((o) => o.code === 46), "CLT_TIME");
    }),
);
