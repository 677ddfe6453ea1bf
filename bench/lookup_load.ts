/**
 * Asynchronous lookups under load: a real `dhcpkit serve` on `[::1]` with ONE worker and the test
 * handler tests/helpers/slow_lookup (its lookup takes 50 ms, then answers an address computed from
 * the client's DUID), fed relayed Information-requests from distinct clients at a fixed rate.
 *
 *   deno task bench:lookup [--io ffi,deno] [--rate 2000] [--seconds 10] [--never-seconds 60]
 *                          [--phases answer,reload,never]
 *
 * Phases, for each backend:
 * - `answer`: every request must be answered, correctly, with no drop; prints the largest number
 *   of requests waiting at once (rate × 50 ms ≈ 100 at 2,000/s).
 * - `reload`: the same load with a reload every second (alternating in-place reloads and reloads
 *   that open another listener, i.e. a new backend), and every 50th client's lookup taking 1.5 s,
 *   longer than `lookup-timeout` (1 s): exactly those requests are lost, nothing else.
 * - `never`: a lookup that never answers (`max-lookups-in-flight` raised to 5,000 so that the
 *   deadline, not the bound, drops them): every request is dropped after `lookup-timeout` and
 *   counted in `lookup_timeouts`; the server's resident memory is sampled every 5 s.
 * @module
 */

import { parseArgs } from "node:util";
import { join } from "node:path";
import { sendControlCommand } from "../cli/ctl.ts";
import { addressFor } from "../tests/helpers/slow_lookup/mod.ts";
import { clientDuid, lookupAnswer, lookupRequest } from "../tests/helpers/slow_lookup/client.ts";
import { serverIdConfig } from "../tests/helpers/server.ts";
import {
  freeUdpPort,
  makeWorkDir,
  ROOT,
  type RunningServer,
  startServer,
  writeConfig,
} from "../tests/ops/helpers.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    io: { type: "string", default: "ffi,deno" },
    rate: { type: "string", default: "2000" },
    seconds: { type: "string", default: "10" },
    "never-seconds": { type: "string", default: "60" },
    phases: { type: "string", default: "answer,reload,never" },
  },
});
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const NEVER_SECONDS = Number(values["never-seconds"]);
const SLOW_LOOKUP = join(ROOT, "tests/helpers/slow_lookup/mod.ts");
/** In the reload phase, every this many clients' lookup outlasts `lookup-timeout`. */
const SLOW_EVERY = 50;

function config(io: string, port: number, lookup: string, variant = 0): string {
  const extraListener = variant & 2
    ? `<listen-unicast ::1>\n    port ${port + 1}\n</listen-unicast>\n`
    : "";
  const domains = variant & 1
    ? `<domain-search-list>\n    domain-name example.com\n</domain-search-list>\n`
    : "";
  return `extension ${SLOW_LOOKUP}
workers 1
io-backend ${io}
lookup-timeout 1
control-socket ctl.sock
pid-file server.pid

${serverIdConfig()}
<listen-unicast ::1>
    port ${port}
</listen-unicast>
${extraListener}
<slow-lookup>
${lookup}
</slow-lookup>
${domains}`;
}

/** What one run of the load generator saw. */
interface LoadResult {
  sent: number;
  answered: number;
  wrong: number;
  duplicates: number;
  maxWaiting: number;
  /** Clients that got no answer. */
  missing: number[];
}

/**
 * Send `rate` requests per second for `seconds` (clients numbered from `first`), checking every
 * answer; `each` runs once a second meanwhile. Waits `grace` ms after the last request.
 */
async function load(
  port: number,
  first: number,
  rate: number,
  seconds: number,
  grace: number,
  each?: (second: number) => Promise<void>,
): Promise<LoadResult> {
  const socket = Deno.listenDatagram({ transport: "udp", hostname: "::1", port: 0 });
  const answers = new Map<number, number>();
  let wrong = 0;
  let duplicates = 0;
  const receiving = (async () => {
    try {
      while (true) {
        const [data] = await socket.receive();
        const answer = lookupAnswer(data);
        const n = first + ((answer.xid - first) & 0xffffff);
        if (answer.dns.join() !== addressFor(clientDuid(n))) wrong++;
        if (answers.has(n)) duplicates++;
        answers.set(n, performance.now());
      }
    } catch {
      // closed
    }
  })();
  const total = Math.round(rate * seconds);
  let sent = 0;
  let maxWaiting = 0;
  const started = performance.now();
  let second = 0;
  const background: Promise<void>[] = [];
  while (sent < total) {
    const due = Math.min(total, Math.floor((performance.now() - started) / 1000 * rate));
    for (; sent < due; sent++) {
      const data = lookupRequest(first + sent);
      await socket.send(data, { transport: "udp", hostname: "::1", port });
    }
    maxWaiting = Math.max(maxWaiting, sent - answers.size);
    const elapsed = (performance.now() - started) / 1000;
    if (each && elapsed >= second + 1) background.push(each(++second));
    await new Promise((r) => setTimeout(r, 2));
  }
  await Promise.all(background);
  await new Promise((r) => setTimeout(r, grace));
  socket.close();
  await receiving;
  const missing: number[] = [];
  for (let k = 0; k < total; k++) if (!answers.has(first + k)) missing.push(first + k);
  return { sent, answered: answers.size, wrong, duplicates, maxWaiting, missing };
}

async function stats(server: RunningServer): Promise<Record<string, number>> {
  const reply = await sendControlCommand(server.socket, "stats-json");
  return JSON.parse(reply.output[0]).global;
}

function rssMb(pid: number): number {
  const out = new Deno.Command("ps", { args: ["-o", "rss=", "-p", String(pid)] }).outputSync();
  return Number(new TextDecoder().decode(out.stdout).trim()) / 1024;
}

async function withServer<T>(
  text: (port: number) => string,
  body: (s: RunningServer, port: number) => Promise<T>,
): Promise<T> {
  const dir = makeWorkDir();
  const port = freeUdpPort();
  writeConfig(join(dir, "server.conf"), text(port));
  const server = await startServer(dir, ["-v"]);
  try {
    return await body(server, port);
  } finally {
    await server.kill();
    Deno.removeSync(dir, { recursive: true });
  }
}

const report: Record<string, unknown> = {};

for (const io of values.io!.split(",")) {
  const phases = values.phases!.split(",");
  if (phases.includes("answer")) {
    const result = await withServer(
      (port) => config(io, port, "delay 0.05"),
      async (server, port) => {
        const r = await load(port, 1, RATE, SECONDS, 1500);
        return { ...r, missing: r.missing.length, stats: await stats(server) };
      },
    );
    report[`${io} answer`] = result;
    console.log(
      `${io}: ${RATE}/s for ${SECONDS} s, lookups of 50 ms: ${result.answered}/${result.sent} ` +
        `answered, ${result.wrong} wrong, ${result.duplicates} duplicated, ` +
        `${result.sent - result.answered} dropped (${
          result.sent - result.stats.incoming_packets
        } ` +
        `never received: the kernel's socket buffer); up to ${result.maxWaiting} waiting at ` +
        `once; lookup failures/timeouts/overflows ${result.stats.lookup_failures}/` +
        `${result.stats.lookup_timeouts}/${result.stats.lookup_overflows}`,
    );
  }
  if (phases.includes("reload")) {
    const lookup = `delay 0.05\nslow-every ${SLOW_EVERY}\nslow-delay 1.5`;
    const result = await withServer(
      (port) => config(io, port, lookup),
      async (server, port) => {
        const conf = join(server.dir, "server.conf");
        const reloads: string[] = [];
        const r = await load(port, 1, RATE, SECONDS, 2500, async (second) => {
          writeConfig(conf, config(io, port, lookup, second % 4));
          const answer = await sendControlCommand(server.socket, "reload");
          reloads.push(answer.output.join(" ") || "OK");
        });
        const slow = r.missing.filter((n) => (n & 0xffff) % SLOW_EVERY === 0).length;
        const expectedSlow = Array.from({ length: r.sent }, (_, k) => k + 1)
          .filter((n) => (n & 0xffff) % SLOW_EVERY === 0).length;
        return {
          ...r,
          missing: r.missing.length,
          lostSlow: slow,
          expectedSlow,
          lostOther: r.missing.length - slow,
          reloads: reloads.length,
          reloadAnswers: [...new Set(reloads)],
          stats: await stats(server),
        };
      },
    );
    report[`${io} reload`] = result;
    console.log(
      `${io}: same load with a reload every second (${result.reloads} reloads, ` +
        `${result.reloadAnswers.join("; ")}): ${result.answered}/${result.sent} answered, ` +
        `${result.wrong} wrong; lost ${result.lostSlow} of the ${result.expectedSlow} whose ` +
        `lookup takes 1.5 s (> lookup-timeout 1 s) and ${result.lostOther} others ` +
        `(${result.sent - result.stats.incoming_packets} never received); server counted ` +
        `${result.stats.lookup_timeouts} lookup timeouts`,
    );
  }
  if (phases.includes("never")) {
    const result = await withServer(
      // Room for every request waiting (rate × timeout): each one is dropped by its deadline.
      (port) => "max-lookups-in-flight 5000\n" + config(io, port, "behaviour never"),
      async (server, port) => {
        const samples: number[] = [rssMb(server.child.pid)];
        let sampling = true;
        const sampler = (async () => {
          while (sampling) {
            await new Promise((r) => setTimeout(r, 5000));
            if (sampling) samples.push(rssMb(server.child.pid));
          }
        })();
        const r = await load(port, 1, RATE, NEVER_SECONDS, 1500);
        sampling = false;
        await sampler;
        samples.push(rssMb(server.child.pid));
        return { sent: r.sent, answered: r.answered, samples, stats: await stats(server) };
      },
    );
    report[`${io} never`] = result;
    const s = result.samples.map((m) => m.toFixed(0));
    console.log(
      `${io}: a lookup that never answers, ${RATE}/s for ${NEVER_SECONDS} s: ${result.answered} ` +
        `answered, ${result.stats.lookup_timeouts} of ${result.sent} counted as lookup timeouts; ` +
        `RSS every 5 s (MB): ${s.join(" ")}`,
    );
  }
}

console.log(JSON.stringify(report));
