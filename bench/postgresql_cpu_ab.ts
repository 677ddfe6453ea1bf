/**
 * CPU per answered request of a `<static-postgresql>` server, this checkout against another, with
 * real `dhcpkit serve` processes on `[::1]` and one real PostgreSQL cluster (the tests' helper:
 * unix socket in a temporary folder). Each server reads its own database holding the same rows
 * (the 256 clients of the load plus FILL filler rows), so the PostgreSQL backends serving one
 * server can be told from the other's. In alternating rounds an open-loop generator in this
 * process sends relayed Solicits (IA_NA + IA_PD, a row each), evenly spaced at a fixed RATE per
 * second as perfdhcp does, to one of them for SECONDS; the CPU time (user + system) of the server process and of its database
 * sessions, divided by the replies, is each round's figure, with the median and 99th percentile
 * of the time from request to reply. Prints the medians and the median of the paired ratios
 * (this / other), for the server alone and with the database; a busy machine slows both alike. Run as root (the servers run with `user root` like the tests' servers, and the
 * cluster as the `postgres` account).
 *
 *   deno run -A bench/postgresql_cpu_ab.ts OTHER [--rate N] [--rounds N] [--seconds N]
 *     [--workers N] [--backend ffi|deno] [--fill N]
 *
 * OTHER is the root of the other checkout (e.g. a `git archive` of the base commit); OTHER set to
 * this checkout is the self-vs-self control.
 * @module
 */

import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { spawnServe } from "./tools/spawn_serve.ts";
import { freeUdpPort, sleep } from "../tests/e2e/netns.ts";
import { relayedRequests } from "./tools/closed_loop.ts";
import { loopbackListenerConfig, serverIdConfig } from "../tests/helpers/server.ts";
import { PostgresCluster } from "../tests/helpers/postgres.ts";
import { triggerStatements } from "../src/handlers/static/postgresql/schema.ts";
import { closeFd, FfiUdpSocket, openUdpSocket } from "../src/server/io/ffi_socket.ts";
import { parseIPv6 } from "../src/server/io/libc.ts";

const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    backend: { type: "string", default: "ffi" },
    workers: { type: "string", default: "0" },
    rounds: { type: "string", default: "6" },
    seconds: { type: "string", default: "3" },
    rate: { type: "string", default: "2000" },
    fill: { type: "string", default: "10000" },
  },
});
if (positionals.length !== 1) {
  console.error("usage: postgresql_cpu_ab.ts OTHER_CHECKOUT [--rate N] [--rounds N] ...");
  Deno.exit(2);
}
const other = resolve(positionals[0]);
const here = new URL("../", import.meta.url).pathname;
const ROUNDS = Number(values.rounds), SECONDS = Number(values.seconds), RATE = Number(values.rate);
const TICKS = 100; // USER_HZ on Linux
const packets = relayedRequests("solicit");
/** Index of each packet by the transaction id of its Solicit (the reply carries it too). */
const byXid = new Map<number, number>();
packets.forEach((p, i) => byXid.set(xidOf(p), i));

/** Transaction id of the client message inside a relay message (Relay-forward or Relay-reply). */
function xidOf(relay: Uint8Array): number {
  for (let at = 34; at + 4 <= relay.length;) {
    const code = (relay[at] << 8) | relay[at + 1], length = (relay[at + 2] << 8) | relay[at + 3];
    if (code === 9) return (relay[at + 5] << 16) | (relay[at + 6] << 8) | relay[at + 7];
    at += 4 + length;
  }
  return -1;
}

interface Server {
  name: string;
  db: string;
  port: number;
  process: Deno.ChildProcess;
}

/** utime + stime of `pid` in seconds (every thread), 0 when it is gone. */
function cpu(pid: number): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / TICKS;
  } catch {
    return 0;
  }
}

const pg = await PostgresCluster.start();
const dir = Deno.makeTempDirSync({ prefix: "dhcpkit-pg-ab-" });

/** The PIDs of the sessions on database `db` (the server's pool). */
async function sessions(db: string): Promise<number[]> {
  const out = await pg.sql(`SELECT pid FROM pg_stat_activity WHERE datname = '${db}'`);
  return out.split("\n").filter((l) => l).map(Number);
}

/** A database `db` with the table every server reads: the load's clients and filler rows. */
async function createDatabase(db: string): Promise<void> {
  await pg.createDatabase(db);
  await pg.sql(
    `CREATE TABLE assignments (id TEXT PRIMARY KEY, address TEXT NULL, prefix TEXT NULL);
     INSERT INTO assignments
       SELECT 'duid:00030001020000' || lpad(to_hex(i), 2, '0') || '0001',
              '2001:db8::' || to_hex(i + 256), '2001:db8:' || to_hex(i + 256) || '::/48'
       FROM generate_series(0, 255) AS i;
     INSERT INTO assignments
       SELECT 'duid:00020000a0f2' || lpad(to_hex(i), 8, '0'), '2001:db8:1::' || to_hex(i), NULL
       FROM generate_series(0, ${Number(values.fill) - 1}) AS i;
     ANALYZE assignments;`,
    db,
  );
  // The change triggers build-postgresql installs (a checkout that knows them caches rows).
  await pg.sql(triggerStatements("assignments").map((s) => `${s};`).join("\n"), db);
}

function config(port: number, name: string, db: string): string {
  return `user root
group root
pid-file ${dir}/${name}.pid
control-socket ${dir}/${name}.sock
workers ${values.workers}
io-backend ${values.backend}
${serverIdConfig()}
${loopbackListenerConfig(port)}
<static-postgresql ${pg.url(pg.superuser, db)}>
    address-preferred-lifetime 3000
    address-valid-lifetime 4000
    prefix-preferred-lifetime 3000
    prefix-valid-lifetime 4000
</static-postgresql>
`;
}

async function start(root: string, name: string): Promise<Server> {
  const port = freeUdpPort();
  const db = `ab_${name}`;
  await createDatabase(db);
  const conf = `${dir}/${name}.conf`;
  Deno.writeTextFileSync(conf, config(port, name, db));
  const process = spawnServe(root, conf);
  const server = { name, db, port, process };
  for (let i = 0; i < 100; i++) {
    if (pacedLoop(server, 0.2, 100).received > 0) return server;
    await sleep(200);
  }
  throw new Error(`${name} did not answer`);
}

/**
 * Send relayed Solicits to `server` at `rate`/s for `seconds`, evenly spaced as perfdhcp sends
 * them (a synchronous loop on this thread: an ffi socket, sendmmsg of one datagram, then
 * `Atomics.wait` until the next is due; replies are taken with a non-blocking recvmmsg in
 * between), then wait 200 ms for the last replies; how many were sent and answered, and the delay
 * of each reply (ms).
 */
function pacedLoop(
  server: Server,
  seconds: number,
  rate: number,
): { sent: number; received: number; delays: number[] } {
  const socket = new FfiUdpSocket(openUdpSocket({ address: "::1", port: 0 }), 64, 2048);
  const loopback = parseIPv6("::1").bytes;
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  const sentAt = new Float64Array(packets.length);
  const delays: number[] = [];
  let sent = 0, received = 0;
  const take = () => {
    const n = socket.recvBatch();
    const now = performance.now();
    for (let k = 0; k < n; k++) {
      received++;
      const i = byXid.get(xidOf(socket.recvData(k)));
      if (i !== undefined) delays.push(now - sentAt[i]);
    }
    return n;
  };
  try {
    const start = performance.now(), end = start + seconds * 1000, spacing = 1000 / rate;
    for (let now = start; now < end; now = performance.now()) {
      if (now >= start + sent * spacing) {
        const i = sent % packets.length;
        socket.setSend(0, packets[i], loopback, server.port, 0);
        sentAt[i] = performance.now();
        socket.sendBatch(1);
        sent++;
      }
      while (take() > 0) { /* more */ }
      const wait = start + sent * spacing - performance.now();
      if (wait > 0) Atomics.wait(sleeper, 0, 0, wait);
    }
    for (const until = performance.now() + 200; performance.now() < until;) {
      if (take() === 0) Atomics.wait(sleeper, 0, 0, 1);
    }
  } finally {
    closeFd(socket.fd);
  }
  return { sent, received, delays };
}

interface Figures {
  server: number;
  total: number;
  /** Request to reply, ms. */
  p50: number;
  p99: number;
}

/** Microseconds of CPU per reply over one round: the server's, and with its database sessions. */
async function round(server: Server): Promise<Figures> {
  const pids = await sessions(server.db);
  const dbCpu = () => pids.reduce((sum, pid) => sum + cpu(pid), 0);
  const beforeServer = cpu(server.process.pid), beforeDb = dbCpu();
  const { sent, received: replies, delays } = pacedLoop(server, SECONDS, RATE);
  delays.sort((x, y) => x - y);
  const serverCpu = cpu(server.process.pid) - beforeServer, db = dbCpu() - beforeDb;
  if (replies < 0.95 * sent) console.error(`${server.name}: only ${replies} of ${sent} answered`);
  return {
    server: (1e6 * serverCpu) / Math.max(1, replies),
    total: (1e6 * (serverCpu + db)) / Math.max(1, replies),
    p50: delays[Math.floor(delays.length * 0.5)] ?? NaN,
    p99: delays[Math.floor(delays.length * 0.99)] ?? NaN,
  };
}

const servers: Server[] = [];
try {
  servers.push(await start(here, "this"));
  servers.push(await start(other, "other"));
  const [ours, theirs] = servers;
  await round(ours); // warm up both
  await round(theirs);
  const a: Figures[] = [], b: Figures[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    if (r % 2 === 0) {
      a.push(await round(ours));
      b.push(await round(theirs));
    } else {
      b.push(await round(theirs));
      a.push(await round(ours));
    }
  }
  const median = (v: number[]) => [...v].sort((p, q) => p - q)[Math.floor(v.length / 2)];
  const show = (key: keyof Figures, unit = "us") =>
    `this ${median(a.map((f) => f[key])).toFixed(unit === "us" ? 1 : 2)} ${unit}, other ${
      median(b.map((f) => f[key])).toFixed(unit === "us" ? 1 : 2)
    } ${unit}, ratio ${median(a.map((f, i) => f[key] / b[i][key])).toFixed(3)}`;
  console.log(
    `static-postgresql, io-backend ${values.backend}, workers ${values.workers}, relayed ` +
      `Solicits at ${RATE}/s, median of ${ROUNDS} paired rounds of ${SECONDS} s (other: ${other}, ` +
      `${new Date().toISOString().slice(0, 16)}Z, ${navigator.hardwareConcurrency} cores, load ` +
      `${Deno.loadavg().map((l) => l.toFixed(1)).join(" ")}):\n` +
      `  server CPU per reply:              ${show("server")}\n` +
      `  server + PostgreSQL CPU per reply: ${show("total")}\n` +
      `  request to reply, median:          ${show("p50", "ms")}\n` +
      `  request to reply, 99th percentile: ${show("p99", "ms")}`,
  );
} finally {
  for (const s of servers) {
    try {
      s.process.kill("SIGTERM");
    } catch { /* gone */ }
    await s.process.status;
  }
  await pg.destroy();
  Deno.removeSync(dir, { recursive: true });
}
