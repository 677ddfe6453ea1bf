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
import { freeUdpPort, withTopology } from "../tests/e2e/netns.ts";
import { closedLoop, DNS_OPTIONS_CONFIG, relayedRequests } from "./tools/closed_loop.ts";
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
${DNS_OPTIONS_CONFIG}`;
}

const results = new Map<number, Map<string, number>>();
for (const workers of WORKERS) {
  await withTopology(async (t) => {
    const port = freeUdpPort();
    await t.startServer({ config: config(port, workers), verbosity: 2 });
    const row = new Map<string, number>();
    for (const type of TYPES) {
      const { rate } = await closedLoop(port, relayedRequests(type), SECONDS, WINDOW, 500);
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
