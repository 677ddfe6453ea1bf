/**
 * Statistics that extensions declare: named counter and histogram families with labels (e.g.
 * `radius_exchanges{server, result}`), counted by handlers in whichever thread they run, drained
 * as deltas to the main thread like the built-in counters, and shown by `ctl stats`, `stats-json`
 * and `/metrics` next to them.
 *
 * An extension lists its families in `Extension.statistics`; installing it registers them (in
 * {@link statisticFamilies}). A handler records into the store of its thread,
 * {@link extensionStatistics}: each thread (the main thread, every worker) has its own, the
 * workers' stores are drained into the main thread's with every statistics delta, and the main
 * thread's store is what is shown.
 * @module
 */

/** One family of series an extension declares. */
export interface StatisticFamily {
  /**
   * Name: lower case words joined by `_`, starting with the extension's own word (`radius_...`).
   * `/metrics` shows it as `dhcpkit_NAME` (`_total` added for counters).
   */
  readonly name: string;
  /** What it counts, one sentence. */
  readonly help: string;
  /**
   * `counter` (only goes up), `gauge` (a current value: the last one set in any thread is
   * shown, e.g. leases bound now, read from a shared store) or `histogram` (observations into
   * buckets).
   */
  readonly type: "counter" | "gauge" | "histogram";
  /** The label names every series of the family has, in order. */
  readonly labels: readonly string[];
  /** Upper bounds of the buckets of a histogram, increasing; a `+Inf` bucket is implied. */
  readonly buckets?: readonly number[];
}

const NAME_RE = /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/;

/** The registered families, by name (filled when extensions are installed). */
export class StatisticFamilies {
  readonly #families = new Map<string, StatisticFamily>();

  /**
   * Register a family; registering the same object again does nothing. Throws for a bad name,
   * for bad buckets, and when another family already has the name.
   */
  register(family: StatisticFamily): void {
    const existing = this.#families.get(family.name);
    if (existing === family) return;
    if (existing) throw new Error(`statistic ${family.name} is already registered`);
    if (!NAME_RE.test(family.name)) {
      throw new Error(`statistic name ${JSON.stringify(family.name)} is not lower_case_words`);
    }
    for (const label of family.labels) {
      if (!NAME_RE.test(label)) throw new Error(`label ${JSON.stringify(label)} is not lower_case`);
    }
    if (family.type === "histogram") {
      const b = family.buckets ?? [];
      if (b.length === 0 || b.some((x, i) => !(x > (i ? b[i - 1] : -Infinity)))) {
        throw new Error(`histogram ${family.name} needs increasing buckets`);
      }
    }
    this.#families.set(family.name, family);
  }

  /** The family with this name, if registered. */
  get(name: string): StatisticFamily | undefined {
    return this.#families.get(name);
  }

  /** Every registered family, sorted by name. */
  all(): StatisticFamily[] {
    return [...this.#families.values()].sort((a, b) => a.name < b.name ? -1 : 1);
  }
}

/** The families registered in this thread (every thread installs the same extensions). */
export const statisticFamilies: StatisticFamilies = new StatisticFamilies();

/** Number of values one series of `family` keeps. */
function width(family: StatisticFamily): number {
  // A histogram: per-bucket counts, the `+Inf` bucket, the sum and the count.
  return family.type === "histogram" ? family.buckets!.length + 3 : 1;
}

/** One series: its label values and its numbers (see {@link width}). */
export interface Series {
  /** Label values, in the order of the family's labels. */
  readonly labels: readonly string[];
  /** The count (counter), or bucket counts, `+Inf`, sum and count (histogram). */
  readonly values: number[];
}

/** A delta: by family name, the series that changed (for gauges, their value). */
export type ExtensionStatisticsDelta = Array<[string, Array<[string[], number[]]>]>;

/** A series that records into a store; get it once, use it for every request. */
export interface Recorder {
  /** Add `n` (default 1) to a counter. */
  add(n?: number): void;
  /** Record one observation (histograms), e.g. seconds. */
  observe(value: number): void;
  /** Set the value of a gauge. */
  set(value: number): void;
}

/** The series of the families, in one thread. */
export class ExtensionStatistics {
  readonly #series = new Map<string, Map<string, Series & { changed: boolean }>>();

  /** A store for the series of `families` (the registered ones unless given). */
  constructor(readonly families: StatisticFamilies = statisticFamilies) {}

  #get(family: StatisticFamily, labels: readonly string[]): Series & { changed: boolean } {
    let byLabels = this.#series.get(family.name);
    if (!byLabels) this.#series.set(family.name, byLabels = new Map());
    const key = labels.join("\u0000");
    let series = byLabels.get(key);
    if (!series) {
      series = { labels: [...labels], values: new Array(width(family)).fill(0), changed: true };
      byLabels.set(key, series);
    }
    return series;
  }

  /**
   * The recorder of one series of `family` (which must be registered), creating the series at
   * zero: it is shown from now on, also before anything is counted.
   */
  series(family: StatisticFamily, ...labels: string[]): Recorder {
    if (this.families.get(family.name) !== family) {
      throw new Error(`statistic ${family.name} is not registered`);
    }
    if (labels.length !== family.labels.length) {
      throw new Error(`statistic ${family.name} has labels ${family.labels.join(", ")}`);
    }
    const series = this.#get(family, labels);
    const buckets = family.buckets ?? [];
    return {
      add(n = 1) {
        series.values[0] += n;
        series.changed = true;
      },
      set(value: number) {
        series.values[0] = value;
        series.changed = true;
      },
      observe(value: number) {
        let i = 0;
        while (i < buckets.length && value > buckets[i]) i++;
        const v = series.values;
        v[i]++;
        v[buckets.length + 1] += value;
        v[buckets.length + 2]++;
        series.changed = true;
      },
    };
  }

  /** The series of a family, in the order they were made. */
  seriesOf(name: string): Series[] {
    return [...(this.#series.get(name)?.values() ?? [])].map(({ labels, values }) => ({
      labels,
      values,
    }));
  }

  /**
   * Take what changed since the last drain out as a delta and reset it (series made but not yet
   * counted go along at zero, so the main thread shows them too).
   */
  drain(): ExtensionStatisticsDelta {
    const out: ExtensionStatisticsDelta = [];
    for (const [name, byLabels] of this.#series) {
      const changed: Array<[string[], number[]]> = [];
      const gauge = this.families.get(name)?.type === "gauge";
      for (const series of byLabels.values()) {
        if (!series.changed) continue;
        changed.push([[...series.labels], series.values.slice()]);
        if (!gauge) series.values.fill(0); // a gauge keeps its value: it is set, not added
        series.changed = false;
      }
      if (changed.length) out.push([name, changed]);
    }
    return out;
  }

  /** Add a delta made by another thread's {@link ExtensionStatistics.drain}; unknown families are skipped. */
  merge(delta: ExtensionStatisticsDelta): void {
    for (const [name, list] of delta) {
      const family = this.families.get(name);
      if (!family) continue;
      for (const [labels, values] of list) {
        if (labels.length !== family.labels.length) continue;
        const series = this.#get(family, labels);
        if (family.type === "gauge") {
          if (values.length > 0) series.values[0] = values[0];
          continue;
        }
        for (let i = 0; i < series.values.length && i < values.length; i++) {
          series.values[i] += values[i];
        }
      }
    }
  }

  /** Forget every series. */
  clear(): void {
    this.#series.clear();
  }
}

/** The store of this thread: handlers record into it, the worker drains it. */
export const extensionStatistics: ExtensionStatistics = new ExtensionStatistics();
