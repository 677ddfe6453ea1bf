/**
 * The PostgreSQL lease store's one-call-per-batch path against a real cluster:
 * - `dhcpkit_ipv6_text` (the function inserts the resource of a slot it chose) formats every
 *   address as `formatIPv6` does (property, zero runs and IPv4-mapped addresses favoured), and a
 *   lease's stored resource is the pool's own text for its slot;
 * - the operations of the requests of one turn (NA and PD pools of each) go in one call, and
 *   their results are what one request at a time gets;
 * - a call whose request waits for a row another session keeps locked is split: the other
 *   requests are answered, the locked one fails (its request is dropped), none gets a wrong answer;
 * - the slot a store remembers for a client is extended only while the database says it is
 *   still the client's;
 * - a database at schema version 1 (before the function) is upgraded, its leases kept;
 * - one new client committed by two servers at once (each naming another slot): the second call
 *   waits for the first and binds the same slot, never a second one;
 * - two address pools in scope (the second waits for the first's results, a pool that stepped
 *   aside decides after them): a renewing client keeps its lease of the second pool.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import postgres from "postgres";
import { Pool } from "../../../src/handlers/pools/pool.ts";
import { PostgresLeaseStore } from "../../../src/handlers/pools/postgresql.ts";
import { APPLY_SQL, applyParams } from "../../../src/handlers/pools/postgresql_batch.ts";
import { POOLS_SCHEMA } from "../../../src/handlers/pools/postgresql_schema.ts";
import { resourceText } from "../../../src/handlers/pools/sqlite.ts";
import type { LeaseOp, LeaseOpResult } from "../../../src/handlers/pools/store.ts";
import { formatIPv6, IPv6Prefix } from "../../../src/protocol/mod.ts";
import {
  acquirePool,
  migrate,
  parseConnectionUrl,
  type PostgresPool,
} from "../../../src/storage/postgresql/mod.ts";
import { type PostgresCluster, postgresTest } from "../../helpers/postgres.ts";
import { poolsExtension } from "../../../src/handlers/pools/mod.ts";
import { StatisticsStore } from "../../../src/pipeline/mod.ts";
import { type ClientServerMessage, type Message, parseMessage } from "../../../src/protocol/mod.ts";
import { iana, iapd, packet, pipelineFromConfig } from "../../pipeline/helpers.ts";
import { rebind, release, renew, request, solicit } from "../static/fixtures.ts";
import { client, firstAddress, firstPrefix, ianas, LOOKUPS } from "./fixtures.ts";

const NOW = 1_800_000_000;

const na = new Pool({
  type: "na",
  prefix: IPv6Prefix.parse("2001:db8:1::/64"),
  delegatedLength: 128,
  preferredLifetime: 100,
  validLifetime: 200,
  declineProbation: 300,
});
const pd = new Pool({
  type: "pd",
  prefix: IPv6Prefix.parse("2001:db8:8000::/34"),
  delegatedLength: 56,
  preferredLifetime: 100,
  validLifetime: 200,
  declineProbation: 300,
});

const commit = (pool: Pool, duid: string, iaid = 1): LeaseOp => ({
  kind: "commit",
  pool,
  duid,
  iaid,
  named: [],
});

async function database(pg: PostgresCluster, name: string): Promise<PostgresPool> {
  const passwordFile = await pg.createRole(name, `${name} secret`);
  await pg.createDatabase(name);
  await pg.sql(`ALTER DATABASE "${name}" OWNER TO "${name}"`);
  const pool = acquirePool(parseConnectionUrl(pg.url(name, name)), { passwordFile });
  await pool.open();
  return pool;
}

postgresTest("PostgreSQL lease store: one call per batch", async (pg, t) => {
  const pool = await database(pg, "batch");
  const store = await PostgresLeaseStore.open(pool);
  try {
    await t.step("dhcpkit_ipv6_text formats as formatIPv6", async () => {
      const group = fc.oneof(
        fc.constant(0),
        fc.constant(0),
        fc.constant(0xffff),
        fc.integer({ min: 0, max: 0xffff }),
      );
      const address = fc.oneof(
        fc.array(group, { minLength: 8, maxLength: 8 }),
        // IPv4-mapped and near misses
        fc.tuple(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 0xffff }))
          .chain(([lead, tail]) =>
            fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }))
              .map(([a, b]) => [0, 0, 0, 0, lead, 0xffff ^ (tail & 1), a, b])
          ),
      );
      await fc.assert(
        fc.asyncProperty(fc.array(address, { minLength: 1, maxLength: 64 }), async (list) => {
          const values = list.map((groups) =>
            groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n).toString()
          );
          const rows = await pool.query<{ i: string; text: string }>(
            "SELECT i, dhcpkit_ipv6_text(v::numeric) AS text FROM unnest($1::text[]) " +
              "WITH ORDINALITY AS t(v, i) ORDER BY i",
            [`{${values.join(",")}}`],
          );
          list.forEach((groups, i) => {
            const bytes = new Uint8Array(16);
            groups.forEach((g, j) => {
              bytes[2 * j] = g >> 8;
              bytes[2 * j + 1] = g & 255;
            });
            assert.equal(rows[i].text, formatIPv6(bytes));
          });
        }),
        { numRuns: 40 },
      );
    });

    await t.step(
      "requests of one turn share one call; stored resources are the pool's",
      async () => {
        const before = store.batching.calls;
        const asked: Promise<LeaseOpResult[]>[] = [];
        for (let n = 0; n < 20; n++) {
          const duid = `0a${n.toString(16).padStart(4, "0")}`;
          asked.push(store.apply([commit(na, duid)], NOW));
          asked.push(store.apply([commit(pd, duid)], NOW));
        }
        const results = await Promise.all(asked);
        // 40 requests, at most one call per connection (4) at a time: the first call carries
        // every request of the turn.
        assert.equal(store.batching.calls - before, 1);
        const leases = await store.list({});
        assert.equal(leases.length, 40);
        for (const lease of leases) {
          const pool = lease.type === "na" ? na : pd;
          assert.equal(lease.resource, resourceText(pool, lease.index));
        }
        // One at a time, each client gets the same lease again (extended).
        for (let n = 0; n < 20; n++) {
          const duid = `0a${n.toString(16).padStart(4, "0")}`;
          const again = await store.apply([commit(na, duid), commit(pd, duid, 7)], NOW + 10);
          assert.equal(again[0].index, results[2 * n][0].index);
          assert.notEqual(again[1].index, undefined);
        }
        const distinct = new Set((await store.list({})).map((l) => `${l.type} ${l.resource}`));
        assert.equal(distinct.size, 60);
      },
    );

    await t.step("a remembered slot another server gave away is not extended", async () => {
      const [first] = await store.apply([commit(na, "0c0001")], NOW);
      const [again] = await store.apply([commit(na, "0c0001")], NOW + 1);
      assert.equal(again.index, first.index);
      // Another server bound the slot to another client (after it expired, say).
      await pool.query(
        "UPDATE pool_leases SET duid = '0c0002', valid_until = $3 WHERE pool = $1 AND idx = $2",
        [na.id, first.index, NOW + 1000],
      );
      const [moved] = await store.apply([commit(na, "0c0001")], NOW + 2);
      assert.notEqual(moved.index, undefined);
      assert.notEqual(moved.index, first.index);
      const [other] = await store.list({ duid: "0c0002" });
      assert.equal(other.index, first.index);
      assert.equal(other.validUntil, NOW + 1000);
    });

    await t.step("a request waiting for a locked row fails alone", async () => {
      const victim = "0b0001";
      const [own] = await store.apply([commit(na, victim)], NOW);
      const admin = postgres({
        path: `${pg.socketDir}/.s.PGSQL.5432`,
        user: "postgres",
        database: "batch",
        onnotice: () => {},
      });
      try {
        const locked = Promise.withResolvers<void>();
        const release = Promise.withResolvers<void>();
        const holding = admin.begin(async (tx) => {
          await tx`SELECT 1 FROM pool_leases WHERE pool = ${na.id} AND idx = ${own.index!}
            FOR UPDATE`;
          locked.resolve();
          await release.promise;
        });
        await locked.promise;
        const before = store.batching.split;
        const others = [1, 2, 3].map((n) => store.apply([commit(na, `0b010${n}`)], NOW));
        const waiting = store.apply([commit(na, victim)], NOW + 5);
        const settled = await Promise.allSettled([...others, waiting]);
        release.resolve();
        await holding;
        assert.equal(store.batching.split, before + 1);
        for (const s of settled.slice(0, 3)) {
          assert.equal(s.status, "fulfilled");
          assert.notEqual((s as PromiseFulfilledResult<LeaseOpResult[]>).value[0].index, undefined);
        }
        assert.equal(settled[3].status, "rejected");
        assert.match(String((settled[3] as PromiseRejectedResult).reason), /lock/);
        // Not written: the victim's lease is as it was, and it is extended once the lock is gone.
        const [row] = await store.list({ duid: victim });
        assert.equal(row.validUntil, NOW + 200);
        const [after] = await store.apply([commit(na, victim)], NOW + 6);
        assert.equal(after.index, own.index);
      } finally {
        await admin.end({ timeout: 2 });
      }
    });

    await t.step("one new client committed by two servers at once: one slot", async () => {
      const duid = "0d0001";
      const named = (index: number): LeaseOp => ({ ...commit(na, duid), named: [index] });
      const other = postgres({
        path: `${pg.socketDir}/.s.PGSQL.5432`,
        user: "postgres",
        database: "batch",
        onnotice: () => {},
      });
      const release = Promise.withResolvers<void>();
      let holding: Promise<unknown> = Promise.resolve();
      try {
        const called = Promise.withResolvers<number>();
        // The other server's call, not yet committed, binds slot 5000 to the client.
        holding = other.begin(async (tx) => {
          const [param] = applyParams([{ ops: [named(5000)], now: NOW }]);
          const [row] = await tx.unsafe(APPLY_SQL, [param]);
          called.resolve(Number(row.o_idx));
          await release.promise;
        });
        assert.equal(await called.promise, 5000);
        // This server's call for the same client, naming slot 6000, waits for the other's; it
        // gives up after the function's lock_timeout rather than bind a second slot.
        const waited = await store.apply([named(6000)], NOW).then(
          (r) => `bound slot ${r[0].index}`,
          (e) => String(e),
        );
        assert.match(waited, /lock/);
        release.resolve();
        await holding;
        const [after] = await store.apply([named(6000)], NOW + 1);
        assert.equal(after.index, 5000);
        const rows = await store.list({ duid });
        assert.deepEqual(rows.map((l) => [l.index, l.state]), [[5000, "assigned"]]);
      } finally {
        release.resolve();
        await holding.catch(() => {});
        await other.end({ timeout: 2 });
      }
    });
  } finally {
    await store.close();
  }
});

postgresTest(
  "PostgreSQL lease store: a version 1 database is upgraded, leases kept",
  async (pg) => {
    const pool = await database(pg, "old");
    try {
      await migrate(pool, { ...POOLS_SCHEMA, migrations: POOLS_SCHEMA.migrations.slice(0, 1) });
      await pool.query(
        "INSERT INTO pool_leases (pool, idx, type, resource, duid, iaid, state, valid_until, " +
          "preferred_until, updated) VALUES ($1, 77, 'na', $2, 'c0ffee', 1, 'assigned', $3, $3, $4)",
        [na.id, resourceText(na, 77), NOW + 50, NOW],
      );
      const store = await PostgresLeaseStore.open(pool.retain());
      try {
        assert.equal(
          await pg.sql("SELECT version FROM dhcpkit_schema WHERE component = 'pools'", "old"),
          "3",
        );
        const [renewed] = await store.apply([commit(na, "c0ffee")], NOW + 10);
        assert.equal(renewed.index, 77);
        assert.equal((await store.list({ duid: "c0ffee" }))[0].validUntil, NOW + 210);
      } finally {
        await store.close();
      }
    } finally {
      await pool.release();
    }
  },
);

postgresTest(
  "PostgreSQL lease store: two address pools in scope, a renewing client keeps its lease of the second",
  async (pg) => {
    const passwordFile = await pg.createRole("two", "two secret");
    await pg.createDatabase("two");
    await pg.sql('ALTER DATABASE "two" OWNER TO "two"');
    // The pools' lookups do not wait for the store: the second NA pool waits for the first's
    // results, and a pool that stepped aside takes the IA only after every result is known.
    const p = pipelineFromConfig(
      `
<lease-store-postgresql ${pg.url("two", "two")}>
    password-file ${passwordFile}
</lease-store-postgresql>
<subnet 2001:db8:1::/64>
    <address-pool 2001:db8:1::100/128 />
    <address-pool 2001:db8:1::200/127 />
    <prefix-pool 2001:db8:100::/47>
        delegated-length 48
    </prefix-pool>
</subnet>
<subnet 2001:db8:2::/64>
    <address-pool 2001:db8:2::100/127 />
</subnet>
`,
      {
        cleanupHandlers: poolsExtension.cleanupHandlers!({
          configDir: "/tmp",
          serverDuid: client(0),
        }),
      },
    );
    await p.workerInit();
    try {
      const ask = async (message: Message, link = "2001:db8:1::1") => {
        const result = await p.handle(
          packet(message, { linkAddress: link }),
          new StatisticsStore(),
          LOOKUPS,
        );
        return parseMessage(result.replies[0].data) as ClientServerMessage;
      };
      const one = client(61), two = client(62);
      assert.equal(firstAddress(await ask(request(one, iana(1)))), "2001:db8:1::100");
      // The first pool is full: client two gets the second pool's address (and a prefix).
      const first = await ask(request(two, iana(1), iapd(1)));
      const second = firstAddress(first)!;
      assert.match(second, /^2001:db8:1::20[01]$/);
      assert.ok(firstPrefix(first));
      // The first pool has room again.
      await ask(release(one, iana(1, "2001:db8:1::100")));
      for (const message of [renew(two, iana(1, second)), rebind(two, iana(1, second))]) {
        const reply = await ask(message);
        assert.deepEqual(ianas(reply)[0].addresses, [`${second} 3600/7200`]);
      }
      assert.equal(firstAddress(await ask(solicit(two, iana(1)))), second);
      assert.equal(firstAddress(await ask(request(two, iana(1)))), second);
      // On another link the second pool is not in scope: a new address there, the old one
      // returned with lifetime 0.
      const moved = await ask(renew(two, iana(1, second)), "2001:db8:2::1");
      assert.deepEqual(ianas(moved)[0].addresses.map((a) => a.split(" ")[1]), [
        "3600/7200",
        "0/0",
      ]);
      assert.match(ianas(moved)[0].addresses[0], /^2001:db8:2::10[01] /);
      // Nothing bound twice, and client two holds what its replies said.
      assert.equal(
        await pg.sql(
          "SELECT count(*) FROM (SELECT resource FROM pool_leases GROUP BY resource " +
            "HAVING count(*) > 1) d",
          "two",
        ),
        "0",
      );
    } finally {
      await p.close();
    }
  },
);
