/**
 * The delay summary of bench/load/latency.ts (requests paired with answers by transaction id) and
 * the slow answers grouped into episodes by bench/load/latency_tail.ts.
 */

import assert from "node:assert/strict";
import { pairDelays, quantile, summary } from "../../bench/load/latency.ts";
import { episodes, pairs } from "../../bench/load/latency_tail.ts";

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

Deno.test("latency tail: slow answers sent close together form one episode", () => {
  const lines = [
    "100.000000\t1\t0x000001", // Solicit at 0 ms
    "100.000300\t2\t0x000001", // 0.3 ms: not slow
    "100.010000\t1\t0x000002", // 10 ms
    "100.011000\t1\t0x000003", // 11 ms
    "100.013000\t2\t0x000002", // 3 ms: slow
    "100.014500\t2\t0x000003", // 3.5 ms: slow, 1 ms after the previous slow request: same episode
    "100.030000\t3\t0x000004", // 30 ms
    "100.032500\t7\t0x000004", // 2.5 ms: slow, 19 ms later: an episode of its own
  ];
  const all = pairs(lines);
  assert.deepEqual(all.map((p) => Math.round(p.at - 100000)), [0, 10, 11, 30]);
  const found = episodes(all, 2, 5).map((e) => ({
    start: Math.round(e.start - 100000),
    slow: e.slow,
    worst: Math.round(e.worst * 10) / 10,
  }));
  assert.deepEqual(found, [{ start: 10, slow: 2, worst: 3.5 }, { start: 30, slow: 1, worst: 2.5 }]);
});
