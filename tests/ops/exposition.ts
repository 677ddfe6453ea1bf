/**
 * A small parser of the Prometheus text exposition format (0.0.4) and of OpenMetrics text, strict
 * enough to catch what a scraper would refuse: samples outside a declared family, duplicate
 * series, malformed labels or values. Also the quiet metrics sources the formatting tests start from.
 * @module
 */

import { StatisticsStore } from "../../src/pipeline/mod.ts";
import { LatencyHistogram, type MetricsSources } from "../../src/server/metrics.ts";

/** One sample: its name, labels and value. */
export interface Sample {
  /** The sample name (a family name, or with `_total`, `_bucket`, `_sum`, `_count`). */
  name: string;
  /** The labels. */
  labels: Record<string, string>;
  /** The value. */
  value: number;
}

/** A metric family: its type, help text and samples. */
export interface Family {
  /** Family name as declared by `# TYPE`. */
  name: string;
  /** `counter`, `gauge`, `histogram`, ... */
  type: string;
  /** The `# HELP` text. */
  help: string;
  /** The samples, in order. */
  samples: Sample[];
}

const SUFFIXES: Record<string, string[]> = {
  counter: ["", "_total"],
  gauge: [""],
  histogram: ["_bucket", "_sum", "_count"],
  info: ["_info"],
};

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    const m = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(text.slice(i));
    if (!m) throw new Error(`bad label in: ${line}`);
    i += m[0].length;
    let value = "";
    while (i < text.length && text[i] !== '"') {
      if (text[i] === "\\") {
        const next = text[i + 1];
        if (next === "n") value += "\n";
        else if (next === "\\" || next === '"') value += next;
        else throw new Error(`bad escape in: ${line}`);
        i += 2;
      } else {
        value += text[i++];
      }
    }
    if (text[i] !== '"') throw new Error(`unterminated label value in: ${line}`);
    i++;
    if (m[1] in labels) throw new Error(`label ${m[1]} twice in: ${line}`);
    labels[m[1]] = value;
    if (text[i] === ",") i++;
    else if (i !== text.length) throw new Error(`bad label list in: ${line}`);
  }
  return labels;
}

function parseValue(text: string, line: string): number {
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  if (text === "NaN") return NaN;
  const n = Number(text);
  if (text === "" || Number.isNaN(n)) throw new Error(`bad value in: ${line}`);
  return n;
}

/** Parse an exposition; throws on anything a scraper would refuse. */
export function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const seen = new Set<string>();
  let current: Family | undefined;
  const help = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line === "" || line === "# EOF") continue;
    const helpLine = /^# HELP (\S+) (.*)$/.exec(line);
    if (helpLine) {
      help.set(helpLine[1], helpLine[2]);
      continue;
    }
    if (line.startsWith("# TYPE ")) {
      const [name, type] = line.slice(7).split(" ");
      if (families.has(name)) throw new Error(`family ${name} declared twice`);
      if (!SUFFIXES[type]) throw new Error(`unknown type ${type} of ${name}`);
      current = { name, type, help: help.get(name) ?? "", samples: [] };
      families.set(name, current);
      continue;
    }
    if (line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \S+)?$/.exec(line);
    if (!m) throw new Error(`bad sample line: ${line}`);
    const [, name, labelText, valueText] = m;
    if (!current || !SUFFIXES[current.type].some((s) => current!.name + s === name)) {
      throw new Error(`sample ${name} outside its family (${current?.name ?? "none"})`);
    }
    const labels = parseLabels(labelText ?? "", line);
    const key = name + JSON.stringify(Object.entries(labels).sort());
    if (seen.has(key)) throw new Error(`duplicate series: ${line}`);
    seen.add(key);
    current.samples.push({ name, labels, value: parseValue(valueText, line) });
  }
  return families;
}

/** The samples of `family` whose labels include every label of `match`. */
export function select(
  families: Map<string, Family>,
  family: string,
  match: Record<string, string> = {},
): Sample[] {
  const f = families.get(family);
  if (!f) throw new Error(`no family ${family}`);
  return f.samples.filter((s) => Object.entries(match).every(([k, v]) => s.labels[k] === v));
}

/** PromQL's `sum(family{match})`. */
export function sum(
  families: Map<string, Family>,
  family: string,
  match: Record<string, string> = {},
): number {
  return select(families, family, match).reduce((n, s) => n + s.value, 0);
}

/** Metrics sources with nothing counted, no category entries and no reload failure. */
export function quietMetricsSources(): MetricsSources {
  return {
    stats: new StatisticsStore(),
    entries: { interfaces: [], subnets: [], relays: [] },
    latency: new LatencyHistogram(),
    queueDrops: 0,
    logDrops: [],
    staticAssignments: [],
    lastReload: { successful: true, time: 0 },
  };
}
