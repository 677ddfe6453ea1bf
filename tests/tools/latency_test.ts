/** The delay summary of bench/load/latency.ts: requests paired with answers by transaction id. */

import assert from "node:assert/strict";
import { pairDelays, quantile, summary } from "../../bench/load/latency.ts";

Deno.test("latency: requests are paired with their answers, relayed or not", () => {
  const lines = [
    "100.000000\t1\t0x000001", // Solicit
    "100.000100\t12,1\t0x000002", // relayed Solicit
    "100.000500\t2\t0x000001", // Advertise: 0.5 ms
    "100.001000\t3\t0x000003", // Request
    "100.002100\t13,2\t0x000002", // relayed Advertise: 2 ms
    "100.003000\t7\t0x000003", // Reply: 2 ms
    "100.004000\t7\t0x000009", // an answer without request: ignored
    "100.005000\t11\t0x000004", // never answered: ignored
    "garbage",
  ];
  const delays = pairDelays(lines).map((d) => Math.round(d * 1000) / 1000);
  assert.deepEqual(delays, [0.5, 2, 2]);
  assert.equal(summary([]), "pairs=0");
  assert.match(summary(delays), /^pairs=3 min=0\.500 avg=1\.500 p50=2\.000 p99=2\.000 max=2\.000$/);
});

Deno.test("latency: quantiles by nearest rank", () => {
  const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(quantile(sorted, 0.5), 50);
  assert.equal(quantile(sorted, 0.99), 99);
  assert.equal(quantile(sorted, 1), 100);
  assert.equal(quantile([7], 0.99), 7);
});
