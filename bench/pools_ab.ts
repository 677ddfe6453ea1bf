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
 *   deno run -A bench/pools_ab.ts OTHER [ROUNDS] [--self]
 *
 * OTHER is the root of the other checkout (e.g. a `git archive` of the base commit).
 * @module
 */

import { join, resolve } from "node:path";
import { cpuUsage } from "node:process";
import { clientPacket } from "./tools/wire_packet.ts";

const args = Deno.args.filter((a) => !a.startsWith("--"));
if (args.length < 1) {
  console.error("usage: pools_ab.ts OTHER_CHECKOUT [ROUNDS] [--self]");
  Deno.exit(2);
}
const here = new URL("../", import.meta.url).pathname;
const self = Deno.args.includes("--self");
const other = self ? here : resolve(args[0]);
const rounds = Number(args[1] ?? 21);
const clients = 10_000;
const batch = 8;

const dir = Deno.makeTempDirSync({ prefix: "dhcpkit-pools-ab-" });
const hex2 = (n: number) => n.toString(16).padStart(2, "0");
const conf = (store: string) =>
  `workers 0
<duid-ll server-id>
    hardware-type 1
    link-layer-address 00:16:3e:00:00:08
</duid-ll>
<lease-store-sqlite ${dir}/${store} />
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
  Deno.writeTextFileSync(`${dir}/${name}.conf`, conf(`${name}.sqlite`));
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

/**
 * CPU microseconds (user + system, of the whole process: SQLite works in this thread, the
 * garbage collector in others) per 4-way exchange over `exchanges` exchanges.
 */
async function round(s: Side, exchanges: number): Promise<number> {
  const out: unknown[] = [];
  const start = cpuUsage();
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
  const us = (used.user + used.system) / exchanges;
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
for (let r = 0; r < rounds; r++) {
  let x: number, y: number;
  if (r % 2 === 0) {
    x = await round(ours, 2000);
    y = await round(theirs, 2000);
  } else {
    y = await round(theirs, 2000);
    x = await round(ours, 2000);
  }
  a.push(x);
  b.push(y);
  ratios.push(x / y);
}
const median = (x: number[]) => [...x].sort((p, q) => p - q)[Math.floor(x.length / 2)];
console.log(
  `pools 4-way NA+PD, SQLite store: this checkout ${median(a).toFixed(1)} CPU us/exchange; ` +
    `${self ? "this checkout again (control)" : other}: ${median(b).toFixed(1)} CPU us/exchange; ` +
    `ratio ${median(ratios).toFixed(3)} (median of ${rounds} paired ratios, rounds of 2,000 ` +
    `exchanges in alternating order, ${new Date().toISOString().slice(0, 10)}, ` +
    `${navigator.hardwareConcurrency} cores)`,
);
await ours.engine.handler.close();
await theirs.engine.handler.close();
Deno.removeSync(dir, { recursive: true });
