/**
 * How the statistics extensions declare (see `pipeline/extension_statistics.ts`) are shown: an
 * `Extensions` block of `ctl stats`, an `extensions` object of `stats-json` and families of
 * `/metrics`. Only families with series appear, so a server whose extensions count nothing shows
 * exactly what it showed before.
 * @module
 */

import type { ExtensionStatistics, Series, StatisticFamily } from "../pipeline/mod.ts";

/** The families of `store` that have series, with them, sorted by family name. */
export function shownFamilies(
  store: ExtensionStatistics,
): Array<{ family: StatisticFamily; series: Series[] }> {
  return store.families.all()
    .map((family) => ({ family, series: store.seriesOf(family.name) }))
    .filter((f) => f.series.length > 0);
}

/** Label pairs of a series, as `[name, value]`. */
export function labelPairs(family: StatisticFamily, series: Series): Array<[string, string]> {
  return family.labels.map((name, i) => [name, series.labels[i]]);
}

/** The cumulative bucket counts of a histogram series by upper bound (`+Inf` last). */
function cumulative(family: StatisticFamily, values: readonly number[]): Array<[string, number]> {
  const bounds = family.buckets!;
  const out: Array<[string, number]> = [];
  let sum = 0;
  for (let i = 0; i <= bounds.length; i++) {
    sum += values[i];
    out.push([i < bounds.length ? String(bounds[i]) : "+Inf", sum]);
  }
  return out;
}

/** Sum and count of a histogram series. */
function sumCount(family: StatisticFamily, values: readonly number[]): [number, number] {
  const n = family.buckets!.length;
  return [values[n + 1], values[n + 2]];
}

/** The `Extensions` block of `ctl stats` (no lines when nothing is shown). */
export function extensionStatsText(store: ExtensionStatistics): string[] {
  const shown = shownFamilies(store);
  if (shown.length === 0) return [];
  const lines = ["", "Extensions"];
  for (const { family, series } of shown) {
    for (const s of series) {
      const pairs = labelPairs(family, s);
      const name = family.name +
        (pairs.length ? `{${pairs.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(",")}}` : "");
      if (family.type !== "histogram") {
        lines.push(`- ${name}: ${s.values[0]}`);
      } else {
        const [sum, count] = sumCount(family, s.values);
        lines.push(`- ${name}: count ${count}, sum ${Number(sum.toFixed(6))}`);
      }
    }
  }
  return lines;
}

/**
 * The `extensions` object of `stats-json` (undefined when nothing is shown): by family, a list
 * of series `{labels, value}` (counters) or `{labels, count, sum, buckets}` (histograms, buckets
 * cumulative by upper bound as in Prometheus).
 */
export function extensionStatsJson(
  store: ExtensionStatistics,
): Record<string, unknown[]> | undefined {
  const shown = shownFamilies(store);
  if (shown.length === 0) return undefined;
  const out: Record<string, unknown[]> = {};
  for (const { family, series } of shown) {
    out[family.name] = series.map((s) => {
      const labels = Object.fromEntries(labelPairs(family, s));
      if (family.type !== "histogram") return { labels, value: s.values[0] };
      const [sum, count] = sumCount(family, s.values);
      return { labels, count, sum, buckets: Object.fromEntries(cumulative(family, s.values)) };
    });
  }
  return out;
}

/** One exposition line: metric name, label pairs, value. */
export type MetricSample = readonly [string, ReadonlyArray<readonly [string, string]>, number];

/**
 * The `/metrics` families: for each shown family its name (`dhcpkit_NAME`), type, help and
 * samples (`_total` for counters, the name itself for gauges; `_bucket` with `le`, `_sum`, `_count` for histograms).
 */
export function extensionMetricFamilies(
  store: ExtensionStatistics,
): Array<
  { name: string; type: "counter" | "gauge" | "histogram"; help: string; samples: MetricSample[] }
> {
  return shownFamilies(store).map(({ family, series }) => {
    const name = `dhcpkit_${family.name}`;
    const samples: MetricSample[] = [];
    for (const s of series) {
      const pairs = labelPairs(family, s);
      if (family.type === "counter") {
        samples.push([`${name}_total`, pairs, s.values[0]]);
        continue;
      }
      if (family.type === "gauge") {
        samples.push([name, pairs, s.values[0]]);
        continue;
      }
      for (const [le, n] of cumulative(family, s.values)) {
        samples.push([`${name}_bucket`, [...pairs, ["le", le]], n]);
      }
      const [sum, count] = sumCount(family, s.values);
      samples.push([`${name}_sum`, pairs, sum], [`${name}_count`, pairs, count]);
    }
    return { name, type: family.type, help: family.help, samples };
  });
}
