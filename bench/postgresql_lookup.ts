/**
 * Lookups per second one worker sustains against a `<static-postgresql>` table of ROWS rows
 * (`deno task bench:postgresql [ROWS]`, default 1,000,000; root or a user that may run initdb).
 *
 * 1. starts a PostgreSQL cluster of its own (unix socket in a temporary folder, no TCP, the
 *    tests' helper) and fills the table with ROWS canonical rows (every id form);
 * 2. opens the source as one worker does (its pool of POOL connections, default 4) and runs
 *    CONCURRENCY (default 64) lookups at a time, each with the five candidate ids a relayed
 *    request has (the row found by the last one), for SECONDS (default 10);
 * 3. prints lookups/s, and the CPU time of this process and of the PostgreSQL processes per
 *    lookup, with the machine's load average and the mean lookups per query;
 * 4. does the same with batching off (every lookup its own pipelined query, as before batching),
 *    and prints the ratios batched / unbatched;
 * 5. installs the change triggers `dhcpkit build-postgresql` installs and opens the source with
 *    `preload-rows` ROWS: prints how long reading the whole table took and the resident memory
 *    it added, then measures the lookups again (now answered from memory).
 * @module
 */

import { PostgresCluster } from "../tests/helpers/postgres.ts";
import { PostgresAssignmentSource } from "../src/handlers/static/postgresql/mod.ts";
import { acquirePool, parseConnectionUrl } from "../src/storage/postgresql/mod.ts";
import { triggerStatements } from "../src/handlers/static/postgresql/schema.ts";
import { keyOf } from "./static_scale.ts";

const rows = Number(Deno.args[0] ?? 1_000_000);
const seconds = Number(Deno.env.get("SECONDS") ?? 10);
const concurrency = Number(Deno.env.get("CONCURRENCY") ?? 64);
const poolSize = Number(Deno.env.get("POOL") ?? 4);
const TICK = 100; // USER_HZ

/**
 * utime + stime of `pid` and its descendants, in seconds (read by a shell: Deno grants /proc only
 * with every permission).
 */
function cpuOf(root: number): number {
  const out = new Deno.Command("sh", {
    args: ["-c", "cat /proc/[0-9]*/stat 2>/dev/null"],
    stdout: "piped",
    stderr: "null",
  }).outputSync();
  const parent = new Map<number, number>();
  const ticks = new Map<number, number>();
  for (const stat of new TextDecoder().decode(out.stdout).split("\n")) {
    if (!stat) continue;
    const pid = Number(stat.slice(0, stat.indexOf(" ")));
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    parent.set(pid, Number(fields[1]));
    ticks.set(pid, Number(fields[11]) + Number(fields[12]));
  }
  let total = 0;
  for (const [pid, t] of ticks) {
    for (let p: number | undefined = pid; p !== undefined && p > 1; p = parent.get(p)) {
      if (p === root) {
        total += t;
        break;
      }
    }
  }
  return total / TICK;
}

const pg = await PostgresCluster.start();
try {
  const password = await pg.createRole("bench", "bench");
  await pg.createDatabase("bench");
  await pg.sql("ALTER DATABASE bench OWNER TO bench");
  const url = pg.url("bench", "bench");
  const pool = acquirePool(parseConnectionUrl(url), { size: poolSize, passwordFile: password });
  const started = performance.now();
  await pool.query("CREATE TABLE assignments (id TEXT PRIMARY KEY, address TEXT, prefix TEXT)");
  for (let from = 0; from < rows; from += 50_000) {
    const batch = [];
    for (let i = from; i < Math.min(rows, from + 50_000); i++) {
      batch.push({
        id: keyOf(i),
        address: `2001:db8:${(i >>> 16).toString(16)}:${(i & 0xffff).toString(16)}::1`,
        prefix: i % 2 === 0
          ? `2001:db8:${(i >>> 8).toString(16)}:${(i & 0xff).toString(16)}00::/56`
          : null,
      });
    }
    await pool.query(
      "INSERT INTO assignments SELECT id, address, prefix FROM json_to_recordset($1::text::json) " +
        "AS r(id TEXT, address TEXT, prefix TEXT)",
      [JSON.stringify(batch)],
    );
  }
  await pool.query("VACUUM ANALYZE assignments");
  console.log(
    `${rows.toLocaleString("en")} rows loaded in ${
      ((performance.now() - started) / 1000).toFixed(1)
    } s`,
  );
  const postmaster = Number(Deno.readTextFileSync(`${pg.dataDir}/postmaster.pid`).split("\n")[0]);
  // The candidate ids of a relayed request whose row is the last one: 4 misses, then the hit.
  const idsFor = (i: number) => [
    `duid:00030001ffff${i.toString(16).padStart(8, "0")}`,
    `interface-id:ff${i.toString(16)}`,
    `remote-id:9:ff${i.toString(16)}`,
    `subscriber-id:ff${i.toString(16)}`,
    keyOf(i),
  ];
  /** Run the lookups for `seconds` through `source`: lookups/s and CPU µs per lookup. */
  const measure = async (name: string, source: PostgresAssignmentSource) => {
    let done = 0, found = 0, next = 0;
    const deadline = performance.now() + seconds * 1000;
    const [self0, pg0] = [cpuOf(Deno.pid), cpuOf(postmaster)];
    const started = performance.now();
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const i = (next++ * 7919) % rows;
        if (await source.fetch(idsFor(i))) found++;
        done++;
      }
    }));
    const elapsed = (performance.now() - started) / 1000;
    const [self1, pg1] = [cpuOf(Deno.pid), cpuOf(postmaster)];
    if (found !== done) throw new Error(`${done - found} lookups found nothing`);
    const result = {
      rate: done / elapsed,
      self: 1e6 * (self1 - self0) / done,
      pg: 1e6 * (pg1 - pg0) / done,
    };
    const { queries, lookups } = source.batches;
    console.log(
      `${name}: one worker, pool ${poolSize}, ${concurrency} lookups at a time: ` +
        `${Math.round(result.rate).toLocaleString("en")} lookups/s for ${elapsed.toFixed(1)} s; ` +
        `CPU per lookup: dhcpkit ${result.self.toFixed(1)} us, PostgreSQL ${
          result.pg.toFixed(1)
        } us; ${
          queries ? `${(lookups / queries).toFixed(1)} lookups per query` : "no queries"
        }; load average ${
          Deno.loadavg().map((l) => l.toFixed(2)).join(" ")
        } on ${navigator.hardwareConcurrency} cores`,
    );
    return result;
  };
  const batched = await measure(
    "batched",
    await new PostgresAssignmentSource(pool, "assignments").open(),
  );
  // The peer: one pipelined query per lookup (no batch, no limit on queries in flight).
  const single = await measure(
    "unbatched",
    await new PostgresAssignmentSource(pool, "assignments", {
      batching: { maxBatch: 1, maxInFlight: 1_000_000 },
    }).open(),
  );
  console.log(
    `batched / unbatched: lookups/s ${(batched.rate / single.rate).toFixed(2)}x, CPU per ` +
      `lookup dhcpkit ${(batched.self / single.self).toFixed(2)}x, PostgreSQL ${
        (batched.pg / single.pg).toFixed(2)
      }x`,
  );
  // The whole table in memory, kept current by the notifications of the change triggers.
  await pg.sql(triggerStatements("assignments").map((s) => `${s};`).join("\n"), "bench");
  const rss = Deno.memoryUsage().rss;
  const reading = performance.now();
  // The same shared pool, acquired once more for this source (its close() gives it back).
  const again = acquirePool(parseConnectionUrl(url), { size: poolSize, passwordFile: password });
  const preloaded = await new PostgresAssignmentSource(again, "assignments", {
    preloadLimit: rows,
  }).open();
  console.log(
    `preload-rows ${rows}: ${preloaded.preloadedRows.toLocaleString("en")} rows read in ${
      ((performance.now() - reading) / 1000).toFixed(1)
    } s; resident memory +${((Deno.memoryUsage().rss - rss) / 2 ** 20).toFixed(0)} MiB`,
  );
  const whole = await measure("preloaded", preloaded);
  console.log(`preloaded / batched: lookups/s ${(whole.rate / batched.rate).toFixed(1)}x`);
  await preloaded.close();
  await pool.release();
} finally {
  await pg.destroy();
}
