import assert from "node:assert/strict";
import fc from "fast-check";
import {
  ExtensionStatistics,
  StatisticFamilies,
  type StatisticFamily,
} from "../../src/pipeline/extension_statistics.ts";

const REQUESTS: StatisticFamily = {
  name: "test_requests",
  help: "Requests",
  type: "counter",
  labels: ["server"],
};
const LATENCY: StatisticFamily = {
  name: "test_latency_seconds",
  help: "Latency",
  type: "histogram",
  labels: ["server"],
  buckets: [0.01, 0.1],
};

function families(): StatisticFamilies {
  const f = new StatisticFamilies();
  f.register(REQUESTS);
  f.register(LATENCY);
  return f;
}

Deno.test("extension statistics: families are checked when registered", () => {
  const f = families();
  f.register(REQUESTS); // the same object again: nothing happens
  assert.throws(() => f.register({ ...REQUESTS }), /already registered/);
  assert.throws(() => f.register({ ...REQUESTS, name: "Bad-Name" }), /lower_case/);
  assert.throws(() => f.register({ ...REQUESTS, name: "x_y", labels: ["A"] }), /lower_case/);
  assert.throws(
    () => f.register({ ...LATENCY, name: "h", buckets: [1, 1] }),
    /increasing buckets/,
  );
  assert.deepEqual(f.all().map((x) => x.name), ["test_latency_seconds", "test_requests"]);
  const store = new ExtensionStatistics(f);
  assert.throws(() => store.series({ ...REQUESTS, name: "other" }, "a"), /not registered/);
  assert.throws(() => store.series(REQUESTS), /has labels server/);
});

Deno.test("extension statistics: counters and histograms, shown from creation at zero", () => {
  const store = new ExtensionStatistics(families());
  const a = store.series(REQUESTS, "a");
  store.series(REQUESTS, "b");
  a.add();
  a.add(2);
  const h = store.series(LATENCY, "a");
  for (const v of [0.005, 0.01, 0.05, 3]) h.observe(v);
  assert.deepEqual(store.seriesOf("test_requests"), [
    { labels: ["a"], values: [3] },
    { labels: ["b"], values: [0] },
  ]);
  // Buckets (non-cumulative) ≤0.01, ≤0.1, +Inf, then the sum and the count.
  assert.deepEqual(store.seriesOf("test_latency_seconds")[0].values, [2, 1, 1, 3.065, 4]);
});

Deno.test("extension statistics: worker deltas merged into the main store add up", () => {
  const f = families();
  const main = new ExtensionStatistics(f);
  const workers = [new ExtensionStatistics(f), new ExtensionStatistics(f)];
  workers[0].series(REQUESTS, "a").add(2);
  workers[1].series(REQUESTS, "a").add(5);
  workers[1].series(REQUESTS, "b"); // made, never counted: still reaches the main thread
  for (const w of workers) main.merge(w.drain());
  assert.deepEqual(main.seriesOf("test_requests").map((s) => [s.labels, s.values]), [
    [["a"], [7]],
    [["b"], [0]],
  ]);
  // A drained store sends only what changed since.
  assert.deepEqual(workers[0].drain(), []);
  workers[0].series(REQUESTS, "a").add();
  assert.deepEqual(workers[0].drain(), [["test_requests", [[["a"], [1]]]]]);
  // Families the main thread does not know and malformed series are skipped.
  main.merge([["unknown", [[["x"], [1]]]], ["test_requests", [[["a", "b"], [9]]]]]);
  assert.deepEqual(main.seriesOf("test_requests")[0].values, [7]);
});

Deno.test("property: whatever is drained when, the main store ends with every count", () => {
  fc.assert(fc.property(
    fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.constantFrom("a", "b"), fc.boolean()), {
      maxLength: 60,
    }),
    (steps) => {
      const f = families();
      const main = new ExtensionStatistics(f);
      const workers = [0, 1, 2].map(() => new ExtensionStatistics(f));
      const expected = new Map<string, number>();
      for (const [worker, server, drain] of steps) {
        workers[worker].series(REQUESTS, server).add();
        expected.set(server, (expected.get(server) ?? 0) + 1);
        if (drain) main.merge(workers[worker].drain());
      }
      for (const w of workers) main.merge(w.drain());
      const got = new Map(main.seriesOf("test_requests").map((s) => [s.labels[0], s.values[0]]));
      assert.deepEqual(got, expected);
    },
  ));
});
