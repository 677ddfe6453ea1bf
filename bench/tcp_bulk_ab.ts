/**
 * A bulk leasequery answer over `<listen-tcp>`, this checkout against another, in one process:
 * both checkouts' TCP listeners and leasequery handlers serve the same lq-sqlite store of
 * `--clients` clients, and in alternating rounds a client here asks one of them for every client
 * (query by link address `::`) and reads the answer to its LEASEQUERY-DONE. Prints the median
 * wall time and process CPU time per answer of each and the median of the paired ratios of the
 * wall times (the answer yields to the event loop between its chunks; a yield that sleeps shows
 * in the wall time).
 *
 *   deno run -A --unstable-net bench/tcp_bulk_ab.ts OTHER [--clients N] [--rounds N]
 *
 * OTHER is the root of the other checkout (e.g. a `git archive` of the base commit); OTHER set to
 * this checkout is the self-vs-self control.
 * @module
 */

import { parseArgs } from "node:util";
import { resolve } from "node:path";
import process from "node:process";

const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    clients: { type: "string", default: "20000" },
    rounds: { type: "string", default: "7" },
  },
});
if (positionals.length !== 1) {
  console.error("usage: tcp_bulk_ab.ts OTHER_CHECKOUT [--clients N] [--rounds N]");
  Deno.exit(2);
}
const CLIENTS = Number(values.clients), ROUNDS = Number(values.rounds);
const here = new URL("../", import.meta.url).pathname;
const other = resolve(positionals[0]);

// deno-lint-ignore no-explicit-any
type Module = any;

/** One checkout's listener answering from `db`. */
async function serve(root: string, db: string) {
  const lq: Module = await import(`${root}/tests/leasequery/lq_helpers.ts`);
  const handlerModule: Module = await import(`${root}/src/handlers/leasequery/handler.ts`);
  const sqlite: Module = await import(`${root}/src/handlers/leasequery/sqlite.ts`);
  const pipeline: Module = await import(`${root}/src/pipeline/mod.ts`);
  // The leasequery extension's stream responder answers with the rest of the clients.
  (await import(`${root}/src/handlers/mod.ts`)).installBuiltins();
  const handler = lq.lqPipeline([
    new handlerModule.LeasequeryHandler(new sqlite.LeasequerySqliteStore(db)),
  ]);
  await handler.workerInit();
  const stats = new pipeline.StatisticsStore();
  const listener = lq.testTcpListener({ sendTimeout: 60_000, idleTimeout: 60_000 });
  listener.serve((packet: unknown) => handler.handle(packet, stats));
  return {
    port: listener.port as number,
    async close() {
      await listener.close(200);
      await handler.close();
    },
  };
}

const lq: Module = await import(`${here}/tests/leasequery/lq_helpers.ts`);
const protocol: Module = await import(`${here}/src/protocol/mod.ts`);
const dir = Deno.makeTempDirSync({ prefix: "dhcpkit-tcp-bulk-" });
const db = `${dir}/lq.sqlite`;
lq.seedClients(db, CLIENTS);
const query = lq.frame(
  protocol.serializeMessage(lq.leasequery(protocol.QUERY_BY_LINK_ADDRESS, "::", [], 1)).slice(),
);

/** Ask for every client; wall and CPU milliseconds until LEASEQUERY-DONE, messages read. */
async function bulk(port: number): Promise<{ wall: number; cpu: number; messages: number }> {
  const conn = await Deno.connect({ transport: "tcp", hostname: "::1", port });
  const reader = new lq.FrameReader(conn);
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  await conn.write(query);
  let messages = 0;
  for (;;) {
    const data = await reader.next();
    if (!data) break;
    messages++;
    if (data[0] === 16) break; // LEASEQUERY-DONE
  }
  const wall = performance.now() - start;
  const cpu = process.cpuUsage(cpu0);
  conn.close();
  return { wall, cpu: (cpu.user + cpu.system) / 1000, messages };
}

const ours = await serve(here, db);
const theirs = await serve(other, db);
try {
  await bulk(ours.port); // warm up both
  await bulk(theirs.port);
  const a: number[] = [], b: number[] = [], ca: number[] = [], cb: number[] = [], ratios = [];
  let messages = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? [ours, theirs] : [theirs, ours];
    const results = [];
    for (const s of order) results.push(await bulk(s.port));
    const [x, y] = r % 2 === 0 ? results : [results[1], results[0]];
    a.push(x.wall);
    b.push(y.wall);
    ca.push(x.cpu);
    cb.push(y.cpu);
    ratios.push(x.wall / y.wall);
    messages = x.messages;
  }
  const median = (v: number[]) => [...v].sort((p, q) => p - q)[Math.floor(v.length / 2)];
  console.log(
    `bulk leasequery of ${CLIENTS} clients (${messages} messages): this checkout ` +
      `${median(a).toFixed(0)} ms wall, ${median(ca).toFixed(0)} ms CPU; ${other} ` +
      `${median(b).toFixed(0)} ms wall, ${median(cb).toFixed(0)} ms CPU; wall ratio ` +
      `${median(ratios).toFixed(3)} (median of ${ROUNDS} paired rounds, ` +
      `${new Date().toISOString().slice(0, 10)}, ${navigator.hardwareConcurrency} cores)`,
  );
} finally {
  await ours.close();
  await theirs.close();
  Deno.removeSync(dir, { recursive: true });
}
