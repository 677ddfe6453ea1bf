/**
 * Pool statistics: total, assigned, declined and reclaimed per pool (gauges read from the lease
 * store after it is opened and after every reclaim run) and the handlers' lease events, as
 * `ctl stats`, `stats-json` and `/metrics` show them.
 */

import assert from "node:assert/strict";
import { extensionStatistics } from "../../../src/pipeline/mod.ts";
import { PoolHandler } from "../../../src/handlers/pools/handler.ts";
import {
  extensionMetricFamilies,
  extensionStatsJson,
  extensionStatsText,
} from "../../../src/server/extension_stats_output.ts";
import { unixNow } from "../../../src/handlers/pools/store.ts";
import { iana, iapd, run } from "../../pipeline/helpers.ts";
import { decline, request } from "../static/fixtures.ts";
import { client, firstAddress, poolPipeline } from "./fixtures.ts";

const NA = "na 2001:db8:1::100/120";
const PD = "pd 2001:db8:200::/40 48";

function value(family: string, ...labels: string[]): number | undefined {
  return extensionStatistics.seriesOf(family).find((s) => s.labels.join("|") === labels.join("|"))
    ?.values[0];
}

Deno.test("pool statistics: total, assigned, declined, reclaimed and lease events", async () => {
  extensionStatistics.clear();
  const p = await poolPipeline(`
<lease-store-sqlite STORE>
    group-commit no
</lease-store-sqlite>
<address-pool 2001:db8:1::100/120>
    valid-lifetime 100
    preferred-lifetime 50
</address-pool>
<prefix-pool 2001:db8:200::/40>
    delegated-length 48
</prefix-pool>
`);
  try {
    assert.equal(value("pool_total", NA), 256);
    assert.equal(value("pool_total", PD), 256);
    assert.equal(value("pool_assigned", NA), 0);
    for (let n = 1; n <= 3; n++) run(p.pipeline, request(client(n), iana(1), iapd(1)));
    const address = firstAddress(run(p.pipeline, request(client(9), iana(1))).reply!)!;
    run(p.pipeline, decline(client(9), iana(1, address)));
    assert.equal(value("pool_lease_events", NA, "committed"), 4);
    assert.equal(value("pool_lease_events", NA, "declined"), 1);
    assert.equal(value("pool_lease_events", PD, "committed"), 3);

    const shared = p.pipeline.allHandlers().find((h) => h instanceof PoolHandler)!.leases;
    await shared.refresh();
    assert.equal(value("pool_assigned", NA), 3);
    assert.equal(value("pool_declined", NA), 1);
    assert.equal(value("pool_assigned", PD), 3);
    // The address leases expire (valid 100 s); the reclaim run counts them.
    await shared.reclaim(unixNow() + 101);
    assert.equal(value("pool_assigned", NA), 0);
    assert.equal(value("pool_reclaimed", NA), 3);
    assert.equal(value("pool_assigned", PD), 3);

    const text = extensionStatsText(extensionStatistics).join("\n");
    assert.match(text, /- pool_assigned\{pool="na 2001:db8:1::100\/120"\}: 0/);
    assert.match(text, /- pool_reclaimed\{pool="na 2001:db8:1::100\/120"\}: 3/);
    const json = extensionStatsJson(extensionStatistics)!;
    assert.deepEqual(json.pool_total, [
      { labels: { pool: NA }, value: 256 },
      { labels: { pool: PD }, value: 256 },
    ]);
    const metrics = extensionMetricFamilies(extensionStatistics);
    const assigned = metrics.find((m) => m.name === "dhcpkit_pool_assigned")!;
    assert.equal(assigned.type, "gauge");
    assert.deepEqual(assigned.samples[1], ["dhcpkit_pool_assigned", [["pool", PD]], 3]);
    // Gauges survive the drain to the main thread as values, not as deltas.
    // (here the thread drains into itself: counters restart at 0, a gauge keeps its value).
    const delta = extensionStatistics.drain();
    assert.equal(value("pool_lease_events", PD, "committed"), 0);
    assert.equal(value("pool_assigned", PD), 3);
    extensionStatistics.merge(delta);
    extensionStatistics.merge(delta);
    assert.equal(value("pool_lease_events", PD, "committed"), 6);
    assert.equal(value("pool_assigned", PD), 3);
  } finally {
    await p.cleanup();
    extensionStatistics.clear();
  }
});
