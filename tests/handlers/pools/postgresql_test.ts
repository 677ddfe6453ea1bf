/**
 * `<lease-store-postgresql>` against a real PostgreSQL cluster: the pools answer as with SQLite
 * (through the asynchronous lookup), and two pipelines sharing the database (two servers) that
 * are asked at the same time by overlapping clients never bind one address or prefix to two
 * clients: checked in the replies the clients got and with SQL. `dhcpkit leases` reads the
 * same database.
 */

import assert from "node:assert/strict";
import { StatusCode } from "../../../src/protocol/mod.ts";
import { postgresTest } from "../../helpers/postgres.ts";
import { PoolHandler } from "../../../src/handlers/pools/handler.ts";
import { poolsExtension } from "../../../src/handlers/pools/mod.ts";
import type { PostgresLeaseStore } from "../../../src/handlers/pools/postgresql.ts";
import { iana, iapd, pipelineFromConfig } from "../../pipeline/helpers.ts";
import { release, request, solicit } from "../static/fixtures.ts";
import { runCli } from "../../cli/helpers.ts";
import { ask, client, firstAddress, firstPrefix, ianas } from "./fixtures.ts";

postgresTest(
  "pools on PostgreSQL: two servers, overlapping clients, nothing bound twice",
  async (pg, t) => {
    const passwordFile = await pg.createRole("pools", "pool secret");
    await pg.createDatabase("dhcp");
    await pg.sql("ALTER DATABASE dhcp OWNER TO pools");
    const url = pg.url("pools", "dhcp");
    const config = `
<lease-store-postgresql ${url}>
    password-file ${passwordFile}
</lease-store-postgresql>
<address-pool 2001:db8:1::100/122 />
<prefix-pool 2001:db8:100::/42>
    delegated-length 48
</prefix-pool>
`;
    const withWait = () =>
      pipelineFromConfig(config, {
        cleanupHandlers: poolsExtension.cleanupHandlers!({
          configDir: "/tmp",
          serverDuid: client(0),
        }),
      });
    const a = withWait();
    const b = withWait();
    await a.workerInit();
    await b.workerInit();
    const storeOf = (p: typeof a) =>
      p.allHandlers().find((h) => h instanceof PoolHandler)!.leases.store;
    const count = async (sql: string) => Number(await pg.sql(sql, "dhcp"));
    try {
      await t.step("Solicit offers without writing, Request commits", async () => {
        const offer = (await ask(a, solicit(client(1), iana(1), iapd(1))))!;
        const address = firstAddress(offer)!;
        assert.match(address, /^2001:db8:1::/);
        assert.equal(await count("SELECT count(*) FROM pool_leases"), 0);
        const reply = (await ask(b, request(client(1), iana(1, address), iapd(1))))!;
        assert.equal(firstAddress(reply), address);
        assert.equal(await count("SELECT count(*) FROM pool_leases WHERE state = 'assigned'"), 2);
        // The other server gives the same client the same lease.
        assert.equal(firstAddress((await ask(a, request(client(1), iana(1))))!), address);
        await ask(a, release(client(1), iana(1, address)));
        assert.equal(
          await pg.sql("SELECT state FROM pool_leases WHERE type = 'na'", "dhcp"),
          "released",
        );
      });

      await t.step("the NA and PD pools of ten Requests at once: one call", async () => {
        const store = storeOf(a) as PostgresLeaseStore;
        const before = store.batching.calls;
        const replies = await Promise.all(
          [50, 51, 52, 53, 54, 55, 56, 57, 58, 59].map((n) =>
            ask(a, request(client(n), iana(1), iapd(1)))
          ),
        );
        assert.equal(store.batching.calls - before, 1);
        for (const reply of replies) {
          assert.ok(firstAddress(reply!) && firstPrefix(reply!));
        }
        await Promise.all(
          replies.map((reply, i) =>
            ask(
              a,
              release(
                client(50 + i),
                iana(1, firstAddress(reply!)!),
                iapd(1, firstPrefix(reply!)!.split("/")[0], 48),
              ),
            )
          ),
        );
      });

      await t.step(
        "both servers at once, 100 clients for 64 slots: never bound twice",
        async () => {
          // Every client asks both servers at the same moment (as when two servers hear one
          // multicast Request), and the clients come in overlapping waves.
          const holders = new Map<string, Set<string>>();
          const asks: Promise<void>[] = [];
          for (let n = 100; n < 200; n++) {
            if (n % 20 === 0) await Promise.all(asks); // waves of 20 clients, 40 requests
            const duid = client(n);
            for (const server of [a, b]) {
              asks.push(
                ask(server, request(duid, iana(1), iapd(1))).then((reply) => {
                  if (!reply) return;
                  for (const got of [firstAddress(reply), firstPrefix(reply)]) {
                    if (!got) continue;
                    if (!holders.has(got)) holders.set(got, new Set());
                    holders.get(got)!.add(duid.toHex());
                  }
                }),
              );
            }
          }
          await Promise.all(asks);
          for (const [resource, owners] of holders) {
            assert.equal(owners.size, 1, `${resource} was given to ${[...owners].join(", ")}`);
          }
          // 64 addresses and 64 prefixes; client 1 released its address (free again), keeps its
          // prefix.
          assert.equal(
            await count(
              "SELECT count(*) FROM pool_leases WHERE type = 'na' AND state = 'assigned'",
            ),
            64,
          );
          assert.equal(
            await count(
              "SELECT count(*) FROM pool_leases WHERE type = 'pd' AND state = 'assigned'",
            ),
            64,
          );
          assert.equal(
            await count(
              "SELECT count(*) FROM (SELECT resource FROM pool_leases GROUP BY resource " +
                "HAVING count(*) > 1) d",
            ),
            0,
          );
          assert.equal(holders.size, 127);
          const late = (await ask(a, request(client(300), iana(1))))!;
          assert.equal(ianas(late)[0].status, StatusCode.NoAddrsAvail);
        },
      );

      await t.step("housekeeping: one server per interval reclaims", async () => {
        const now = 1_900_000_000;
        assert.equal(await storeOf(a).claimHousekeeping!(now, 60), true);
        assert.equal(await storeOf(b).claimHousekeeping!(now + 10, 60), false);
        assert.equal(await storeOf(b).claimHousekeeping!(now + 60, 60), true);
        assert.equal(storeOf(a).shared, true);
      });

      await t.step("dhcpkit leases reads and deletes in the database", async () => {
        const r = await runCli([
          "leases",
          "--store",
          url,
          "--password-file",
          passwordFile,
          "--json",
          "--duid",
          client(1).toHex(),
        ]);
        assert.equal(r.code, 0, r.stderr);
        const types = r.stdout.trimEnd().split("\n").map((l) => JSON.parse(l).type).sort();
        // Client 1 released its address, which another client took when the pool ran out.
        assert.deepEqual(types, ["pd"]);
        const del = await runCli([
          "leases",
          "--store",
          url,
          "--password-file",
          passwordFile,
          "delete",
          "--duid",
          client(1).toHex(),
        ]);
        assert.equal(del.stdout, "deleted 1 lease\n", del.stderr);
      });
    } finally {
      await a.close();
      await b.close();
    }
  },
);
