/**
 * `/metrics` beyond the request counters (those are in stats_test.ts): build and process
 * information, static assignments loaded per source, the outcome of the last reload, and the
 * `/healthz` and `/ready` endpoints.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { formatMetrics, MetricsServer, type MetricsSources } from "../../src/server/metrics.ts";
import { LatencyHistogram } from "../../src/server/metrics.ts";
import { StatisticsStore } from "../../src/pipeline/mod.ts";
import { VERSION } from "../../src/version.ts";
import {
  baseConfig,
  controlReply,
  freeTcpPort,
  freeUdpPort,
  makeWorkDir,
  startServer,
  writeConfig,
} from "./helpers.ts";
import { type Family, parseExposition, quietMetricsSources, select, sum } from "./exposition.ts";

async function scrape(port: number): Promise<Map<string, Family>> {
  const response = await fetch(`http://[::1]:${port}/metrics`);
  assert.equal(response.status, 200);
  return parseExposition(await response.text());
}

function gauge(families: Map<string, Family>, name: string): number {
  const samples = select(families, name);
  assert.equal(samples.length, 1, name);
  assert.equal(families.get(name)!.type, "gauge", name);
  return samples[0].value;
}

/** Kilobytes of resident memory of process `pid`, as `ps` reports it. */
function residentKb(pid: number): number {
  const out = new Deno.Command("ps", { args: ["-o", "rss=", "-p", String(pid)] }).outputSync();
  return Number(new TextDecoder().decode(out.stdout).trim());
}

/** Three usable rows, a bad one and a duplicate (skipped, so not counted). */
const CSV = [
  "id,address,prefix",
  "subscriber-id:0001,2001:db8:1::1,",
  "subscriber-id:0002,2001:db8:1::2,2001:db8:200::/56",
  "subscriber-id:0003,,2001:db8:300::/56",
  "subscriber-id:0004,not-an-address,",
  "subscriber-id:0001,2001:db8:1::9,",
].join("\n") + "\n";

/** An SQLite assignments table with `rows` rows. */
function writeSqlite(path: string, rows: number): void {
  const db = new DatabaseSync(path);
  db.exec("CREATE TABLE assignments (id TEXT PRIMARY KEY, address TEXT, prefix TEXT)");
  const insert = db.prepare("INSERT INTO assignments VALUES (?, ?, NULL)");
  for (let i = 0; i < rows; i++) {
    insert.run(`remote-id:9:${i.toString(16).padStart(4, "0")}`, `2001:db8:2::${i + 1}`);
  }
  db.close();
  Deno.chmodSync(path, 0o644);
}

async function metricsOfRunningServer(io: "deno" | "auto", workers: number): Promise<void> {
  const dir = makeWorkDir();
  const port = freeUdpPort();
  const metricsPort = freeTcpPort();
  const csv = join(dir, "assignments.csv");
  const sqlite = join(dir, "assignments.sqlite");
  writeConfig(csv, CSV);
  writeSqlite(sqlite, 5);
  const conf = join(dir, "server.conf");
  const good = baseConfig(
    port,
    `
<metrics>
    address ::1
    port ${metricsPort}
</metrics>

# Two of the five rows are unusable (shown as 3 usable); more than the default 30 % would refuse it.
<static-csv ${csv}>
    max-row-loss 50%
</static-csv>

<static-sqlite ${sqlite}>
</static-sqlite>
`,
  ).replace("workers 2\n", `workers ${workers}\nio-backend ${io}\n`);
  writeConfig(conf, good);
  const before = Date.now() / 1000;
  const server = await startServer(dir);
  try {
    let m = await scrape(metricsPort);
    const after = Date.now() / 1000;

    // Build and process information.
    assert.deepEqual(select(m, "dhcpkit_build_info").map((s) => [s.labels, s.value]), [
      [{ version: VERSION }, 1],
    ]);
    const started = gauge(m, "process_start_time_seconds");
    assert.ok(started > before - 5 && started <= after, `start time ${started}`);
    const rss = gauge(m, "process_resident_memory_bytes");
    const kernel = residentKb(server.child.pid) * 1024;
    assert.ok(rss > 10 * 1024 * 1024, `rss ${rss}`);
    assert.ok(rss > kernel / 2 && rss < kernel * 2, `rss ${rss}, kernel says ${kernel}`);

    // Static assignments loaded per source: usable CSV rows, SQLite table rows.
    assert.deepEqual(
      select(m, "dhcpkit_static_assignments").map((s) => [s.labels.source, s.value]).sort(),
      [[csv, 3], [sqlite, 5]],
    );

    // The configuration loaded at start-up counts as a successful load.
    assert.equal(gauge(m, "dhcpkit_config_last_reload_successful"), 1);
    const first = gauge(m, "dhcpkit_config_last_reload_timestamp_seconds");
    assert.ok(first >= before - 1 && first <= after, `load time ${first}`);

    // A refused reload: 0, and its time.
    writeConfig(conf, good + "\n<no-such-section>\n</no-such-section>\n");
    const refusedAt = Date.now() / 1000;
    assert.match((await controlReply(server.socket, "reload")).end, /^FAILED: /);
    m = await scrape(metricsPort);
    assert.equal(gauge(m, "dhcpkit_config_last_reload_successful"), 0);
    const second = gauge(m, "dhcpkit_config_last_reload_timestamp_seconds");
    assert.ok(second >= refusedAt - 0.01 && second >= first, `refused at ${second}`);

    // A good one with a grown SQLite table: 1 again, and the new count.
    Deno.removeSync(sqlite);
    writeSqlite(sqlite, 7);
    writeConfig(conf, good);
    assert.equal((await controlReply(server.socket, "reload")).end, "OK: Configuration reloaded");
    m = await scrape(metricsPort);
    assert.equal(gauge(m, "dhcpkit_config_last_reload_successful"), 1);
    assert.ok(gauge(m, "dhcpkit_config_last_reload_timestamp_seconds") >= second);
    assert.equal(sum(m, "dhcpkit_static_assignments", { source: sqlite }), 7);

    // Health and readiness while serving.
    for (const path of ["/healthz", "/ready"]) {
      const r = await fetch(`http://[::1]:${metricsPort}${path}`);
      assert.equal(r.status, 200, path);
      assert.equal(await r.text(), "OK\n");
    }
  } finally {
    await server.kill();
    Deno.removeSync(dir, { recursive: true });
  }
}

Deno.test("metrics: build, process, static assignments, last reload (workers 0, io-backend deno)", () =>
  metricsOfRunningServer("deno", 0));
Deno.test("metrics: build, process, static assignments, last reload (workers 2, io-backend deno)", () =>
  metricsOfRunningServer("deno", 2));
Deno.test("metrics: build, process, static assignments, last reload (workers 2, io-backend auto)", () =>
  metricsOfRunningServer("auto", 2));

Deno.test("metrics endpoint: /healthz and /ready follow the server's state", async () => {
  let state: "starting" | "serving" | "stopping" = "starting";
  const sources = quietMetricsSources();
  const server = MetricsServer.start("::1", 0, () => sources, () => ({
    live: state !== "stopping",
    ready: state === "serving",
  }));
  const status = async (path: string, method = "GET") => {
    const r = await fetch(`http://[::1]:${server.addr.port}${path}`, { method });
    await r.body?.cancel();
    return r.status;
  };
  try {
    // Starting: alive, not ready yet.
    assert.deepEqual([await status("/healthz"), await status("/ready")], [200, 503]);
    state = "serving";
    assert.deepEqual([await status("/healthz"), await status("/ready")], [200, 200]);
    assert.deepEqual([await status("/healthz", "HEAD"), await status("/ready", "HEAD")], [
      200,
      200,
    ]);
    assert.equal(await status("/ready", "POST"), 405);
    state = "stopping";
    assert.deepEqual([await status("/healthz"), await status("/ready")], [503, 503]);
    assert.equal(await status("/metrics"), 200, "metrics until the end");
    assert.equal(await status("/nothing"), 404);
  } finally {
    await server.stop();
  }
});

Deno.test("metrics exposition: label values are escaped, every family parses in both formats", () => {
  const odd = 'C:\\odd "name"\nwith newline.csv';
  const sources: MetricsSources = {
    stats: new StatisticsStore(),
    entries: { interfaces: ["eth0"], subnets: ["2001:db8::/64"], relays: ["2001:db8::1"] },
    latency: new LatencyHistogram(),
    queueDrops: 2,
    logDrops: [["file /var/log/a b.log", 1]],
    staticAssignments: [[odd, 4]],
    lastReload: { successful: false, time: 1234.5 },
  };
  for (const openMetrics of [false, true]) {
    const families = parseExposition(formatMetrics(sources, openMetrics));
    assert.deepEqual(select(families, "dhcpkit_static_assignments").map((s) => s.labels.source), [
      odd,
    ]);
    const received = openMetrics ? "dhcpkit_pkt6_received" : "dhcpkit_pkt6_received_total";
    // Four scopes (global, one interface, one subnet, one relay), 11 types each.
    assert.equal(select(families, received).length, 4 * 11);
    assert.deepEqual(
      [...new Set(select(families, received).map((s) => s.labels.scope))],
      ["global", "interface", "subnet", "relay"],
    );
    const queue = openMetrics
      ? "dhcpkit_pkt6_queue_full_dropped"
      : "dhcpkit_pkt6_queue_full_dropped_total";
    assert.equal(sum(families, queue), 2);
    assert.equal(sum(families, "dhcpkit_config_last_reload_successful"), 0);
    assert.equal(sum(families, "dhcpkit_config_last_reload_timestamp_seconds"), 1234.5);
  }
});

/** The Monitoring section of the operator guide. */
function monitoringSection(): string {
  const guide = Deno.readTextFileSync(new URL("../../docs/operator-guide.md", import.meta.url));
  const start = guide.indexOf("\n## Monitoring");
  return guide.slice(start, guide.indexOf("\n## ", start + 1));
}

/** An exposition with every kind of series: all scopes, a static source, a log output. */
function fullExposition(): Map<string, Family> {
  return parseExposition(formatMetrics({
    stats: new StatisticsStore(),
    entries: { interfaces: ["eth0"], subnets: ["2001:db8::/64"], relays: ["2001:db8::1"] },
    latency: new LatencyHistogram(),
    queueDrops: 0,
    workerRestarts: 0,
    batchDelay: { workers: [[1, { seconds: 0.0005, chained: false }]], raised: 0, lowered: 0 },
    logDrops: [["console", 0]],
    staticAssignments: [["/etc/dhcpkit/assignments.csv", 1]],
    lastReload: { successful: true, time: 1 },
  }));
}

Deno.test("operator guide: the metrics table and label values match the exposition", () => {
  const text = monitoringSection();
  const families = fullExposition();
  const rows = [...text.matchAll(/^\| `((?:dhcpkit|process)_\w+)` +\| ([^|]*)\|/gm)];
  assert.ok(rows.length >= 10);
  // Every family is in the table, with its labels.
  assert.deepEqual(rows.map((r) => r[1]).sort(), [...families.keys()].sort());
  for (const [, name, labelText] of rows) {
    const documented = [...labelText.matchAll(/`(\w+)`/g)].map((m) => m[1]).sort();
    const actual = [...new Set(families.get(name)!.samples.flatMap((s) => Object.keys(s.labels)))]
      .sort();
    assert.deepEqual(documented, actual, name);
  }
  // The listed values of type, reason and status.
  const bullets = text.split(/\n(?=- )/).filter((b) => /^- `(type|reason|status)`/.test(b));
  assert.equal(bullets.length, 4);
  for (const bullet of bullets) {
    const [, label, family] = /^- `(\w+)`(?: of `(\w+)`)?:/.exec(bullet)!;
    const values = [...bullet.slice(bullet.indexOf(":")).matchAll(/`([a-z_]+)`/g)]
      .map((m) => m[1]).filter((v) => v !== family).sort();
    const owner = family ??
      (label === "reason" ? "dhcpkit_pkt6_dropped_total" : "dhcpkit_pkt6_error_replies_total");
    const actual = [...new Set(select(families, owner).map((s) => s.labels[label]))].sort();
    assert.deepEqual(values, actual, `${label} of ${owner}`);
  }
});

Deno.test("operator guide: every PromQL example names existing series and labels", () => {
  const blocks = [...monitoringSection().matchAll(/```promql\n([\s\S]*?)```/g)].map((m) => m[1]);
  assert.equal(blocks.length, 1);
  const families = fullExposition();
  const samples = [...families.values()].flatMap((f) => f.samples);
  // One query per line; a line that starts with blanks continues the one before.
  const queries: string[] = [];
  for (const line of blocks[0].split("\n")) {
    if (!line.trim() || line.trim().startsWith("#")) continue;
    if (/^\s/.test(line) && queries.length) queries[queries.length - 1] += " " + line.trim();
    else queries.push(line);
  }
  assert.ok(queries.length >= 5, queries.join("\n"));
  let selectors = 0;
  for (const query of queries) {
    const used: string[] = [];
    for (const m of query.matchAll(/\b((?:dhcpkit|process)_\w+)(?:\{([^}]*)\})?/g)) {
      const [, name, matchers] = m;
      const match = Object.fromEntries(
        [...(matchers ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]),
      );
      const found = samples.filter((s) =>
        s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v)
      );
      assert.ok(found.length > 0, `${name}{${matchers ?? ""}} matches nothing (${query})`);
      used.push(...found.flatMap((s) => Object.keys(s.labels)));
      selectors++;
    }
    for (const by of query.matchAll(/\bby \(([^)]*)\)/g)) {
      for (const label of by[1].split(",").map((l) => l.trim())) {
        assert.ok(used.includes(label), `by (${label}) on series without it: ${query}`);
      }
    }
  }
  assert.ok(selectors >= 7);
});
