/**
 * Explain with dynamic pools (`MessageHandler.explain` over a real SQLite lease store): each IA
 * gets a pool step saying what the store answered: a new client the lease it would be offered,
 * a client with a lease that lease with its remaining lifetime, an exhausted pool, a static
 * assignment in scope that wins. And none of it writes: the store's rows, every lease's
 * lifetimes and the pool statistics are the same before and after, for Solicit, Request,
 * Renew, Release and Decline alike.
 */

import assert from "node:assert/strict";
import { type ExplainPoolStep, extensionStatistics } from "../../../src/pipeline/mod.ts";
import { iana, iapd, packet } from "../../pipeline/helpers.ts";
import { decline, release, renew, request, solicit } from "../static/fixtures.ts";
import { ask, client, firstAddress, poolPipeline } from "./fixtures.ts";
import { poolLeaseEvents } from "../../../src/handlers/pools/stats.ts";

const CONFIG = `
<lease-store-sqlite STORE>
    group-commit no
</lease-store-sqlite>
<static-csv STATIC>
</static-csv>
<address-pool 2001:db8:1::100/127>
    preferred-lifetime 1000
    valid-lifetime 2000
</address-pool>
<prefix-pool 2001:db8:200::/47>
    delegated-length 48
    preferred-lifetime 3000
    valid-lifetime 4000
</prefix-pool>
`;

const A = client(1), B = client(2), C = client(3), S = client(9);

/** The pipeline with a static CSV file that has an address for client S. */
async function setup() {
  const dir = Deno.makeTempDirSync({ prefix: "dhcpkit-pools-explain-" });
  const csv = `${dir}/static.csv`;
  Deno.writeTextFileSync(csv, `id,address,prefix\nduid:${S.toHex()},2001:db8:5::9,\n`);
  const p = await poolPipeline(CONFIG.replace("STATIC", csv));
  return {
    ...p,
    cleanup: async () => {
      await p.cleanup();
      Deno.removeSync(dir, { recursive: true });
    },
  };
}

/** Every row of the lease store, with every column. */
function rows(p: Awaited<ReturnType<typeof setup>>): string {
  return JSON.stringify(p.store.list({}));
}

/** The pools' lease event counters of this thread (committed, released, declined, exhausted). */
function poolStats(): string {
  return JSON.stringify(extensionStatistics.seriesOf(poolLeaseEvents.name));
}

async function explainPools(
  p: Awaited<ReturnType<typeof setup>>,
  message: Parameters<typeof packet>[0],
): Promise<ExplainPoolStep[]> {
  const before = rows(p);
  const stats = poolStats();
  const trace = await p.pipeline.explain(packet(message), 10_000);
  assert.equal(rows(p), before, "explain changed the lease store");
  assert.equal(poolStats(), stats, "explain counted pool statistics");
  assert.ok(trace.pools, "the trace has a pool step");
  return trace.pools;
}

Deno.test("explain: a new client is told what it would be offered, nothing is written", async () => {
  const p = await setup();
  try {
    const steps = await explainPools(p, solicit(A, iana(1), iapd(2)));
    assert.deepEqual(steps.map((s) => [s.pool, s.ia]), [
      ["na 2001:db8:1::100/127", "IA_NA 1"],
      ["pd 2001:db8:200::/47 48", "IA_PD 2"],
    ]);
    assert.match(steps[0].result, /^would offer 2001:db8:1::10[01] \(free; an offer writes/);
    assert.match(steps[1].result, /^would offer 2001:db8:20[01]::\/48 /);
    assert.deepEqual(steps[0].held, []);
    // A Request would commit: explain says what it would bind, and binds nothing.
    const req = await explainPools(p, request(A, iana(1), iapd(2)));
    assert.match(req[0].result, /^would bind 2001:db8:1::10[01] .*dry run: not written/);
    assert.equal(p.store.list({}).length, 0);
    // ... and the real Request then gets what explain said it would.
    const offered = req[0].lease!;
    const reply = await ask(p.pipeline, request(A, iana(1), iapd(2)));
    assert.equal(firstAddress(reply!), offered);
  } finally {
    await p.cleanup();
  }
});

Deno.test("explain: a client with a lease is shown its lease; renew, release, decline write nothing", async () => {
  const p = await setup();
  try {
    const address = firstAddress((await ask(p.pipeline, request(A, iana(1))))!)!;
    const stored = JSON.stringify(p.store.list({ duid: A.toHex() }));
    for (
      const message of [
        solicit(A, iana(1)),
        request(A, iana(1)),
        renew(A, iana(1, address)),
      ]
    ) {
      const [step] = await explainPools(p, message);
      assert.match(
        step.result,
        new RegExp(`^the client's lease ${address} \\(IAID 1, assigned, 3\\d?m`),
      );
      assert.equal(step.lease, address);
      assert.deepEqual(step.held.length, 1);
    }
    const [rel] = await explainPools(p, release(A, iana(1, address)));
    assert.equal(rel.result, `would release ${address} (dry run: not written)`);
    const [dec] = await explainPools(p, decline(A, iana(1, address)));
    assert.equal(dec.result, `would quarantine ${address} (dry run: not written)`);
    // Another client naming that address holds nothing there.
    const [other] = await explainPools(p, release(B, iana(1, address)));
    assert.match(other.result, /names no lease the client holds/);
    assert.equal(JSON.stringify(p.store.list({ duid: A.toHex() })), stored, "lease untouched");
  } finally {
    await p.cleanup();
  }
});

Deno.test("explain: an exhausted pool says so; a static assignment in scope wins", async () => {
  const p = await setup();
  try {
    assert.ok(firstAddress((await ask(p.pipeline, request(A, iana(1))))!));
    assert.ok(firstAddress((await ask(p.pipeline, request(B, iana(1))))!));
    const [full] = await explainPools(p, solicit(C, iana(1)));
    assert.equal(full.lease, undefined);
    assert.match(full.result, /^exhausted \(2 of 2 in use\): no free address; .*NoAddrsAvail/);

    const trace = await p.pipeline.explain(packet(request(S, iana(1), iapd(2))), 10_000);
    const steps = trace.pools!;
    assert.deepEqual(steps[0], {
      handler: "PoolHandler",
      pool: "na 2001:db8:1::100/127",
      store: `lease store ${p.dir}/leases.sqlite`,
      result: "static assignment in scope wins",
      held: [],
    });
    // The CSV row has no prefix: the prefix pool is asked for the IA_PD.
    assert.match(steps[1].result, /^would bind 2001:db8:20[01]::\/48/);
    assert.match(JSON.stringify(trace.reply?.message), /2001:db8:5::9/);
  } finally {
    await p.cleanup();
  }
});
