/**
 * Requests per second through the pipeline alone (no sockets): perfdhcp-like Solicits and
 * Requests for IA_NA + IA_PD answered from a static CSV of 10,000 clients, as in the load
 * benchmark. Prints microseconds per message, so changes to the per-request path can be measured
 * without network noise: of wall time, and of the process's CPU time (every thread, the garbage
 * collector's too), which holds better on a machine shared with other work.
 *
 *   deno run --allow-read --allow-write --allow-env --allow-sys bench/pipeline_rate.ts [SECONDS] [--copy]
 * @module
 */

import { cpuUsage } from "node:process";
import { installBuiltins } from "../src/handlers/mod.ts";
import { Engine, loadServerConfig } from "../src/server/engine.ts";
import {
  ClientIdOption,
  ElapsedTimeOption,
  fromHex,
  IANAOption,
  IAPDOption,
  LinkLayerDuid,
  OptionRequestOption,
  RequestMessage,
  serializeMessage,
  ServerIdOption,
  SolicitMessage,
  Writer,
} from "../src/protocol/mod.ts";
import type { WireReply } from "../src/server/wire.ts";
import { clientPacket } from "./tools/wire_packet.ts";

installBuiltins();
const seconds = Number(Deno.args.find((a) => !a.startsWith("--")) ?? 3);
const clients = 10_000;
const dir = Deno.makeTempDirSync({ prefix: "dhcpkit-pipeline-bench-" });
const rows = ["id,address,prefix"];
const hex2 = (n: number) => n.toString(16).padStart(2, "0");
for (let i = 0; i < clients; i++) {
  rows.push(
    `duid:0003000102000000${hex2(i >> 8)}${hex2(i & 255)},2001:db8:1:0:2::${i.toString(16)},` +
      `2001:db8:ff${hex2(i >> 8)}:${hex2(i & 255)}00::/56`,
  );
}
Deno.writeTextFileSync(`${dir}/assignments.csv`, rows.join("\n") + "\n");
Deno.writeTextFileSync(
  `${dir}/bench.conf`,
  `workers 0
<duid-ll server-id>
    hardware-type 1
    link-layer-address 00:16:3e:00:00:08
</duid-ll>
<static-csv assignments.csv>
    address-preferred-lifetime 3000
    address-valid-lifetime 4000
    prefix-preferred-lifetime 3000
    prefix-valid-lifetime 4000
</static-csv>
<iana-timing-limits>
    min-t1 1000
</iana-timing-limits>
`,
);
const config = loadServerConfig(`${dir}/bench.conf`, undefined, false);
const serverDuid = new LinkLayerDuid(1, fromHex("00163e000008"));
const engine = await Engine.create(config, serverDuid);

const duid = (i: number) =>
  new LinkLayerDuid(1, fromHex(`02000000${hex2(i >> 8)}${hex2(i & 255)}`));
const solicits: Uint8Array[] = [];
const requests: Uint8Array[] = [];
for (let i = 0; i < 1000; i++) {
  const common = [new ClientIdOption(duid(i)), new ElapsedTimeOption(0)];
  solicits.push(serializeMessage(
    new SolicitMessage(i, [
      ...common,
      new IANAOption(1, 3600, 5400),
      new OptionRequestOption([23, 24]),
      new IAPDOption(1, 3600, 5400),
    ]),
  ));
  requests.push(serializeMessage(
    new RequestMessage(i + 1, [
      ...common,
      new ServerIdOption(serverDuid),
      new IANAOption(1, 3600, 5400),
      new IAPDOption(1, 3600, 5400),
    ]),
  ));
}

// As the ffi backend does: reply bytes written into one buffer and copied out per batch (with
// --copy, every reply gets bytes of its own, as with io-backend deno).
const replyWriter = Deno.args.includes("--copy") ? undefined : new Writer(16384);
const out: WireReply[] = [];
let n = 0;
const deadline = performance.now() + seconds * 1000;
const start = performance.now();
const cpu0 = cpuUsage();
while (performance.now() < deadline) {
  for (let i = 0; i < 1000; i++) {
    engine.handleBatch([clientPacket(solicits[i], n++)], out, replyWriter);
    engine.handleBatch([clientPacket(requests[i], n++)], out, replyWriter);
  }
  out.length = 0;
}
const elapsed = (performance.now() - start) / 1000;
const cpu = cpuUsage(cpu0);
const cpuUs = (cpu.user + cpu.system) / n;
console.log(
  `pipeline: ${n} messages in ${elapsed.toFixed(2)} s: ${(1e6 * elapsed / n).toFixed(2)} us ` +
    `per message, ${(2e6 * elapsed / n).toFixed(1)} us per 4-way exchange (no I/O); CPU ` +
    `${cpuUs.toFixed(2)} us per message`,
);
await engine.handler.close();
Deno.removeSync(dir, { recursive: true });
