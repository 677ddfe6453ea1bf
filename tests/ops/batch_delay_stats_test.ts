/**
 * How the I/O workers' `io-batch-delay` is kept by the main thread and shown by `ctl stats`,
 * `stats-json` and `/metrics` (the formatting alone; tests/ops/ffi_backend_test.ts reads it from a
 * running server across reloads).
 */

import assert from "node:assert/strict";
import { StatisticsStore } from "../../src/pipeline/mod.ts";
import { BatchDelays } from "../../src/server/batch_delays.ts";
import { formatMetrics } from "../../src/server/metrics.ts";
import { formatStatsJson, formatStatsText } from "../../src/server/stats_output.ts";
import { parseExposition, quietMetricsSources, select } from "./exposition.ts";

const ENTRIES = { interfaces: [], subnets: [], relays: [] };

/** Two workers of one backend: one at auto's floor, one chained at 1 ms. */
function twoWorkers(): { delays: BatchDelays; backend: object } {
  const delays = new BatchDelays();
  const backend = {};
  delays.report(backend, { worker: 2, seconds: 0.001, chained: true, raised: 2, lowered: 0 });
  delays.report(backend, { worker: 1, seconds: 0.0005, chained: false, raised: 1, lowered: 1 });
  return { delays, backend };
}

Deno.test("batch delays: the last report per worker of the backend in use, changes summed", () => {
  const { delays, backend } = twoWorkers();
  delays.report(backend, { worker: 1, seconds: 0.001, chained: false, raised: 1, lowered: 0 });
  assert.deepEqual(delays.snapshot(backend), {
    workers: [[1, { seconds: 0.001, chained: false }], [2, { seconds: 0.001, chained: true }]],
    raised: 4,
    lowered: 1,
  });
  // A backend that replaced this one shows only its own workers; the changes keep counting.
  const next = {};
  delays.report(next, { worker: 1, seconds: 0.0005, chained: false, raised: 0, lowered: 0 });
  assert.deepEqual(delays.snapshot(next), {
    workers: [[1, { seconds: 0.0005, chained: false }]],
    raised: 4,
    lowered: 1,
  });
  assert.deepEqual(delays.snapshot(undefined).workers, []);
  assert.deepEqual(delays.snapshot({}).workers, []);
});

Deno.test("ctl stats and stats-json: each I/O worker's wait in the server block", () => {
  const { delays, backend } = twoWorkers();
  const server = { workerRestarts: 0, batchDelay: delays.snapshot(backend) };
  const text = formatStatsText(new StatisticsStore(), ENTRIES, undefined, server);
  assert.ok(
    text.endsWith(
      "Server\n- Worker restarts: 0\n- I/O worker 1 batch delay: 0.5 ms\n" +
        "- I/O worker 2 batch delay: 1 ms, before every receive\n" +
        "- Batch delay raised: 3\n- Batch delay lowered: 1",
    ),
    text,
  );
  const json = JSON.parse(formatStatsJson(new StatisticsStore(), ENTRIES, undefined, server));
  assert.deepEqual(json.server, {
    worker_restarts: 0,
    io_batch_delay: {
      workers: { 1: { seconds: 0.0005, chained: false }, 2: { seconds: 0.001, chained: true } },
      raised: 3,
      lowered: 1,
    },
  });
  // The deno backend's workers report nothing: no lines, no object.
  const none = { workerRestarts: 0, batchDelay: delays.snapshot({}) };
  assert.ok(
    formatStatsText(new StatisticsStore(), ENTRIES, undefined, none).endsWith(
      "Server\n- Worker restarts: 0",
    ),
  );
  assert.deepEqual(
    JSON.parse(formatStatsJson(new StatisticsStore(), ENTRIES, undefined, none)).server,
    { worker_restarts: 0 },
  );
});

Deno.test("/metrics: the wait and the chaining per I/O worker, auto's changes by direction", () => {
  const { delays, backend } = twoWorkers();
  const base = quietMetricsSources();
  for (const openMetrics of [false, true]) {
    const families = parseExposition(formatMetrics(
      { ...base, batchDelay: delays.snapshot(backend) },
      openMetrics,
    ));
    const byWorker = (name: string) =>
      select(families, name).map((s) => [s.labels.worker, s.value]);
    assert.deepEqual(byWorker("dhcpkit_io_batch_delay_seconds"), [["1", 0.0005], ["2", 0.001]]);
    assert.deepEqual(byWorker("dhcpkit_io_batch_delay_chained"), [["1", 0], ["2", 1]]);
    const changes = openMetrics
      ? "dhcpkit_io_batch_delay_changes"
      : "dhcpkit_io_batch_delay_changes_total";
    assert.deepEqual(
      select(families, changes).map((s) => [s.labels.direction, s.value]),
      [["raised", 3], ["lowered", 1]],
    );
    // Without reports (the deno backend), none of these families.
    const plain = parseExposition(formatMetrics(base, openMetrics));
    assert.ok(![...plain.keys()].some((name) => name.startsWith("dhcpkit_io_batch_delay")));
  }
});
