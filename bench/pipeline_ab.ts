/**
 * This checkout's request path against another checkout's, in one process, interleaved: the
 * pipeline benchmark's workload (Solicits and Requests for IA_NA + IA_PD answered from a static
 * CSV of 10,000 clients, through `Engine.handleBatch`, no sockets) run in alternating rounds on
 * both engines, so that a busy or shared machine slows both alike. Prints the median
 * microseconds per message of each and the median of the ratios of adjacent rounds; with `--web-ui` this checkout's engine also
 * records transaction summaries (as with `<web-ui>` configured), to show what that costs.
 *
 *   deno run --allow-read --allow-write --allow-env --allow-sys bench/pipeline_ab.ts OTHER [ROUNDS] [--web-ui]
 *
 * With `--allocations` it measures heap allocation instead of time: V8's sampling heap profiler
 * (through `node:inspector`, counting objects the garbage collector has already freed) over the
 * same workload prints the bytes allocated per message by each checkout and this checkout's
 * functions that allocate the most (the bytes of the objects they create themselves).
 *
 * OTHER is the root of the other checkout (e.g. a `git archive` of the base commit).
 * @module
 */

import { join, resolve } from "node:path";
import { DNS_OPTIONS_CONFIG } from "./tools/closed_loop.ts";

const args = Deno.args.filter((a) => !a.startsWith("--"));
if (args.length < 1) {
  console.error(
    "usage: pipeline_ab.ts OTHER_CHECKOUT [ROUNDS] [--scenario=NAME] [--batch=N] [--web-ui]",
  );
  Deno.exit(2);
}
const other = resolve(args[0]);
const rounds = Number(args[1] ?? 41);
if (!Number.isInteger(rounds) || rounds < 1 || args.length > 2) {
  console.error(
    `pipeline_ab.ts: ROUNDS must be a whole number of rounds, not ${args.slice(1).join(" ")} ` +
      "(options take their value after '=', e.g. --scenario=inforeq)",
  );
  Deno.exit(2);
}
const webUi = Deno.args.includes("--web-ui");
const scenario = Deno.args.find((a) => a.startsWith("--scenario="))?.slice(11) ?? "plain";
if (!["plain", "hints", "relayed", "inforeq", "sqlite"].includes(scenario)) {
  console.error(`unknown scenario ${scenario}`);
  Deno.exit(2);
}
const hints = scenario !== "plain";
const relayed = scenario === "relayed" || scenario === "inforeq";
const batch = Number(Deno.args.find((a) => a.startsWith("--batch="))?.slice(8) ?? 4);
const here = new URL("../", import.meta.url).pathname;

const clients = 10_000;
const dir = Deno.makeTempDirSync({ prefix: "dhcpkit-ab-bench-" });
const hex2 = (n: number) => n.toString(16).padStart(2, "0");
const rows = ["id,address,prefix"];
for (let i = 0; i < clients; i++) {
  rows.push(
    `duid:0003000102000000${hex2(i >> 8)}${hex2(i & 255)},2001:db8:1:0:2::${i.toString(16)},` +
      `2001:db8:ff${hex2(i >> 8)}:${hex2(i & 255)}00::/56`,
  );
}
Deno.writeTextFileSync(`${dir}/assignments.csv`, rows.join("\n") + "\n");
if (scenario === "sqlite") {
  const { DatabaseSync } = await import("node:sqlite");
  const db = new DatabaseSync(`${dir}/assignments.sqlite`);
  db.exec("CREATE TABLE assignments (id TEXT PRIMARY KEY, address TEXT, prefix TEXT)");
  const insert = db.prepare("INSERT INTO assignments VALUES (?, ?, ?)");
  db.exec("BEGIN");
  for (const row of rows.slice(1)) {
    const [id, address, prefix] = row.split(",");
    insert.run(id, address, prefix);
  }
  db.exec("COMMIT");
  db.close();
}
const source = scenario === "sqlite"
  ? "static-sqlite assignments.sqlite"
  : "static-csv assignments.csv";
const conf = (extra: string) =>
  `workers 0
<duid-ll server-id>
    hardware-type 1
    link-layer-address 00:16:3e:00:00:08
</duid-ll>
${DNS_OPTIONS_CONFIG}<${source}>
    address-preferred-lifetime 3000
    address-valid-lifetime 4000
    prefix-preferred-lifetime 3000
    prefix-valid-lifetime 4000
</${source.split(" ")[0]}>
<iana-timing-limits>
    min-t1 1000
</iana-timing-limits>
${extra}`;
Deno.writeTextFileSync(`${dir}/plain.conf`, conf(""));
Deno.writeTextFileSync(`${dir}/web.conf`, conf("<web-ui>\n    port 8547\n</web-ui>\n"));

/** One checkout's engine and messages (each checkout's own protocol classes). */
async function side(root: string, confName: string) {
  const m = (p: string) => import(join(root, p));
  const handlers = await m("src/handlers/mod.ts");
  const engineMod = await m("src/server/engine.ts");
  const p = await m("src/protocol/mod.ts");
  handlers.installBuiltins();
  const config = engineMod.loadServerConfig(`${dir}/${confName}`, undefined, false);
  const serverDuid = new p.LinkLayerDuid(1, p.fromHex("00163e000008"));
  const engine = await engineMod.Engine.create(config, serverDuid);
  const duid = (i: number) =>
    new p.LinkLayerDuid(1, p.fromHex(`02000000${hex2(i >> 8)}${hex2(i & 255)}`));
  const messages: Uint8Array[] = [];
  // Relayed: one Relay-forward (hop 0, with an Interface-ID) around the client's message.
  const wrap = (m: unknown) =>
    relayed
      ? new p.RelayForwardMessage(0, "2001:db8:1::2", "fe80::1", [
        new p.InterfaceIdOption(new TextEncoder().encode("eth1")),
        new p.RelayMessageOption(m),
      ])
      : m;
  for (let i = 0; i < 1000; i++) {
    const common = [new p.ClientIdOption(duid(i)), new p.ElapsedTimeOption(0)];
    if (scenario === "inforeq") {
      for (const id of [i, i + 1]) {
        messages.push(
          p.serializeMessage(wrap(
            new p.InformationRequestMessage(id, [...common, new p.OptionRequestOption([23, 24])]),
          )).slice(),
        );
      }
      continue;
    }
    messages.push(
      p.serializeMessage(wrap(
        new p.SolicitMessage(i, [
          ...common,
          new p.IANAOption(1, 3600, 5400),
          new p.OptionRequestOption([23, 24]),
          new p.IAPDOption(1, 3600, 5400),
        ]),
      )).slice(),
    );
    // perfdhcp's Request repeats the Advertise's IA Address and IA Prefix as hints.
    const address = `2001:db8:1:0:2::${i.toString(16)}`;
    const prefix = `2001:db8:ff${hex2(i >> 8)}:${hex2(i & 255)}00::`;
    messages.push(
      p.serializeMessage(wrap(
        new p.RequestMessage(i + 1, [
          ...common,
          new p.ServerIdOption(serverDuid),
          new p.IANAOption(
            1,
            3600,
            5400,
            hints ? [new p.IAAddressOption(address, 3000, 4000)] : [],
          ),
          new p.IAPDOption(
            1,
            3600,
            5400,
            hints ? [new p.IAPrefixOption(3000, 4000, 56, prefix)] : [],
          ),
        ]),
      )).slice(),
    );
  }
  const writer = new p.Writer(16384);
  return { engine, messages, writer };
}

const ours = await side(here, webUi ? "web.conf" : "plain.conf");
const theirs = await side(other, "plain.conf");

/**
 * Microseconds per message over `n` passes of the messages, handed over `batch` at a time with a
 * turn of the microtask queue after each batch, as the I/O worker does after each receive.
 */
async function round(s: Awaited<ReturnType<typeof side>>, passes: number): Promise<number> {
  const out: unknown[] = [];
  let n = 0;
  const start = performance.now();
  for (let k = 0; k < passes; k++) {
    for (let m = 0; m < s.messages.length; m += batch) {
      const packets = [];
      for (const data of s.messages.slice(m, m + batch)) {
        packets.push({
          id: "#" + n++,
          listener: 0,
          data,
          source: relayed ? "2001:db8:1::2" : "fe80::2",
          sourcePort: relayed ? 547 : 546,
          interfaceName: "eth0",
          linkAddress: "2001:db8:1::1",
          multicast: !relayed,
          marks: ["unmarked"],
        });
      }
      s.engine.handleBatch(packets, out, s.writer);
      out.length = 0;
      await null;
    }
    // A worker drains its summaries with every statistics flush.
    (s.engine as { transactions?: { drain?(): unknown } }).transactions?.drain?.();
  }
  return (1000 * (performance.now() - start)) / n;
}

await round(ours, 3); // warm up both
await round(theirs, 3);
if (Deno.args.includes("--allocations")) await allocations();
else await timing();
await ours.engine.handler.close();
await theirs.engine.handler.close();
Deno.removeSync(dir, { recursive: true });

/** The paired timing rounds and their result line (the default mode). */
async function timing(): Promise<void> {
  const a: number[] = [], b: number[] = [], ratios: number[] = [];
  for (let r = 0; r < rounds; r++) {
    // Adjacent rounds, in alternating order, share whatever else the machine is doing.
    let x: number, y: number;
    if (r % 2 === 0) {
      x = await round(ours, 2);
      y = await round(theirs, 2);
    } else {
      y = await round(theirs, 2);
      x = await round(ours, 2);
    }
    a.push(x);
    b.push(y);
    ratios.push(x / y);
  }
  const median = (x: number[]) => [...x].sort((p, q) => p - q)[Math.floor(x.length / 2)];
  console.log(
    `scenario ${scenario}: this checkout${webUi ? " (<web-ui> configured)" : ""}: ${
      median(a).toFixed(2)
    } us/message; ` +
      `${other}: ${median(b).toFixed(2)} us/message; ratio ${median(ratios).toFixed(3)} ` +
      `(median of ${rounds} paired ratios, rounds of 4,000 messages in batches of ${batch}, alternating order, ` +
      `${new Date().toISOString().slice(0, 10)}, ${navigator.hardwareConcurrency} cores)`,
  );
}

/** A node of a sampling heap profile (Chrome DevTools protocol). */
interface SamplingNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: SamplingNode[];
}

/** `--allocations`: sampled bytes per message of both checkouts, and this one's top allocators. */
async function allocations(): Promise<void> {
  const { Session } = await import("node:inspector");
  const session = new Session();
  session.connect();
  const post = (method: string, params: object = {}) =>
    new Promise<unknown>((resolve, reject) =>
      session.post(method, params, (e: unknown, r: unknown) => e ? reject(e) : resolve(r))
    );
  await post("HeapProfiler.enable");
  const sample = async (s: Awaited<ReturnType<typeof side>>) => {
    await post("HeapProfiler.startSampling", {
      samplingInterval: 64,
      includeObjectsCollectedByMinorGC: true,
      includeObjectsCollectedByMajorGC: true,
    });
    await round(s, rounds);
    const { profile } = await post("HeapProfiler.stopSampling") as {
      profile: { head: SamplingNode };
    };
    const bySite = new Map<string, number>();
    let total = 0;
    const walk = (node: SamplingNode) => {
      const f = node.callFrame;
      const site = `${f.functionName || "(anonymous)"} ${f.url.replace(`file://${here}`, "")}:${
        f.lineNumber + 1
      }`;
      bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize);
      total += node.selfSize;
      node.children.forEach(walk);
    };
    walk(profile.head);
    return { perMessage: total / (rounds * s.messages.length), bySite };
  };
  // Alternating, three times each: the median of each side (the first profile of a process
  // reads a little differently from the later ones).
  const mineRuns = [], baseRuns = [];
  for (let k = 0; k < 3; k++) {
    mineRuns.push(await sample(ours));
    baseRuns.push(await sample(theirs));
  }
  const middle = <T extends { perMessage: number }>(runs: T[]) =>
    [...runs].sort((x, y) => x.perMessage - y.perMessage)[1];
  const mine = middle(mineRuns), base = middle(baseRuns);
  session.disconnect();
  console.log(
    `scenario ${scenario}: this checkout allocates ${mine.perMessage.toFixed(0)} bytes per ` +
      `message; ${other}: ${base.perMessage.toFixed(0)}; ratio ${
        (mine.perMessage / base.perMessage).toFixed(3)
      } (medians of 3 alternating profiles over ${rounds} rounds of ${ours.messages.length} messages)`,
  );
  console.log(
    "this checkout, bytes per message by function (JavaScript lines are of the " +
      "transpiled module):",
  );
  const perMessage = rounds * ours.messages.length;
  for (const [site, bytes] of [...mine.bySite].sort((x, y) => y[1] - x[1]).slice(0, 20)) {
    console.log(`${(bytes / perMessage).toFixed(0).padStart(7)}  ${site}`);
  }
}
