/**
 * How extension statistics are shown by `ctl stats`, `stats-json` and `/metrics` (the formatting
 * alone; tests/e2e/radius_test.ts reads them from a running server fed by workers).
 */

import assert from "node:assert/strict";
import {
  ExtensionStatistics,
  StatisticFamilies,
  type StatisticFamily,
  StatisticsStore,
} from "../../src/pipeline/mod.ts";
import { formatMetrics } from "../../src/server/metrics.ts";
import { formatStatsJson, formatStatsText } from "../../src/server/stats_output.ts";
import { quietMetricsSources } from "./exposition.ts";

const EXCHANGES: StatisticFamily = {
  name: "demo_exchanges",
  help: "Exchanges by server and result",
  type: "counter",
  labels: ["server", "result"],
};
const LATENCY: StatisticFamily = {
  name: "demo_latency_seconds",
  help: "Latency by server",
  type: "histogram",
  labels: ["server"],
  buckets: [0.01, 0.1],
};
const UNUSED: StatisticFamily = { name: "demo_unused", help: "Never", type: "counter", labels: [] };

function store(): ExtensionStatistics {
  const families = new StatisticFamilies();
  for (const f of [EXCHANGES, LATENCY, UNUSED]) families.register(f);
  const s = new ExtensionStatistics(families);
  s.series(EXCHANGES, "[::1]:1812", "accept").add(3);
  s.series(EXCHANGES, 'odd "name"', "reject").add();
  const h = s.series(LATENCY, "[::1]:1812");
  for (const v of [0.005, 0.05, 0.5]) h.observe(v);
  return s;
}

const ENTRIES = { interfaces: [], subnets: [], relays: [] };

Deno.test("ctl stats: an Extensions block after the server's own counters", () => {
  const text = formatStatsText(new StatisticsStore(), ENTRIES, store());
  assert.ok(text.startsWith("Global\n"));
  assert.ok(
    text.endsWith([
      "",
      "Extensions",
      '- demo_exchanges{server="[::1]:1812",result="accept"}: 3',
      '- demo_exchanges{server="odd \\"name\\"",result="reject"}: 1',
      '- demo_latency_seconds{server="[::1]:1812"}: count 3, sum 0.555',
    ].join("\n")),
    text,
  );
  const plain = formatStatsText(new StatisticsStore(), ENTRIES);
  assert.equal(formatStatsText(new StatisticsStore(), ENTRIES, new ExtensionStatistics()), plain);
  assert.ok(!plain.includes("Extensions"));
});

Deno.test("stats-json: an extensions object, only when extensions counted", () => {
  const json = JSON.parse(formatStatsJson(new StatisticsStore(), ENTRIES, store()));
  assert.deepEqual(Object.keys(json), ["global", "interfaces", "subnets", "relays", "extensions"]);
  assert.deepEqual(json.extensions, {
    demo_exchanges: [
      { labels: { server: "[::1]:1812", result: "accept" }, value: 3 },
      { labels: { server: 'odd "name"', result: "reject" }, value: 1 },
    ],
    demo_latency_seconds: [{
      labels: { server: "[::1]:1812" },
      count: 3,
      sum: 0.555,
      buckets: { "0.01": 1, "0.1": 2, "+Inf": 3 },
    }],
  });
  const plain = JSON.parse(formatStatsJson(new StatisticsStore(), ENTRIES));
  assert.deepEqual(Object.keys(plain), ["global", "interfaces", "subnets", "relays"]);
});

Deno.test("/metrics: extension families with HELP and TYPE, histograms cumulative", () => {
  const sources = quietMetricsSources();
  const text = formatMetrics({ ...sources, extensions: store() });
  const lines = text.split("\n");
  const from = lines.indexOf("# HELP dhcpkit_demo_exchanges_total Exchanges by server and result");
  assert.ok(from > 0, text);
  assert.deepEqual(lines.slice(from, from + 12), [
    "# HELP dhcpkit_demo_exchanges_total Exchanges by server and result",
    "# TYPE dhcpkit_demo_exchanges_total counter",
    'dhcpkit_demo_exchanges_total{server="[::1]:1812",result="accept"} 3',
    'dhcpkit_demo_exchanges_total{server="odd \\"name\\"",result="reject"} 1',
    "# HELP dhcpkit_demo_latency_seconds Latency by server",
    "# TYPE dhcpkit_demo_latency_seconds histogram",
    'dhcpkit_demo_latency_seconds_bucket{server="[::1]:1812",le="0.01"} 1',
    'dhcpkit_demo_latency_seconds_bucket{server="[::1]:1812",le="0.1"} 2',
    'dhcpkit_demo_latency_seconds_bucket{server="[::1]:1812",le="+Inf"} 3',
    'dhcpkit_demo_latency_seconds_sum{server="[::1]:1812"} 0.555',
    'dhcpkit_demo_latency_seconds_count{server="[::1]:1812"} 3',
    "# HELP dhcpkit_build_info The dhcpkit version, as a label; always 1",
  ]);
  assert.ok(!text.includes("demo_unused"), "families without series are left out");
  assert.ok(
    formatMetrics({ ...sources, extensions: store() }, true).includes(
      "# TYPE dhcpkit_demo_exchanges counter",
    ),
  );
  // The resident memory is read live by each call, so it is left out of the comparison.
  const withoutRss = (text: string) => text.replace(/^process_resident_memory_bytes .*$/m, "");
  assert.equal(
    withoutRss(formatMetrics(sources)),
    withoutRss(formatMetrics({ ...sources, extensions: undefined })),
  );
});
