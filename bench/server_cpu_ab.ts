/**
 * Server CPU per answered request, this checkout against another, with real `dhcpkit serve`
 * processes on `[::1]`: both servers run side by side (same configuration, own ports), and in
 * alternating rounds a load generator in this process keeps `--window` relayed requests
 * outstanding against one of them for `--seconds` (or, with `--rate N`, sends N per second evenly
 * spaced, open loop: requests that arrive one by one, as at a real server); the server's CPU time (user + system, every
 * thread, from /proc/PID/stat) is divided by the replies it sent. Prints the median of each and
 * the median of the paired ratios; a busy machine slows both alike. The servers run with `user
 * root` (as the tests' servers do), so run it as root.
 *
 *   deno run -A bench/server_cpu_ab.ts OTHER [--backend deno|ffi] [--workers N] [--rounds N]
 *     [--seconds N] [--window N | --rate N] [--type information-request|solicit]
 *     [--batch-delay SECONDS]
 *
 * OTHER is the root of the other checkout (e.g. a `git archive` of the base commit); OTHER set to
 * this checkout is the self-vs-self control.
 *
 * Both servers run on the last core and this process (the load generator) on the first, with
 * `taskset`, as bench:load pins its server and perfdhcp: unpinned, where the scheduler put each
 * server's threads (beside the generator or not) stayed for the whole run and made two servers of
 * the same code differ by up to 10 % (self-controls of 0.90-0.96). `--no-pin` leaves placement to
 * the scheduler (and is what happens without `taskset` or with one core).
 * @module
 */

import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { spawnServe } from "./tools/spawn_serve.ts";
import { freeUdpPort, sleep } from "../tests/e2e/netns.ts";
import { closedLoop, DNS_OPTIONS_CONFIG, openLoop, relayedRequests } from "./tools/closed_loop.ts";
import { loopbackListenerConfig, serverIdConfig } from "../tests/helpers/server.ts";

const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    backend: { type: "string", default: "deno" },
    workers: { type: "string", default: "0" },
    rounds: { type: "string", default: "6" },
    seconds: { type: "string", default: "2" },
    window: { type: "string", default: "16" },
    type: { type: "string", default: "solicit" },
    rate: { type: "string", default: "0" },
    "batch-delay": { type: "string" },
    "no-pin": { type: "boolean", default: false },
  },
});
if (positionals.length !== 1) {
  console.error("usage: server_cpu_ab.ts OTHER_CHECKOUT [--backend deno|ffi] [--workers N] ...");
  Deno.exit(2);
}
const other = resolve(positionals[0]);
const here = new URL("../", import.meta.url).pathname;
const ROUNDS = Number(values.rounds), SECONDS = Number(values.seconds);
const WINDOW = Number(values.window);
const RATE = Number(values.rate);
const TICKS = 100; // USER_HZ on Linux

const dir = Deno.makeTempDirSync({ prefix: "dhcpkit-cpu-ab-" });

/** The servers' core (`taskset -c`), or undefined when they are not pinned. */
const serverCpus = pinCores();

function pinCores(): string | undefined {
  const cores = navigator.hardwareConcurrency;
  if (values["no-pin"] || cores < 2) return undefined;
  try {
    const own = new Deno.Command("taskset", { args: ["-a", "-cp", "0", String(Deno.pid)] })
      .outputSync();
    if (!own.success) return undefined;
  } catch {
    return undefined; // no taskset
  }
  return String(cores - 1);
}

function config(port: number, name: string): string {
  return `user root
group root
pid-file ${dir}/${name}.pid
control-socket ${dir}/${name}.sock
workers ${values.workers}
io-backend ${values.backend}
${values["batch-delay"] === undefined ? "" : `io-batch-delay ${values["batch-delay"]}`}
allow-rapid-commit yes
${serverIdConfig()}
${loopbackListenerConfig(port)}
${DNS_OPTIONS_CONFIG}`;
}

const packets = relayedRequests(values.type!);

interface Server {
  name: string;
  port: number;
  process: Deno.ChildProcess;
}

async function start(root: string, name: string): Promise<Server> {
  const port = freeUdpPort();
  const conf = `${dir}/${name}.conf`;
  Deno.writeTextFileSync(conf, config(port, name));
  const process = spawnServe(root, conf, serverCpus);
  const server = { name, port, process };
  for (let i = 0; i < 100; i++) {
    if ((await drive(server, 0.1, 1)).replies > 0) return server;
    await sleep(200);
  }
  throw new Error(`${name} did not answer`);
}

/** CPU seconds of `pid` so far (every thread). */
function cpu(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
}

/** Keep `window` requests outstanding against `server` for `seconds`; replies counted. */
function drive(server: Server, seconds: number, window: number) {
  return closedLoop(server.port, packets, seconds, window);
}

/** Microseconds of server CPU per reply over one round. */
async function round(server: Server): Promise<number> {
  const before = cpu(server.process.pid);
  const { replies } = RATE > 0
    ? await openLoop(server.port, packets, SECONDS, RATE)
    : await drive(server, SECONDS, WINDOW);
  await sleep(100); // let the server finish what is in flight
  return (1e6 * (cpu(server.process.pid) - before)) / Math.max(1, replies);
}

const ours = await start(here, "this");
const theirs = await start(other, "other");
try {
  await round(ours); // warm up both
  await round(theirs);
  const a: number[] = [], b: number[] = [], ratios: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    let x: number, y: number;
    if (r % 2 === 0) {
      x = await round(ours);
      y = await round(theirs);
    } else {
      y = await round(theirs);
      x = await round(ours);
    }
    a.push(x);
    b.push(y);
    ratios.push(x / y);
  }
  const median = (v: number[]) => [...v].sort((p, q) => p - q)[Math.floor(v.length / 2)];
  console.log(
    `io-backend ${values.backend}, workers ${values.workers}, relayed ${values.type}, ` +
      `${RATE > 0 ? `${RATE}/s open loop` : `window ${WINDOW}`}: this checkout ${
        median(a).toFixed(1)
      } us CPU/reply; ${other} ` +
      `${median(b).toFixed(1)} us; ratio ${median(ratios).toFixed(3)} (median of ${ROUNDS} ` +
      `paired rounds of ${SECONDS} s, ${new Date().toISOString().slice(0, 10)}, ` +
      `${navigator.hardwareConcurrency} cores, ${
        serverCpus === undefined ? "not pinned" : `servers on core ${serverCpus}`
      })`,
  );
} finally {
  for (const s of [ours, theirs]) {
    try {
      s.process.kill("SIGTERM");
    } catch { /* gone */ }
    await s.process.status;
  }
  Deno.removeSync(dir, { recursive: true });
}
