/**
 * The pools' request path of this checkout against another checkout's, in one process,
 * interleaved (as `bench/pipeline_ab.ts` does for the static path): 4-way NA+PD exchanges
 * (Solicit, then Request) of 10,000 clients answered from an `<address-pool>` and a
 * `<prefix-pool>` with an SQLite lease store (group commit) in a temporary folder, through
 * `Engine.handleBatch` in receive batches of 8 requests, each batch awaited until its leases are
 * committed and its replies built (no sockets). The clients cycle, so after the first pass most
 * exchanges extend a lease, as in bench:load's pools case. Rounds alternate between the two
 * engines, so a busy or shared machine slows both alike; prints the median CPU microseconds
 * (user + system) per exchange of each, and the median of the ratios of adjacent rounds. `--self` runs this checkout
 * against itself (a control: its ratio shows the noise).
 *
 * `--postgresql`: the leases are in `<lease-store-postgresql>` instead, each side in a database
 * of its own on a PostgreSQL cluster this benchmark starts in a temporary folder (the tests'
 * `PostgresCluster`: unix socket only, fsync off); the CPU per exchange then counts the
 * cluster's processes too (every process whose parent is the postmaster, from /proc), as
 * bench:load counts them for both servers, and is also printed split into the two parts.
 *
 *   deno run -A bench/pools_ab.ts OTHER [ROUNDS] [--self] [--postgresql]
 *
 * OTHER is the root of the other checkout (e.g. a `git archive` of the base commit).
 * @module
 */

import { join, resolve } from "node:path";
import { cpuUsage } from "node:process";
import { clientPacket } from "./tools/wire_packet.ts";
import { PostgresCluster } from "../tests/helpers/postgres.ts";

const args = Deno.args.filter((a) => !a.startsWith("--"));
if (args.length < 1) {
  console.error("usage: pools_ab.ts OTHER_CHECKOUT [ROUNDS] [--self]");
  Deno.exit(2);
}
const here = new URL("../", import.meta.url).pathname;
const self = Deno.args.includes("--self");
const other = self ? here : resolve(args[0]);
const rounds = Number(args[1] ?? 21);
const postgresql = Deno.args.includes("--postgresql");
const clients = 10_000;
const batch = 8;
/** Exchanges per round. */
const perRound = 2000;

const dir = Deno.makeTempDirSync({ prefix: "dhcpkit-pools-ab-" });
const cluster = postgresql ? await PostgresCluster.start() : undefined;
const hex2 = (n: number) => n.toString(16).padStart(2, "0");

/** The lease store section of side `name`: an SQLite file, or a database of its own. */
async function storeSection(name: string): Promise<string> {
  if (!cluster) return `<lease-store-sqlite ${dir}/${name}.sqlite />`;
  const passwordFile = await cluster.createRole(name, `${name} secret`);
  await cluster.createDatabase(name);
  await cluster.sql(`ALTER DATABASE "${name}" OWNER TO "${name}"`);
  return `<lease-store-postgresql ${
    cluster.url(name, name)
  }>\n    password-file ${passwordFile}\n` +
    "</lease-store-postgresql>";
}

/** CPU microseconds used so far by the cluster's processes (children of the postmaster). */
function clusterCpu(): number {
  if (!cluster) return 0;
  const postmaster = Deno.readTextFileSync(`${cluster.dataDir}/postmaster.pid`).split("\n")[0];
  let ticks = 0;
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^[0-9]+$/.test(entry.name)) continue;
    let stat: string;
    try {
      stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
    } catch {
      continue; // gone
    }
    // Fields after the command name: state ppid ... utime (12th) stime (13th).
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (entry.name === postmaster || f[1] === postmaster) ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks * 10_000; // USER_HZ 100
}

const conf = (store: string) =>
  `workers 0
<duid-ll server-id>
    hardware-type 1
    link-layer-address 00:16:3e:00:00:08
</duid-ll>
${store}
<address-pool 2001:db8:1:0:1::/80>
    preferred-lifetime 3000
    valid-lifetime 4000
</address-pool>
<prefix-pool 2001:db8:8000::/34>
    delegated-length 56
    preferred-lifetime 3000
    valid-lifetime 4000
</prefix-pool>
<iana-timing-limits>
    min-t1 1000
</iana-timing-limits>
`;

/** One checkout's engine and messages (each checkout's own protocol classes). */
async function side(root: string, name: string) {
  Deno.writeTextFileSync(`${dir}/${name}.conf`, conf(await storeSection(name)));
  const m = (p: string) => import(join(root, p));
  const handlers = await m("src/handlers/mod.ts");
  const engineMod = await m("src/server/engine.ts");
  const p = await m("src/protocol/mod.ts");
  handlers.installBuiltins();
  const config = engineMod.loadServerConfig(`${dir}/${name}.conf`, undefined, false);
  const serverDuid = new p.LinkLayerDuid(1, p.fromHex("00163e000008"));
  const engine = await engineMod.Engine.create(config, serverDuid);
  let answered = 0;
  engine.settled = (replies: unknown[]) => answered += replies.length;
  const duid = (i: number) =>
    new p.LinkLayerDuid(1, p.fromHex(`02000000${hex2(i >> 8)}${hex2(i & 255)}`));
  const solicits: Uint8Array[] = [];
  const requests: Uint8Array[] = [];
  for (let i = 0; i < clients; i++) {
    const common = [new p.ClientIdOption(duid(i)), new p.ElapsedTimeOption(0)];
    solicits.push(p.serializeMessage(
      new p.SolicitMessage(i, [
        ...common,
        new p.IANAOption(1, 3600, 5400),
        new p.IAPDOption(1, 3600, 5400),
      ]),
    ));
    requests.push(p.serializeMessage(
      new p.RequestMessage(i + 1, [
        ...common,
        new p.ServerIdOption(serverDuid),
        new p.IANAOption(1, 3600, 5400),
        new p.IAPDOption(1, 3600, 5400),
      ]),
    ));
  }
  return { engine, solicits, requests, answered: () => answered, next: 0 };
}

type Side = Awaited<ReturnType<typeof side>>;

/** The PostgreSQL cluster's part of the last round's CPU per exchange (0 with SQLite). */
let lastClusterUs = 0;

/**
 * CPU microseconds (user + system, of the whole process: SQLite works in this thread, the
 * garbage collector in others; with `--postgresql` plus the cluster's) per 4-way exchange over
 * `exchanges` exchanges.
 */
async function round(s: Side, exchanges: number): Promise<number> {
  const out: unknown[] = [];
  const start = cpuUsage();
  const clusterStart = clusterCpu();
  const before = s.answered();
  for (let done = 0; done < exchanges; done += batch) {
    const from = s.next;
    s.next = (s.next + batch) % clients;
    for (const messages of [s.solicits, s.requests]) {
      const packets = [];
      for (let i = 0; i < batch; i++) packets.push(clientPacket(messages[(from + i) % clients], i));
      s.engine.handleBatch(packets, out, undefined);
      await s.engine.drain();
    }
    out.length = 0;
  }
  const used = cpuUsage(start);
  lastClusterUs = (clusterCpu() - clusterStart) / exchanges;
  const us = (used.user + used.system) / exchanges + lastClusterUs;
  // Every Request must have been answered (a lost reply would make a side look cheap).
  if (s.answered() - before < exchanges) {
    throw new Error(`only ${s.answered() - before} of ${exchanges} Requests answered`);
  }
  return us;
}

const ours = await side(here, "ours");
const theirs = await side(other, "theirs");
// Warm up and give every client its leases on both sides (then exchanges extend them).
await round(ours, clients);
await round(theirs, clients);
const a: number[] = [], b: number[] = [], ratios: number[] = [];
const aCluster: number[] = [], bCluster: number[] = [];
for (let r = 0; r < rounds; r++) {
  let x: number, y: number;
  if (r % 2 === 0) {
    x = await round(ours, perRound);
    aCluster.push(lastClusterUs);
    y = await round(theirs, perRound);
    bCluster.push(lastClusterUs);
  } else {
    y = await round(theirs, perRound);
    bCluster.push(lastClusterUs);
    x = await round(ours, perRound);
    aCluster.push(lastClusterUs);
  }
  a.push(x);
  b.push(y);
  ratios.push(x / y);
}
const median = (x: number[]) => [...x].sort((p, q) => p - q)[Math.floor(x.length / 2)];
const split = (db: number[]) => cluster ? ` (PostgreSQL ${median(db).toFixed(1)})` : "";
console.log(
  `pools 4-way NA+PD, ${cluster ? "PostgreSQL" : "SQLite"} store: this checkout ` +
    `${median(a).toFixed(1)}${split(aCluster)} CPU us/exchange; ` +
    `${self ? "this checkout again (control)" : other}: ${median(b).toFixed(1)}` +
    `${split(bCluster)} CPU us/exchange; ` +
    `ratio ${median(ratios).toFixed(3)} (median of ${rounds} paired ratios, rounds of ` +
    `${perRound.toLocaleString("en")} exchanges in alternating order, ` +
    `${new Date().toISOString().slice(0, 10)}, ${navigator.hardwareConcurrency} cores)`,
);
try {
  await ours.engine.handler.close();
  await theirs.engine.handler.close();
} finally {
  await cluster?.destroy();
  Deno.removeSync(dir, { recursive: true });
}
