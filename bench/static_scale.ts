/**
 * Scale benchmark of static assignments (`deno task bench:static [ROWS]`, default 1,000,000):
 *
 * 1. writes a ROWS-row assignment CSV in a temp folder (every id form, addresses and prefixes);
 * 2. loads it as `<static-csv>` does, in a fresh process, and prints the load time, the resident
 *    memory and the lookups per second (targets: < 5 s, < 400 MB, > 100,000/s);
 * 3. builds the SQLite database with build-sqlite and prints the build time;
 * 4. starts 2 Workers, each with its own read-only connection, looking up existing clients while
 *    build-sqlite imports a new version of the file in which 10% of the rows changed; prints
 *    their lookups per second and the failed lookups (must be 0).
 *
 * `deno task bench:static --memory [ROWS]` instead starts real servers (`dhcpkit serve`, `io-backend
 * ffi`, `<static-csv>` of the ROWS-row file) with `workers 1` and `workers 2` and prints the
 * resident memory of each once ready, the ratio (target: 2 workers ≤ 1.2 × 1 worker, the table
 * being shared) and the load time the server logged (target: < 5 s). `DHCPKIT_ROOT=DIR` runs the
 * servers of another checkout (e.g. the main branch, for a figure before a change).
 * @module
 */

import { buildSqlite } from "../src/handlers/static/build_sqlite.ts";
import { loadCsvAssignments } from "../src/handlers/static/csv/mod.ts";

/** Targets from issues 5 and 19. */
export const TARGETS = { loadSeconds: 5, rssMB: 400, lookupsPerSecond: 100_000, rssRatio: 1.2 };

/** The canonical key of row `i` (the same spread of id forms the CSV uses). */
export function keyOf(i: number): string {
  const h = i.toString(16).padStart(8, "0");
  switch (i % 5) {
    case 0:
      return `duid:00030001${h}0000`;
    case 1:
      return `interface-id:${h}`;
    case 2:
      return `remote-id:9:${h}`;
    case 3:
      return `subscriber-id:${Array.from(`sub${i}`, (c) => c.charCodeAt(0).toString(16)).join("")}`;
    default:
      return `linklayer-id:1:0000${h}`;
  }
}

/** The id column of row `i` as written in the CSV (some in `-str` form). */
function idColumn(i: number): string {
  return i % 5 === 3 ? `subscriber-id-str:sub${i}` : keyOf(i);
}

/** Write a `rows`-row CSV; `version` > 0 changes the address of every 10th row. */
async function writeCsv(path: string, rows: number, version: number, mtime: number) {
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  const encoder = new TextEncoder();
  let chunk: string[] = ["id,address,prefix"];
  for (let i = 0; i < rows; i++) {
    const changed = version > 0 && i % 10 === 0;
    const a = (i >>> 16).toString(16), b = (i & 0xffff).toString(16);
    const c = (i >>> 8).toString(16), d = (i & 0xff).toString(16);
    chunk.push(
      `${idColumn(i)},2001:db8:${a}:${b}::${changed ? "2" : "1"},` +
        (i % 2 === 0 ? `2001:db8:${c}:${d}00::/56` : ""),
    );
    if (chunk.length >= 10_000) {
      await file.write(encoder.encode(chunk.join("\n") + "\n"));
      chunk = [];
    }
  }
  if (chunk.length) await file.write(encoder.encode(chunk.join("\n") + "\n"));
  file.close();
  Deno.utimeSync(path, mtime, mtime);
}

/** Run in a fresh process: load the CSV and measure (prints one JSON line). */
async function csvChild(path: string, rows: number) {
  const started = performance.now();
  const { source, problems } = await loadCsvAssignments(path);
  const loadSeconds = (performance.now() - started) / 1000;
  const rssMB = Deno.memoryUsage().rss / 1e6;
  const keys = Array.from({ length: 100_000 }, (_, i) => [
    "duid:0003000100000000ffff0000",
    keyOf((i * 7919) % rows),
  ]);
  let found = 0;
  const lookups = 1_000_000;
  const t0 = performance.now();
  for (let i = 0; i < lookups; i++) if (source.lookup(keys[i % keys.length])) found++;
  const lookupsPerSecond = lookups / ((performance.now() - t0) / 1000);
  console.log(JSON.stringify({
    loadSeconds,
    rssMB,
    size: source.size,
    problems: problems.length,
    lookupsPerSecond,
    missed: lookups - found,
  }));
}

async function main(rows: number) {
  const dir = Deno.makeTempDirSync({ prefix: "dhcpkit-static-bench-" });
  const csv = `${dir}/assignments.csv`, db = `${dir}/assignments.sqlite`;
  const self = new URL(import.meta.url).pathname;
  try {
    let t = performance.now();
    await writeCsv(csv, rows, 0, 1_700_000_000);
    console.log(
      `generated ${rows.toLocaleString("en")} rows in ${
        ((performance.now() - t) / 1000).toFixed(1)
      } s (${(Deno.statSync(csv).size / 1e6).toFixed(0)} MB)`,
    );

    const child = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-read",
        "--allow-env",
        "--allow-sys",
        self,
        "--csv-child",
        csv,
        String(rows),
      ],
      stderr: "inherit",
    }).output();
    const r = JSON.parse(new TextDecoder().decode(child.stdout));
    const mark = (ok: boolean) => ok ? "ok" : "MISSED";
    console.log(
      `CSV load: ${r.loadSeconds.toFixed(2)} s [${
        mark(r.loadSeconds < TARGETS.loadSeconds)
      } < ${TARGETS.loadSeconds} s], ${
        r.size.toLocaleString("en")
      } clients, ${r.problems} problems`,
    );
    console.log(
      `CSV RSS after load: ${r.rssMB.toFixed(0)} MB [${
        mark(r.rssMB < TARGETS.rssMB)
      } < ${TARGETS.rssMB} MB]`,
    );
    console.log(
      `CSV lookups: ${Math.round(r.lookupsPerSecond).toLocaleString("en")}/s [${
        mark(r.lookupsPerSecond > TARGETS.lookupsPerSecond)
      } > ${TARGETS.lookupsPerSecond.toLocaleString("en")}/s], ${r.missed} missed`,
    );

    t = performance.now();
    let build = await buildSqlite({ source: csv, destination: db });
    if (build.exitCode !== 0) throw new Error(build.message);
    console.log(`build-sqlite (new database): ${((performance.now() - t) / 1000).toFixed(1)} s`);

    await writeCsv(csv, rows, 1, 1_700_000_100);
    const workers = [0, 1].map(() =>
      new Worker(new URL("./static_worker.ts", import.meta.url).href, { type: "module" })
    );
    const stop = new SharedArrayBuffer(4);
    const results = workers.map((w) =>
      new Promise<{ lookups: number; failed: number; seconds: number; changedSeen: number }>(
        (resolve) => {
          w.onmessage = (e) => {
            if (e.data.kind !== "ready") resolve(e.data);
          };
        },
      )
    );
    const ready = workers.map((w) =>
      new Promise<void>((resolve) => w.addEventListener("message", () => resolve(), { once: true }))
    );
    workers.forEach((w, n) => w.postMessage({ db, rows, seed: n + 1, stop }));
    await Promise.all(ready);
    t = performance.now();
    build = await buildSqlite({ source: csv, destination: db });
    const buildSeconds = (performance.now() - t) / 1000;
    Atomics.store(new Int32Array(stop), 0, 1);
    const done = await Promise.all(results);
    workers.forEach((w) => w.terminate());
    if (build.exitCode !== 0) throw new Error(build.message);
    const lookups = done.reduce((s, x) => s + x.lookups, 0);
    const failed = done.reduce((s, x) => s + x.failed, 0);
    const perSecond = done.reduce((s, x) => s + x.lookups / x.seconds, 0);
    console.log(`build-sqlite (rewrite, 10% changed) under load: ${buildSeconds.toFixed(1)} s`);
    console.log(
      `SQLite lookups from 2 workers during the rewrite: ${
        Math.round(perSecond).toLocaleString("en")
      }/s (${lookups.toLocaleString("en")} lookups), failed: ${failed} [${
        failed === 0 ? "ok" : "MISSED"
      } = 0], changed rows seen: ${
        done.reduce((s, x) => s + x.changedSeen, 0).toLocaleString("en")
      }`,
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

/**
 * Resident memory of process `pid`, in MB, read through `ps` (Deno lets a script read /proc only
 * with every permission).
 */
async function rssOf(pid: number): Promise<number> {
  const out = await new Deno.Command("ps", { args: ["-o", "rss=", "-p", String(pid)] }).output();
  return Number(new TextDecoder().decode(out.stdout).trim()) / 1024;
}

/**
 * Start `dhcpkit serve` of checkout `root` with `workers` I/O workers on the CSV in `dir`,
 * wait until it is ready and settled, and return its resident memory and the load time it
 * logged (the longest of its "static assignments loaded" lines).
 */
async function serverMemory(root: string, dir: string, workers: number) {
  const conf = `${dir}/server-${workers}.conf`;
  const udp = Deno.listenDatagram({ transport: "udp", hostname: "::1", port: 0 });
  const port = (udp.addr as Deno.NetAddr).port;
  udp.close();
  Deno.writeTextFileSync(
    conf,
    `io-backend ffi\nworkers ${workers}\n<duid-ll server-id>\n    hardware-type 1\n` +
      `    link-layer-address 02:00:00:00:00:01\n</duid-ll>\n` +
      `<listen-unicast ::1>\n    port ${port}\n</listen-unicast>\n` +
      `<static-csv assignments.csv>\n</static-csv>\n`,
  );
  Deno.chmodSync(conf, 0o644);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--unstable-net", "--allow-all", `${root}/cli/main.ts`, "serve", "-vv", conf],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let log = "";
  const decoder = new TextDecoder();
  const reader = child.stderr.getReader();
  const started = performance.now();
  try {
    while (!log.includes("Ready to handle requests")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the server stopped:\n${log}`);
      log += decoder.decode(value);
    }
    const readySeconds = (performance.now() - started) / 1000;
    // Let the collector free what loading left behind, then take the larger of two readings.
    await new Promise((r) => setTimeout(r, 3000));
    const rssMB = Math.max(await rssOf(child.pid), await rssOf(child.pid));
    const loads = [...log.matchAll(/static assignments loaded in (\d+) ms/g)].map((m) =>
      Number(m[1]) / 1000
    );
    return { rssMB, loadSeconds: Math.max(...loads), loads: loads.length, readySeconds };
  } finally {
    child.kill("SIGTERM");
    reader.releaseLock();
    await child.stderr.cancel().catch(() => {});
    await child.status;
  }
}

/** `--memory`: resident memory of servers with 1 and 2 workers on the same CSV. */
async function memory(rows: number) {
  const root = Deno.env.get("DHCPKIT_ROOT") ?? new URL("../", import.meta.url).pathname;
  const dir = Deno.makeTempDirSync({ prefix: "dhcpkit-static-mem-" });
  Deno.chmodSync(dir, 0o755); // the server reads it after dropping root
  const csv = `${dir}/assignments.csv`;
  try {
    await writeCsv(csv, rows, 0, 1_700_000_000);
    Deno.chmodSync(csv, 0o644);
    console.log(
      `servers of ${root} with ${rows.toLocaleString("en")} static-csv rows ` +
        `(${(Deno.statSync(csv).size / 1e6).toFixed(0)} MB), io-backend ffi:`,
    );
    const one = await serverMemory(root, dir, 1);
    const two = await serverMemory(root, dir, 2);
    for (const [n, r] of [[1, one], [2, two]] as const) {
      console.log(
        `  workers ${n}: RSS ${r.rssMB.toFixed(0)} MB, ${r.loads} load(s) of ` +
          `${r.loadSeconds.toFixed(2)} s, ready after ${r.readySeconds.toFixed(1)} s`,
      );
    }
    const ratio = two.rssMB / one.rssMB;
    const mark = (ok: boolean) => ok ? "ok" : "MISSED";
    console.log(
      `RSS workers 2 / workers 1: ${ratio.toFixed(2)} [${
        mark(ratio <= TARGETS.rssRatio)
      } <= ${TARGETS.rssRatio}]; CSV load ${
        Math.max(one.loadSeconds, two.loadSeconds).toFixed(2)
      } s [${
        mark(Math.max(one.loadSeconds, two.loadSeconds) < TARGETS.loadSeconds)
      } < ${TARGETS.loadSeconds} s]`,
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

if (import.meta.main) {
  if (Deno.args[0] === "--csv-child") await csvChild(Deno.args[1], Number(Deno.args[2]));
  else if (Deno.args[0] === "--memory") await memory(Number(Deno.args[1] ?? 1_000_000));
  else await main(Number(Deno.args[0] ?? 1_000_000));
}
