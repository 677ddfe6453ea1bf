/**
 * Prometheus / OpenMetrics exposition of the server statistics, and the request-latency
 * histogram that workers fill and ship to the main thread as deltas.
 *
 * Counter names follow Kea's statistics where Kea has one (`pkt6-received` becomes
 * `dhcpkit_pkt6_received_total`); every counter carries a `category` label (`global`,
 * `interface`, `subnet`, `relay`) and, outside `global`, an `entry` label.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { StatisticsStore } from "../pipeline/statistics.ts";
import { COUNTER_COUNT, newCounters } from "../pipeline/statistics.ts";
import type { StatisticsEntries } from "./stats_output.ts";

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

/** Metric base names (without `dhcpkit_` and `_total`) of the counters, in counter order. */
export const METRIC_NAMES: readonly string[] = [
  "pkt6_received",
  "pkt6_sent",
  "pkt6_parse_failed",
  "pkt6_handling_failed",
  "pkt6_for_other_server",
  "pkt6_not_answered",
  "pkt6_use_multicast",
  "pkt6_unknown_query_type",
  "pkt6_malformed_query",
  "pkt6_not_allowed",
  "pkt6_other_error",
  "pkt6_solicit_received",
  "pkt6_request_received",
  "pkt6_confirm_received",
  "pkt6_renew_received",
  "pkt6_rebind_received",
  "pkt6_release_received",
  "pkt6_decline_received",
  "pkt6_infrequest_received",
  "pkt6_lease_query_received",
  "pkt6_advertise_sent",
  "pkt6_reply_sent",
  "pkt6_reconfigure_sent",
  "pkt6_lease_query_reply_sent",
  "pkt6_lease_query_done_sent",
  "pkt6_lease_query_data_sent",
];

const METRIC_HELP: readonly string[] = [
  "Packets received (including unparsable ones)",
  "Packets sent",
  "Packets that could not be parsed or failed validation",
  "Requests that caused an unexpected error while handling or sending",
  "Requests meant for another server",
  "Requests deliberately not answered",
  "Requests answered with UseMulticast",
  "Leasequeries answered with UnknownQueryType",
  "Leasequeries answered with MalformedQuery",
  "Requests answered with NotAllowed",
  "Requests answered with another error status",
  "Solicit messages received",
  "Request messages received",
  "Confirm messages received",
  "Renew messages received",
  "Rebind messages received",
  "Release messages received",
  "Decline messages received",
  "Information-Request messages received",
  "Leasequery messages received",
  "Advertise messages sent",
  "Reply messages sent",
  "Reconfigure messages sent",
  "Leasequery-Reply messages sent",
  "Leasequery-Done messages sent",
  "Leasequery-Data messages sent",
];

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
  /** Log lines dropped per log output. */
  logDrops: ReadonlyArray<readonly [string, number]>;
}

function labelValue(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function formatNumber(n: number): string {
  return n === Infinity ? "+Inf" : String(n);
}

/**
 * The metrics in the Prometheus text format (version 0.0.4), or in OpenMetrics 1.0 when
 * `openMetrics` is set (counter families without `_total`, and a final `# EOF`).
 */
export function formatMetrics(sources: MetricsSources, openMetrics = false): string {
  const out: string[] = [];
  const sets: Array<[string, string | undefined, readonly number[]]> = [
    ["global", undefined, sources.stats.sets.get("global") ?? newCounters()],
  ];
  const kinds: Array<[string, string[]]> = [
    ["interface", sources.entries.interfaces],
    ["subnet", sources.entries.subnets],
    ["relay", sources.entries.relays],
  ];
  for (const [kind, names] of kinds) {
    for (const name of names) {
      sets.push([kind, name, sources.stats.sets.get(`${kind}:${name}`) ?? newCounters()]);
    }
  }
  const family = (name: string, type: string, help: string) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  };
  for (let i = 0; i < COUNTER_COUNT; i++) {
    const name = `dhcpkit_${METRIC_NAMES[i]}`;
    family(openMetrics ? name : `${name}_total`, "counter", METRIC_HELP[i]);
    for (const [category, entry, values] of sets) {
      const labels = entry === undefined
        ? `category="${category}"`
        : `category="${category}",entry="${labelValue(entry)}"`;
      out.push(`${name}_total{${labels}} ${values[i]}`);
    }
  }
  const drops = openMetrics ? "dhcpkit_pkt6_receive_drop" : "dhcpkit_pkt6_receive_drop_total";
  family(drops, "counter", "Packets dropped because every worker was busy");
  out.push(`dhcpkit_pkt6_receive_drop_total ${sources.queueDrops}`);

  const logDrops = openMetrics ? "dhcpkit_log_lines_dropped" : "dhcpkit_log_lines_dropped_total";
  family(logDrops, "counter", "Log lines dropped because a log output failed or fell behind");
  for (const [output, n] of sources.logDrops) {
    out.push(`dhcpkit_log_lines_dropped_total{output="${labelValue(output)}"} ${n}`);
  }

  const h = sources.latency.values;
  const hName = "dhcpkit_request_duration_seconds";
  family(hName, "histogram", "Time spent handling one request");
  let cumulative = 0;
  for (let i = 0; i <= LATENCY_BUCKETS.length; i++) {
    cumulative += h[i];
    const le = i < LATENCY_BUCKETS.length ? formatNumber(LATENCY_BUCKETS[i]) : "+Inf";
    out.push(`${hName}_bucket{le="${le}"} ${cumulative}`);
  }
  out.push(`${hName}_sum ${h[LATENCY_BUCKETS.length + 1]}`);
  out.push(`${hName}_count ${h[LATENCY_BUCKETS.length + 2]}`);
  if (openMetrics) out.push("# EOF");
  return out.join("\n") + "\n";
}

/** Content type of the Prometheus text format. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
/** Content type of OpenMetrics text. */
export const OPENMETRICS_CONTENT_TYPE =
  "application/openmetrics-text; version=1.0.0; charset=utf-8";

/** A running `/metrics` HTTP endpoint. */
export class MetricsServer {
  readonly #server: Deno.HttpServer<Deno.NetAddr>;

  private constructor(server: Deno.HttpServer<Deno.NetAddr>, readonly key: string) {
    this.#server = server;
  }

  /** The address actually bound (useful with port 0). */
  get addr(): Deno.NetAddr {
    return this.#server.addr;
  }

  /** Start serving `/metrics` on `address`:`port`; throws when the port cannot be bound. */
  static start(
    address: string,
    port: number,
    sources: () => MetricsSources | Promise<MetricsSources>,
  ): MetricsServer {
    const server = Deno.serve({
      hostname: address,
      port,
      onListen: () => {},
      onError: (e) => {
        log.error("Metrics request failed: {error}", { error: (e as Error)?.message ?? e });
        return new Response("internal error\n", { status: 500 });
      },
    }, async (request) => {
      const url = new URL(request.url);
      if (url.pathname !== "/metrics") return new Response("not found\n", { status: 404 });
      if (request.method !== "GET" && request.method !== "HEAD") {
        return new Response("method not allowed\n", { status: 405 });
      }
      const open = (request.headers.get("accept") ?? "").includes("application/openmetrics-text");
      const body = formatMetrics(await sources(), open);
      return new Response(request.method === "HEAD" ? null : body, {
        headers: { "content-type": open ? OPENMETRICS_CONTENT_TYPE : PROMETHEUS_CONTENT_TYPE },
      });
    });
    return new MetricsServer(server, `${address}|${port}`);
  }

  /** Stop serving. */
  async stop(): Promise<void> {
    try {
      await this.#server.shutdown();
    } catch {
      // already stopped
    }
  }
}
