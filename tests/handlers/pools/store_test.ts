/**
 * The SQLite lease store on its own: housekeeping is claimed by one connection per interval, and
 * the connections of several workers append leases without taking each other's.
 */

import assert from "node:assert/strict";
import { SqliteLeaseStore } from "../../../src/handlers/pools/sqlite.ts";
import { Pool } from "../../../src/handlers/pools/pool.ts";
import type { LeaseOp, LeaseOpResult } from "../../../src/handlers/pools/store.ts";
import { IPv6Prefix } from "../../../src/protocol/mod.ts";

Deno.test("housekeeping: one of the workers' connections per interval", () => {
  const dir = Deno.makeTempDirSync({ prefix: "dhcpkit-pools-store-" });
  const a = new SqliteLeaseStore(`${dir}/leases.sqlite`);
  const b = new SqliteLeaseStore(`${dir}/leases.sqlite`);
  try {
    const now = 1_800_000_000;
    assert.equal(a.claimHousekeeping(now, 60), true);
    assert.equal(b.claimHousekeeping(now, 60), false);
    assert.equal(a.claimHousekeeping(now + 30, 60), false);
    assert.equal(b.claimHousekeeping(now + 59, 60), true);
    assert.equal(a.claimHousekeeping(now + 60, 60), false);
    assert.equal(a.claimHousekeeping(now + 118, 60), true);
  } finally {
    a.close();
    b.close();
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("two workers' connections append leases without taking each other's", () => {
  const dir = Deno.makeTempDirSync({ prefix: "dhcpkit-pools-store-" });
  const a = new SqliteLeaseStore(`${dir}/leases.sqlite`);
  const b = new SqliteLeaseStore(`${dir}/leases.sqlite`);
  const pool = new Pool({
    type: "na",
    prefix: IPv6Prefix.parse("2001:db8::100/120"),
    delegatedLength: 128,
    preferredLifetime: 10,
    validLifetime: 20,
    declineProbation: 30,
  });
  const op = (kind: "offer" | "commit", duid: string): LeaseOp => ({
    kind,
    pool,
    duid,
    iaid: 1,
    named: [],
  });
  try {
    const now = 1_800_000_000;
    const first = (b.apply([op("commit", "01")], now) as LeaseOpResult[])[0].index!;
    // Connection b remembers its next slot; a appends there meanwhile.
    const taken = (a.apply([op("commit", "02")], now) as LeaseOpResult[])[0].index!;
    assert.notEqual(taken, first);
    // b's offer and commit for a third client look again and find a free slot.
    const offered = (b.apply([op("offer", "03")], now) as LeaseOpResult[])[0].index!;
    const committed = (b.apply([op("commit", "03")], now) as LeaseOpResult[])[0].index!;
    assert.ok(![first, taken].includes(offered));
    assert.ok(![first, taken].includes(committed));
    assert.equal(new Set(a.list({}).map((l) => l.index)).size, 3);
  } finally {
    a.close();
    b.close();
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("group commit: what a connection knows of a client is dropped when another connection wrote", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "dhcpkit-pools-store-" });
  const a = new SqliteLeaseStore(`${dir}/leases.sqlite`, 5000, false, true);
  const b = new SqliteLeaseStore(`${dir}/leases.sqlite`, 5000, false, true);
  const pool = new Pool({
    type: "na",
    prefix: IPv6Prefix.parse("2001:db8::100/120"),
    delegatedLength: 128,
    preferredLifetime: 10,
    validLifetime: 20,
    declineProbation: 30,
  });
  const op = (kind: "offer" | "commit", duid: string, named: number[] = []): LeaseOp => ({
    kind,
    pool,
    duid,
    iaid: 1,
    named,
  });
  const one = async (store: SqliteLeaseStore, o: LeaseOp) =>
    (await store.apply([o], 1_800_000_000))[0].index;
  try {
    const mine = (await one(a, op("commit", "0a")))!;
    // a knows client 0a holds `mine` now: its offer reads nothing.
    assert.equal(await one(a, op("offer", "0a")), mine);
    // Another worker deletes 0a's lease and gives the address to 0b.
    assert.equal(b.delete({ duid: "0a" }), 1);
    assert.equal(await one(b, op("commit", "0b", [mine])), mine);
    // a must not offer or extend 0b's address for 0a.
    assert.notEqual(await one(a, op("offer", "0a")), mine);
    const again = await one(a, op("commit", "0a"));
    assert.notEqual(again, mine);
    const owners = new Map(a.list({}).map((l) => [l.index, l.duid]));
    assert.equal(owners.get(mine), "0b");
    assert.equal(owners.get(again!), "0a");
  } finally {
    a.close();
    b.close();
    Deno.removeSync(dir, { recursive: true });
  }
});
