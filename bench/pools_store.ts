/**
 * Lease store benchmark of the dynamic pools (`deno task bench:pools [LEASES]`, default
 * 1,000,000), on this machine, all in one run:
 *
 * 1. lease writes per second of the SQLite store: new leases (an address and a prefix per
 *    client, as a 4-way NA+PD exchange commits them) and renewals, in batches of 32 requests as
 *    a worker receives them, with group commit and with one transaction per request;
 * 2. a store filled with LEASES leases (by SQL): the resident memory of this process before it
 *    opens the store and after it committed leases of new clients, renewed old ones and counted
 *    the pools (the store keeps its leases on disk: memory must not grow with them), and the
 *    speed of those operations on a big table.
 *
 * The figures depend on the disk and on what else the machine runs; compare them within a run.
 * @module
 */

import { Pool } from "../src/handlers/pools/pool.ts";
import { SqliteLeaseStore } from "../src/handlers/pools/sqlite.ts";
import type { LeaseOp } from "../src/handlers/pools/store.ts";
import { IPv6Prefix } from "../src/protocol/mod.ts";
import { DatabaseSync } from "node:sqlite";

const spec = { preferredLifetime: 3000, validLifetime: 4000, declineProbation: 86400 };
/** The pools of bench/load (Kea's dynamic pools there). */
export const NA = new Pool({
  type: "na",
  prefix: IPv6Prefix.parse("2001:db8:1:0:1::/80"),
  delegatedLength: 128,
  ...spec,
});
/** The prefix pool of bench/load. */
export const PD = new Pool({
  type: "pd",
  prefix: IPv6Prefix.parse("2001:db8:8000::/34"),
  delegatedLength: 56,
  ...spec,
});

const duid = (i: number) => "0003000102" + i.toString(16).padStart(10, "0");

/** Commit NA+PD leases for clients [from, to) in batches of 32 requests; lease writes/s. */
async function writes(store: SqliteLeaseStore, from: number, to: number): Promise<number> {
  const now = Math.floor(Date.now() / 1000);
  const t0 = performance.now();
  for (let b = from; b < to; b += 32) {
    const pending: Array<unknown> = [];
    for (let i = b; i < Math.min(to, b + 32); i++) {
      const op = (pool: Pool): LeaseOp => ({
        kind: "commit",
        pool,
        duid: duid(i),
        iaid: 1,
        named: [],
      });
      pending.push(store.apply([op(NA)], now), store.apply([op(PD)], now));
    }
    await Promise.all(pending);
  }
  return (2 * (to - from)) / ((performance.now() - t0) / 1000);
}

function rssMB(): number {
  return Deno.memoryUsage().rss / 1048576;
}

if (import.meta.main) {
  const leases = Number(Deno.args[0] ?? 1_000_000);
  const dir = Deno.makeTempDirSync({ prefix: "dhcpkit-bench-pools-" });
  try {
    console.log(
      `pools lease store benchmark, ${
        new Date().toISOString()
      }, ${navigator.hardwareConcurrency} CPUs`,
    );
    for (const group of [true, false]) {
      const path = `${dir}/writes-${group}.sqlite`;
      const store = new SqliteLeaseStore(path, 5000, false, group);
      const fresh = await writes(store, 0, 10_000);
      const renew = await writes(store, 0, 10_000);
      store.close();
      console.log(
        `SQLite, ${group ? "group commit" : "one transaction per request"}: ` +
          `${Math.round(fresh)} new lease writes/s, ${Math.round(renew)} renewals/s`,
      );
    }

    // A store with `leases` leases (half addresses, half prefixes), filled by SQL.
    const path = `${dir}/big.sqlite`;
    new SqliteLeaseStore(path).close();
    const db = new DatabaseSync(path);
    const t0 = performance.now();
    const half = Math.floor(leases / 2);
    const now = Math.floor(Date.now() / 1000);
    db.exec("BEGIN");
    const insert = db.prepare(
      "INSERT INTO leases VALUES (?, ?, ?, ?, ?, 1, 'assigned', ?, ?, ?)",
    );
    for (let i = 0; i < half; i++) {
      insert.run(NA.id, i, "na", NA.resourceAt(i), duid(i), now + 4000, now + 3000, now);
      insert.run(PD.id, i, "pd", `${PD.resourceAt(i)}/56`, duid(i), now + 4000, now + 3000, now);
    }
    db.exec("COMMIT");
    db.close();
    const fillSeconds = (performance.now() - t0) / 1000;
    const before = rssMB();
    const store = new SqliteLeaseStore(path, 5000, false, true);
    const t1 = performance.now();
    const fresh = await writes(store, half, half + 5000);
    const renew = await writes(store, 0, 5000);
    const t2 = performance.now();
    const counts = store.counts(now);
    const countMs = performance.now() - t2;
    store.close();
    console.log(
      `${leases} leases (filled in ${fillSeconds.toFixed(1)} s, ` +
        `${(Deno.statSync(path).size / 1048576).toFixed(0)} MB on disk): ` +
        `${Math.round(fresh)} new lease writes/s, ${Math.round(renew)} renewals/s ` +
        `(${((t2 - t1) / 1000).toFixed(1)} s), counting the pools ${countMs.toFixed(0)} ms ` +
        `(${[...counts.values()].map((c) => c.assigned).join(" + ")} assigned); ` +
        `resident memory ${before.toFixed(0)} MB before opening, ${rssMB().toFixed(0)} MB after`,
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}
