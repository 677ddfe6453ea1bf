/**
 * Server throughput: requests answered per second with `workers 0`, `1` and `2`, side by side.
 *
 * For each worker count a real `dhcpkit serve` is started on `[::1]:PORT` (a free port); a load
 * generator in this process sends relayed Information-requests and Solicits (each wrapped in a
 * Relay-Forward with a Relay Source Port option, so replies come back to our port) keeping a fixed
 * number outstanding, and counts the replies for a bounded time. No root needed.
 *
 *   deno task bench:server [--seconds N] [--window N] [--workers 0,1,2]
 * @module
 */

import { parseArgs } from "node:util";
import { buildRequest } from "../cli/query.ts";
import {
  type Message,
  RelayForwardMessage,
  RelayMessageOption,
  RelaySourcePortOption,
  serializeMessage,
} from "../src/protocol/mod.ts";
import { freeUdpPort, sleep, withTopology } from "../tests/e2e/netns.ts";
import { loopbackListenerConfig, serverIdConfig } from "../tests/helpers/server.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "3" },
    window: { type: "string", default: "64" },
    workers: { type: "string", default: "0,1,2" },
  },
});
const SECONDS = Number(values.seconds);
const WINDOW = Number(values.window);
const WORKERS = values.workers!.split(",").map(Number);
const TYPES = ["information-request", "solicit"] as const;

function config(port: number, workers: number): string {
  return `workers ${workers}
allow-rapid-commit yes

${serverIdConfig()}
${loopbackListenerConfig(port)}
<recursive-name-servers>
    address 2001:db8::53
    address 2001:db8::153
</recursive-name-servers>

<domain-search-list>
    domain-name example.com
</domain-search-list>
`;
}

/** 256 distinct relayed requests of one type (different clients and transaction ids). */
function requests(type: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < 256; i++) {
    const duid = `00030001020000${i.toString(16).padStart(2, "0")}0001`;
    const inner: Message = buildRequest(type, duid, [23, 24], false);
    const relay = new RelayForwardMessage(0, "2001:db8::1", "fe80::1", [
      new RelaySourcePortOption(0),
      new RelayMessageOption(inner),
    ]);
    out.push(serializeMessage(relay));
  }
  return out;
}

/**
 * Keep `window` requests outstanding against `[::1]:port` for `seconds`; returns replies per
 * second. Lost requests are replaced after 200 ms without any reply.
 */
async function load(port: number, type: string, seconds: number, window: number) {
  const socket = Deno.listenDatagram({ transport: "udp", hostname: "::1", port: 0 });
  const packets = requests(type);
  const target: Deno.NetAddr = { transport: "udp", hostname: "::1", port };
  let sent = 0, received = 0, lastReply = Date.now(), running = true;
  const send = (n: number) => {
    for (let i = 0; i < n; i++) {
      socket.send(packets[sent++ % packets.length], target).catch(() => {});
    }
  };
  const receiver = (async () => {
    const buffer = new Uint8Array(65536);
    while (running) {
      try {
        await socket.receive(buffer);
      } catch {
        return;
      }
      received++;
      lastReply = Date.now();
      if (running) send(1);
    }
  })();
  const watchdog = setInterval(() => {
    if (Date.now() - lastReply > 200) send(window);
  }, 100);
  send(window);
  await sleep(500); // warm-up
  const start = Date.now(), startCount = received;
  await sleep(seconds * 1000);
  const rate = (received - startCount) / ((Date.now() - start) / 1000);
  running = false;
  clearInterval(watchdog);
  socket.close();
  await receiver;
  return { rate, sent, received };
}

const results = new Map<number, Map<string, number>>();
for (const workers of WORKERS) {
  await withTopology(async (t) => {
    const port = freeUdpPort();
    await t.startServer({ config: config(port, workers), verbosity: 2 });
    const row = new Map<string, number>();
    for (const type of TYPES) {
      const { rate } = await load(port, type, SECONDS, WINDOW);
      row.set(type, rate);
    }
    results.set(workers, row);
  });
}

console.log(
  `dhcpkit server throughput on [::1], ${SECONDS} s per cell, ${WINDOW} outstanding ` +
    `(${navigator.hardwareConcurrency} CPUs)`,
);
const header = ["requests/s", ...WORKERS.map((w) => `workers ${w}`)];
const rows = TYPES.map((type) => [
  `relayed ${type}`,
  ...WORKERS.map((w) => Math.round(results.get(w)!.get(type)!).toString()),
]);
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (cells: string[]) =>
  cells.map((c, i) => i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])).join("  ");
console.log(line(header));
for (const r of rows) console.log(line(r));
