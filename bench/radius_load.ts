/**
 * RADIUS assignments under load (issue 17's Performance section): a real `dhcpkit serve` on
 * `[::1]` whose `<radius-assignments>` asks a real FreeRADIUS 3 on the same machine (started
 * like the tests do, with a users file of `--users` subscriber lines), fed relayed Solicits with
 * Rapid Commit (a Remote-ID naming a random line; one client per line) at `--rate` per second for
 * `--seconds`. Needs root (FreeRADIUS is started as root) and the freeradius package.
 *
 *   deno task bench:radius [--rate 2000] [--seconds 20] [--users 10000] [--workers 1]
 *                          [--cache-ttl 60] [--io ffi]
 *
 * It prints: requests sent and answered (a Reply with the line's address), the CPU time dhcpkit
 * used per exchange (its process only: user + system from /proc, FreeRADIUS's shown apart), the
 * share of answers served from the cache (`radius_cache_hits` of all Solicits handled), the p50
 * and p99 latency seen by the client, the requests in flight per worker (Little's law: RADIUS
 * exchanges per second × their mean latency, from `radius_latency_seconds`, per worker; and the
 * largest number of requests the client had waiting at once), and the machine's load average.
 * @module
 */

import { parseArgs } from "node:util";
import { sendControlCommand } from "../cli/ctl.ts";
import {
  ClientIdOption,
  IAAddressOption,
  IANAOption,
  IAPDOption,
  LinkLayerDuid,
  normalizeIPv6,
  parseMessage,
  RapidCommitOption,
  RelayForwardMessage,
  RelayMessageOption,
  RelayReplyMessage,
  RelaySourcePortOption,
  RemoteIdOption,
  ReplyMessage,
  serializeMessage,
  SolicitMessage,
} from "../src/protocol/mod.ts";
import { LOOKUPS_MISSING } from "../tests/handlers/radius/helpers.ts";
import { FreeRadius, freeRadiusSkipReason } from "../tests/helpers/freeradius.ts";
import { serverIdConfig } from "../tests/helpers/server.ts";
import { freeUdpPort, makeWorkDir, startServer, writeConfig } from "../tests/ops/helpers.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    rate: { type: "string", default: "2000" },
    seconds: { type: "string", default: "20" },
    users: { type: "string", default: "10000" },
    workers: { type: "string", default: "1" },
    "cache-ttl": { type: "string", default: "60" },
    io: { type: "string", default: "ffi" },
  },
});
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const USERS = Number(values.users);
const WORKERS = Number(values.workers);
const SECRET = "bench-secret";

const skip = freeRadiusSkipReason() ?? LOOKUPS_MISSING;
if (skip) {
  console.log(`bench:radius skipped: ${skip}`);
  Deno.exit(0);
}

const lineName = (i: number) => `line-${String(i).padStart(6, "0")}`;
/** The address FreeRADIUS assigns to line `i`. */
const lineAddress = (i: number) =>
  `2001:db8:${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}::1`;

function usersFile(): string {
  const entries: string[] = [];
  for (let i = 0; i < USERS; i++) {
    entries.push(
      `"${lineName(i)}" Cleartext-Password := "dhcpkit"\n` +
        `    Framed-IPv6-Address = ${lineAddress(i)},\n` +
        `    Delegated-IPv6-Prefix = 2001:db8:${(0x8000 + i).toString(16)}::/48,\n` +
        `    DNS-Server-IPv6-Address = 2001:db8::53\n`,
    );
  }
  return entries.join("\n");
}

function serverConfig(port: number, radius: FreeRadius): string {
  return `workers ${WORKERS}
io-backend ${values.io}
allow-rapid-commit yes
control-socket ctl.sock
pid-file server.pid

${serverIdConfig()}
<listen-unicast ::1>
    port ${port}
</listen-unicast>

<radius-assignments>
    server ${radius.serverKey}
    secret ${SECRET}
    password dhcpkit
    user-name remote-id
    timeout 0.5
    retries 1
    cache-ttl ${values["cache-ttl"]}
</radius-assignments>
`;
}

/** A relayed Solicit with Rapid Commit from client `n` on line `line` (transaction id `xid`). */
function solicit(n: number, line: number, xid: number): Uint8Array {
  const mac = new Uint8Array([0x02, 0, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff, 1]);
  const inner = new SolicitMessage(xid, [
    new ClientIdOption(new LinkLayerDuid(1, mac)),
    new RapidCommitOption(),
    new IANAOption(1, 0, 0, []),
    new IAPDOption(2, 0, 0, []),
  ]);
  return serializeMessage(
    new RelayForwardMessage(0, "2001:db8::1", "fe80::1", [
      new RemoteIdOption(32473, new TextEncoder().encode(lineName(line))),
      new RelaySourcePortOption(0),
      new RelayMessageOption(inner),
    ]),
  );
}

/** The output of a command (reading /proc directly would need every permission). */
function output(command: string, args: string[]): string {
  const r = new Deno.Command(command, { args, stdout: "piped", stderr: "null" }).outputSync();
  return new TextDecoder().decode(r.stdout);
}

/** CPU seconds (user + system) a process used so far, from /proc. */
function cpuSeconds(pid: number): number {
  const fields = output("cat", [`/proc/${pid}/stat`]).split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks
}

/** The process whose command line contains `text`. */
function pidOf(text: string): number | undefined {
  const pid = Number(output("pgrep", ["-f", "-o", text]).trim().split("\n")[0]);
  return pid > 0 ? pid : undefined;
}

const loadAverage = () => output("cat", ["/proc/loadavg"]).trim();

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

type Json = Record<string, unknown>;

/** The value of an extension series from stats-json. */
function series(stats: Json, family: string, pick: (labels: Json) => boolean = () => true) {
  const list = ((stats.extensions as Json | undefined)?.[family] ?? []) as Json[];
  return list.filter((s) => pick(s.labels as Json));
}

const loadBefore = loadAverage();
await using radius = await FreeRadius.start({ users: usersFile(), secret: SECRET });
const radiusPid = pidOf(`${radius.dir}/raddb`);
const dir = makeWorkDir();
const port = freeUdpPort();
writeConfig(`${dir}/server.conf`, serverConfig(port, radius));
const server = await startServer(dir);
try {
  const pid = server.child.pid;
  const socket = Deno.listenDatagram({ transport: "udp", hostname: "::1", port: 0 });
  const sentAt = new Map<number, number>();
  const expected = new Map<number, string>();
  const latencies: number[] = [];
  let answered = 0, wrong = 0, maxWaiting = 0;
  const receiving = (async () => {
    try {
      while (true) {
        const [data] = await socket.receive();
        const now = performance.now();
        let m = parseMessage(data);
        while (m instanceof RelayReplyMessage) m = m.getOption(RelayMessageOption)!.message;
        if (!(m instanceof ReplyMessage)) continue;
        const started = sentAt.get(m.transactionId);
        if (started === undefined) continue;
        sentAt.delete(m.transactionId);
        latencies.push(now - started);
        answered++;
        const address = m.getOption(IANAOption)?.options.find((o) =>
          o instanceof IAAddressOption
        ) as
          | IAAddressOption
          | undefined;
        if (address?.address !== expected.get(m.transactionId)) wrong++;
        expected.delete(m.transactionId);
      }
    } catch {
      // closed
    }
  })();

  const total = Math.round(RATE * SECONDS);
  const target: Deno.NetAddr = { transport: "udp", hostname: "::1", port };
  const cpuStart = cpuSeconds(pid);
  const radiusCpuStart = radiusPid ? cpuSeconds(radiusPid) : NaN;
  const started = performance.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor((performance.now() - started) / 1000 * RATE));
    for (; sent < due; sent++) {
      const line = Math.floor(Math.random() * USERS);
      const xid = (sent + 1) & 0xffffff;
      sentAt.set(xid, performance.now());
      expected.set(xid, normalizeIPv6(lineAddress(line)));
      await socket.send(solicit(line, line, xid), target);
    }
    maxWaiting = Math.max(maxWaiting, sentAt.size);
    await new Promise((r) => setTimeout(r, 2));
  }
  const elapsed = (performance.now() - started) / 1000;
  await new Promise((r) => setTimeout(r, 2000));
  const cpu = cpuSeconds(pid) - cpuStart;
  const radiusCpu = radiusPid ? cpuSeconds(radiusPid) - radiusCpuStart : NaN;
  socket.close();
  await receiving;

  const stats = JSON.parse((await sendControlCommand(server.socket, "stats-json")).output[0]);
  const hits = series(stats, "radius_cache_hits")[0]?.value as number ?? 0;
  const solicits = stats.global.messages_in.solicit as number;
  const latency = series(stats, "radius_latency_seconds")[0] as Json | undefined;
  const exchanges = (latency?.count as number) ?? 0;
  const meanRadius = exchanges ? (latency!.sum as number) / exchanges : 0;
  const inFlight = exchanges / elapsed * meanRadius / Math.max(1, WORKERS);
  latencies.sort((a, b) => a - b);
  const loadAfter = loadAverage();

  console.log(
    `bench:radius: ${RATE}/s relayed Solicit+Rapid Commit for ${SECONDS} s, ${USERS} lines, ` +
      `workers ${WORKERS}, io-backend ${values.io}, cache-ttl ${values["cache-ttl"]} ` +
      `(${navigator.hardwareConcurrency} CPUs)`,
  );
  console.log(`  sent ${sent} in ${elapsed.toFixed(1)} s, answered ${answered}, wrong ${wrong}`);
  console.log(
    `  dhcpkit CPU ${(cpu * 1e6 / Math.max(1, answered)).toFixed(0)} µs per exchange ` +
      `(${cpu.toFixed(1)} s); FreeRADIUS ${
        (radiusCpu * 1e6 / Math.max(1, exchanges)).toFixed(0)
      } ` +
      `µs per RADIUS exchange (${radiusCpu.toFixed(1)} s)`,
  );
  console.log(
    `  answers from the cache: ${(100 * hits / Math.max(1, solicits)).toFixed(1)} % ` +
      `(${hits} of ${solicits} Solicits; ${exchanges} RADIUS exchanges)`,
  );
  console.log(
    `  client latency p50 ${percentile(latencies, 0.5).toFixed(2)} ms, ` +
      `p99 ${percentile(latencies, 0.99).toFixed(2)} ms; RADIUS mean ` +
      `${(meanRadius * 1000).toFixed(2)} ms`,
  );
  console.log(
    `  in flight per worker: ${inFlight.toFixed(1)} on average (Little's law); ` +
      `at most ${maxWaiting} unanswered at the client`,
  );
  const sum = (family: string, pick?: (labels: Json) => boolean) =>
    series(stats, family, pick).reduce((n, s) => n + ((s.value as number) ?? 0), 0);
  const g = stats.global as Record<string, number>;
  console.log(
    `  RADIUS: ${sum("radius_requests")} requests, ${sum("radius_retransmissions")} ` +
      `retransmissions, ${sum("radius_exchanges", (l) => l.result === "timeout")} timeouts, ` +
      `${sum("radius_bad_answers")} dropped answers, ${sum("radius_shared_exchanges")} shared; ` +
      `requests dropped: radius_timeouts ${sum("radius_timeouts")}, lookup_timeouts ` +
      `${g.lookup_timeouts}, lookup_failures ${g.lookup_failures}, lookup_overflows ` +
      `${g.lookup_overflows}`,
  );
  console.log(`  load average before: ${loadBefore}; after: ${loadAfter}`);
} finally {
  await server.kill();
  Deno.removeSync(dir, { recursive: true });
}
