/**
 * Prometheus / OpenMetrics exposition of the server statistics, and the request-latency
 * histogram that workers fill and ship to the main thread as deltas. Also answers `/healthz` and
 * `/ready`.
 *
 * The families are built so that `sum()` means something: every counter family carries a
 * `scope` label (`global`, `interface`, `subnet`, `relay`; outside `global` an `entry` label
 * names the interface, subnet or relay), and within one scope the series of a family are
 * disjoint parts (by message `type`, drop `reason` or error `status`), never a total beside its
 * parts. One packet counts once in `global` and again in every interface, subnet and relay it
 * belongs to, so a sum is taken within one scope: `sum(x{scope="global"})` or
 * `sum by (scope) (x)`. Names follow Kea's statistics where Kea has one (`pkt6-received` is
 * `dhcpkit_pkt6_received_total`); Kea's `pkt6-receive-drop` (dropped for any reason) is
 * `sum(dhcpkit_pkt6_dropped_total{scope="global"})` here.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { HttpEndpoint } from "./http_endpoint.ts";
import {
  messageInIndex,
  messageOutIndex,
  MESSAGES_IN,
  MESSAGES_OUT,
  newCounters,
  type ScalarCounter,
  scalarIndex,
  type StatisticsStore,
} from "../pipeline/statistics.ts";
import type { ExtensionStatistics } from "../pipeline/extension_statistics.ts";
import { extensionMetricFamilies } from "./extension_stats_output.ts";
import type { MetricsValues } from "../config/sections/metrics.ts";
import { VERSION } from "../version.ts";
import { withRootSync } from "./privileges.ts";
import type { StatisticsEntries } from "./stats_output.ts";
import type { BatchDelaySnapshot } from "./batch_delays.ts";

const log = getLogger(["dhcpkit", "metrics"]);

/** Upper bounds (seconds) of the latency histogram buckets; a final `+Inf` bucket is implied. */
export const LATENCY_BUCKETS: readonly number[] = [
  0.00005,
  0.0001,
  0.00025,
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
];

/**
 * A latency histogram: per-bucket (non-cumulative) counts, then the `+Inf` bucket, the sum in
 * seconds and the count, all in one array so it can be shipped as a delta.
 */
export class LatencyHistogram {
  /** Bucket counts, then `+Inf`, sum, count. */
  values: number[] = new Array(LATENCY_BUCKETS.length + 3).fill(0);

  /** Record one observation in seconds. */
  observe(seconds: number): void {
    let i = 0;
    while (i < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[i]) i++;
    this.values[i]++;
    this.values[LATENCY_BUCKETS.length + 1] += seconds;
    this.values[LATENCY_BUCKETS.length + 2]++;
  }

  /** Number of observations. */
  get count(): number {
    return this.values[LATENCY_BUCKETS.length + 2];
  }

  /** Take the values out as a delta and reset (undefined when nothing was observed). */
  drain(): number[] | undefined {
    if (this.count === 0) return undefined;
    const out = this.values;
    this.values = new Array(LATENCY_BUCKETS.length + 3).fill(0);
    return out;
  }

  /** Add a delta produced by {@link LatencyHistogram.drain}. */
  merge(delta: readonly number[]): void {
    for (let i = 0; i < this.values.length && i < delta.length; i++) this.values[i] += delta[i];
  }
}

/** What the exposition shows besides the statistics store. */
export interface MetricsSources {
  /** The counters. */
  stats: StatisticsStore;
  /** The configured category entries (shown even when zero). */
  entries: StatisticsEntries;
  /** Request-handling latency. */
  latency: LatencyHistogram;
  /** Packets dropped because every worker was busy. */
  queueDrops: number;
  /** Workers replaced because they died, hung or failed too often (absent: not shown). */
  workerRestarts?: number;
  /** The `io-batch-delay` of each `ffi` I/O worker (shown when a worker reported one). */
  batchDelay?: BatchDelaySnapshot;
  /** Log lines dropped per log output. */
  logDrops: ReadonlyArray<readonly [string, number]>;
  /** Static assignments loaded per source (file path): CSV rows, SQLite table rows. */
  staticAssignments: ReadonlyArray<readonly [string, number]>;
  /** What extensions counted (their families follow the server's own). */
  extensions?: ExtensionStatistics;
  /** The last configuration load (start-up or reload): its outcome and time (Unix seconds). */
  lastReload: { successful: boolean; time: number };
}

/** What `/healthz` and `/ready` report. */
export interface Health {
  /** Serving or about to: false once the server is stopping (`/healthz`). */
  live: boolean;
  /** Listeners open and handlers initialised, and not stopping (`/ready`). */
  ready: boolean;
}

/** Label values of `type` in `dhcpkit_pkt6_received_total` beyond the counted request types. */
export const RECEIVED_OTHER = "other";
/** Packets that could not be parsed, in `dhcpkit_pkt6_received_total`. */
export const RECEIVED_UNPARSABLE = "unparsable";

/** `dhcpkit_pkt6_dropped_total` reasons and the counters they show. */
export const DROP_REASONS: ReadonlyArray<readonly [string, ScalarCounter]> = [
  ["unparsable", "unparsable_packets"],
  ["for_other_server", "for_other_server"],
  ["do_not_respond", "do_not_respond"],
  ["handling_error", "handling_errors"],
  ["lookup_failure", "lookup_failures"],
  ["lookup_timeout", "lookup_timeouts"],
  ["lookup_overflow", "lookup_overflows"],
];

/** `dhcpkit_pkt6_error_replies_total` statuses and the counters they show. */
export const ERROR_STATUSES: ReadonlyArray<readonly [string, ScalarCounter]> = [
  ["use_multicast", "use_multicast"],
  ["unknown_query_type", "unknown_query_type"],
  ["malformed_query", "malformed_query"],
  ["not_allowed", "not_allowed"],
  ["other_error", "other_error"],
];

function labelValue(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function formatNumber(n: number): string {
  return n === Infinity ? "+Inf" : n === -Infinity ? "-Inf" : String(n);
}

/** `{a="x",b="y"}` from label pairs (nothing when there are none). */
function labels(pairs: ReadonlyArray<readonly [string, string]>): string {
  if (pairs.length === 0) return "";
  return "{" + pairs.map(([k, v]) => `${k}="${labelValue(v)}"`).join(",") + "}";
}

/** One statistics set with its scope labels. */
interface ScopedSet {
  scope: ReadonlyArray<readonly [string, string]>;
  values: readonly number[];
}

function scopedSets(sources: MetricsSources): ScopedSet[] {
  const sets: ScopedSet[] = [{
    scope: [["scope", "global"]],
    values: sources.stats.sets.get("global") ?? newCounters(),
  }];
  const kinds: Array<[string, string[]]> = [
    ["interface", sources.entries.interfaces],
    ["subnet", sources.entries.subnets],
    ["relay", sources.entries.relays],
  ];
  for (const [kind, names] of kinds) {
    for (const name of names) {
      sets.push({
        scope: [["scope", kind], ["entry", name]],
        values: sources.stats.sets.get(`${kind}:${name}`) ?? newCounters(),
      });
    }
  }
  return sets;
}

/** Writes families in either format. */
class Exposition {
  readonly lines: string[] = [];
  constructor(readonly openMetrics: boolean) {}

  /** Start a family; counters are declared without `_total` in OpenMetrics. */
  family(name: string, type: "counter" | "gauge" | "histogram", help: string): void {
    const declared = type === "counter" && !this.openMetrics ? `${name}_total` : name;
    this.lines.push(`# HELP ${declared} ${help}`, `# TYPE ${declared} ${type}`);
  }

  sample(name: string, pairs: ReadonlyArray<readonly [string, string]>, value: number): void {
    this.lines.push(`${name}${labels(pairs)} ${formatNumber(value)}`);
  }
}

/** A counter read from a statistics set: `[label value, how to get it]`. */
type Part = readonly [string, (values: readonly number[]) => number];

const counter = (name: ScalarCounter) => {
  const i = scalarIndex(name);
  return (values: readonly number[]) => values[i];
};
const at = (i: number) => (values: readonly number[]) => values[i];

/** Received packets by type: the counted request types, `other` and `unparsable`. */
const RECEIVED_PARTS: readonly Part[] = [
  ...MESSAGES_IN.map(([type, code]): Part => [type, at(messageInIndex(code)!)]),
  [RECEIVED_OTHER, (values) => {
    let typed = values[scalarIndex("unparsable_packets")];
    for (const [, code] of MESSAGES_IN) typed += values[messageInIndex(code)!];
    return Math.max(0, values[scalarIndex("incoming_packets")] - typed);
  }],
  [RECEIVED_UNPARSABLE, counter("unparsable_packets")],
];

/** The request counter families: `[name, help, part label, parts]`. */
const REQUEST_FAMILIES: ReadonlyArray<readonly [string, string, string, readonly Part[]]> = [
  [
    "dhcpkit_pkt6_received",
    "Packets received and handled, by request type (`other`: a type the server does not count; " +
    "`unparsable`: not a valid message); the types add up to every packet received",
    "type",
    RECEIVED_PARTS,
  ],
  ["dhcpkit_pkt6_sent", "Messages sent (every message of a bulk answer)", "", [
    ["", counter("outgoing_packets")],
  ]],
  [
    "dhcpkit_pkt6_answered",
    "Requests answered, by the type of the answer (a bulk leasequery once, by its first message)",
    "type",
    MESSAGES_OUT.map(([type, code]): Part => [type, at(messageOutIndex(code)!)]),
  ],
  [
    "dhcpkit_pkt6_dropped",
    "Packets received and not answered, by reason; the reasons add up to Kea's pkt6-receive-drop",
    "reason",
    DROP_REASONS.map(([reason, name]): Part => [reason, counter(name)]),
  ],
  [
    "dhcpkit_pkt6_error_replies",
    "Requests answered with an error status (UseMulticast, UnknownQueryType, MalformedQuery, " +
    "NotAllowed, another), by status",
    "status",
    ERROR_STATUSES.map(([status, name]): Part => [status, counter(name)]),
  ],
];

/**
 * The request counters: one family per kind of count, the scope and the part (when the family
 * has parts) as labels.
 */
function requestFamilies(out: Exposition, sets: readonly ScopedSet[]): void {
  for (const [name, help, label, parts] of REQUEST_FAMILIES) {
    out.family(name, "counter", help);
    for (const { scope, values } of sets) {
      for (const [part, read] of parts) {
        out.sample(`${name}_total`, label ? [...scope, [label, part]] : scope, read(values));
      }
    }
  }
}

/** The families of the I/O workers' `io-batch-delay`. */
function batchDelayFamilies(out: Exposition, delays: BatchDelaySnapshot): void {
  const workers = delays.workers;
  out.family(
    "dhcpkit_io_batch_delay_seconds",
    "gauge",
    "The io-batch-delay each ffi I/O worker waits now (with auto: the one it chose)",
  );
  for (const [worker, d] of workers) {
    out.sample("dhcpkit_io_batch_delay_seconds", [["worker", String(worker)]], d.seconds);
  }
  out.family(
    "dhcpkit_io_batch_delay_chained",
    "gauge",
    "1 while the I/O worker waits before every receive (io-batch-delay auto, a steady stream)",
  );
  for (const [worker, d] of workers) {
    out.sample("dhcpkit_io_batch_delay_chained", [["worker", String(worker)]], d.chained ? 1 : 0);
  }
  out.family(
    "dhcpkit_io_batch_delay_changes",
    "counter",
    "Changes io-batch-delay auto made to a wait: raised (longer, or chained) or lowered",
  );
  out.sample("dhcpkit_io_batch_delay_changes_total", [["direction", "raised"]], delays.raised);
  out.sample("dhcpkit_io_batch_delay_changes_total", [["direction", "lowered"]], delays.lowered);
}

/** When the process started (Unix seconds). */
function processStartTime(): number {
  return Math.round(performance.timeOrigin) / 1000;
}

function residentMemory(): number {
  try {
    return Deno.memoryUsage().rss;
  } catch {
    return NaN;
  }
}

/**
 * The metrics in the Prometheus text format (version 0.0.4), or in OpenMetrics 1.0 when
 * `openMetrics` is set (counter families declared without `_total`, and a final `# EOF`).
 */
export function formatMetrics(sources: MetricsSources, openMetrics = false): string {
  const out = new Exposition(openMetrics);
  requestFamilies(out, scopedSets(sources));

  out.family(
    "dhcpkit_pkt6_queue_full_dropped",
    "counter",
    "Packets dropped before handling because every worker was busy (not in " +
      "dhcpkit_pkt6_received_total)",
  );
  out.sample("dhcpkit_pkt6_queue_full_dropped_total", [], sources.queueDrops);

  if (sources.workerRestarts !== undefined) {
    out.family(
      "dhcpkit_worker_restarts",
      "counter",
      "Workers replaced because they exited, hung or reported too many errors",
    );
    out.sample("dhcpkit_worker_restarts_total", [], sources.workerRestarts);
  }

  if (sources.batchDelay?.workers.length) batchDelayFamilies(out, sources.batchDelay);

  out.family(
    "dhcpkit_log_lines_dropped",
    "counter",
    "Log lines dropped because a log output failed or fell behind",
  );
  for (const [output, n] of sources.logDrops) {
    out.sample("dhcpkit_log_lines_dropped_total", [["output", output]], n);
  }

  const h = sources.latency.values;
  const hName = "dhcpkit_request_duration_seconds";
  out.family(hName, "histogram", "Time spent handling one request");
  let cumulative = 0;
  for (let i = 0; i <= LATENCY_BUCKETS.length; i++) {
    cumulative += h[i];
    const le = i < LATENCY_BUCKETS.length ? formatNumber(LATENCY_BUCKETS[i]) : "+Inf";
    out.sample(`${hName}_bucket`, [["le", le]], cumulative);
  }
  out.sample(`${hName}_sum`, [], h[LATENCY_BUCKETS.length + 1]);
  out.sample(`${hName}_count`, [], h[LATENCY_BUCKETS.length + 2]);

  out.family(
    "dhcpkit_static_assignments",
    "gauge",
    "Static assignments loaded per source: usable CSV rows, SQLite table rows (counted when " +
      "the configuration was loaded)",
  );
  for (const [source, n] of sources.staticAssignments) {
    out.sample("dhcpkit_static_assignments", [["source", source]], n);
  }

  out.family(
    "dhcpkit_config_last_reload_successful",
    "gauge",
    "Whether the last configuration load (start-up or reload) succeeded",
  );
  out.sample("dhcpkit_config_last_reload_successful", [], sources.lastReload.successful ? 1 : 0);
  out.family(
    "dhcpkit_config_last_reload_timestamp_seconds",
    "gauge",
    "When the configuration was last loaded or a reload last tried (Unix time)",
  );
  out.sample("dhcpkit_config_last_reload_timestamp_seconds", [], sources.lastReload.time);

  if (sources.extensions) {
    for (const family of extensionMetricFamilies(sources.extensions)) {
      out.family(family.name, family.type, family.help);
      for (const [name, pairs, value] of family.samples) out.sample(name, pairs, value);
    }
  }

  out.family("dhcpkit_build_info", "gauge", "The dhcpkit version, as a label; always 1");
  out.sample("dhcpkit_build_info", [["version", VERSION]], 1);
  out.family("process_start_time_seconds", "gauge", "Start time of the process (Unix time)");
  out.sample("process_start_time_seconds", [], processStartTime());
  out.family("process_resident_memory_bytes", "gauge", "Resident memory of the process in bytes");
  out.sample("process_resident_memory_bytes", [], residentMemory());

  if (openMetrics) out.lines.push("# EOF");
  return out.lines.join("\n") + "\n";
}

/** Content type of the Prometheus text format. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
/** Content type of OpenMetrics text. */
export const OPENMETRICS_CONTENT_TYPE =
  "application/openmetrics-text; version=1.0.0; charset=utf-8";

/** A running `/metrics` HTTP endpoint. */
export class MetricsServer extends HttpEndpoint {
  /**
   * Start serving `/metrics`, `/healthz` and `/ready` on `address`:`port`; throws when the port
   * cannot be bound.
   */
  static start(
    address: string,
    port: number,
    sources: () => MetricsSources | Promise<MetricsSources>,
    health: () => Health,
  ): MetricsServer {
    return new MetricsServer(address, port, log, "Metrics", async (request) => {
      const url = new URL(request.url);
      const probe = url.pathname === "/healthz" ? "live" : url.pathname === "/ready" ? "ready" : "";
      if (url.pathname !== "/metrics" && !probe) {
        return new Response("not found\n", { status: 404 });
      }
      if (request.method !== "GET" && request.method !== "HEAD") {
        return new Response("method not allowed\n", { status: 405 });
      }
      if (probe) {
        const up = health()[probe as keyof Health];
        const text = up ? "OK\n" : probe === "live" ? "stopping\n" : "not ready\n";
        return new Response(request.method === "HEAD" ? null : text, {
          status: up ? 200 : 503,
          headers: { "content-type": "text/plain; charset=utf-8" },
        });
      }
      const open = (request.headers.get("accept") ?? "").includes("application/openmetrics-text");
      const body = formatMetrics(await sources(), open);
      return new Response(request.method === "HEAD" ? null : body, {
        headers: { "content-type": open ? OPENMETRICS_CONTENT_TYPE : PROMETHEUS_CONTENT_TYPE },
      });
    }, `${address}|${port}`);
  }
}

/**
 * Start the endpoint `<metrics>` asks for (binding is synchronous: as root, also after a reload)
 * and log where it is; throws with a one-line message when it cannot be served.
 */
export function startMetrics(
  m: MetricsValues,
  sources: () => Promise<MetricsSources>,
  health: () => Health,
): MetricsServer {
  try {
    const server = withRootSync(() => MetricsServer.start(m.address, m.port, sources, health));
    log.info("Metrics on http://{host}:{port}/metrics", {
      host: m.address.includes(":") ? `[${m.address}]` : m.address,
      port: server.addr.port,
    });
    return server;
  } catch (e) {
    throw new Error(`cannot serve metrics on [${m.address}]:${m.port}: ${(e as Error).message}`);
  }
}
